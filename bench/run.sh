#!/bin/bash
# make bench: every benchmark, each with its same-run baseline. Figures, not pass/fail.
# The tunnel bench (root only) takes about 3.5 min with its defaults; ROUNDS, SECS,
# SLUICE_PAIR and TESTS pass through to it (see bench/tunnel_bench.sh). It also writes
# bench/out/tunnel.md and bench/out/tunnel.png. clients_bench (~1 min) writes
# bench/out/clients.md.
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
	echo; echo "## tunnel_bench (namespaces, iperf3: TCP 1 and 4 streams, UDP 64 B; stock OpenVPN vs sluice)"
	bash bench/tunnel_bench.sh || echo "tunnel_bench: failed (exit $?)"
	echo; echo "## clients_bench (handshakes/s and server RSS per held client; stock OpenVPN vs sluice)"
	BUILD=$BUILD bash bench/clients_bench.sh || echo "clients_bench: failed (exit $?)"
else
	echo "tunnel_bench, clients_bench: skipped (need root for namespaces)"
fi
