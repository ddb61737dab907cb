#!/bin/bash
# client_auth_nocert.sh - a password-only profile (auth-user-pass and ca, no
# client certificate) against a stock OpenVPN 2.6 server with
# `verify-client-cert none`, `username-as-common-name` and
# `auth-user-pass-verify SCRIPT via-file`.
#
#   1  alice/s3cret with auth-nocache: the tunnel comes up and pings; the
#      server names the client alice (its status file); no password-caching
#      warning. SIGUSR1: the client reconnects, reading its auth file again
#      (auth-nocache forgot the password), and the script runs a second time.
#   2  alice/wrong: AUTH_FAILED, exit status 3 (authentication), no tunnel.
#   3  `verify-client-cert optional` on the server: alice comes up without a
#      certificate; without auth-nocache the client warns once that it keeps
#      the password in memory, as stock does.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
STOCK_TAG=slnc
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slnc
stock_net
cat >verify.sh <<EOS
#!/bin/sh
# \$1: the username line and the password line.
echo "\$(sed -n 1p "\$1") common_name=\$common_name" >>$WORK/calls.log
[ "\$(sed -n 1p "\$1")" = alice ] && [ "\$(sed -n 2p "\$1")" = s3cret ]
EOS
chmod 755 verify.sh
: >calls.log
calls() { grep -c . calls.log || true; }

# srv NAME VERIFY-CLIENT-CERT: a fresh stock server.
srv() {
	stock_server_conf "$1.conf" 1194
	sed -i '/^remote-cert-tls /d' "$1.conf"
	printf '%s\n' "verify-client-cert $2" "username-as-common-name" "script-security 2" \
		"auth-user-pass-verify $WORK/verify.sh via-file" "tmp-dir $WORK" \
		"status $WORK/$1.status 1" >>"$1.conf"
	stock_server_start "$1.conf" "$1.log"
}

# cli NAME USER PASS [LINES...]: a client config with ca and auth-user-pass only.
cli() {
	local name=$1 u=$2 p=$3 l
	shift 3
	stock_client_conf "$name.conf.tmp" 1194
	grep -v -E '^(cert|key) ' "$name.conf.tmp" >"$name.conf"
	rm -f "$name.conf.tmp"
	printf '%s\n%s\n' "$u" "$p" >"$name.pass"
	chmod 600 "$name.pass"
	echo "auth-user-pass $WORK/$name.pass" >>"$name.conf"
	for l in "$@"; do echo "$l" >>"$name.conf"; done
}

# ---- 1: password only, auth-nocache, then SIGUSR1 ----
srv none none
cli ok alice s3cret auth-nocache
stock_client_start ok.conf ok.log
stock_client_up ok.log || { tail -n 20 none.log; fail "alice/s3cret: client did not come up"; }
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
	{ cat ping.log; fail "alice/s3cret: ping failed"; }
wait_for 5 grep -q "^alice,198.18.77.2:" none.status ||
	{ cat none.status; fail "the server does not name the client alice (username-as-common-name)"; }
[ "$(calls)" -eq 1 ] || fail "verify.sh ran $(calls) times for one login"
! grep -q "may cache passwords in memory" ok.log || fail "auth-nocache: the client warned about caching"
kill -USR1 "$CLI"
wait_for 20 eval '[ "$(grep -c "Initialization Sequence Completed" ok.log)" -ge 2 ]' ||
	{ sed 's/^/client: /' ok.log | tail -n 30; fail "no reconnect after SIGUSR1"; }
[ "$(calls)" -eq 2 ] || fail "after SIGUSR1: verify.sh ran $(calls) times, expected 2"
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
	{ cat ping.log; fail "after SIGUSR1: ping failed"; }
stock_stop "$CLI" || { sed 's/^/client: /' ok.log; fail "client did not exit 0"; }
wait_for 5 stock_client_noaddr || fail "tun address left behind"
echo "case 1 (verify-client-cert none, no client cert, auth-nocache): up as alice, reconnect logged in again"

# ---- 2: wrong password ----
cli bad alice wrong
stock_client_start bad.conf bad.log
wait_for 30 eval '! kill -0 $CLI 2>/dev/null' ||
	{ sed 's/^/client: /' bad.log; fail "wrong password: client still running after 30 s"; }
rc=0
stock_stop "$CLI" || rc=$?
[ $rc -eq 3 ] || { sed 's/^/client: /' bad.log; fail "wrong password: exit $rc, expected 3"; }
grep -q AUTH_FAILED bad.log || fail "wrong password: no AUTH_FAILED in the client log"
! grep -q "Initialization Sequence Completed" bad.log || fail "wrong password: came up"
echo "case 2 (alice/wrong): AUTH_FAILED, exit 3"
stock_stop "$SRV" || true

# ---- 3: verify-client-cert optional, password cached ----
srv optional optional
cli opt alice s3cret
stock_client_start opt.conf opt.log
stock_client_up opt.log || { tail -n 20 optional.log; fail "optional: client did not come up"; }
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
	{ cat ping.log; fail "optional: ping failed"; }
grep -q "WARNING: this configuration may cache passwords in memory" opt.log ||
	fail "optional: no password-caching warning without auth-nocache"
stock_stop "$CLI" || fail "optional: client did not exit 0"
echo "case 3 (verify-client-cert optional, no client cert): up"
echo "client_auth_nocert: PASS"
exit 0
