#!/bin/bash
# server_ipv6.sh - IPv6 inside the tunnel: `server-ipv6 2001:2:0:1::/64`
# (RFC 5180 benchmarking range) next to the IPv4 pool, client-to-client.
#
# Two stock clients get an IPv6 address each from the pool (their tun shows
# it, the status file's "Virtual IPv6 Address" field agrees), ping6 the
# server's 2001:2:0:1::1 and each other; IPv4 keeps working alongside.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

V6_NET=2001:2:0:1::/64
V6_SRV=2001:2:0:1::1

cd "$WORK"
srv_pki 2
srv_net c1 c2
srv_conf srv.conf
printf '%s\n' "server-ipv6 $V6_NET" "client-to-client" >>srv.conf
srv_start srv.conf srv.log

for i in 1 2; do
	cli_conf "c$i.conf" "client$i"
	cli_start "c$i" "c$i.conf" "c$i.log"
done
for i in 1 2; do
	cli_up "c$i" || sfail "client$i did not come up within 30 s"
done

declare -A V6
for i in 1 2; do
	V6[c$i]=$(cli_addr6 "c$i")
	case ${V6[c$i]} in
	2001:2:0:1:*) ;;
	*) ip -n "$(ns_of "c$i")" -6 addr; sfail "client$i tun IPv6 address '${V6[c$i]}' not in $V6_NET" ;;
	esac
done
[ "${V6[c1]}" != "${V6[c2]}" ] || sfail "both clients got ${V6[c1]}"
echo "tunnel IPv6 addresses: ${V6[c1]} ${V6[c2]}"

wait_for 5 eval '[ "$(st_count)" -eq 2 ]' || sfail "status: $(st_count) CLIENT_LIST lines, expected 2"
for i in 1 2; do
	v=$(st_field "client$i" 5)
	[ "$v" = "${V6[c$i]}" ] ||
		sfail "status: client$i Virtual IPv6 Address '$v', its tun has ${V6[c$i]}"
done

# ping6 retries cover duplicate address detection on the fresh tun addresses.
for i in 1 2; do
	ping_ok "c$i" $V6_SRV 15 || sfail "client$i cannot ping6 the server $V6_SRV"
	ping_ok "c$i" $TUN_SRV || sfail "client$i cannot ping the server $TUN_SRV (IPv4)"
done
ping_ok c1 "${V6[c2]}" || sfail "client1 cannot ping6 client2 at ${V6[c2]}"
ping_ok c2 "${V6[c1]}" || sfail "client2 cannot ping6 client1 at ${V6[c1]}"
ip netns exec "$(ns_of c1)" ping -6 -c 5 -i 0.2 -W 2 "${V6[c2]}" >ping.log 2>&1 ||
	{ cat ping.log; sfail "client1 -> client2 over IPv6: repeated ping lost packets"; }
ip netns exec "$(ns_of c2)" ping -6 -c 5 -i 0.2 -W 2 $V6_SRV >ping-srv.log 2>&1 ||
	{ cat ping-srv.log; sfail "client2 -> server over IPv6: repeated ping lost packets"; }
echo "ping6: both clients reach the server and each other"

for i in 1 2; do
	cli_stop "c$i" || sfail "client$i did not exit cleanly on SIGTERM"
done
echo "server_ipv6 ($SERVER_IMPL): PASS"
exit 0
