#!/bin/bash
# client_bench.sh - the client's throughput against a stock OpenVPN 2.6 server, beside a
# stock client's, in the same run (issue: "client throughput vs a stock client").
#
# One stock server (namespace slcb-<pid>-s); in each round the sluice client and the
# stock client (namespace slcb-<pid>-c, same profile) take turns in rotated order, each
# measured with iperf3 TCP 1 stream upload and download through the tunnel for SECS.
# Medians over ROUNDS; figures only compare within this run. Both clients are limited
# by the same single-threaded stock server, so the ratio is about the client side only
# where the server is not the bottleneck.
#
#   env: ROUNDS (3), SECS (4), SLUICE (./sluice)
set -u
[ "$(id -u)" -eq 0 ] || { echo "client_bench: skipped (needs root)"; exit 0; }
for c in openvpn iperf3 openssl; do
	command -v "$c" >/dev/null || { echo "client_bench: skipped ($c missing)"; exit 0; }
done
STOCK_TAG=slcb
. "$(dirname "$0")/../tests/interop/stock.lib"
set +e
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-4}
stock_pki slcb
stock_net
stock_server_conf "$WORK/s.conf" 1194
echo "disable-dco" >>"$WORK/s.conf"
stock_client_conf "$WORK/c.conf" 1194
stock_server_start "$WORK/s.conf" "$WORK/s.log"
spawn "$NS_S" iperf3 -s -B $TUN_SRV
wait_for 10 ip netns exec "$NS_S" sh -c "ss -ltn | grep -q $TUN_SRV:5201"

# run_client KIND: bring the client up, measure up and down, stop it; prints "up down" Mbit/s.
run_client() {
	local pid log=$WORK/$1.log up down
	: >"$log"
	if [ "$1" = sluice ]; then
		spawn "$NS_C" "$SLUICE" --config "$WORK/c.conf" >"$log" 2>&1
	else
		spawn "$NS_C" openvpn --config "$WORK/c.conf" --disable-dco --log "$log"
	fi
	pid=$LAST_PID
	wait_for 30 grep -q "Initialization Sequence Completed" "$log" || { echo "0 0"; stock_stop "$pid"; return; }
	wait_for 10 ip netns exec "$NS_C" ping -c1 -W1 $TUN_SRV >/dev/null
	up=$(ip netns exec "$NS_C" timeout $((SECS + 10)) iperf3 -c $TUN_SRV -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))' 2>/dev/null)
	down=$(ip netns exec "$NS_C" timeout $((SECS + 10)) iperf3 -c $TUN_SRV -t "$SECS" -R -J 2>/dev/null |
		python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))' 2>/dev/null)
	stock_stop "$pid" >/dev/null 2>&1
	sleep 1	# the server notices the EXIT; the next client gets a fresh session
	echo "${up:-0} ${down:-0}"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A UP DOWN
for r in $(seq 1 "$ROUNDS"); do
	order="sluice stock"
	[ $((r % 2)) -eq 0 ] && order="stock sluice"
	for k in $order; do
		read -r u d < <(run_client "$k")
		UP[$k]+="$u "
		DOWN[$k]+="$d "
		echo "round $r $k: up $u Mbit/s, down $d Mbit/s"
	done
done
su=$(echo "${UP[sluice]}" | tr ' ' '\n' | grep . | median)
sd=$(echo "${DOWN[sluice]}" | tr ' ' '\n' | grep . | median)
ou=$(echo "${UP[stock]}" | tr ' ' '\n' | grep . | median)
od=$(echo "${DOWN[stock]}" | tr ' ' '\n' | grep . | median)
echo
echo "| client against a stock 2.6 server (iperf3 TCP, 1 stream, ${SECS} s, median of $ROUNDS) | stock client | sluice client | sluice/stock |"
echo "|---|---:|---:|---:|"
awk -v a="$ou" -v b="$su" 'BEGIN { printf "| upload (client -> server), Mbit/s | %s | %s | %.2fx |\n", a, b, a ? b / a : 0 }'
awk -v a="$od" -v b="$sd" 'BEGIN { printf "| download (server -> client), Mbit/s | %s | %s | %.2fx |\n", a, b, a ? b / a : 0 }'
echo "per round: sluice up ${UP[sluice]}/ down ${DOWN[sluice]}; stock up ${UP[stock]}/ down ${DOWN[stock]}"
