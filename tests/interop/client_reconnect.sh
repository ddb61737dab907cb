#!/bin/bash
# client_reconnect.sh - the sluice client reconnects to a stock 2.6 server the
# way a stock client does: from a fresh UDP port, so the server (which still
# holds the old address/port's instance) answers the new handshake at once.
#
# The server pushes keepalive 2 10 (ping 2, ping-restart 10).
# Case 1: SIGUSR1 to the connected client: it must reconnect from another
#         local port and pass traffic again within 15 s.
# Case 2: the client's underlay link is down for 12 s: the client must hit
#         ping-restart, keep retrying, reconnect by itself once the link is
#         back, pass traffic again, and its status file must say CONNECTED.
# Case 3: SIGUSR1 after the server's client-config-dir changed the client's
#         address and routes: the old address goes, the new one and the new
#         route come.
# The TUN device stays throughout; its addresses and routes stay while the
# push is the same (stock's persist-tun behaviour).
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
STOCK_TAG=slv6
. "$(dirname "$0")/stock.lib"

# inits N: how many times the client came up so far.
inits() { grep -c "Initialization Sequence Completed" cli.log || true; }
inits_at_least() { [ "$(inits)" -ge "$1" ]; }
client_port() { grep "udp: reconnecting from local port" cli.log | tail -n 1 | awk '{ print $NF }'; }
ping_tunnel() {
	ip netns exec "$NS_C" ping -c 3 -i 0.3 -W 2 $TUN_SRV >ping.log 2>&1 ||
		{ cat ping.log; sed 's/^/client: /' cli.log | tail -n 40; fail "ping after $1"; }
}
status_connected() { grep -q "^state=CONNECTED$" status.txt; }

cd "$WORK"
stock_pki slv6
stock_net
stock_server_conf srv.conf 1351
sed -i 's/^keepalive .*/keepalive 2 10/' srv.conf
mkdir ccd
echo "client-config-dir $WORK/ccd" >>srv.conf
stock_client_conf cli.conf 1351
printf 'status %s/status.txt 1\n' "$WORK" >>cli.conf
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"
ping_tunnel "the first connection"
port0=$(ip netns exec "$NS_C" ss -Hnu state established "dport = :1351" | awk '{ print $3 }' |
	sed 's/.*://' | head -n 1)
tun0=$(ip -n "$NS_C" -o link show | awk -F': ' '$2 ~ /^tun/ { print $2; exit }')
echo "    first connection from port $port0, device $tun0"

# ---- case 1: SIGUSR1 ----
t0=$(date +%s)
kill -USR1 "$CLI"
wait_for 15 inits_at_least 2 || { sed 's/^/client: /' cli.log | tail -n 40; fail "no reconnect within 15 s of SIGUSR1"; }
t1=$(date +%s)
port1=$(client_port)
echo "    SIGUSR1: up again after $((t1 - t0)) s, now from port $port1"
[ -n "$port1" ] && [ "$port1" != "$port0" ] || fail "the reconnect did not use a fresh port ($port0 -> $port1)"
grep -q "Preserving previous TUN/TAP instance: $tun0" cli.log || fail "the TUN was not kept"
ping_tunnel "SIGUSR1"
echo "[ok] SIGUSR1: fresh port, up again in $((t1 - t0)) s"

# ---- case 2: the underlay goes away for 12 s ----
ip -n "$NS_C" link set "$STOCK_TAG-c0" down
t0=$(date +%s)
wait_for 20 grep -q "Inactivity timeout (--ping-restart)" cli.log ||
	{ sed 's/^/client: /' cli.log | tail -n 20; fail "no ping-restart while the link was down"; }
sleep $((12 - ($(date +%s) - t0)))
ip -n "$NS_C" link set "$STOCK_TAG-c0" up
t1=$(date +%s)
wait_for 45 inits_at_least 3 || { sed 's/^/client: /' cli.log | tail -n 40; fail "no reconnect after the link came back"; }
t2=$(date +%s)
echo "    link down 12 s: up again $((t2 - t1)) s after the link came back, port $(client_port)"
ping_tunnel "the link outage"
wait_for 3 status_connected || { cat status.txt; fail "status file does not say CONNECTED"; }
echo "[ok] link outage: ping-restart, reconnected by itself, status CONNECTED"

# ---- case 3: the next push differs: the old address and routes make way ----
printf 'ifconfig-push 198.19.77.50 255.255.255.0\npush "route 198.18.99.0 255.255.255.0"\n' \
	>ccd/slv6-client
kill -USR1 "$CLI"
wait_for 15 inits_at_least 4 || { sed 's/^/client: /' cli.log | tail -n 40; fail "no reconnect with the new push"; }
grep -q "NOTE: Pulled options changed on restart" cli.log || fail "the changed push was not noticed"
addrs=$(stock_client_addr)
echo "    new push: tun addresses $addrs"
[ "$addrs" = 198.19.77.50/24 ] || fail "tun addresses '$addrs', want only 198.19.77.50/24"
ip -n "$NS_C" -4 route show | grep -q "^198.18.99.0/24 via $TUN_SRV dev $tun0" ||
	fail "no pushed route 198.18.99.0/24 after the reconnect"
ping_tunnel "the changed push"
echo "[ok] changed push: old address gone, new address and route in place"

stock_stop "$CLI" || fail "client did not exit 0 on SIGTERM"
echo "client_reconnect: PASS"
exit 0
