#!/bin/bash
# client_reneg.sh - sluice client renegotiating with a stock OpenVPN 2.6 server.
#
# Two runs in sequence against a stock server (namespace slreneg-<pid>-s,
# sluice client in slreneg-<pid>-c, veth 198.18.78.1/30 <-> 198.18.78.2/30):
#   server: server `reneg-sec 5`, client default (3600): the server starts
#           every renegotiation (SOFT_RESET from the server).
#   client: server `reneg-sec 0`, client `reneg-sec 6`: sluice starts them.
# In each, a continuous ping (100 x 0.2 s = 20 s) from the client to
# 198.19.78.1 must see 0% loss across at least two renegotiations, the
# server log must show key_ids 1 and 2 negotiated, and the client must log
# its new keys and the retirement of the lame duck. Renegotiations run under
# dynamic tls-crypt (the client announces it, the server pushes it): the
# push must say so and the client must have sent packets wrapped with it.
#
#   env: MODE=mixed (default: the server scenario without wrapping, the
#        client one with tls-auth, whose key is xored into the dynamic key)
#        | plain | tls-crypt | tls-auth
#        SRV_RENEG / CLI_RENEG  the two reneg-sec values (default 5 / 6; 2
#        gives ~9 renegotiations in 20 s, so key_id wraps 7 -> 1)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
[ "$(id -u)" -eq 0 ] || { echo "client_reneg: SKIP (needs root)"; exit 77; }
for cmd in openvpn openssl ping; do
	command -v "$cmd" >/dev/null || { echo "client_reneg: SKIP ($cmd missing)"; exit 77; }
done
. "$(dirname "$0")/../netns/lib.sh"
. "$(dirname "$0")/pki.lib"

MODE=${MODE:-mixed}
NS_S=slreneg-$$-s
NS_C=slreneg-$$-c

cd "$WORK"
pki_ca ca slreneg-test-ca
pki_leaf ca slreneg-server serverAuth digitalSignature,keyEncipherment
pki_leaf ca slreneg-client clientAuth digitalSignature
chmod 600 ./*.key
openvpn --genkey tls-crypt tc.key >/dev/null
openvpn --genkey secret ta.key >/dev/null
# wrap MODE: sets WRAP_S / WRAP_C
wrap() {
	case $1 in
	plain) WRAP_S="" WRAP_C="" ;;
	tls-crypt) WRAP_S="tls-crypt $WORK/tc.key" WRAP_C="tls-crypt $WORK/tc.key" ;;
	tls-auth) WRAP_S="tls-auth $WORK/ta.key 0" WRAP_C="tls-auth $WORK/ta.key 1" ;;
	*) fail "unknown MODE $1" ;;
	esac
}

netns_add "$NS_S"
netns_add "$NS_C"
veth_pair "$NS_S" slreneg-s0 198.18.78.1/30 "$NS_C" slreneg-c0 198.18.78.2/30

# scenario NAME SERVER_RENEG_SEC CLIENT_RENEG_SEC
scenario() {
	local name=$1 slog="$WORK/server-$1.log" clog="$WORK/client-$1.log" srv cli rc=0
	cat >server.conf <<EOF
dev tun
proto udp
local 198.18.78.1
port 1194
topology subnet
server 198.19.78.0 255.255.255.0
ca $WORK/ca.crt
cert $WORK/slreneg-server.crt
key $WORK/slreneg-server.key
dh none
remote-cert-tls client
keepalive 10 60
reneg-sec $2
verb 4
$WRAP_S
EOF
	cat >client.conf <<EOF
client
dev tun
proto udp
remote 198.18.78.1 1194
nobind
ca $WORK/ca.crt
cert $WORK/slreneg-client.crt
key $WORK/slreneg-client.key
remote-cert-tls server
verify-x509-name slreneg-server name
reneg-sec $3
verb 4
status $WORK/client-$1.status
$WRAP_C
EOF
	spawn "$NS_S" openvpn --config server.conf --log "$slog"
	srv=$LAST_PID
	wait_for 10 grep -q "Initialization Sequence Completed" "$slog" ||
		{ cat "$slog"; fail "$name: stock server did not start"; }
	spawn "$NS_C" "$SLUICE" --config client.conf >"$clog" 2>&1
	cli=$LAST_PID
	if ! wait_for 30 grep -q "Initialization Sequence Completed" "$clog"; then
		sed 's/^/client: /' "$clog"; tail -n 30 "$slog" | sed 's/^/server: /'
		fail "$name: sluice client did not come up within 30 s"
	fi
	ip netns exec "$NS_C" ping -i 0.2 -c 100 -W 2 198.19.78.1 >"ping-$name.log" 2>&1 || true
	stop_pid "$cli" || rc=$?
	stop_pid "$srv" || true
	if ! grep -q " 0% packet loss" "ping-$name.log" || [ $rc -ne 0 ]; then
		tail -n 3 "ping-$name.log"; sed 's/^/client: /' "$clog" | tail -n 60
		grep -iE "soft reset|key_id|TLS" "$slog" | sed 's/^/server: /' | tail -n 40
		fail "$name: packet loss across renegotiation (or client exit $rc)"
	fi
	# 2.6.14 at verb 4 does not print key_ids: each new key state (initial,
	# key_id 1, key_id 2, ...) logs one "Control Channel:" line, and each
	# server-initiated renegotiation "TLS: soft reset sec=5/5 ...".
	[ "$(grep -c "Control Channel:" "$slog")" -ge 3 ] ||
		{ tail -n 30 "$slog"; fail "$name: server negotiated fewer than key_ids 0..2"; }
	[ "$name" = client ] || [ "$(grep -c "TLS: soft reset sec=" "$slog")" -ge 2 ] ||
		{ tail -n 30 "$slog"; fail "$name: server did not log two soft resets"; }
	grep -q "key_id 2 now used for sending" "$clog" ||
		{ tail -n 40 "$clog"; fail "$name: client did not switch to key_id 2"; }
	grep -q "key_id . retired" "$clog" ||
		{ tail -n 40 "$clog"; fail "$name: client never retired a lame-duck key"; }
	grep -q "PUSH: Received control message: .*protocol-flags [a-z -]*dyn-tls-crypt" "$clog" ||
		fail "$name: the stock server did not push dyn-tls-crypt"
	dyn=$(awk -F= '$1 == "ctrl.dyn_wrapped" { print $2 }' "$WORK/client-$1.status")
	[ "${dyn:-0}" -gt 0 ] || fail "$name: no control packet wrapped with dynamic tls-crypt"
	if [ "$name" = client ]; then
		grep -q "TLS: soft reset sec=" "$clog" ||
			fail "$name: client did not start the renegotiation itself"
	fi
	echo "$name-initiated: $(grep -c 'now used for sending' "$clog") renegotiation(s)," \
		"$(grep -m1 -o '[0-9]* packets transmitted, [0-9]* received' "ping-$name.log")"
}

if [ "$MODE" = mixed ]; then wrap plain; else wrap "$MODE"; fi
scenario server "${SRV_RENEG:-5}" 0
if [ "$MODE" = mixed ]; then wrap tls-auth; fi
scenario client 0 "${CLI_RENEG:-6}"
echo "client_reneg ($MODE): PASS"
exit 0
