#!/bin/bash
# server_reneg.sh - client-initiated renegotiation against the server:
# a stock client with `reneg-sec 3` (server default 3600) pings the server's
# tunnel address continuously for 20 s (100 x 0.2 s). No packet may be lost
# across the renegotiations, and the client log must show at least two of
# them (each one logs "TLS: soft reset" when it starts and a new
# "Control Channel:" line when it completes).
#
#   env: MODE=plain (default) | tls-crypt   (wrapping of the control channel)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

MODE=${MODE:-plain}

cd "$WORK"
srv_pki 1
srv_net c1
srv_conf srv.conf
cli_conf c1.conf client1
echo "reneg-sec 3" >>c1.conf
case $MODE in
plain) ;;
tls-crypt)
	openvpn --genkey tls-crypt tc.key >/dev/null
	echo "tls-crypt $WORK/tc.key" >>srv.conf
	echo "tls-crypt $WORK/tc.key" >>c1.conf ;;
*) fail "unknown MODE $MODE" ;;
esac
srv_start srv.conf srv.log
cli_start c1 c1.conf c1.log
cli_up c1 || sfail "client1 did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"

ip netns exec "$(ns_of c1)" ping -i 0.2 -c 100 -W 2 $TUN_SRV >ping.log 2>&1 || true
grep -q " 0% packet loss" ping.log ||
	{ tail -n 3 ping.log; sfail "packet loss across client-initiated renegotiations"; }
kill -0 "${CPID[c1]}" 2>/dev/null || sfail "client1 exited during the test"

resets=$(grep -c "TLS: soft reset" c1.log || true)
chans=$(grep -c "Control Channel:" c1.log || true)
[ "$resets" -ge 2 ] || sfail "client logged $resets soft resets in 20 s, expected >= 2"
# the initial handshake plus at least two completed renegotiations
[ "$chans" -ge 3 ] || sfail "client completed $((chans - 1)) renegotiations, expected >= 2"
! grep -qE "TLS Error|AUTH_FAILED|Restart pause" c1.log ||
	sfail "client log shows a TLS error or a restart"
[ "$SERVER_IMPL" != stock ] || [ "$(grep -c "Control Channel:" srv.log)" -ge 3 ] ||
	sfail "stock server completed fewer than 2 renegotiations"
echo "$resets soft resets, $((chans - 1)) completed renegotiations," \
	"$(grep -m1 -o '[0-9]* packets transmitted, [0-9]* received' ping.log)"

cli_stop c1 || sfail "client1 did not exit cleanly"
echo "server_reneg ($SERVER_IMPL, $MODE): PASS"
exit 0
