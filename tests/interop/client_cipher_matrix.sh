#!/bin/bash
# client_cipher_matrix.sh - sluice client vs stock OpenVPN 2.6 server over every
# wrapper (none, tls-auth, tls-crypt) x data cipher (AES-256-GCM, AES-128-GCM,
# CHACHA20-POLY1305) combination. The server's `data-ciphers X` makes it push X;
# each combination must connect, ping through the tunnel, and the server log
# must show X as the negotiated data channel cipher. One PKI and one pair of
# namespaces for all nine; each combination uses its own server port so no
# wait for a freed port is needed.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
openvpn --genkey tls-crypt tc.key >/dev/null
openvpn --genkey secret ta.key >/dev/null
stock_net

port=1300
for wrap in none tls-auth tls-crypt; do
	for cipher in AES-256-GCM AES-128-GCM CHACHA20-POLY1305; do
		port=$((port + 1))
		name="$wrap/$cipher"
		t0=$EPOCHREALTIME
		stock_server_conf srv.conf $port
		stock_client_conf cli.conf $port
		echo "data-ciphers $cipher" >>srv.conf
		case $wrap in
		tls-auth)
			echo "tls-auth $WORK/ta.key 0" >>srv.conf
			echo "tls-auth $WORK/ta.key 1" >>cli.conf ;;
		tls-crypt)
			echo "tls-crypt $WORK/tc.key" >>srv.conf
			echo "tls-crypt $WORK/tc.key" >>cli.conf ;;
		esac
		: >srv.log
		stock_server_start srv.conf srv.log
		stock_client_start cli.conf cli.log
		stock_client_up cli.log || fail "$name: client did not come up"
		ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
			{ cat ping.log; sed 's/^/client: /' cli.log; fail "$name: ping failed"; }
		grep -q "Data Channel: Cipher '$cipher' initialized" srv.log ||
			{ grep -i cipher srv.log; fail "$name: server did not use $cipher"; }
		grep -q "Data Channel: cipher '$cipher'" cli.log ||
			{ grep -i cipher cli.log; fail "$name: client did not log $cipher"; }
		stock_stop "$CLI" || { sed 's/^/client: /' cli.log; fail "$name: client did not exit 0 on SIGTERM"; }
		stock_stop "$SRV" || true
		awk -v n="$name" -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%-32s ok (%.1f s)\n", n, b - a }'
	done
done
echo "client_cipher_matrix: PASS (9 combinations)"
exit 0
