#!/bin/bash
# client_net30.sh - sluice client vs stock OpenVPN 2.6 server with `topology net30`:
# the pushed ifconfig is a point-to-point pair (local .6, remote .5 for the first
# client), plus a route to the server's .1; the client must apply it and ping .1.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
stock_server_conf srv.conf 1194
stock_client_conf cli.conf 1194
sed -i 's/^topology subnet$/topology net30/' srv.conf
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"
addr=$(stock_client_addr)
echo "client tun address: $addr"
ip -n "$NS_C" -4 addr show | grep -q "inet 198.19.77.6 peer 198.19.77.5/32" ||
	{ ip -n "$NS_C" addr; fail "net30 ifconfig 198.19.77.6 peer 198.19.77.5 not applied"; }
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
	{ cat ping.log; ip -n "$NS_C" route; sed 's/^/client: /' cli.log; fail "ping $TUN_SRV failed"; }
stock_stop "$CLI" || { sed 's/^/client: /' cli.log; fail "client did not exit 0 on SIGTERM"; }
echo "client_net30: PASS"
exit 0
