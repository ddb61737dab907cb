#!/bin/bash
# make demo: the sluice client against a stock OpenVPN 2.6 server, in namespaces.
#
#   ns demoS-<pid>: stock `openvpn` server          ns demoC-<pid>: sluice client
#   198.18.10.1/30 ============ veth ============ 198.18.10.2/30
#   tunnel 198.19.10.1/24 (topology subnet)        tunnel address pushed by the server
#
# A throwaway PKI is made with the openssl CLI, the control channel is wrapped with
# tls-crypt, the server pushes the address and cipher. The demo shows the tunnel coming
# up, pings through it, measures it for 3 s with iperf3, then tears everything down.
source "$(dirname "$0")/netns/lib.sh"
S=demoS-$$ C=demoC-$$
cd "$WORK"
pretty "throwaway PKI (EC P-256 CA, server and client certificates) and a tls-crypt key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-out ca.crt -days 2 -subj /CN=sluice-demo-ca 2>/dev/null
for n in server client; do
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
pretty "namespaces $S (stock openvpn server) and $C (sluice client)"
netns_add "$S"
netns_add "$C"
veth_pair "$S" vs 198.18.10.1/30 "$C" vc 198.18.10.2/30
spawn "$S" openvpn --cd "$WORK" --config server.conf --log "$WORK/server.log"
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
pretty "demo done: sluice client <-> stock OpenVPN 2.6 tunnel worked; namespaces are removed on exit"
