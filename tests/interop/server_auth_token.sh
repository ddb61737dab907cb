#!/bin/bash
# server_auth_token.sh - auth-gen-token on the server, with stock 2.6 clients.
#
# The server runs `auth-gen-token 0 120` (no lifetime; tokens verify for
# twice the 120 s renewal period, and are renewed with every renegotiation),
# a shared `auth-gen-token-secret`, `reneg-sec 6` and an auth-user-pass-verify
# script that counts its runs. Client c1 (alice, with auth-nocache):
#   1  logs in once: the script runs once and the client gets a token;
#   2  renegotiates twice with the token instead of its password: the server
#      logs "Username/auth-token authentication succeeded" and the script
#      still ran once;
#   3  SIGUSR1: reconnects with the token, still one script run;
#   4  the server is replaced by the other implementation (sluice <-> stock)
#      with the same secret and the client told to reconnect (SIGUSR1): the
#      token the first one minted logs it in at the second without the
#      script (the same token format).
# Client c2 sends a forged token ("SESS_ID_AT_" and 80 base64 digits that are
# no HMAC of ours) as its password: AUTH_FAILED, it exits by itself, and the
# script never runs for it.
#   5  expiry: a server with `auth-gen-token 8 120` (sessions of 8 s) and
#      `reneg-sec 5`; a stock client (c3) and a sluice client (c4) log in,
#      renegotiate once with the token, and at the next renegotiation the
#      token has outlived its session: AUTH_FAILED,SESSION: token expired,
#      and each client drops its token and logs in with its password again
#      (two more script runs).
# Runs with SERVER_IMPL=stock too (then the replacement in 4 is sluice).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 4
srv_net c1 c2 c3 c4
openvpn --genkey auth-token secret.pem >/dev/null 2>&1 || fail "openvpn --genkey auth-token failed"
cat >verify.sh <<EOS
#!/bin/sh
echo "\$(sed -n 1p "\$1") \$session_state" >>$WORK/calls.log
[ "\$(sed -n 1p "\$1")" = alice ] && [ "\$(sed -n 2p "\$1")" = s3cret ]
EOS
chmod 755 verify.sh
: >calls.log
calls() { grep -c . calls.log || true; }
ok_logins() { grep -c "Username/auth-token authentication succeeded" "$1" || true; }

# server_start_impl IMPL LOG: the token server with implementation IMPL.
server_start_impl() {
	local keep=$SERVER_IMPL
	SERVER_IMPL=$1
	srv_start srv.conf "$2"
	SERVER_IMPL=$keep
}
srv_conf srv.conf
printf '%s\n' "script-security 2" "auth-user-pass-verify $WORK/verify.sh via-file" \
	"tmp-dir $WORK" "auth-gen-token 0 120" "auth-gen-token-secret $WORK/secret.pem" \
	"reneg-sec 6" >>srv.conf
server_start_impl "$SERVER_IMPL" srv-a.log

cli_conf c1.conf client1
printf 'alice\ns3cret\n' >c1.pass
chmod 600 c1.pass
printf '%s\n' "auth-user-pass $WORK/c1.pass" "auth-nocache" >>c1.conf
cli_start c1 c1.conf c1.log
cli_up c1 || sfail "alice did not come up"
ping_ok c1 $TUN_SRV || sfail "alice cannot ping the server"
[ "$(calls)" -eq 1 ] || sfail "the script ran $(calls) times for one login"
grep -q "^alice Initial$" calls.log || sfail "the script did not see session_state=Initial: $(cat calls.log)"
echo "1: alice logged in with her password (script runs: 1)"

wait_for 20 eval '[ "$(ok_logins srv-a.log)" -ge 2 ]' ||
	sfail "no two renegotiations with the token within 20 s"
ping_ok c1 $TUN_SRV || sfail "alice stopped working after the renegotiations"
[ "$(calls)" -eq 1 ] || sfail "renegotiations ran the script ($(calls) runs)"
echo "2: two renegotiations with the token (script runs: 1)"

n=$(ok_logins srv-a.log)
kill -USR1 "${CPID[c1]}"
wait_for 20 eval '[ "$(grep -c "Initialization Sequence Completed" c1.log)" -ge 2 ]' ||
	sfail "alice did not reconnect after SIGUSR1"
[ "$(ok_logins srv-a.log)" -gt "$n" ] || sfail "the reconnect did not log in with the token"
ping_ok c1 $TUN_SRV || sfail "alice cannot ping after the reconnect"
[ "$(calls)" -eq 1 ] || sfail "the reconnect ran the script ($(calls) runs)"
echo "3: SIGUSR1: reconnected with the token (script runs: 1)"

# The forged token, while alice stays connected.
cli_conf c2.conf client2
printf 'alice\nSESS_ID_AT_%s\n' "$(head -c 60 /dev/urandom | base64 -w0)" >c2.pass
chmod 600 c2.pass
echo "auth-user-pass $WORK/c2.pass" >>c2.conf
cli_start c2 c2.conf c2.log
for i in $(seq 1 300); do
	kill -0 "${CPID[c2]}" 2>/dev/null || break
	[ -z "$(cli_addr c2)" ] || sfail "the forged token got a tunnel address"
	sleep 0.1
done
[ "$i" -lt 300 ] || sfail "the client with a forged token still runs after 30 s"
cli_stop c2 || true
grep -q AUTH_FAILED c2.log || sfail "no AUTH_FAILED for the forged token"
[ "$(calls)" -eq 1 ] || sfail "the forged token ran the script ($(calls) runs)"
grep -q "Username/auth-token authentication failed" srv-a.log ||
	sfail "the server did not log the refused token"
echo "forged token: AUTH_FAILED, no script run"

# 4: the other implementation takes over with the same secret.
other=sluice
[ "$SERVER_IMPL" = sluice ] && other=stock
srv_stop
server_start_impl $other srv-b.log
inits=$(grep -c "Initialization Sequence Completed" c1.log)
kill -USR1 "${CPID[c1]}"
wait_for 20 eval '[ "$(grep -c "Initialization Sequence Completed" c1.log)" -gt $inits ]' ||
	sfail "alice did not come back to the $other server"
ping_ok c1 $TUN_SRV || sfail "alice cannot ping the $other server"
[ "$(ok_logins srv-b.log)" -ge 1 ] || sfail "the $other server did not take $SERVER_IMPL's token"
[ "$(calls)" -eq 1 ] || sfail "the $other server ran the script ($(calls) runs)"
echo "4: the $other server took the token the $SERVER_IMPL server made (script runs: 1)"
cli_stop c1 || sfail "alice did not exit cleanly"

# 5: tokens that outlive their session's lifetime.
srv_stop
sed -e 's/^auth-gen-token 0 120$/auth-gen-token 8 120/' -e 's/^reneg-sec 6$/reneg-sec 5/' \
	srv.conf >srv-exp.conf
srv_start srv-exp.conf srv-exp.log
: >calls.log
for c in c3 c4; do
	cli_conf "$c.conf" "client${c#c}"
	echo "auth-user-pass $WORK/c1.pass" >>"$c.conf"
done
cli_start c3 c3.conf c3.log
cli_start_sluice c4 c4.conf c4.log
for c in c3 c4; do
	cli_up "$c" || sfail "expiry: $c did not come up"
done
for c in c3 c4; do
	wait_for 25 grep -q "AUTH_FAILED,SESSION: token expired" "$c.log" ||
		sfail "expiry: $c got no 'AUTH_FAILED,SESSION: token expired'"
	wait_for 10 eval '[ "$(grep -c "Initialization Sequence Completed" '"$c"'.log)" -ge 2 ]' ||
		sfail "expiry: $c did not log in again with its password"
	grep -q "SIGUSR1\[soft,auth-failure (auth-token)\]" "$c.log" ||
		sfail "expiry: $c did not restart for its refused token"
	ping_ok "$c" $TUN_SRV || sfail "expiry: $c cannot ping after logging in again"
done
[ "$(calls)" -eq 4 ] || sfail "expiry: $(calls) script runs, expected 4 (two logins each)"
for c in c3 c4; do cli_stop "$c" || true; done
echo "5: expired tokens refused at a renegotiation; stock and sluice clients logged in again"
echo "server_auth_token ($SERVER_IMPL): PASS"
exit 0
