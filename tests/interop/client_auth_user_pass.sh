#!/bin/bash
# client_auth_user_pass.sh - sluice client with auth-user-pass against a stock
# OpenVPN 2.6 server that checks it with `auth-user-pass-verify SCRIPT via-file`
# (and still requires a client certificate). alice/s3cret must bring the tunnel
# up; a wrong password must make the client log AUTH_FAILED and exit non-zero
# within a bounded time without ever configuring a tunnel address.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
printf '%s\n' '#!/bin/sh' \
	'# $1: a file holding the username line and the password line.' \
	'[ "$(sed -n 1p "$1")" = alice ] && [ "$(sed -n 2p "$1")" = s3cret ]' >verify.sh
chmod 755 verify.sh

stock_server_conf srv.conf 1194
printf '%s\n' "script-security 2" "auth-user-pass-verify $WORK/verify.sh via-file" \
	"verify-client-cert require" "tmp-dir $WORK" >>srv.conf
stock_server_start srv.conf srv.log

# client_conf NAME USER PASS: NAME.conf using the auth file NAME.pass.
client_conf() {
	stock_client_conf "$1.conf" 1194
	printf '%s\n%s\n' "$2" "$3" >"$1.pass"
	chmod 600 "$1.pass"
	echo "auth-user-pass $WORK/$1.pass" >>"$1.conf"
}

# 1: right password.
client_conf ok alice s3cret
stock_client_start ok.conf ok.log
stock_client_up ok.log || { tail -n 30 srv.log; fail "alice/s3cret: client did not come up"; }
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
	{ cat ping.log; fail "alice/s3cret: ping failed"; }
stock_stop "$CLI" || { sed 's/^/client: /' ok.log; fail "client did not exit 0 on SIGTERM"; }
wait_for 5 stock_client_noaddr ||
	fail "tun address still present after the first client exited"
echo "case 1 (alice/s3cret): tunnel up, ping ok"

# 2: wrong password. AUTH_FAILED is final without auth-retry, so the client
# must exit by itself; 30 s bounds the wait. Poll that no address appears.
client_conf bad alice wrong
t0=$SECONDS
stock_client_start bad.conf bad.log
exited=0
for _ in $(seq 1 300); do
	kill -0 "$CLI" 2>/dev/null || { exited=1; break; }
	stock_client_noaddr ||
		{ sed 's/^/client: /' bad.log; fail "wrong password: tunnel address configured"; }
	sleep 0.1
done
[ $exited -eq 1 ] || { sed 's/^/client: /' bad.log; fail "wrong password: client still running after 30 s"; }
rc=0
stock_stop "$CLI" || rc=$?
sed 's/^/client: /' bad.log
[ $rc -ne 0 ] || fail "wrong password: client exited 0"
grep -q AUTH_FAILED bad.log || fail "wrong password: no AUTH_FAILED in the client log"
! grep -q "Initialization Sequence Completed" bad.log || fail "wrong password: client claimed to be up"
grep -q "TLS Auth Error" srv.log || { tail -n 20 srv.log; fail "wrong password: server did not reject it"; }
echo "case 2 (alice/wrong): AUTH_FAILED, exit $rc after $((SECONDS - t0)) s, no tunnel"
echo "client_auth_user_pass: PASS"
exit 0
