#!/bin/bash
# make demo: sluice against stock OpenVPN 2.6 both ways, in namespaces.
#
# Act 1: the sluice client against a stock `openvpn` server.
#   ns demoS-<pid>: server                           ns demoC-<pid>: sluice client
#   198.18.10.1 ======= bridge in demoS ======= 198.18.10.2 (and demoD: 198.18.10.3)
#   tunnel 198.19.10.1/24 (topology subnet)        tunnel address pushed by the server
# Act 2: the same server.conf run by sluice; a stock `openvpn` client (demoD) and the
# sluice client connect, reach the server and each other (client-to-client).
#
# A throwaway PKI is made with the openssl CLI, the control channel is wrapped with
# tls-crypt, the server pushes the address and cipher. The demo shows the tunnels coming
# up, pings through them, measures each for 3 s with iperf3, then tears everything down.
source "$(dirname "$0")/netns/lib.sh"
S=demoS-$$ C=demoC-$$ D=demoD-$$
cd "$WORK"
pretty "throwaway PKI (EC P-256 CA, server and client certificates) and a tls-crypt key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-out ca.crt -days 2 -subj /CN=sluice-demo-ca 2>/dev/null
for n in server client client2; do
	eku=$([ $n = server ] && echo serverAuth || echo clientAuth)
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
		-out $n.csr -subj /CN=demo-$n 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
		$eku >$n.ext
	openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile $n.ext -out $n.crt 2>/dev/null
done
openvpn --genkey tls-crypt tc.key >/dev/null
cat >server.conf <<CONF
dev tun
proto udp
local 198.18.10.1
port 1194
topology subnet
server 198.19.10.0 255.255.255.0
ca ca.crt
cert server.crt
key server.key
dh none
tls-crypt tc.key
remote-cert-tls client
keepalive 10 60
client-to-client
status $WORK/status.txt 1
status-version 2
verb 3
CONF
cat >client.ovpn <<CONF
client
dev tun
proto udp
remote 198.18.10.1 1194
nobind
ca ca.crt
cert client.crt
key client.key
tls-crypt tc.key
remote-cert-tls server
verify-x509-name demo-server name
explicit-exit-notify 1
verb 3
CONF
sed 's/^cert client.crt/cert client2.crt/; s/^key client.key/key client2.key/' client.ovpn >client2.ovpn
pretty "namespaces $S (server), $C (sluice client) and $D (stock client) on a bridge"
netns_add "$S"
netns_add "$C"
netns_add "$D"
ip -n "$S" link add br0 type bridge
ip -n "$S" addr add 198.18.10.1/24 dev br0
ip -n "$S" link set br0 up
for n in 2 3; do
	ns=$([ $n = 2 ] && echo "$C" || echo "$D")
	ip link add "v$n" netns "$S" type veth peer name eth0 netns "$ns"
	ip -n "$S" link set "v$n" master br0 up
	ip -n "$ns" addr add "198.18.10.$n/24" dev eth0
	ip -n "$ns" link set eth0 up
done
pretty "act 1: stock openvpn server, sluice client"
spawn "$S" openvpn --cd "$WORK" --config server.conf --log "$WORK/server.log"
PS=$LAST_PID
wait_for 10 grep -q "Initialization Sequence Completed" server.log || fail "stock server"
pretty "sluice --config client.ovpn (its log follows)"
spawn "$C" "$SLUICE" --config client.ovpn
PC=$LAST_PID
wait_for 30 sh -c "ip -n $C -4 addr show | grep -q 'inet 198.19.10'" || fail "tunnel did not come up"
sleep 0.5
cmd ip -n "$C" -4 addr show dev tun0 2>/dev/null || ip -n "$C" -4 addr show
cmd ip netns exec "$C" ping -c 4 -i 0.25 198.19.10.1
spawn "$S" iperf3 -s -1 -B 198.19.10.1 >/dev/null 2>&1
IS=$LAST_PID
wait_for 10 ip netns exec "$S" sh -c "ss -ltn | grep -q 198.19.10.1:5201" || fail "iperf3 server"
cmd ip netns exec "$C" iperf3 -c 198.19.10.1 -t 3 -f m | grep -E "sender|receiver"
wait "$IS" || true
pretty "the stock server's view:"
grep -E "Data Channel: cipher|Peer Connection Initiated|SENT CONTROL.*PUSH_REPLY" server.log | \
	sed 's/^/    /' | head -n 4
pretty "stopping the client (SIGTERM sends EXIT to the server)"
stop_pid "$PC" || fail "sluice exit status"
sleep 0.5
grep -q "exit message received" server.log && pretty "server: $(grep -m1 -o 'CC-EEN exit message received.*' server.log)"
stop_pid "$PS" || true

pretty "act 2: the same server.conf run by sluice; a stock client and the sluice client connect"
spawn "$S" "$SLUICE" --cd "$WORK" --config server.conf
PS=$LAST_PID
wait_for 10 sh -c "ip -n $S -4 addr show | grep -q 'inet 198.19.10.1'" || fail "sluice server"
spawn "$D" openvpn --cd "$WORK" --config client2.ovpn --log "$WORK/stock-client.log"
spawn "$C" "$SLUICE" --config client.ovpn
PC=$LAST_PID
wait_for 30 grep -q "Initialization Sequence Completed" stock-client.log || fail "stock client"
wait_for 30 sh -c "ip -n $C -4 addr show | grep -q 'inet 198.19.10'" || fail "sluice client"
A_C=$(ip -n "$C" -4 -o addr show | awk '/198\.19\.10\./ { sub("/.*", "", $4); print $4 }')
A_D=$(ip -n "$D" -4 -o addr show | awk '/198\.19\.10\./ { sub("/.*", "", $4); print $4 }')
pretty "sluice client got $A_C, stock client got $A_D"
cmd ip netns exec "$D" ping -c 3 -i 0.25 198.19.10.1
cmd ip netns exec "$D" ping -c 3 -i 0.25 "$A_C"
spawn "$S" iperf3 -s -1 -B 198.19.10.1 >/dev/null 2>&1
IS=$LAST_PID
wait_for 10 ip netns exec "$S" sh -c "ss -ltn | grep -q 198.19.10.1:5201" || fail "iperf3 server"
pretty "sluice client -> sluice server, 3 s:"
cmd ip netns exec "$C" iperf3 -c 198.19.10.1 -t 3 -f m | grep -E "sender|receiver"
wait "$IS" || true
sleep 1.2
pretty "the sluice server's status file (OpenVPN status-version 2):"
grep -E "^CLIENT_LIST" status.txt | cut -d, -f1-5,13 | sed 's/^/    /'
stop_pid "$PC" || fail "sluice client exit status"
stop_pid "$PS" || fail "sluice server exit status"
pretty "demo done: sluice <-> stock OpenVPN 2.6 worked in both roles; namespaces are removed on exit"
