#!/bin/bash
# server_auth.sh - client admission on the server: user/password checked by a
# script, max-clients, and a second connection with the same certificate.
#
# Three server runs (certificates are required in all of them):
#   file: `auth-user-pass-verify verify.sh via-file` (script-security 2).
#         alice/secret comes up and pings; alice/wrong and bob/secret get
#         AUTH_FAILED in their logs, exit by themselves and never get a tun
#         address; the status file shows Username alice for client1 and no
#         virtual address for the rejected ones (stock lists them for a few
#         seconds with an empty Virtual Address and Username UNDEF).
#   env:  the same with `via-env` ($username/$password in the environment),
#         and without duplicate-cn: a second client using client1's
#         certificate (from another address) replaces the first one. Stock
#         logs "MULTI: new connection by client 'client1' will cause previous
#         active sessions by this client to be dropped." and the status file
#         then has one client1 line, with the new real address.
#   max:  `max-clients 1`: client1 comes up, client2 is refused (no tunnel
#         within 6 s, not in the status file; stock logs "MULTI: new incoming
#         connection would exceed maximum number of clients (1)") and client1
#         keeps working.
# verify.sh records how it was called (file/env) so each run checks the mode.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 3
srv_net c1 c2 c3
cat >verify.sh <<EOF
#!/bin/sh
# via-file: \$1 is a file with the username line and the password line;
# via-env: \$username and \$password.
if [ \$# -ge 1 ] && [ -f "\$1" ]; then
	u=\$(sed -n 1p "\$1"); p=\$(sed -n 2p "\$1"); how=file
else
	u=\$username; p=\$password; how=env
fi
echo "\$how \$u" >>$WORK/verify-calls.log
[ "\$u" = alice ] && [ "\$p" = secret ]
EOF
chmod 755 verify.sh

# auth_conf NAME CERT USER PASS: client config NAME.conf with NAME.pass.
auth_conf() {
	cli_conf "$1.conf" "$2"
	printf '%s\n%s\n' "$3" "$4" >"$1.pass"
	chmod 600 "$1.pass"
	printf '%s\n' "auth-user-pass $WORK/$1.pass" "explicit-exit-notify 1" >>"$1.conf"
}

# server_run TAG [LINES...]: (re)starts the server with extra config lines.
server_run() {
	local tag=$1 l
	shift
	srv_stop
	srv_conf "srv-$tag.conf"
	for l in "$@"; do echo "$l" >>"srv-$tag.conf"; done
	: >verify-calls.log
	srv_start "srv-$tag.conf" "srv-$tag.log"
}

# expect_auth_failed NAME: the client logs AUTH_FAILED and exits by itself
# (no auth-retry) within 30 s, never configuring a tunnel address.
expect_auth_failed() {
	local pid=${CPID[$1]} n
	for n in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		[ -z "$(cli_addr "$1")" ] || sfail "$1: tunnel address configured despite bad credentials"
		sleep 0.1
	done
	[ "$n" -lt 300 ] || sfail "$1: still running 30 s after connecting with bad credentials"
	cli_stop "$1" || true
	grep -q AUTH_FAILED "${CLOG[$1]}" || sfail "$1: no AUTH_FAILED in its log"
	! grep -q "Initialization Sequence Completed" "${CLOG[$1]}" ||
		sfail "$1: came up with bad credentials"
}

# --- run 1: via-file, right and wrong credentials
server_run file "script-security 2" "auth-user-pass-verify $WORK/verify.sh via-file"
auth_conf good1 client1 alice secret
auth_conf badpw client2 alice wrong
auth_conf baduser client3 bob secret
cli_start c1 good1.conf good1.log
cli_up c1 || sfail "file: alice/secret did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "file: alice/secret cannot ping the server"
cli_start c2 badpw.conf badpw.log
cli_start c3 baduser.conf baduser.log
expect_auth_failed c2
expect_auth_failed c3
grep -q "^file alice" verify-calls.log || sfail "file: verify.sh was not called via-file"
wait_for 5 st_has client1 || sfail "file: status does not list client1"
[ "$(st_field client1 10)" = alice ] ||
	sfail "file: status Username of client1 is '$(st_field client1 10)', expected alice"
# Stock keeps a rejected client in CLIENT_LIST (no virtual address, Username
# UNDEF) until its instance is gone; it must never hold an address.
for cn in client2 client3; do
	[ -z "$(st_field $cn 4)" ] ||
		sfail "file: rejected $cn has virtual address $(st_field $cn 4) in the status file"
done
ping_ok c1 $TUN_SRV || sfail "file: client1 stopped working"
cli_stop c1 || sfail "file: client1 did not exit cleanly"
echo "via-file: alice/secret up; alice/wrong and bob/secret got AUTH_FAILED"

# --- run 2: via-env, then the same certificate twice
server_run env "script-security 3" "auth-user-pass-verify $WORK/verify.sh via-env"
auth_conf dup client1 alice secret
cli_start c1 good1.conf good1-env.log
cli_up c1 || sfail "env: alice/secret did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "env: alice/secret cannot ping the server"
cli_start c2 badpw.conf badpw-env.log
expect_auth_failed c2
grep -q "^env alice" verify-calls.log || sfail "env: verify.sh was not called via-env"
wait_for 5 st_has client1 || sfail "env: status does not list client1"
first_real=$(st_field client1 3)
case $first_real in 198.18.60.11:*) ;; *) sfail "env: client1 real address '$first_real'" ;; esac
echo "via-env: alice/secret up; alice/wrong got AUTH_FAILED"

# client1's certificate again, from c3's namespace (198.18.60.13): without
# duplicate-cn the new session replaces the old one. Checked before the old
# client's ping-restart (10 s) makes it come back and replace the new one.
cli_start c3 dup.conf dup.log
cli_up c3 || sfail "env: second client1 session did not come up within 30 s"
wait_for 5 eval '[[ "$(st_field client1 3)" == 198.18.60.13:* ]]' ||
	sfail "env: status shows client1 at '$(st_field client1 3)', expected the new 198.18.60.13 session"
n=$(st_clients | grep -c "^CLIENT_LIST,client1," || true)
[ "$n" -eq 1 ] || sfail "env: $n CLIENT_LIST lines for client1, expected 1"
ping_ok c3 $TUN_SRV || sfail "env: the new client1 session cannot ping the server"
if [ "$SERVER_IMPL" = stock ]; then
	grep -q "MULTI: new connection by client 'client1' will cause previous active sessions" \
		srv-env.log || sfail "env: stock did not log the duplicate-cn replacement"
fi
cli_stop c1 || true
cli_stop c3 || sfail "env: second client1 session did not exit cleanly"
echo "same certificate twice: the new session replaced the old one"

# --- run 3: max-clients 1
server_run max "max-clients 1"
cli_conf m1.conf client1
cli_conf m2.conf client2
cli_start c1 m1.conf m1.log
cli_up c1 || sfail "max: client1 did not come up within 30 s"
cli_start c2 m2.conf m2.log
sleep 6
! grep -q "Initialization Sequence Completed" m2.log ||
	sfail "max: client2 came up despite max-clients 1"
[ -z "$(cli_addr c2)" ] || sfail "max: client2 has a tunnel address"
st_lacks client2 || sfail "max: client2 is in the status file"
if [ "$SERVER_IMPL" = stock ]; then
	grep -q "MULTI: new incoming connection would exceed maximum number of clients (1)" \
		srv-max.log || sfail "max: stock did not log the refusal"
fi
ping_ok c1 $TUN_SRV || sfail "max: client1 stopped working"
cli_stop c2 || true
cli_stop c1 || sfail "max: client1 did not exit cleanly"
echo "max-clients 1: client2 refused, client1 unaffected"

echo "server_auth ($SERVER_IMPL): PASS"
exit 0
