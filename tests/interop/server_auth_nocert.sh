#!/bin/bash
# server_auth_nocert.sh - password-only logins on the server: stock 2.6 clients
# with `auth-user-pass` and `ca` but no certificate.
#
#   none:      `verify-client-cert none`, `username-as-common-name` and
#              `auth-user-pass-verify verify.sh via-env`: alice/secret comes
#              up and pings, and the status file names the client alice
#              (Common Name and Username); alice/wrong gets AUTH_FAILED and
#              exits by itself, without a tunnel address.
#   optional:  `verify-client-cert optional` (no username-as-common-name):
#              client1 with its certificate and alice/secret is client1 in
#              the status file, a client without one and with alice/secret
#              comes up as UNDEF beside it (no common name, nothing to treat
#              as a duplicate).
#   refused:   `verify-client-cert none` without a script: the server does
#              not start (stock: "must be used with ... an
#              --auth-user-pass-verify script").
# Passes against the stock server too (SERVER_IMPL=stock).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 1
srv_net c1 c2 c3
cat >verify.sh <<EOF2
#!/bin/sh
echo "\$username" >>$WORK/calls.log
[ "\$username" = alice ] && [ "\$password" = secret ]
EOF2
chmod 755 verify.sh

# nocert_conf NAME USER PASS: a client with ca and auth-user-pass only.
nocert_conf() {
	cli_conf "$1.tmp" client1
	grep -v -E '^(cert|key) ' "$1.tmp" >"$1.conf"
	rm -f "$1.tmp"
	printf '%s\n%s\n' "$2" "$3" >"$1.pass"
	chmod 600 "$1.pass"
	echo "auth-user-pass $WORK/$1.pass" >>"$1.conf"
}

# server_run TAG LINES...
server_run() {
	local tag=$1 l
	shift
	srv_stop
	srv_conf "srv-$tag.conf"
	for l in "$@"; do echo "$l" >>"srv-$tag.conf"; done
	srv_start "srv-$tag.conf" "srv-$tag.log"
}

# ---- none ----
server_run none "verify-client-cert none" "username-as-common-name" "script-security 3" \
	"auth-user-pass-verify $WORK/verify.sh via-env"
nocert_conf good alice secret
nocert_conf bad alice wrong
cli_start c1 good.conf good.log
cli_up c1 || sfail "none: alice/secret did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "none: alice/secret cannot ping the server"
wait_for 5 st_has alice || sfail "none: the status file does not name the client alice"
[ "$(st_field alice 10)" = alice ] || sfail "none: Username of alice is '$(st_field alice 10)'"
cli_start c2 bad.conf bad.log
for n in $(seq 1 300); do
	kill -0 "${CPID[c2]}" 2>/dev/null || break
	[ -z "$(cli_addr c2)" ] || sfail "none: alice/wrong got a tunnel address"
	sleep 0.1
done
[ "$n" -lt 300 ] || sfail "none: alice/wrong still running after 30 s"
cli_stop c2 || true
grep -q AUTH_FAILED bad.log || sfail "none: no AUTH_FAILED for alice/wrong"
ping_ok c1 $TUN_SRV || sfail "none: alice stopped working"
cli_stop c1 || sfail "none: alice did not exit cleanly"
echo "none: alice up without a certificate (CN alice), alice/wrong refused"

# ---- optional ----
server_run optional "verify-client-cert optional" "script-security 3" \
	"auth-user-pass-verify $WORK/verify.sh via-env"
cli_conf cert.conf client1
printf '%s\n%s\n' alice secret >cert.pass
chmod 600 cert.pass
echo "auth-user-pass $WORK/cert.pass" >>cert.conf
cli_start c1 cert.conf cert.log
cli_start c3 good.conf good-opt.log
cli_up c1 || sfail "optional: the client with a certificate did not come up"
cli_up c3 || sfail "optional: the client without a certificate did not come up"
ping_ok c1 $TUN_SRV || sfail "optional: client1 cannot ping the server"
ping_ok c3 $TUN_SRV || sfail "optional: the certless client cannot ping the server"
wait_for 5 eval 'st_has client1 && st_has UNDEF' ||
	sfail "optional: status should list client1 and UNDEF: $(st_clients)"
cli_stop c1 || sfail "optional: client1 did not exit cleanly"
cli_stop c3 || sfail "optional: the certless client did not exit cleanly"
echo "optional: client1 (certificate) and UNDEF (none) side by side"

# ---- refused: no script ----
srv_stop
srv_conf srv-refused.conf
echo "verify-client-cert none" >>srv-refused.conf
: >srv-refused.log
reg_log srv-refused.log
case $SERVER_IMPL in
stock) spawn "$NS_S" openvpn --config srv-refused.conf --log srv-refused.log ;;
sluice) spawn "$NS_S" "$SLUICE" --config srv-refused.conf >srv-refused.log 2>&1 ;;
esac
pid=$LAST_PID
wait_for 10 eval '! kill -0 $pid 2>/dev/null' || sfail "refused: the server still runs"
rc=0
pid_stop "$pid" || rc=$?
[ $rc -ne 0 ] || sfail "refused: the server exited 0"
grep -q "must be used with.*auth-user-pass-verify script" srv-refused.log ||
	sfail "refused: the log does not say why"
echo "refused: verify-client-cert none without a script does not start (exit $rc)"
echo "server_auth_nocert ($SERVER_IMPL): PASS"
exit 0
