#!/bin/bash
# client_tcp_mixed.sh - a remote list mixing udp and tcp entries, tried in
# order, the data plane's link swapped between UDP and TCP as the entries
# change. Two stock 2.6 servers in one namespace: A over TCP on 1194
# (tunnel 198.19.77.0/24), B over UDP on 1196 (198.19.79.0/24). The client's
# list: udp 1195 (nothing there: server-poll-timeout), tcp 1194 (A), udp
# 1196 (B). It must come up through A over TCP; when A stops, retry A
# (refused) and come up through B over UDP.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
STOCK_TAG=sltcpm
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki sltcpm
stock_net
stock_server_conf a.conf 1194
sed -i 's/^proto udp$/proto tcp-server/' a.conf
stock_server_conf b.conf 1196
sed -i 's/^server 198.19.77.0/server 198.19.79.0/' b.conf
stock_client_conf cli.conf 1194
sed -i -e '/^proto udp$/d' -e '/^remote /d' -e '/^explicit-exit-notify/d' cli.conf
cat >>cli.conf <<EOF
remote $SRV_IP 1195 udp
remote $SRV_IP 1194 tcp4
remote $SRV_IP 1196 udp
connect-timeout 3
connect-retry 1 1
EOF
stock_server_start a.conf a.log
SRV_A=$SRV
stock_server_start b.conf b.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up through the TCP entry"
grep -q "TCP connection established" cli.log || fail "not over TCP"
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 198.19.77.1 >p1.log 2>&1 ||
	{ cat p1.log; fail "ping through A (TCP) failed"; }
stock_stop "$SRV_A" || true
wait_for 30 sh -c "[ \$(grep -c 'Initialization Sequence Completed' cli.log) -ge 2 ]" ||
	{ tail -n 30 cli.log; fail "client did not move on to the UDP entry"; }
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 198.19.79.1 >p2.log 2>&1 ||
	{ cat p2.log; tail -n 20 cli.log; fail "ping through B (UDP) failed"; }
grep -o "connection [0-9] of 3: remote [^)]*" cli.log | uniq | sed 's/^/tried: /'
stock_stop "$CLI" || { tail -n 20 cli.log; fail "client did not exit 0 on SIGTERM"; }
echo "client_tcp_mixed: PASS"
exit 0
