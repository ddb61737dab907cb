#!/bin/bash
# client_roam.sh - the client's underlay address changes under a running
# tunnel (a laptop moving, a DHCP lease renumbered) while a ping stream
# (every 0.1 s) crosses it; the server floats its clients by peer-id:
#   1  sluice client, stock 2.6 server: the session goes on from the new
#      address with no new TLS session and no reconnect, and the longest
#      gap in the ping stream stays under 1 s; then an iperf3 TCP transfer
#      survives a second move (back to the first address) in its middle;
#   2  stock client, stock server: the same move, the figure beside it
#      (printed, not judged);
#   3  sluice client, sluice server, and 4 stock client, sluice server:
#      the sluice server must float both (gap under 1 s each).
# Topology: server 198.18.79.1/24, client 198.18.79.2/24 moved to .3.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
STOCK_TAG=slrm
. "$(dirname "$0")/stock.lib"
SRV_IP=198.18.79.1
TUN_SRV=198.19.77.1

cd "$WORK"
stock_pki slrm
netns_add "$NS_S"
netns_add "$NS_C"
veth_pair "$NS_S" slrm-s0 $SRV_IP/24 "$NS_C" slrm-c0 198.18.79.2/24
# The new address is added before the old one goes: it must then take over.
ip netns exec "$NS_C" sysctl -qw net.ipv4.conf.slrm-c0.promote_secondaries=1
stock_server_conf srv.conf 1194
echo "keepalive 10 60" >>srv.conf
stock_server_start srv.conf srv.log

# gap LOG: the longest time between two answered pings (ms), from ping -D -O.
gap() {
	awk '/bytes from/ { t = substr($1, 2, length($1) - 2) + 0;
		if (prev && (t - prev) * 1000 > g) g = (t - prev) * 1000; prev = t }
		END { printf "%d\n", g }' "$1"
}

# run NAME CMD...: the client up, a 12 s ping stream, the move at 4 s.
run() {
	local name=$1 pid
	shift
	ip netns exec "$NS_C" ip addr flush dev slrm-c0
	ip netns exec "$NS_C" ip addr add 198.18.79.2/24 dev slrm-c0
	spawn "$NS_C" "$@"
	pid=$LAST_PID
	wait_for 30 grep -q "Initialization Sequence Completed" "$WORK/cli-$name.log" ||
		{ tail -n 30 "$WORK/cli-$name.log"; fail "$name: client did not come up"; }
	wait_for 10 ip netns exec "$NS_C" ping -c 1 -W 1 $TUN_SRV ||
		fail "$name: no ping before the move"
	ip netns exec "$NS_C" timeout 30 ping -D -O -i 0.1 -c 120 -W 1 $TUN_SRV \
		>"ping-$name.log" 2>&1 &
	local pp=$!
	sleep 4
	ip -n "$NS_C" addr add 198.18.79.3/24 dev slrm-c0
	ip -n "$NS_C" addr del 198.18.79.2/24 dev slrm-c0
	wait $pp || true
	CLIPID=$pid
}

# 1: sluice.
stock_client_conf cli-sluice.conf 1194
sed -i "s/^remote .*/remote $SRV_IP 1194/" cli-sluice.conf
echo "status $WORK/st-sluice.txt 1" >>cli-sluice.conf
run sluice sh -c 'exec "$0" --config "$1" >"$2" 2>&1' "$SLUICE" cli-sluice.conf \
	"$WORK/cli-sluice.log"
g1=$(gap ping-sluice.log)
r1=$(grep -o '[0-9]* received' ping-sluice.log | awk '{ print $1 }')
grep -q "roam: local address 198.18.79.2 -> 198.18.79.3" cli-sluice.log ||
	{ grep -E "path|roam|probe|state" cli-sluice.log; fail "sluice: no roam logged"; }
[ "$(grep -c "Initialization Sequence Completed" cli-sluice.log)" -eq 1 ] ||
	fail "sluice: the client set the tunnel up again (a reconnect, not a roam)"
[ "$(grep -c "TLS: Initial packet to server" cli-sluice.log)" -eq 1 ] ||
	fail "sluice: a new TLS session was started"
[ "$g1" -lt 1000 ] || fail "sluice: the ping stream stopped for $g1 ms around the move"
echo "sluice client: roamed without a new session; longest gap ${g1} ms, $r1 of 120 answered"
spawn "$NS_S" iperf3 -s -B 198.19.77.1 -p 5201 -1 >iperf-s.log 2>&1
sleep 0.5
ip netns exec "$NS_C" timeout 20 iperf3 -c 198.19.77.1 -p 5201 -t 6 -J >iperf.json 2>&1 &
ipf=$!
sleep 3
ip -n "$NS_C" addr add 198.18.79.2/24 dev slrm-c0
ip -n "$NS_C" addr del 198.18.79.3/24 dev slrm-c0
wait $ipf || { tail -n 20 iperf.json; fail "sluice: the iperf3 transfer failed across the move"; }
ib=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))' iperf.json)
[ "${ib:-0}" -gt 0 ] || fail "sluice: iperf3 received nothing"
[ "$(grep -c "TLS: Initial packet to server" cli-sluice.log)" -eq 1 ] ||
	fail "sluice: a new TLS session during the iperf3 move"
grep -q "roam: local address 198.18.79.3 -> 198.18.79.2" cli-sluice.log ||
	fail "sluice: the second move was not a roam"
stock_stop "$CLIPID" || fail "sluice client did not exit cleanly"
echo "sluice client: iperf3 TCP survived a move in its middle ($((ib / 1000000)) MB received)"

# 2: stock, the same move.
stock_client_conf cli-stock.conf 1194
sed -i "s/^remote .*/remote $SRV_IP 1194/" cli-stock.conf
run stock openvpn --config cli-stock.conf --log "$WORK/cli-stock.log"
g2=$(gap ping-stock.log)
r2=$(grep -o '[0-9]* received' ping-stock.log | awk '{ print $1 }')
stock_stop "$CLIPID" || true
echo "stock client (reference): longest gap ${g2} ms, $r2 of 120 answered"

# 3 and 4: the same configuration under the sluice server.
stock_stop "$SRV" || true
wait_for 10 eval '[ -z "$(ip netns exec "$NS_S" ss -Hun state all "( sport = :1194 )")" ]' ||
	fail "server port still bound"
spawn "$NS_S" sh -c 'exec "$0" --config "$1" >"$2" 2>&1' "$SLUICE" srv.conf "$WORK/srv-sluice.log"
SRV=$LAST_PID
wait_for 15 grep -q "Initialization Sequence Completed" srv-sluice.log ||
	{ cat srv-sluice.log; fail "sluice server did not start"; }
mv cli-sluice.log cli-sluice-1.log
run sluice sh -c 'exec "$0" --config "$1" >"$2" 2>&1' "$SLUICE" cli-sluice.conf \
	"$WORK/cli-sluice.log"
g3=$(gap ping-sluice.log)
stock_stop "$CLIPID" || fail "sluice client (sluice server) did not exit cleanly"
[ "$g3" -lt 1000 ] || fail "sluice server + sluice client: gap $g3 ms around the move"
mv cli-stock.log cli-stock-1.log
run stock openvpn --config cli-stock.conf --log "$WORK/cli-stock.log"
g4=$(gap ping-stock.log)
stock_stop "$CLIPID" || true
[ "$g4" -lt 1000 ] || fail "sluice server + stock client: gap $g4 ms around the move"
grep -q "float" srv-sluice.log || fail "the sluice server logged no float"
echo "sluice server: sluice client gap ${g3} ms, stock client gap ${g4} ms (floated)"
echo "client_roam: PASS"
exit 0
