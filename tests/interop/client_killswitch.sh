#!/bin/bash
# client_killswitch.sh - fail-closed: with `kill-switch` only the tunnel and
# UDP to the VPN server may leave the client, while sluice runs, while it
# reconnects, and after it was killed with SIGKILL; `sluice --kill-switch-off`
# (or a clean exit) lifts it.
#
# Topology: namespace S holds the stock 2.6 server (198.18.84.1/24,
# 2001:2:0:84::1/64 on the veth) and a "protected" host address the client
# must never reach unencrypted: 198.18.85.99 and 2001:2:0:85::99 on its
# loopback; the client's default routes point at S. The tunnel pushes
# redirect-gateway def1, so while it is up the protected host is reached
# through the tunnel (decrypted in S, coming from the tunnel address).
# An nft counter in S counts packets from the client's underlay addresses
# to the protected prefixes: every unencrypted leak.
#   1  tunnel up: ping the protected host through the tunnel; leaks 0
#   2  client killed (-9): pings to both protected addresses (v4, v6);
#      leaks still 0, and a UDP send to the server's port still works
#   3  `sluice --kill-switch-off`: the same pings now leak (the counter
#      moves): the test can fail
#   4  block-ipv6 without kill-switch: IPv6 to the protected host is
#      blocked while IPv4 leaves normally
# IPv6 addresses come from the benchmarking range 2001:2::/48 only.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/nft missing).
STOCK_TAG=slks
. "$(dirname "$0")/stock.lib"
command -v nft >/dev/null || { echo "client_killswitch: SKIP (nft missing)"; exit 77; }
SRV_IP=198.18.84.1

cd "$WORK"
stock_pki slks
netns_add "$NS_S"
netns_add "$NS_C"
veth_pair "$NS_S" slks-s0 $SRV_IP/24 "$NS_C" slks-c0 198.18.84.2/24
ip -n "$NS_S" addr add 2001:2:0:84::1/64 dev slks-s0 nodad
ip -n "$NS_C" addr add 2001:2:0:84::2/64 dev slks-c0 nodad
ip -n "$NS_S" addr add 198.18.85.99/32 dev lo
ip -n "$NS_S" addr add 2001:2:0:85::99/128 dev lo nodad
ip -n "$NS_C" route add default via $SRV_IP
ip -n "$NS_C" -6 route add default via 2001:2:0:84::1
ip netns exec "$NS_S" sysctl -qw net.ipv4.ip_forward=1
# The leak counter: packets from the client's underlay to the protected host.
ip netns exec "$NS_S" nft -f - <<'EOF'
table inet slks_count {
	chain in {
		type filter hook prerouting priority -300; policy accept;
		ip saddr 198.18.84.2 ip daddr 198.18.85.99 counter name leak4
		ip6 saddr 2001:2:0:84::2 ip6 daddr 2001:2:0:85::99 counter name leak6
	}
	counter leak4 { }
	counter leak6 { }
}
EOF
leaks() {
	ip netns exec "$NS_S" nft list counters table inet slks_count |
		awk '/packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) }
		     END { print s + 0 }'
}

stock_server_conf srv.conf 1194
printf '%s\n' 'push "redirect-gateway def1"' >>srv.conf
stock_server_start srv.conf srv.log
stock_client_conf cli.conf 1194
echo "kill-switch" >>cli.conf
stock_client_start cli.conf cli.log
stock_client_up cli.log || { tail -n 20 srv.log; fail "client did not come up"; }
ip netns exec "$NS_C" nft list tables | grep -q "sluice_ks_" ||
	fail "no kill-switch table in the client namespace"

# 1: through the tunnel.
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 198.18.85.99 >/dev/null 2>&1 ||
	fail "up: the protected host is not reachable through the tunnel"
[ "$(leaks)" -eq 0 ] || fail "up: $(leaks) packet(s) left unencrypted"
echo "case 1: tunnel up, protected host reached through it, 0 leaks"

# 2: killed.
kill -KILL "$CLI"
wait "$CLI" 2>/dev/null || true
wait_for 5 eval '! ip -n "$NS_C" link show | grep -q " tun"' || fail "tun device still there"
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 1 198.18.85.99 >/dev/null 2>&1 &&
	fail "killed: the protected host answered"
ip netns exec "$NS_C" ping -6 -c 3 -i 0.2 -W 1 2001:2:0:85::99 >/dev/null 2>&1 &&
	fail "killed: the protected host answered over IPv6"
[ "$(leaks)" -eq 0 ] || fail "killed: $(leaks) packet(s) left unencrypted"
ip netns exec "$NS_C" bash -c "echo probe > /dev/udp/$SRV_IP/1194" ||
	fail "killed: UDP to the VPN server is blocked too (a restart could not reconnect)"
echo "case 2: after kill -9, 0 leaks over IPv4 and IPv6; the server still reachable"

# 3: lifted.
ip netns exec "$NS_C" "$SLUICE" --kill-switch-off || fail "--kill-switch-off failed"
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 1 198.18.85.99 >/dev/null 2>&1 ||
	fail "lifted: the protected host is still blocked"
[ "$(leaks)" -gt 0 ] || fail "lifted: the leak counter did not move (the test could not fail)"
echo "case 3: --kill-switch-off lifts it (the counter saw $(leaks) packet(s))"

# 4: block-ipv6 alone, clean exit removes it.
sed -i 's/^kill-switch$/block-ipv6/' cli.conf
stock_client_start cli.conf cli2.log
stock_client_up cli2.log || fail "block-ipv6: client did not come up"
ip netns exec "$NS_C" ping -6 -c 2 -i 0.2 -W 1 2001:2:0:85::99 >/dev/null 2>&1 &&
	fail "block-ipv6: IPv6 still leaves"
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 198.18.85.99 >/dev/null 2>&1 ||
	fail "block-ipv6: IPv4 through the tunnel broken"
stock_stop "$CLI" || fail "block-ipv6: client did not exit cleanly"
! ip netns exec "$NS_C" nft list tables | grep -q "sluice_ks_" ||
	fail "block-ipv6: the table stayed after a clean exit"
echo "case 4: block-ipv6 blocks IPv6, IPv4 flows, a clean exit removes the table"
echo "client_killswitch: PASS"
exit 0
