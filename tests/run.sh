#!/bin/bash
# Test runner: runs one or more tiers and prints "N passed, N failed, N skipped" last.
#
#   tests/run.sh [unit|netns|interop|tsan|all]...
#
# unit    every $BUILD/tests/*_test binary (exit 0 pass, 1 fail, 77 skip)
# netns   every tests/netns/*.sh (root; each makes and deletes its own namespaces)
# interop every tests/interop/*.sh (root; stock openvpn 2.6 as the peer)
# tsan    the concurrency unit tests only (ring, pool, worker, epoch, io, tun, tcp, tcpsrv, lpm,
#         addrtab)
#
# Env: BUILD (default build), SLUICE (daemon binary, default ./sluice),
#      TEST_FILTER (substring: run only matching tests), TEST_TIMEOUT (s, default 600).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export SLUICE=${SLUICE:-./sluice}
TIMEOUT=${TEST_TIMEOUT:-600}
LOGDIR=$(mktemp -d -t sluice-tests.XXXXXX)
pass=0 fail=0 skip=0
failed=()

run_one() {
	local name=$1; shift
	if [ -n "${TEST_FILTER:-}" ] && [[ "$name" != *"$TEST_FILTER"* ]]; then
		return
	fi
	local log="$LOGDIR/${name//\//_}.log" t0 t1 rc
	t0=$(date +%s)
	timeout --kill-after=10 "$TIMEOUT" "$@" >"$log" 2>&1
	rc=$?
	t1=$(date +%s)
	case $rc in
	0)  pass=$((pass + 1)); echo "PASS  $name ($((t1 - t0))s)" ;;
	77) skip=$((skip + 1)); echo "SKIP  $name: $(tail -n 1 "$log")" ;;
	*)  fail=$((fail + 1)); failed+=("$name")
	    [ $rc -eq 124 ] && echo "FAIL  $name: timed out after ${TIMEOUT}s" || echo "FAIL  $name (exit $rc)"
	    sed 's/^/      | /' "$log" | tail -n 40 ;;
	esac
}

tier_unit() {
	local t
	for t in "$BUILD"/tests/*_test; do
		[ -x "$t" ] || continue
		run_one "unit/$(basename "$t")" "$t"
	done
}

tier_tsan() {
	local t
	for t in ring_test pool_test worker_test epoch_test io_test tun_test tcp_test tcpsrv_test lpm_test \
		addrtab_test; do
		[ -x "$BUILD/tests/$t" ] || continue
		run_one "tsan/$t" env TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
			"$BUILD/tests/$t"
	done
}

tier_scripts() {
	local dir=$1 s
	for s in tests/"$dir"/*.sh; do
		[ -f "$s" ] || continue
		[ "$(basename "$s")" = lib.sh ] && continue
		run_one "$dir/$(basename "$s" .sh)" bash "$s"
	done
}

[ $# -eq 0 ] && set -- all
for tier in "$@"; do
	case $tier in
	unit) tier_unit ;;
	netns) tier_scripts netns ;;
	interop) tier_scripts interop ;;
	tsan) tier_tsan ;;
	all) tier_unit; tier_scripts netns; tier_scripts interop ;;
	*) echo "run.sh: unknown tier $tier" >&2; exit 2 ;;
	esac
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}" && echo "logs: $LOGDIR"
[ ${#failed[@]} -eq 0 ] && rm -rf "$LOGDIR"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
