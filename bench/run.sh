#!/bin/bash
# make bench: every benchmark, each with its same-run baseline. Figures, not pass/fail.
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
	echo; echo "## tunnel_bench (namespaces, iperf3)"
	bash bench/tunnel_bench.sh
else
	echo "tunnel_bench: skipped (needs root for namespaces)"
fi
