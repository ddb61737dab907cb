#!/bin/bash
# client_auth_prompt.sh - auth-user-pass without a file: the sluice client asks
# on its terminal, as stock does, against a stock OpenVPN 2.6 server that
# checks the credentials with auth-user-pass-verify. The client runs on a
# pseudo-terminal (tests/interop/pty_prompt.py types the answers).
#
#   1  `auth-nocache`: "Enter Auth Username:" (alice, echoed) and "Enter Auth
#      Password:" (s3cret, not echoed: it never shows on the terminal); the
#      tunnel comes up. After SIGUSR1 the password was forgotten, so both are
#      asked again, and the server's script runs a second time.
#   2  without auth-nocache: asked once; after SIGUSR1 the client logs in
#      again with the remembered password, without asking.
#   3  `askpass` and an encrypted client key: "Enter Private Key Password:"
#      at start-up (not echoed), then up.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3 missing).
STOCK_TAG=slpt
. "$(dirname "$0")/stock.lib"
command -v python3 >/dev/null || { echo "client_auth_prompt: SKIP (python3 missing)"; exit 77; }
PTY=$(dirname "$(readlink -f "$0")")/pty_prompt.py

cd "$WORK"
stock_pki slpt
stock_net
cat >verify.sh <<EOS
#!/bin/sh
echo "\$(sed -n 1p "\$1")" >>$WORK/calls.log
[ "\$(sed -n 1p "\$1")" = alice ] && [ "\$(sed -n 2p "\$1")" = s3cret ]
EOS
chmod 755 verify.sh
: >calls.log
calls() { grep -c . calls.log || true; }
openssl pkey -in slpt-client.key -aes256 -passout pass:k3ypass -out enc.key 2>/dev/null ||
	fail "cannot encrypt the client key"
stock_server_conf srv.conf 1194
printf '%s\n' "script-security 2" "auth-user-pass-verify $WORK/verify.sh via-file" \
	"tmp-dir $WORK" >>srv.conf
stock_server_start srv.conf srv.log

inits() { grep -c "Initialization Sequence Completed" "$1" || true; }
# pty_start NAME PAIRS...: the client NAME.conf on a pty answering PAIRS; $CLI = the helper.
pty_start() {
	local name=$1
	shift
	: >"$name.log"
	spawn "$NS_C" python3 "$PTY" "$name.log" "$name.pid" "$@" -- "$SLUICE" --config "$name.conf"
	CLI=$LAST_PID
}
sluice_pid() { cat "$1.pid"; }

# ---- 1: auth-nocache ----
stock_client_conf nc.conf 1194
printf '%s\n' "auth-user-pass" "auth-nocache" >>nc.conf
pty_start nc "Enter Auth Username:=alice" "Enter Auth Password:=s3cret" \
	"Enter Auth Username:=alice" "Enter Auth Password:=s3cret"
wait_for 30 eval '[ "$(inits nc.log)" -ge 1 ]' || { cat nc.log; fail "nocache: no tunnel after the prompt"; }
grep -q "Enter Auth Username:alice" nc.log || { cat nc.log; fail "nocache: the username was not echoed"; }
! grep -q s3cret nc.log || fail "nocache: the password was echoed on the terminal"
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 || { cat ping.log; fail "nocache: ping"; }
kill -USR1 "$(sluice_pid nc)"
wait_for 20 eval '[ "$(inits nc.log)" -ge 2 ]' || { cat nc.log; fail "nocache: no reconnect after SIGUSR1"; }
[ "$(grep -c "Enter Auth Password:" nc.log)" -eq 2 ] ||
	{ cat nc.log; fail "nocache: the password was not asked again on the reconnect"; }
[ "$(calls)" -eq 2 ] || fail "nocache: the server checked $(calls) logins, expected 2"
! grep -q s3cret nc.log || fail "nocache: the password was echoed on the second prompt"
stock_stop "$CLI" || { cat nc.log; fail "nocache: client did not exit 0"; }
wait_for 5 stock_client_noaddr || fail "nocache: tun address left behind"
echo "case 1 (prompt, auth-nocache): asked twice, password never echoed, server saw 2 logins"

# ---- 2: cached ----
: >calls.log
stock_client_conf cache.conf 1194
echo "auth-user-pass" >>cache.conf
pty_start cache "Enter Auth Username:=alice" "Enter Auth Password:=s3cret"
wait_for 30 eval '[ "$(inits cache.log)" -ge 1 ]' || { cat cache.log; fail "cached: no tunnel"; }
kill -USR1 "$(sluice_pid cache)"
wait_for 20 eval '[ "$(inits cache.log)" -ge 2 ]' || { cat cache.log; fail "cached: no reconnect"; }
[ "$(grep -c "Enter Auth Password:" cache.log)" -eq 1 ] || fail "cached: asked again on the reconnect"
[ "$(calls)" -eq 2 ] || fail "cached: the server checked $(calls) logins, expected 2"
grep -q "may cache passwords in memory" cache.log || fail "cached: no caching warning"
stock_stop "$CLI" || { cat cache.log; fail "cached: client did not exit 0"; }
wait_for 5 stock_client_noaddr || fail "cached: tun address left behind"
echo "case 2 (prompt, cached): asked once, the reconnect used the remembered password"

# ---- 3: askpass prompt for an encrypted key ----
stock_client_conf key.conf 1194
sed -i "s|^key .*|key $WORK/enc.key|" key.conf
printf '%s\n%s\n' alice s3cret >up.txt
chmod 600 up.txt
printf '%s\n' "askpass" "auth-user-pass $WORK/up.txt" >>key.conf
pty_start key "Enter Private Key Password:=k3ypass"
wait_for 30 eval '[ "$(inits key.log)" -ge 1 ]' || { cat key.log; fail "askpass: no tunnel"; }
! grep -q k3ypass key.log || fail "askpass: the passphrase was echoed"
stock_stop "$CLI" || { cat key.log; fail "askpass: client did not exit 0"; }
echo "case 3 (askpass, encrypted key): asked at start-up, up"
echo "client_auth_prompt: PASS"
exit 0
