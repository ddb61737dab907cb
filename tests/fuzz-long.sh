#!/bin/bash
# The long libFuzzer profile (`make fuzz-long`, not in CI): every harness to
# FUZZ_RUNS executions (default 2000000), one after the other, each from its
# seeds (tests/fuzz/corpus/<harness>/) and the corpus earlier long runs left in
# build-fuzz/corpus-long/<harness>/ (kept, so campaigns add up). Per harness it
# prints the executions, the wall time, exec/s, the corpus size, coverage
# (libFuzzer's cov: at the end) and the findings (crash-, leak-, timeout- and
# oom- artifacts, kept in build-fuzz/findings/<harness>/). Exit 1 on any finding.
#
# Each harness runs as FUZZ_JOBS processes at once (default: one per CPU), each
# to its share of FUZZ_RUNS, on one corpus directory: libFuzzer reloads it
# every second (-reload), so what one process finds the others build on. The
# executions printed are the sum over the processes, cov the highest. This is
# what lets the slow server-session harness (a TLS handshake per input, a few
# hundred exec/s per core) reach 2x10^6 in well under an hour on two cores.
#
#   env: FUZZ_RUNS (2000000), FUZZ_ONLY (substring: only matching harnesses),
#        FUZZ_MAX_SECS (per harness, 0 = no cap; a capped run reports how far it got),
#        FUZZ_JOBS (processes per harness; default nproc)
set -u
cd "$(dirname "$0")/.."
runs=${FUZZ_RUNS:-2000000} only=${FUZZ_ONLY:-} cap=${FUZZ_MAX_SECS:-0}
jobs=${FUZZ_JOBS:-$(nproc)}
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "FUZZ_JOBS must be a positive integer" >&2; exit 2; }
found=0
printf '%-16s %12s %8s %9s %8s %7s %s\n' harness execs secs exec/s corpus cov findings
for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	[ -z "$only" ] || [[ "$name" == *"$only"* ]] || continue
	corpus=build-fuzz/corpus-long/$name art=build-fuzz/findings/$name
	mkdir -p "$corpus" "$art"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	log=build-fuzz/$name.long.log
	rm -f "$log" "$log".[0-9]*
	t0=$(date +%s.%N)
	pids=()
	for ((j = 0; j < jobs; j++)); do
		"$f" -runs=$(((runs + jobs - 1) / jobs)) -max_total_time="$cap" -timeout=10 \
			-rss_limit_mb=2048 -reload=1 -print_final_stats=1 -artifact_prefix="$art/" \
			"$corpus" $seeds >"$log.$j" 2>&1 &
		pids+=($!)
	done
	rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	t1=$(date +%s.%N)
	for ((j = 0; j < jobs; j++)); do
		echo "=== process $j"
		cat "$log.$j"
	done >"$log"
	rm -f "$log".[0-9]*
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{ s += $1 } END { print s + 0 }')
	n=$(ls "$art" | grep -cE '^(crash|leak|timeout|oom|slow-unit)-' || true)
	[ "$rc" -eq 0 ] || [ "$n" -gt 0 ] || n=1	# died without an artifact: still a finding
	found=$((found + n))
	awk -v name="$name" -v e="${execs:-0}" -v a="$t0" -v b="$t1" -v c="$(ls "$corpus" | wc -l)" \
		-v cov="$(grep -o 'cov: [0-9]*' "$log" | cut -d' ' -f2 | sort -n | tail -n 1)" -v n="$n" \
		'BEGIN { s = b - a; r = s > 0 ? e / s : 0; v = cov == "" ? "-" : cov
			printf("%-16s %12d %8.0f %9.0f %8d %7s %d\n", name, e, s, r, c, v, n) }'
	[ "$n" -eq 0 ] || { tail -n 30 "$log" | sed 's/^/      | /'; ls "$art" | sed 's/^/      artifact: /'; }
done
echo "fuzz-long: $found findings"
[ "$found" -eq 0 ]
