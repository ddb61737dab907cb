#!/bin/bash
# client_redirect_gateway.sh - a stock 2.6 server pushes `redirect-gateway def1`:
# the sluice client must route everything through the tunnel (0/1 and 128/1 via
# the pushed route-gateway) while keeping a host route to the server outside it,
# keep working (ping through the tunnel, control channel alive), and remove the
# host route on exit.
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
stock_server_conf srv.conf 1321
stock_client_conf cli.conf 1321
echo 'push "redirect-gateway def1"' >>srv.conf
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"
routes=$(ip -n "$NS_C" -4 route show)
echo "$routes" | sed 's/^/    /'
echo "$routes" | grep -q "^0.0.0.0/1 via $TUN_SRV dev tun" || fail "no 0.0.0.0/1 via the tunnel"
echo "$routes" | grep -q "^128.0.0.0/1 via $TUN_SRV dev tun" || fail "no 128.0.0.0/1 via the tunnel"
srv=$(grep -m1 '^remote ' cli.conf | awk '{print $2}')
echo "$routes" | grep -q "^$srv dev " || fail "no host route to the server $srv outside the tunnel"
# Any other destination now goes into the tunnel (asked of the kernel, nothing sent).
ip -n "$NS_C" route get 198.18.200.1 | grep -q "dev tun" || fail "198.18.200.1 is not routed into the tunnel"
ip -n "$NS_C" route get "$srv" | grep -q "dev tun" && fail "the server itself is routed into the tunnel"
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 || { cat ping.log; fail "ping"; }
stock_stop "$CLI" || fail "client did not exit 0 on SIGTERM"
ip -n "$NS_C" -4 route show | grep -q "^$srv dev " && fail "host route to the server left behind"
echo "client_redirect_gateway: PASS"
exit 0
