#!/bin/bash
# The long libFuzzer profile (`make fuzz-long`, not in CI): every harness to
# FUZZ_RUNS executions (default 2000000), one after the other, each from its
# seeds (tests/fuzz/corpus/<harness>/) and the corpus earlier long runs left in
# build-fuzz/corpus-long/<harness>/ (kept, so campaigns add up). Per harness it
# prints the executions, the wall time, exec/s, the corpus size, coverage
# (libFuzzer's cov: at the end) and the findings (crash-, leak-, timeout- and
# oom- artifacts, kept in build-fuzz/findings/<harness>/). Exit 1 on any finding.
#
#   env: FUZZ_RUNS (2000000), FUZZ_ONLY (substring: only matching harnesses),
#        FUZZ_MAX_SECS (per harness, 0 = no cap; a capped run reports how far it got)
set -u
cd "$(dirname "$0")/.."
runs=${FUZZ_RUNS:-2000000} only=${FUZZ_ONLY:-} cap=${FUZZ_MAX_SECS:-0}
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
	t0=$(date +%s.%N)
	"$f" -runs="$runs" -max_total_time="$cap" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" "$corpus" $seeds >"$log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	n=$(ls "$art" | grep -cE '^(crash|leak|timeout|oom|slow-unit)-' || true)
	[ "$rc" -eq 0 ] || [ "$n" -gt 0 ] || n=1	# died without an artifact: still a finding
	found=$((found + n))
	awk -v name="$name" -v e="${execs:-0}" -v a="$t0" -v b="$t1" -v c="$(ls "$corpus" | wc -l)" \
		-v cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)" -v n="$n" \
		'BEGIN { s = b - a; r = s > 0 ? e / s : 0; v = cov == "" ? "-" : cov
			printf("%-16s %12d %8.0f %9.0f %8d %7s %d\n", name, e, s, r, c, v, n) }'
	[ "$n" -eq 0 ] || { tail -n 30 "$log" | sed 's/^/      | /'; ls "$art" | sed 's/^/      artifact: /'; }
done
echo "fuzz-long: $found findings"
[ "$found" -eq 0 ]
