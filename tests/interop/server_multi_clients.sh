#!/bin/bash
# server_multi_clients.sh - three stock OpenVPN 2.6 clients on one server
# (SERVER_IMPL=sluice|stock, see server.lib) with client-to-client.
#
# Every client pings the server's tunnel address and the two other clients'
# tunnel addresses; the status file (status-version 2) lists three
# CLIENT_LIST lines, one per CN, with distinct virtual addresses equal to the
# clients' tun addresses; iperf3 from client1 to the server's tunnel address
# moves data both ways (3 s each, only "more than 0 bytes" is checked).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 3
srv_net c1 c2 c3
srv_conf srv.conf
echo "client-to-client" >>srv.conf
srv_start srv.conf srv.log

for i in 1 2 3; do
	cli_conf "c$i.conf" "client$i"
	cli_start "c$i" "c$i.conf" "c$i.log"
done
for i in 1 2 3; do
	cli_up "c$i" || sfail "client$i did not come up within 30 s"
done
declare -A VADDR
for i in 1 2 3; do
	VADDR[c$i]=$(cli_addr "c$i")
	[ -n "${VADDR[c$i]}" ] || sfail "client$i has no tun address"
done
echo "tunnel addresses: ${VADDR[c1]} ${VADDR[c2]} ${VADDR[c3]}"

# The status file is rewritten every second: wait until it lists all three.
wait_for 5 eval '[ "$(st_count)" -eq 3 ]' ||
	sfail "status: $(st_count) CLIENT_LIST lines, expected 3"
for i in 1 2 3; do
	v=$(st_field "client$i" 4)
	[ "$v" = "${VADDR[c$i]}" ] ||
		sfail "status: client$i virtual address '$v', its tun has ${VADDR[c$i]}"
	r=$(st_field "client$i" 3)
	case $r in
	198.18.60.*:[0-9]*) ;;
	*) sfail "status: client$i real address '$r' is not 198.18.60.x:port" ;;
	esac
done
[ "$(st_clients | cut -d, -f4 | sort -u | wc -l)" -eq 3 ] ||
	sfail "status: virtual addresses are not distinct"

for i in 1 2 3; do
	ping_ok "c$i" $TUN_SRV || sfail "client$i cannot ping the server $TUN_SRV"
	for j in 1 2 3; do
		[ $i -eq $j ] && continue
		ping_ok "c$i" "${VADDR[c$j]}" ||
			sfail "client$i cannot ping client$j at ${VADDR[c$j]} (client-to-client)"
	done
done
ip netns exec "$(ns_of c1)" ping -c 5 -i 0.2 -W 2 "${VADDR[c3]}" >ping.log 2>&1 ||
	{ cat ping.log; sfail "client1 -> client3: repeated ping lost packets"; }
echo "pings: every client reaches the server and both other clients"

iperf_checks 3 c1:up c1:down

for i in 1 2 3; do
	cli_stop "c$i" || sfail "client$i did not exit cleanly on SIGTERM"
done
echo "server_multi_clients ($SERVER_IMPL): PASS"
exit 0
