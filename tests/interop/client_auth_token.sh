#!/bin/bash
# client_auth_token.sh - the sluice client keeps the auth-token a stock
# OpenVPN 2.6 server pushes and logs in with it instead of its password.
#
# The server: `auth-gen-token 0 120`, `reneg-sec 6`, and an
# auth-user-pass-verify script that counts its runs. The client: alice's
# auth-user-pass file and auth-nocache.
#   1  the first login runs the script once; the auth file is then deleted
#      (auth-nocache forgot the password, so only the token can log in now);
#   2  two renegotiations with the token (client: "sending the auth-token",
#      server: "Username/auth-token authentication succeeded"), pings go on,
#      the script still ran once;
#   3  SIGUSR1: the client reconnects with the token, one script run;
#   4  the server restarts with a new secret, so the token is no longer
#      valid; the auth file is back. The client is told to reconnect: its
#      token gets AUTH_FAILED, it drops the token (SIGUSR1[soft,auth-failure
#      (auth-token)]) and logs in with its password again: two script runs,
#      and a new token.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
STOCK_TAG=sltk
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki sltk
stock_net
cat >verify.sh <<EOS
#!/bin/sh
echo "\$(sed -n 1p "\$1")" >>$WORK/calls.log
[ "\$(sed -n 1p "\$1")" = alice ] && [ "\$(sed -n 2p "\$1")" = s3cret ]
EOS
chmod 755 verify.sh
: >calls.log
calls() { grep -c . calls.log || true; }
inits() { grep -c "Initialization Sequence Completed" cli.log || true; }
token_logins() { grep -c "Username/auth-token authentication succeeded" "$1" || true; }
# ping_tunnel WHEN: one answered ping within 10 s (the renegotiations every 6 s are
# about the token here, not about loss: client_reneg.sh counts that).
ping_tunnel() {
	wait_for 10 ip netns exec "$NS_C" ping -c 1 -W 1 $TUN_SRV ||
		{ sed 's/^/client: /' cli.log | tail -n 30; fail "ping after $1"; }
}

# server NAME: a stock server with its own fresh token secret.
server() {
	openvpn --genkey auth-token "$1.key" >/dev/null 2>&1 || fail "openvpn --genkey auth-token"
	stock_server_conf "$1.conf" 1194
	printf '%s\n' "script-security 2" "auth-user-pass-verify $WORK/verify.sh via-file" \
		"tmp-dir $WORK" "auth-gen-token 0 120" "auth-gen-token-secret $WORK/$1.key" \
		"reneg-sec 6" >>"$1.conf"
	stock_server_start "$1.conf" "$1.log"
}

server srv1
stock_client_conf cli.conf 1194
printf 'alice\ns3cret\n' >up.txt
chmod 600 up.txt
printf '%s\n' "auth-user-pass $WORK/up.txt" "auth-nocache" >>cli.conf
stock_client_start cli.conf cli.log
stock_client_up cli.log || { tail -n 20 srv1.log; fail "the client did not come up"; }
ping_tunnel "the first login"
[ "$(calls)" -eq 1 ] || fail "the first login ran the script $(calls) times"
grep -q "auth-token received" cli.log || fail "the client did not take the pushed token"
! grep -q "auth-token SESS_ID_AT_" cli.log || fail "the client logged its token"
rm -f up.txt
echo "1: logged in with the password (script runs: 1), auth file deleted"

wait_for 20 eval '[ "$(token_logins srv1.log)" -ge 2 ]' ||
	{ sed 's/^/client: /' cli.log | tail -n 30; fail "no two renegotiations with the token"; }
[ "$(grep -c "sending the auth-token instead of the password" cli.log)" -ge 2 ] ||
	fail "the client did not say it sent the token"
ping_tunnel "the renegotiations"
[ "$(calls)" -eq 1 ] || fail "the renegotiations ran the script ($(calls) runs)"
echo "2: two renegotiations with the token (script runs: 1)"

n=$(token_logins srv1.log)
kill -USR1 "$CLI"
wait_for 20 eval '[ "$(inits)" -ge 2 ]' || { sed 's/^/client: /' cli.log | tail -n 30; fail "no reconnect"; }
[ "$(token_logins srv1.log)" -gt "$n" ] || fail "the reconnect did not use the token"
ping_tunnel "the reconnect"
[ "$(calls)" -eq 1 ] || fail "the reconnect ran the script ($(calls) runs)"
echo "3: SIGUSR1: reconnected with the token (script runs: 1)"

stock_stop "$SRV" || true
printf 'alice\ns3cret\n' >up.txt
server srv2
before=$(inits)	# not "n": wait_for has a local n
kill -USR1 "$CLI"
wait_for 30 eval '[ "$(inits)" -gt $before ]' ||
	{ sed 's/^/client: /' cli.log | tail -n 40; fail "no login after the token was refused"; }
grep -q "AUTH_FAILED" cli.log || fail "the new server did not refuse the old token"
grep -q "SIGUSR1\[soft,auth-failure (auth-token)\]" cli.log || fail "no auth-token restart logged"
[ "$(calls)" -eq 2 ] || fail "after the refused token: $(calls) script runs, expected 2"
ping_tunnel "the password login after the refused token"
stock_stop "$CLI" || fail "the client did not exit 0"
echo "4: a refused token: dropped, password login again (script runs: 2)"
echo "client_auth_token: PASS"
exit 0
