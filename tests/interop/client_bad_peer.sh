#!/bin/bash
# client_bad_peer.sh - a sluice client that must NOT get a tunnel from a stock
# OpenVPN 2.6 server, and must say why in its log within a bounded time:
#   1. the client trusts a different CA -> a TLS certificate verification error;
#   2. the client has the wrong tls-crypt key -> the server drops every packet,
#      the client reports the TLS handshake failed within its hand-window (10 s).
# In both cases no IPv4 address may ever appear on the client's tun device.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
pki_ca other-ca
openvpn --genkey tls-crypt tc.key >/dev/null
openvpn --genkey tls-crypt tc-wrong.key >/dev/null
stock_net

# expect_failure NAME LOG LIMIT REGEX: waits up to LIMIT s for REGEX in LOG
# (the client may retry, as stock OpenVPN does, or exit) while checking every
# 0.1 s that no tunnel address is configured; then stops the client.
expect_failure() {
	local name=$1 log=$2 n=$(($3 * 10)) t0=$SECONDS
	while [ $n -gt 0 ]; do
		stock_client_noaddr ||
			{ sed 's/^/client: /' "$log"; fail "$name: tunnel address configured"; }
		grep -Eq "$4" "$log" && break
		kill -0 "$CLI" 2>/dev/null || break
		sleep 0.1
		n=$((n - 1))
	done
	grep -Eq "$4" "$log" || { sed 's/^/client: /' "$log"; fail "$name: no /$4/ in the client log"; }
	! grep -q "Initialization Sequence Completed" "$log" ||
		fail "$name: client claimed to be up"
	stock_stop "$CLI" || true
	echo "$name: failed as expected after $((SECONDS - t0)) s: $(grep -Em1 "$4" "$log")"
}

# 1: wrong CA; the server is fine.
stock_server_conf srv1.conf 1194
stock_client_conf cli1.conf 1194
sed -i "s|^ca .*|ca $WORK/other-ca.crt|" cli1.conf
stock_server_start srv1.conf srv1.log
stock_client_start cli1.conf cli1.log
expect_failure wrong-ca cli1.log 20 \
	'certificate verification failed|VERIFY ERROR'
stock_stop "$SRV" || true

# 2: wrong tls-crypt key, short hand-window.
stock_server_conf srv2.conf 1195
stock_client_conf cli2.conf 1195
echo "tls-crypt $WORK/tc.key" >>srv2.conf
printf '%s\n' "tls-crypt $WORK/tc-wrong.key" "hand-window 10" >>cli2.conf
stock_server_start srv2.conf srv2.log
stock_client_start cli2.conf cli2.log
expect_failure wrong-tls-crypt cli2.log 20 \
	'TLS key negotiation failed to occur within 10 seconds|TLS handshake failed'
grep -q "tls-crypt unwrapping failed\|packet authentication failed\|TLS Error: tls-crypt" srv2.log ||
	{ tail -n 20 srv2.log; fail "wrong-tls-crypt: the server did not report dropping the packets"; }
echo "client_bad_peer: PASS"
exit 0
