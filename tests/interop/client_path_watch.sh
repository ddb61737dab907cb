#!/bin/bash
# client_path_watch.sh - the client's path watch against a stock 2.6 server
# (keepalive 2 10 pushed), with redirect-gateway def1:
#   1  20 link flaps of the client's underlay in 2 s: at most one action
#      (probe or reconnect) after the burst settles, the /32 host route to
#      the server outside the tunnel is back, and the tunnel works again
#   2  a route change that does not touch the path (a route to an unrelated
#      prefix added and removed): nothing happens
#   3  an injected sleep (test-sleep-hook) with the server alive: a probe at
#      once, answered, no reconnect
#   4  an injected sleep with the server's traffic dropped (nft): the probe
#      fails and the client reconnects at once (reason "sleep"), well before
#      ping-restart; once the drop ends it is back
#   5  start with no route to the server: the client waits and retries, and
#      connects once the route appears (no exit)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/nft missing).
STOCK_TAG=slpw
. "$(dirname "$0")/stock.lib"
command -v nft >/dev/null || { echo "client_path_watch: SKIP (nft missing)"; exit 77; }
SRV_IP=198.18.86.1

cd "$WORK"
stock_pki slpw
netns_add "$NS_S"
netns_add "$NS_C"
veth_pair "$NS_S" slpw-s0 $SRV_IP/24 "$NS_C" slpw-c0 198.18.86.2/24
stock_server_conf srv.conf 1194
printf '%s\n' "keepalive 2 10" 'push "redirect-gateway def1"' >>srv.conf
stock_server_start srv.conf srv.log
stock_client_conf cli.conf 1194
printf '%s\n' "status $WORK/st.txt 1" "test-sleep-hook $WORK/sleep" "connect-retry 1" >>cli.conf
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"

st() { awk -F= -v k="$1" '$1 == k { print $2 }' st.txt; }
host_route() { ip -n "$NS_C" route show $SRV_IP/32 | grep -q "dev slpw-c0"; }
up_ping() { wait_for "$1" ip netns exec "$NS_C" ping -c 1 -W 1 $TUN_SRV; }
nactions() { grep -cE "probe: asking|SIGUSR1\[soft" cli.log || true; }
host_route || fail "no host route to the server outside the tunnel"

# 1: 20 flaps in 2 s.
a0=$(nactions)
for _ in $(seq 1 20); do
	ip -n "$NS_C" link set slpw-c0 down
	sleep 0.05
	ip -n "$NS_C" link set slpw-c0 up
	sleep 0.05
done
sleep 5
a1=$(nactions)
[ $((a1 - a0)) -le 1 ] || { grep -E "path|probe|SIGUSR1|state" cli.log | tail -20;
	fail "flaps: $((a1 - a0)) actions for one burst"; }
wait_for 10 host_route || fail "flaps: the host route to the server did not come back"
up_ping 15 || fail "flaps: the tunnel did not come back"
echo "case 1: 20 flaps in 2 s -> $((a1 - a0)) action(s), host route restored, tunnel up"

# 2: an unrelated route.
a0=$(nactions)
ip -n "$NS_C" route add 198.18.87.0/24 dev slpw-c0
ip -n "$NS_C" route del 198.18.87.0/24 dev slpw-c0
sleep 2
[ "$(nactions)" -eq "$a0" ] || fail "unrelated route change led to an action"
echo "case 2: an unrelated route change: no action"

# 3: sleep, server alive.
r0=$(st reconnects)
t0=$(date +%s%N)
echo 600 >sleep
wait_for 5 grep -q "probe: the server answered after" cli.log ||
	{ tail -n 20 cli.log; fail "sleep: no probe answered"; }
t1=$(date +%s%N)
sleep 1.2
[ "$(st reconnects)" = "$r0" ] || fail "sleep: a reconnect although the server answered"
echo "case 3: sleep (alive) -> probe answered in $(((t1 - t0) / 1000000)) ms, no reconnect"

# 4: sleep, server silent.
ip netns exec "$NS_S" nft -f - <<'EOF'
table inet slpw_drop {
	chain in {
		type filter hook input priority 0;
		udp dport 1194 drop
	}
	chain out {
		type filter hook output priority 0;
		udp sport 1194 drop
	}
}
EOF
t0=$(date +%s%N)
echo 600 >sleep
wait_for 8 grep -q "state: RECONNECTING (sleep)" cli.log ||
	{ tail -n 20 cli.log; fail "sleep: no reconnect although the server was silent"; }
t1=$(date +%s%N)
ip netns exec "$NS_S" nft delete table inet slpw_drop
up_ping 20 || fail "sleep: not back after the drop ended"
echo "case 4: sleep (silent) -> reconnect after $(((t1 - t0) / 1000000)) ms (ping-restart is 10 s)"
stock_stop "$CLI" || fail "client did not exit cleanly"

# 5: no route at start.
ip -n "$NS_C" addr flush dev slpw-c0
stock_client_start cli.conf cli5.log
sleep 3
kill -0 "$CLI" 2>/dev/null || { cat cli5.log; fail "no route: the client exited"; }
ip -n "$NS_C" addr add 198.18.86.2/24 dev slpw-c0
wait_for 20 grep -q "Initialization Sequence Completed" cli5.log ||
	{ tail -n 20 cli5.log; fail "no route: did not connect once the route appeared"; }
up_ping 10 || fail "no route: no tunnel traffic"
stock_stop "$CLI" || fail "client did not exit cleanly"
echo "case 5: started without a route, connected once it appeared"
echo "client_path_watch: PASS"
exit 0
