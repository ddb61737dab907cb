#!/bin/bash
# make bench: every benchmark, each with its same-run baseline. Figures, not pass/fail.
# Bounded to about 10 minutes in all on a 2-core host:
#   tunnel_bench (~8 min): veth, stock, sluice, both mixed pairs, the sluice pair with
#     offloads off (OFFLOAD_OFF=1), the sluice pair with crypto threads (THREADS_PAIR=1) and
#     wireguard-go (bench/wg.lib; "n/a" without it), TCP 1,
#     TCP 4, UDP 64; here ROUNDS=3 SECS=4 unless set (ROUNDS, SECS, SLUICE_PAIR, TESTS, PAIRS,
#     WG_GO pass through); writes bench/out/tunnel.md and
#     bench/out/tunnel.png (gnuplot, from `make bench`'s deps step).
#   multi_bench (~2.5 min): 8 clients at once through one server, sluice and stock
#     (MULTI_CLIENTS, MULTI_SECS, MULTI_ROUNDS); writes bench/out/multi.md.
#   clients_bench (~1 min): handshakes/s and RSS per client; writes bench/out/clients.md.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
echo "## machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, kernel $(uname -r)"
for b in "$BUILD"/bench/*_bench; do
	[ -x "$b" ] || continue
	echo; echo "## $(basename "$b")"
	"$b"
done
if [ "$(id -u)" -eq 0 ]; then
	echo; echo "## tunnel_bench (namespaces, iperf3: TCP 1 and 4 streams, UDP 64 B; stock OpenVPN, sluice, wireguard-go)"
	ROUNDS=${ROUNDS:-3} SECS=${SECS:-4} OFFLOAD_OFF=${OFFLOAD_OFF-1} THREADS_PAIR=${THREADS_PAIR-1} \
		bash bench/tunnel_bench.sh ||
		echo "tunnel_bench: failed (exit $?)"
	echo; echo "## multi_bench (8 clients at once through one server, summed; stock OpenVPN vs sluice)"
	CLIENTS=${MULTI_CLIENTS:-8} SECS=${MULTI_SECS:-5} ROUNDS=${MULTI_ROUNDS:-2} \
		bash bench/multi_bench.sh || echo "multi_bench: failed (exit $?)"
	echo; echo "## clients_bench (handshakes/s and server RSS per held client; stock OpenVPN vs sluice)"
	BUILD=$BUILD bash bench/clients_bench.sh || echo "clients_bench: failed (exit $?)"
else
	echo "tunnel_bench, multi_bench, clients_bench: skipped (need root for namespaces)"
fi
