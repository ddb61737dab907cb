#!/bin/bash
# Where the cycles go: a sluice pair in namespaces (the tunnel_bench topology) under one
# iperf3 test, profiled system-wide with perf in software-event mode (cpu-clock; this VM
# has no hardware counters). Prints the share of samples per thread (comm), the top symbols
# overall and per data-plane thread, and keeps perf.data in bench/out/.
# Not part of make bench: a diagnostic. Needs root and perf.
# Env: TEST (tcp1|tcp4|udp64, default tcp1), SECS (10), PAIR_ARGS (extra sluice arguments,
#      e.g. "--tun-offload no"), WORKERS (crypto workers per direction, default: sluice's),
#      TOP (symbols listed, 25).
#
#     ns slpf-<pid>-a  198.18.30.1/30 ==veth== 198.18.30.2/30  ns slpf-<pid>-b
#     sluice (test key) 198.19.30.1/24      <->     sluice (test key) 198.19.30.2/24
#     iperf3 client                                 iperf3 server
source "$(dirname "$0")/../tests/netns/lib.sh"
command -v perf >/dev/null || { echo "profile: perf not installed"; exit 77; }
TEST=${TEST:-tcp1} SECS=${SECS:-10} PAIR_ARGS=${PAIR_ARGS:-} NTOP=${TOP_N:-25}
OUT=$TOP/bench/out
A=slpf-$$-a B=slpf-$$-b
netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.30.1/30 "$B" vb 198.18.30.2/30
cd "$WORK"
make_static_key key
for s in a b; do
	if [ $s = a ]; then l=198.18.30.1 r=198.18.30.2 t=198.19.30.1 d=0; else
		l=198.18.30.2 r=198.18.30.1 t=198.19.30.2 d=1; fi
	printf 'dev sl0\ndev-type tun\nlocal %s\nlport 1194\nremote %s 1194\ntopology subnet\nifconfig %s 255.255.255.0\ntest-data-key key %s\ntest-cipher AES-256-GCM\nverb 1\nstatus %s 1\n%s' \
		$l $r $t $d "$WORK/$s.status" "${WORKERS:+workers $WORKERS
}" >$s.conf
done
# shellcheck disable=SC2086
spawn "$A" "$SLUICE" --config a.conf $PAIR_ARGS; PA=$LAST_PID
# shellcheck disable=SC2086
spawn "$B" "$SLUICE" --config b.conf $PAIR_ARGS; PB=$LAST_PID
wait_for 10 ip netns exec "$A" ping -c1 -W1 198.19.30.2 || fail "pair did not come up"
case $TEST in
tcp1) args="-P 1" ;; tcp4) args="-P 4" ;; udp64) args="-u -l 64 -b 0" ;;
*) fail "TEST must be tcp1, tcp4 or udp64" ;;
esac
spawn "$B" iperf3 -s -1 -B 198.19.30.2 -p 5201
wait_for 10 sh -c "ip netns exec $B ss -Hltn 'sport = :5201' | grep -q ."
# shellcheck disable=SC2086
ip netns exec "$A" iperf3 -c 198.19.30.2 -p 5201 -t $((SECS + 2)) $args >iperf.txt 2>&1 &
IPERF=$!
sleep 1
# ctx_switches: "thread voluntary nonvoluntary" for every thread of both daemons.
ctx_switches() {
	local p t
	for p in $PA $PB; do
		for t in /proc/$p/task/*; do
			printf '%s %s %s %s\n' "$p/${t##*/}" "$(cat "$t/comm")" \
				"$(awk '/^voluntary_ctxt/ { print $2 }' "$t/status")" \
				"$(awk '/^nonvoluntary_ctxt/ { print $2 }' "$t/status")"
		done
	done
}
ctx_switches >ctx0.txt
perf record -q -a ${PERF_CALLGRAPH:--g} -e cpu-clock -o perf.data -- sleep "$SECS" 2>/dev/null
ctx_switches >ctx1.txt
wait $IPERF || true
grep -E "receiver|sender" iperf.txt | tail -n 2
echo
echo "## context switches per second during the profile (voluntary / involuntary), per thread"
awk -v s="$SECS" 'NR == FNR { v[$1] = $3; n[$1] = $4; next }
	($1 in v) { printf "  %-14s %-12s %8.0f %8.0f\n", $1, $2, ($3 - v[$1]) / s, ($4 - n[$1]) / s }' \
	ctx0.txt ctx1.txt
mkdir -p "$OUT"
cp perf.data "$OUT/profile-$TEST.data"
echo
echo "## samples by thread (all CPUs, $SECS s, $TEST, sluice $PAIR_ARGS)"
perf report -i perf.data --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 20
echo
echo "## top symbols overall"
perf report -i perf.data --no-children --sort comm,dso,sym --stdio 2>/dev/null |
	grep -E '^ +[0-9]' | head -n "$NTOP"
for c in sl-tun-rx sl-enc0 sl-udp-tx sl-udp-rx sl-dec0 sl-tun-tx; do
	echo
	echo "## $c"
	perf report -i perf.data --no-children --comms "$c" --sort sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 12
done
stop_pid "$PA" || true
stop_pid "$PB" || true
echo
echo "## offload and drop counters (a: sender side, b: receiver side)"
for s in a b; do
	grep -E 'super_|drop\.[a-z_]+=[1-9]|rx_pkts|wakeups' "$WORK/$s.status" | grep -v '=0$' |
		sed "s/^/  $s: /"
done
