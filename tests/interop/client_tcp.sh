#!/bin/bash
# client_tcp.sh - the sluice client over TCP (proto tcp-client) against a
# stock OpenVPN 2.6 server (proto tcp-server), stock.lib's topology.
#
# One run: the client connects (2-byte framing, control and data on one
# stream), pings the server's tunnel address; with IPERF=1 iperf3 2 s each
# way (Mbit/s printed, not asserted); the server renegotiates every
# RENEG seconds (default 4) under a continuous ping that must see 0% loss
# and the client switch keys; then the server is stopped and started again
# and the client must notice the closed connection, reconnect on a fresh
# one and ping again, and once more after SIGUSR1; SIGTERM must end the
# client with status 0. The
# client's data channel checks packet ids strictly (tcp_rx drops 0).
#
#   env: MODE=plain (default) | tls-crypt | tls-auth
#        IPERF=1   also the iperf3 runs, then the same through a stock 2.6
#                  client in the same tunnel set-up (the baseline, printed)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/iperf3 missing).
STOCK_TAG=sltcp
. "$(dirname "$0")/stock.lib"
MODE=${MODE:-plain}
RENEG=${RENEG:-4}
name=client_tcp${MODE:+-$MODE}
if [ "${IPERF:-0}" = 1 ]; then
	command -v iperf3 >/dev/null || { echo "$name: SKIP (iperf3 missing)"; exit 77; }
	command -v python3 >/dev/null || { echo "$name: SKIP (python3 missing)"; exit 77; }
fi

cd "$WORK"
stock_pki sltcp
stock_net
stock_server_conf srv.conf 1194
stock_client_conf cli.conf 1194
sed -i 's/^proto udp$/proto tcp-server/' srv.conf
sed -i -e 's/^proto udp$/proto tcp/' -e '/^explicit-exit-notify/d' cli.conf
cat >>srv.conf <<EOF
reneg-sec $RENEG
EOF
cat >>cli.conf <<EOF
connect-timeout 5
connect-retry 1 2
status $WORK/cli.status 1
EOF
case $MODE in
plain) ;;
tls-crypt)
	openvpn --genkey tls-crypt tc.key >/dev/null
	echo "tls-crypt $WORK/tc.key" | tee -a srv.conf >>cli.conf ;;
tls-auth)
	openvpn --genkey secret ta.key >/dev/null
	echo "tls-auth $WORK/ta.key 0" >>srv.conf
	echo "tls-auth $WORK/ta.key 1" >>cli.conf ;;
*) fail "unknown MODE $MODE" ;;
esac

stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || { tail -n 30 srv.log; fail "client did not come up over TCP"; }
grep -q "TCP connection established with" cli.log || fail "no TCP connection logged"
ip netns exec "$NS_C" ping -c 5 -i 0.2 -W 2 $TUN_SRV >ping1.log 2>&1 ||
	{ cat ping1.log; fail "ping over the TCP tunnel failed"; }

if [ "${IPERF:-0}" = 1 ]; then
	spawn "$NS_S" iperf3 -s -B $TUN_SRV -p 5201 >iperf3-s.log 2>&1
	wait_for 5 sh -c "ip netns exec $NS_S ss -Htln | grep -q ':5201'" ||
		fail "iperf3 -s did not listen"
	run() {
		local what=$1; shift
		timeout 20 ip netns exec "$NS_C" iperf3 -c $TUN_SRV -p 5201 -t 2 -J "$@" \
			>"$what.json" 2>&1 || { cat "$what.json"; fail "iperf3 $what failed"; }
		python3 - "$what" "$what.json" <<'PY' || fail "iperf3 $what: no bytes received"
import json, sys
r = json.load(open(sys.argv[2]))["end"]["sum_received"]
print("%-18s %8.1f Mbit/s  (%d bytes in %.1f s)" % (sys.argv[1], r["bits_per_second"] / 1e6, r["bytes"], r["seconds"]))
sys.exit(0 if r["bytes"] > 0 else 1)
PY
	}
	run tcp-client-to-server
	run tcp-server-to-client -R
fi

# Renegotiation under a continuous ping: the server starts one every RENEG s.
ip netns exec "$NS_C" ping -c 40 -i 0.2 -W 2 $TUN_SRV >ping2.log 2>&1
grep -q " 0% packet loss" ping2.log || { cat ping2.log; fail "loss across renegotiation"; }
grep -q "now used for sending" cli.log ||
	{ tail -n 30 cli.log; fail "the client never switched to a renegotiated key"; }
echo "renegotiation: $(grep -c 'now used for sending' cli.log) key switch(es)," \
	"$(grep -m1 -o '[0-9]* packets transmitted, [0-9]* received' ping2.log)"

# The server goes away and comes back: a fresh connection, a new session.
stock_stop "$SRV" || true
wait_for 10 grep -q "Connection reset, restarting" cli.log ||
	{ tail -n 20 cli.log; fail "client did not notice the closed connection"; }
stock_server_start srv.conf srv2.log
wait_for 30 sh -c "[ \$(grep -c 'Initialization Sequence Completed' cli.log) -ge 2 ]" ||
	{ tail -n 30 cli.log; fail "client did not reconnect after the server restart"; }
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping3.log 2>&1 ||
	{ cat ping3.log; fail "ping after the reconnect failed"; }
# SIGUSR1: a soft restart on a fresh connection too.
kill -USR1 "$CLI"
wait_for 30 sh -c "[ \$(grep -c 'Initialization Sequence Completed' cli.log) -ge 3 ]" ||
	{ tail -n 30 cli.log; fail "client did not come back after SIGUSR1"; }
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping4.log 2>&1 ||
	{ cat ping4.log; fail "ping after SIGUSR1 failed"; }
echo "reconnect: $(grep -c 'TCP connection established' cli.log) TCP connections"

sleep 1.2	# one more status write
for k in tcp_rx.drop.replay tcp_rx.drop.oversize tcp_rx.drop.short; do
	v=$(awk -F= -v k="$k" '$1 == k { print $2; exit }' cli.status)
	[ -z "$v" ] || [ "$v" = 0 ] || fail "$k = $v"
done
stock_stop "$CLI" || { tail -n 20 cli.log; fail "client did not exit 0 on SIGTERM"; }
if [ "${IPERF:-0}" = 1 ]; then
	# The same runs through a stock 2.6 client on the same box and tunnel: the baseline.
	spawn "$NS_C" openvpn --config cli.conf --log stockcli.log
	STOCK_CLI=$LAST_PID
	wait_for 30 grep -q "Initialization Sequence Completed" stockcli.log ||
		{ tail -n 20 stockcli.log; fail "stock client did not come up"; }
	run stock-client-to-server
	run stock-server-to-client -R
	stock_stop "$STOCK_CLI" || true
fi
echo "$name: PASS"
exit 0
