#!/bin/bash
# client_compress.sh - compression framing against a stock OpenVPN 2.6 server.
# Case 1: the server pushes `comp-lzo no` (0xFA stub on every packet).
# Case 2: `compress stub-v2` pushed (0x50 escape only).
# Case 3: the server compresses with `compress lz4-v2` (pushed) and both ends
#         set `allow-compression yes`: compressible 1000-byte pings cross in
#         both directions, so each side must decompress the other's LZ4.
# Case 4: the same with `comp-lzo yes` (LZO, pushed).
# Case 5: `comp-lzo` (adaptive LZO, pushed) with `allow-compression yes`.
# Each case: connect, ping with small and compressible large payloads, then the
# client's status counters prove the framing: payloads compressed
# (tun_rx.lz4_compressed / tun_rx.lzo_compressed) and decompressed
# (tun_tx.lz4_decompressed / tun_tx.lzo_decompressed) with the case's codec,
# none with the other one, and none at all in the stub cases. The compressible
# pings coming back prove the stock server expanded what sluice compressed.
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
run_case() {	# run_case PORT NAME SERVER_LINES CLIENT_LINES lz4|lzo|stub
	stock_server_conf srv$1.conf "$1"
	stock_client_conf cli$1.conf "$1"
	printf '%b\n' "$3" >>srv$1.conf
	printf '%b\nstatus %s 1\n' "$4" "$WORK/cli$1.status" >>cli$1.conf
	stock_server_start srv$1.conf srv$1.log
	stock_client_start cli$1.conf cli$1.log
	stock_client_up cli$1.log || { sed 's/^/client: /' cli$1.log; fail "$2: client did not come up"; }
	local caddr
	caddr=$(stock_client_addr | head -n 1)
	caddr=${caddr%%/*}
	for args in "-s 56" "-s 1000 -p ff" "-s 1400"; do
		# shellcheck disable=SC2086
		ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $args $TUN_SRV >ping.log 2>&1 ||
			{ cat ping.log; sed 's/^/client: /' cli$1.log; fail "$2: ping $args failed"; }
		# shellcheck disable=SC2086
		ip netns exec "$NS_S" ping -c 2 -i 0.2 -W 2 $args "$caddr" >ping.log 2>&1 ||
			{ cat ping.log; fail "$2: ping from the server ($args) failed"; }
	done
	stock_stop "$CLI" || fail "$2: client did not exit 0"
	stock_stop "$SRV" || true
	# The client rewrites its status file at exit: the final counts.
	local comp decomp alg used=""
	for alg in lz4 lzo; do
		comp=$(counter "$WORK/cli$1.status" tun_rx.${alg}_compressed)
		decomp=$(counter "$WORK/cli$1.status" tun_tx.${alg}_decompressed)
		if [ "$5" = $alg ]; then
			[ "$comp" -gt 0 ] || fail "$2: no payload sent $alg-compressed"
			[ "$decomp" -gt 0 ] || fail "$2: no $alg payload from the server decompressed"
			used="$comp payloads $alg-compressed, $decomp decompressed"
		else
			[ "$comp" -eq 0 ] && [ "$decomp" -eq 0 ] ||
				fail "$2: $alg used with $5 framing ($comp compressed, $decomp decompressed)"
		fi
	done
	echo "[ok] $2 (${used:-no payload compressed})"
}
run_case 1311 "comp-lzo no" 'comp-lzo no\npush "comp-lzo no"' '' stub
run_case 1312 "compress stub-v2" 'compress stub-v2\npush "compress stub-v2"' '' stub
run_case 1313 "compress lz4-v2" \
	'compress lz4-v2\npush "compress lz4-v2"\nallow-compression yes' 'allow-compression yes' lz4
run_case 1314 "comp-lzo yes" \
	'comp-lzo yes\npush "comp-lzo yes"\nallow-compression yes' 'allow-compression yes' lzo
run_case 1315 "comp-lzo (adaptive)" \
	'comp-lzo\npush "comp-lzo"\nallow-compression yes' 'allow-compression yes' lzo
grep -q "IV_LZO=1" srv1314.log 2>/dev/null || echo "(server log does not show peer info at this verb)"
echo "client_compress: PASS"
exit 0
