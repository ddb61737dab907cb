#!/bin/bash
# client_stock_server.sh - the sluice client against a stock OpenVPN 2.6 server.
#
# Stock server (openvpn, topology subnet, server 198.19.77.0/24, keepalive)
# in namespace slcli-<pid>-s, sluice client in slcli-<pid>-c, joined by a
# veth pair 198.18.77.1/30 <-> 198.18.77.2/30. The client must connect,
# get the pushed config, log "Initialization Sequence Completed", ping the
# server's tunnel address 198.19.77.1, and exit 0 on SIGTERM (sending EXIT,
# which the server must log).
#
#   env: MODE=plain (default) | tls-crypt | tls-auth
#        HOLD=N       idle seconds before pinging (keepalive check), default 0
#        SRV_EXTRA / CLI_EXTRA  more config lines for server.conf / client.conf
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
[ "$(id -u)" -eq 0 ] || { echo "client_stock_server: SKIP (needs root)"; exit 77; }
for cmd in openvpn openssl ping; do
	command -v "$cmd" >/dev/null || { echo "client_stock_server: SKIP ($cmd missing)"; exit 77; }
done
. "$(dirname "$0")/../netns/lib.sh"
. "$(dirname "$0")/pki.lib"

MODE=${MODE:-plain}
NS_S=slcli-$$-s
NS_C=slcli-$$-c

cd "$WORK"
pki_ca ca slcli-test-ca
pki_leaf ca slcli-server serverAuth digitalSignature,keyEncipherment
pki_leaf ca slcli-client clientAuth digitalSignature
chmod 600 ./*.key

cat >server.conf <<EOF
dev tun
proto udp
local 198.18.77.1
port 1194
topology subnet
server 198.19.77.0 255.255.255.0
ca $WORK/ca.crt
cert $WORK/slcli-server.crt
key $WORK/slcli-server.key
dh none
remote-cert-tls client
keepalive 10 60
verb 4
EOF
cat >client.conf <<EOF
client
dev tun
proto udp
remote 198.18.77.1 1194
nobind
ca $WORK/ca.crt
cert $WORK/slcli-client.crt
key $WORK/slcli-client.key
remote-cert-tls server
verify-x509-name slcli-server name
explicit-exit-notify 1
verb 4
status $WORK/client.status
EOF
case $MODE in
plain) ;;
tls-crypt)
	openvpn --genkey tls-crypt tc.key >/dev/null
	echo "tls-crypt $WORK/tc.key" >>server.conf
	echo "tls-crypt $WORK/tc.key" >>client.conf ;;
tls-auth)
	openvpn --genkey secret ta.key >/dev/null
	echo "tls-auth $WORK/ta.key 0" >>server.conf
	echo "tls-auth $WORK/ta.key 1" >>client.conf ;;
*) fail "unknown MODE $MODE" ;;
esac
[ -z "${SRV_EXTRA:-}" ] || echo "$SRV_EXTRA" >>server.conf
[ -z "${CLI_EXTRA:-}" ] || echo "$CLI_EXTRA" >>client.conf

netns_add "$NS_S"
netns_add "$NS_C"
veth_pair "$NS_S" slcli-s0 198.18.77.1/30 "$NS_C" slcli-c0 198.18.77.2/30

spawn "$NS_S" openvpn --config server.conf --log "$WORK/server.log"
SRV=$LAST_PID
wait_for 10 grep -q "Initialization Sequence Completed" server.log ||
	{ cat server.log; fail "stock server did not start"; }

spawn "$NS_C" "$SLUICE" --config client.conf >client.log 2>&1
CLI=$LAST_PID
if ! wait_for 30 grep -q "Initialization Sequence Completed" client.log; then
	sed 's/^/client: /' client.log; tail -n 30 server.log | sed 's/^/server: /'
	fail "sluice client did not come up within 30 s"
fi
[ "${HOLD:-0}" -eq 0 ] || sleep "$HOLD"
ip -n "$NS_C" -4 addr show | grep -q "inet 198.19.77.2/24" ||
	{ ip -n "$NS_C" addr; fail "pushed ifconfig 198.19.77.2/24 not applied"; }
if ! ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 198.19.77.1 >ping.log 2>&1; then
	cat ping.log; sed 's/^/client: /' client.log
	fail "ping 198.19.77.1 through the tunnel failed"
fi
# And from the server's side to the client's tunnel address.
ip netns exec "$NS_S" ping -c 2 -i 0.2 -W 2 198.19.77.2 >ping2.log 2>&1 ||
	{ cat ping2.log; fail "ping 198.19.77.2 from the server failed"; }

rc=0
stop_pid "$CLI" || rc=$?
[ $rc -eq 0 ] || { sed 's/^/client: /' client.log; fail "sluice exited with $rc on SIGTERM"; }
grep -q "SENT CONTROL: 'EXIT'" client.log || fail "client did not send EXIT"
wait_for 5 grep -q "CC-EEN exit message received" server.log ||
	{ tail -n 20 server.log; fail "server did not see the EXIT"; }
echo "client_stock_server ($MODE): PASS"
exit 0
