#!/bin/bash
# Short libFuzzer runs of every harness (CI smoke, not a campaign).
# FUZZ_SECONDS per harness (default 20). Seeds: tests/fuzz/corpus/<harness>/ if present.
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
pass=0 fail=0
for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=$(mktemp -d -t "$name.XXXXXX")
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix="$corpus/" "$corpus" $seeds >"$corpus.log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS  fuzz/$name ($(grep -c . "$corpus.log") log lines, $(ls "$corpus" | wc -l) corpus)"
	else
		fail=$((fail + 1))
		echo "FAIL  fuzz/$name"
		tail -n 40 "$corpus.log" | sed 's/^/      | /'
		ls "$corpus"/crash-* "$corpus"/leak-* "$corpus"/timeout-* 2>/dev/null | sed 's/^/      artifact: /'
	fi
	rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
