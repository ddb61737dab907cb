#!/bin/bash
# server_iroute.sh - a site network behind a client (iroute) and a fixed
# client address (ifconfig-push), both from the server's client-config-dir.
#
# Namespaces: server + client1 + client2 on the bridge (server.lib), and a
# "lan" namespace 198.18.61.2/24 behind client1 (client1 198.18.61.1/24,
# ip_forward=1 in client1's namespace only; the lan host's default route
# points at client1). Server config: `route 198.18.61.0 255.255.255.0`,
# `push "route 198.18.61.0 255.255.255.0"`, client-to-client,
# `client-config-dir ccd` with
#   ccd/client1: iroute 198.18.61.0 255.255.255.0
#   ccd/client2: ifconfig-push 198.19.60.50 255.255.255.0
# Stock drops a pushed route from a client's PUSH_REPLY when it equals one of
# that client's iroutes ("REMOVE PUSH ROUTE"): client1 must not receive it.
# Checks: client2's tun is 198.19.60.50 and the status file agrees; client2
# has the pushed route and pings the lan host; the lan host pings client2.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

LAN_NET=198.18.61.0
LAN_GW=198.18.61.1
LAN_HOST=198.18.61.2
FIXED=198.19.60.50

cd "$WORK"
srv_pki 2
srv_net c1 c2
NS_LAN=$SRVT_TAG-$$-lan
netns_add "$NS_LAN"
veth_pair "$(ns_of c1)" lan0 $LAN_GW/24 "$NS_LAN" eth0 $LAN_HOST/24
ip -n "$NS_LAN" route add default via $LAN_GW
ip netns exec "$(ns_of c1)" sysctl -qw net.ipv4.ip_forward=1

mkdir ccd
echo "iroute $LAN_NET 255.255.255.0" >ccd/client1
echo "ifconfig-push $FIXED 255.255.255.0" >ccd/client2
srv_conf srv.conf
cat >>srv.conf <<EOF
client-to-client
client-config-dir $WORK/ccd
route $LAN_NET 255.255.255.0
push "route $LAN_NET 255.255.255.0"
EOF
srv_start srv.conf srv.log

cli_conf c1.conf client1
cli_conf c2.conf client2
cli_start c1 c1.conf c1.log
cli_start c2 c2.conf c2.log
cli_up c1 || sfail "client1 did not come up within 30 s"
cli_up c2 || sfail "client2 did not come up within 30 s"

a2=$(cli_addr c2)
[ "$a2" = $FIXED ] || sfail "client2 tun address '$a2', ccd ifconfig-push says $FIXED"
wait_for 5 eval '[ "$(st_field client2 4)" = $FIXED ]' ||
	sfail "status: client2 virtual address '$(st_field client2 4)', expected $FIXED"
a1=$(st_field client1 4)
{ [ -n "$a1" ] && [ "$a1" != $FIXED ]; } || sfail "status: client1 virtual address '$a1'"
echo "client2 got the ccd address $FIXED; client1 has $a1"

grep -q "PUSH_REPLY.*route $LAN_NET 255.255.255.0" c1.log &&
	sfail "client1 was pushed the route to its own iroute $LAN_NET/24"
grep -q "PUSH_REPLY.*route $LAN_NET 255.255.255.0" c2.log ||
	sfail "client2's PUSH_REPLY lacks route $LAN_NET 255.255.255.0"
ip -n "$(ns_of c2)" route show $LAN_NET/24 | grep -q "dev tun" ||
	{ ip -n "$(ns_of c2)" route; sfail "client2 has no pushed route to $LAN_NET/24 via its tun"; }
ping_ok c2 $TUN_SRV || sfail "client2 cannot ping the server"
ping_ok c2 $LAN_HOST 15 || sfail "client2 cannot reach $LAN_HOST behind client1 (iroute)"
ip netns exec "$(ns_of c2)" ping -c 5 -i 0.2 -W 2 $LAN_HOST >ping.log 2>&1 ||
	{ cat ping.log; sfail "client2 -> lan host: repeated ping lost packets"; }
ip netns exec "$NS_LAN" ping -c 3 -i 0.2 -W 2 $FIXED >ping-lan.log 2>&1 ||
	{ cat ping-lan.log; sfail "lan host cannot reach client2 at $FIXED through client1"; }
echo "client2 <-> $LAN_HOST through client1's iroute: ok"

cli_stop c2 || sfail "client2 did not exit cleanly"
cli_stop c1 || sfail "client1 did not exit cleanly"
echo "server_iroute ($SERVER_IMPL): PASS"
exit 0
