#!/bin/bash
# client_ipv6.sh - IPv6 inside the tunnel against a stock 2.6 server.
#
# Case 1 (IPv4 underlay): the server has `server-ipv6 2001:2:0:77::/64` and
#   pushes `route-ipv6 2001:2:0:78::/64`. The sluice client must put the pushed
#   ifconfig-ipv6 address on its TUN (usable at once), route 2001:2:0:78::/64
#   into the tunnel, hand ifconfig_ipv6_* to its up script, ping -6 the
#   server's tunnel address, and leave nothing behind after SIGTERM.
# Case 2 (IPv6 underlay, 2001:2:0:1::/64 on the veth): the server pushes
#   `redirect-gateway ipv6 !ipv4`. The client must add ::/3, 2000::/4,
#   3000::/4 and fc00::/7 into the tunnel, keep a /128 host route to the
#   server (which 2000::/4 covers) outside it, add no IPv4 redirect, still
#   ping -6 through the tunnel, and delete the host route on exit.
# IPv6 addresses come from the benchmarking range 2001:2::/48 only.
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
STOCK_TAG=slv6
. "$(dirname "$0")/stock.lib"

TUN6_SRV=2001:2:0:77::1
TUN6_CLI=2001:2:0:77::1000
SRV6=2001:2:0:1::1

cd "$WORK"
stock_pki slv6
stock_net
cat >up.sh <<'SH'
#!/bin/sh
env | grep -E '^(ifconfig_ipv6_[a-z]+|trusted_ip6?)=' | sort >"$(dirname "$0")/$script_type.out"
SH
chmod +x up.sh

# v6_state: the client namespace's IPv6 addresses and routes (for the log and the checks).
v6_state() {
	ip -n "$NS_C" -6 -o addr show | awk '{ print $2, $4 }'
	ip -n "$NS_C" -6 route show
}

v6_gone() { ! v6_state | grep -qE "$1"; }

# ---- case 1: ifconfig-ipv6 + route-ipv6 over an IPv4 underlay ----
stock_server_conf srv.conf 1341
printf 'server-ipv6 2001:2:0:77::/64\npush "route-ipv6 2001:2:0:78::/64"\n' >>srv.conf
stock_client_conf cli.conf 1341
printf 'script-security 2\nup %s/up.sh\n' "$WORK" >>cli.conf
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"
state=$(v6_state)
echo "$state" | sed 's/^/    /'
echo "$state" | grep -q "^tun[0-9]* $TUN6_CLI/64$" || fail "no $TUN6_CLI/64 on the tun"
echo "$state" | grep -q "^2001:2:0:78::/64 dev tun[0-9]* " || fail "no route-ipv6 2001:2:0:78::/64"
ip -n "$NS_C" -6 addr show | grep -A1 "$TUN6_CLI" | grep -q tentative &&
	fail "the tunnel address is tentative (DAD not skipped)"
ip -n "$NS_C" -6 route get 2001:2:0:78::5 | grep -q "dev tun" || fail "2001:2:0:78::5 not via the tunnel"
sed 's/^/    up: /' up.out
grep -q "^ifconfig_ipv6_local=$TUN6_CLI$" up.out || fail "up env ifconfig_ipv6_local"
grep -q "^ifconfig_ipv6_netbits=64$" up.out || fail "up env ifconfig_ipv6_netbits"
grep -q "^ifconfig_ipv6_remote=$TUN6_SRV$" up.out || fail "up env ifconfig_ipv6_remote"
ip netns exec "$NS_C" ping -6 -c 3 -i 0.2 -W 2 $TUN6_SRV >ping.log 2>&1 ||
	{ cat ping.log; sed 's/^/client: /' cli.log; fail "ping -6 $TUN6_SRV"; }
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 || { cat ping.log; fail "ping $TUN_SRV"; }
stock_stop "$CLI" || fail "client did not exit 0 on SIGTERM"
# The kernel finishes removing a closed TUN shortly after the process exits.
wait_for 3 v6_gone "2001:2:0:7[78]" || { v6_state; fail "IPv6 tunnel address or route left behind"; }
stock_stop "$SRV" || true
echo "[ok] ifconfig-ipv6, route-ipv6, up env, ping -6, clean exit"

# ---- case 2: redirect-gateway ipv6 !ipv4 with the server reached over IPv6 ----
ip -n "$NS_S" addr add $SRV6/64 dev "$STOCK_TAG-s0" nodad
ip -n "$NS_C" addr add 2001:2:0:1::2/64 dev "$STOCK_TAG-c0" nodad
stock_server_conf srv2.conf 1342
sed -i "s/^local .*/local $SRV6/; s/^proto udp$/proto udp6/" srv2.conf
printf 'server-ipv6 2001:2:0:77::/64\npush "redirect-gateway ipv6 !ipv4"\n' >>srv2.conf
stock_client_conf cli2.conf 1342
sed -i "s/^remote .*/remote $SRV6 1342/" cli2.conf
printf 'script-security 2\nup %s/up.sh\n' "$WORK" >>cli2.conf
stock_server_start srv2.conf srv2.log
stock_client_start cli2.conf cli2.log
stock_client_up cli2.log || fail "client 2 did not come up"
state=$(v6_state)
echo "$state" | sed 's/^/    /'
for net in ::/3 2000::/4 3000::/4 fc00::/7; do
	echo "$state" | grep -q "^$net dev tun[0-9]* " || fail "no $net into the tunnel"
done
echo "$state" | grep -q "^$SRV6 dev $STOCK_TAG-c0 .*metric 1 " ||
	fail "no host route to the server $SRV6 outside the tunnel"
ip -n "$NS_C" -4 route show | grep -q "^0.0.0.0/1" && fail "IPv4 redirected despite !ipv4"
ip -n "$NS_C" -6 route get 2001:2:0:99::1 | grep -q "dev tun" || fail "2001:2:0:99::1 not via the tunnel"
ip -n "$NS_C" -6 route get $SRV6 | grep -q "dev tun" && fail "the server is routed into the tunnel"
grep -q "^trusted_ip6=$SRV6$" up.out || fail "up env trusted_ip6"
ip netns exec "$NS_C" ping -6 -c 3 -i 0.2 -W 2 $TUN6_SRV >ping.log 2>&1 ||
	{ cat ping.log; sed 's/^/client: /' cli2.log; fail "ping -6 $TUN6_SRV (redirect)"; }
stock_stop "$CLI" || fail "client 2 did not exit 0 on SIGTERM"
v6_state | grep -q "^$SRV6 " && { v6_state; fail "host route to the server left behind"; }
wait_for 3 v6_gone "^(::/3|2000::/4|3000::/4|fc00::/7) " || fail "redirect routes left behind"
echo "[ok] redirect-gateway ipv6 !ipv4 over an IPv6 underlay, host route removed on exit"
echo "client_ipv6: PASS"
exit 0
