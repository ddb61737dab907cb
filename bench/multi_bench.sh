#!/bin/bash
# multi_bench.sh - the aggregate through one VPN server with several clients at once (issue 10,
# "scale past this box"): one server, $CLIENTS clients each in its own namespace, every client
# running iperf3 -P $STREAMS (TCP, client to server) at the same time; the bytes the iperf3
# servers received are summed. Pairs, in the same run, from the same configs and PKI:
#   sluice   sluice server + $CLIENTS sluice clients
#   stock    stock OpenVPN 2.6 server + $CLIENTS stock clients (--disable-dco)
#   sl-srv   sluice server + $CLIENTS stock clients (a mixed fleet: never slower than stock)
#   sl-lanes sluice server in $LANES lanes (io-queues: TUN queues + SO_REUSEPORT sockets) +
#            $CLIENTS sluice clients; workers: the CPUs left after 4 I/O threads per lane,
#            at least one per lane. Its gain grows with the cores; on a 2-core box the
#            lanes' loops compete for the same two.
# Interleaved rounds (the order rotates), each ratio taken within its round, medians shown.
# Also: the slowest and fastest client's share of the sum (fairness), and CPU per delivered
# byte of the server process alone and of server + clients (utime+stime, /proc/PID/stat), and
# each server thread's share of a core over the run (sluice: which stage saturates first).
# Prints a Markdown table, also written to bench/out/multi.md, and key=value lines.
#
#   ns slmb-<pid>-s: bridge 198.18.30.1/24, VPN server (tunnel 198.19.22.1/24), iperf3 -s x N
#   ns slmb-<pid>-1 .. -N: 198.18.30.(10+i)/24 on a veth into the bridge, VPN client, iperf3 -c
#
# Env: CLIENTS (8), STREAMS (2 per client), SECS (5), ROUNDS (2), PAIRS ("sluice sl-lanes stock sl-srv"),
# LANES (2, for sl-lanes), SLUICE (./sluice).
# Bounded: about 25 s per pair and round at the defaults (~3.5 min).
cd "$(dirname "$0")/.."
source tests/netns/lib.sh
command -v openvpn >/dev/null || { echo "multi_bench: SKIP (openvpn missing)"; exit 77; }
command -v iperf3 >/dev/null || { echo "multi_bench: SKIP (iperf3 missing)"; exit 77; }
CLIENTS=${CLIENTS:-8} STREAMS=${STREAMS:-2} SECS=${SECS:-5} ROUNDS=${ROUNDS:-2}
PAIRS=${PAIRS:-sluice sl-lanes stock sl-srv} LANES=${LANES:-2}
case "$CLIENTS$STREAMS$SECS$ROUNDS" in *[!0-9]*) fail "CLIENTS, STREAMS, SECS, ROUNDS: integers" ;; esac
[ "$CLIENTS" -ge 1 ] && [ "$CLIENTS" -le 32 ] || fail "CLIENTS must be 1..32"
OUT=$TOP/bench/out
CLK_TCK=$(getconf CLK_TCK)
MHZ=$(awk -F: '/^cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg) STARTED=$(date +%s)
CMDLINE="CLIENTS=$CLIENTS STREAMS=$STREAMS SECS=$SECS ROUNDS=$ROUNDS PAIRS=\"$PAIRS\" LANES=$LANES bash bench/multi_bench.sh"
S=slmb-$$-s
netns_add "$S"
ip -n "$S" link add br0 type bridge
ip -n "$S" addr add 198.18.30.1/24 dev br0
ip -n "$S" link set br0 up
for i in $(seq 1 "$CLIENTS"); do
	netns_add "slmb-$$-$i"
	ip link add c0 netns "slmb-$$-$i" type veth peer name s$i netns "$S"
	ip -n "slmb-$$-$i" addr add 198.18.30.$((10 + i))/24 dev c0
	ip -n "slmb-$$-$i" link set c0 up
	ip -n "$S" link set s$i master br0
	ip -n "$S" link set s$i up
done
cd "$WORK"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
	-days 2 -subj /CN=slmb-ca 2>/dev/null
for n in server client; do
	eku=$([ $n = server ] && echo serverAuth || echo clientAuth)
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr \
		-subj /CN=slmb-$n 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
		$eku >$n.ext
	openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile $n.ext -out $n.crt 2>/dev/null
done
chmod 600 ./*.key
# Every client presents the same certificate: duplicate-cn.
cat >server.conf <<CONF
dev tun
proto udp
local 198.18.30.1
port 1194
topology subnet
server 198.19.22.0 255.255.255.0
duplicate-cn
ca ca.crt
cert server.crt
key server.key
dh none
remote-cert-tls client
data-ciphers AES-256-GCM
keepalive 10 60
verb 1
CONF
# The same server in lanes; workers: at least one per lane, else as many as the CPUs allow.
cp server.conf server-lanes.conf
printf 'io-queues %s\nworkers %s\n' "$LANES" "$(($(nproc) - 4 * LANES > LANES ? $(nproc) - 4 * LANES : LANES))" \
	>>server-lanes.conf
cat >client.conf <<CONF
client
dev tun
proto udp
remote 198.18.30.1 1194
nobind
ca ca.crt
cert client.crt
key client.key
remote-cert-tls server
data-ciphers AES-256-GCM
verb 1
CONF

cpu_ticks() {	# cpu_ticks PID...: utime+stime of the processes, all threads, in ticks
	local p s=0 f
	for p in "$@"; do
		read -r -a f < <(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		s=$((s + ${f[11]:-0} + ${f[12]:-0}))
	done
	echo "$s"
}

# thread_ticks PID: "name=ticks" per thread of PID (utime+stime), threads of one name summed.
thread_ticks() {
	local t f n
	for t in /proc/"$1"/task/*; do
		n=$(cat "$t/comm" 2>/dev/null) || continue
		read -r -a f < <(sed 's/.*) //' "$t/stat" 2>/dev/null) || continue
		echo "$n $((${f[11]:-0} + ${f[12]:-0}))"
	done | awk '{ s[$1] += $2 } END { for (n in s) print n "=" s[n] }' | LC_ALL=C sort -t= -k1,1
}

stop_bounded() {	# SIGTERM, up to 5 s, then SIGKILL; only our own PIDs
	local p n
	for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "$@"; do
		for n in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		! kill -0 "$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

impl_cmd() { [ "$1" = stock ] && echo "openvpn --disable-dco" || echo "$SLUICE"; }
pair_impls() {	# "server-impl client-impl"
	case $1 in sluice) echo "sluice sluice" ;; stock) echo "stock stock" ;;
	sl-srv) echo "sluice stock" ;; sl-lanes) echo "sluice sluice" ;; *) fail "unknown pair $1" ;; esac
}

SRV_PID="" CLI_PIDS=""
pair_up() {	# pair_up PAIR: the server and every client, each client pinging through
	local impls i n ok
	impls=$(pair_impls "$1")
	wait_for 10 sh -c "! ip netns exec $S ss -Huan 'sport = :1194' | grep -q ." || true
	# shellcheck disable=SC2046
	spawn "$S" $(impl_cmd "${impls% *}") --config "$([ "$1" = sl-lanes ] && echo server-lanes.conf ||
		echo server.conf)" >>"$1-server.log" 2>&1
	SRV_PID=$LAST_PID CLI_PIDS=""
	for i in $(seq 1 "$CLIENTS"); do
		# shellcheck disable=SC2046
		spawn "slmb-$$-$i" $(impl_cmd "${impls#* }") --config client.conf \
			>>"$1-client$i.log" 2>&1
		CLI_PIDS+=" $LAST_PID"
	done
	for n in $(seq 1 60); do
		ok=0
		for i in $(seq 1 "$CLIENTS"); do
			ip netns exec "slmb-$$-$i" ping -c1 -W1 198.19.22.1 >/dev/null 2>&1 && ok=$((ok + 1))
		done
		[ "$ok" -lt "$CLIENTS" ] || return 0
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.5
	done
	echo "multi_bench: pair $1: $ok of $CLIENTS clients up; $(tail -n 2 "$1-server.log" | tr '\n' ' ')" >&2
	# shellcheck disable=SC2086
	stop_bounded $CLI_PIDS "$SRV_PID"
	return 1
}

# run_all: every client's iperf3 at once; sets R_MBPS R_MIN R_MAX R_SCYB R_CYB (per byte).
run_all() {
	local i sps="" cps="" c0 s0 c1 s1 sum
	rm -f srv*.json
	for i in $(seq 1 "$CLIENTS"); do
		spawn "$S" timeout $((SECS + 30)) iperf3 -s -1 -B 198.19.22.1 -p $((5200 + i)) -J \
			>srv$i.json 2>/dev/null
		sps+=" $LAST_PID"
	done
	wait_for 10 sh -c "[ \$(ip netns exec $S ss -Hltn 'sport >= :5201 and sport <= :$((5200 + CLIENTS))' | wc -l) -ge $CLIENTS ]" ||
		echo "multi_bench: not every iperf3 server listens" >&2
	# shellcheck disable=SC2086
	T0=$(thread_ticks "$SRV_PID") t0=$(date +%s%N)
	# shellcheck disable=SC2086
	s0=$(cpu_ticks "$SRV_PID") c0=$(cpu_ticks "$SRV_PID" $CLI_PIDS)
	for i in $(seq 1 "$CLIENTS"); do
		ip netns exec "slmb-$$-$i" timeout $((SECS + 30)) iperf3 -c 198.19.22.1 \
			-p $((5200 + i)) -t "$SECS" -P "$STREAMS" >/dev/null 2>&1 &
		cps+=" $!"
	done
	for i in $cps; do wait "$i" 2>/dev/null; done
	# shellcheck disable=SC2086
	s1=$(cpu_ticks "$SRV_PID") c1=$(cpu_ticks "$SRV_PID" $CLI_PIDS)
	# The server's threads: share of one core each over the run (where a gateway would saturate).
	R_THR=$(LC_ALL=C join -t= <(echo "$T0") <(thread_ticks "$SRV_PID") | awk -F= -v hz="$CLK_TCK" \
		-v wall=$((($(date +%s%N) - t0) / 1000000)) '{ d = ($3 - $2) * 1000 / hz / wall
		if (d >= 0.01) printf "%s%s %.0f%%", n++ ? ", " : "", $1, d * 100 }')
	# shellcheck disable=SC2086
	for i in $sps; do wait "$i" 2>/dev/null; done
	sum=$(python3 - "$CLIENTS" <<'PY'
import json, sys
rates, total = [], 0
for i in range(1, int(sys.argv[1]) + 1):
    try:
        r = json.load(open(f"srv{i}.json"))["end"]["sum_received"]
        rates.append(r["bytes"] * 8 / r["seconds"] / 1e6); total += r["bytes"]
    except Exception:
        rates.append(0.0)
s = sum(rates)
print(f"{s:.1f} {min(rates) / s if s else 0:.4f} {max(rates) / s if s else 0:.4f} {total}")
PY
)
	read -r R_MBPS R_MIN R_MAX bytes <<<"$sum"
	[ "${bytes:-0}" -gt 0 ] || return 1
	read -r R_SCYB R_CYB < <(awk -v b="$bytes" -v s=$((s1 - s0)) -v c=$((c1 - c0)) \
		-v hz="$CLK_TCK" -v mhz="$MHZ" 'BEGIN {
		printf "%.2f %.2f\n", s * 1e9 / hz / b * mhz / 1000, c * 1e9 / hz / b * mhz / 1000 }')
}

declare -A V
read -r -a PL <<<"$PAIRS"
NP=${#PL[@]} LOG=""
for r in $(seq 1 "$ROUNDS"); do
	for k in $(seq 0 $((NP - 1))); do
		p=${PL[$(((r - 1 + k) % NP))]}
		pair_up "$p" || continue
		if run_all; then
			V[$p.mbps.$r]=$R_MBPS V[$p.min.$r]=$R_MIN V[$p.max.$r]=$R_MAX
			V[$p.scyb.$r]=$R_SCYB V[$p.cyb.$r]=$R_CYB
			line="round=$r pair=$p clients=$CLIENTS mbit_s=$R_MBPS min_share=$R_MIN max_share=$R_MAX server_cycles_per_byte=$R_SCYB all_cycles_per_byte=$R_CYB server_threads=\"$R_THR\""
		else
			line="round=$r pair=$p: iperf3 failed"
		fi
		echo "$line" >&2
		LOG+="$line"$'\n'
		# shellcheck disable=SC2086
		stop_bounded $CLI_PIDS "$SRV_PID"
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

med() {	# med PAIR METRIC [DIVISOR-PAIR]: median over rounds (of same-round ratios)
	local i a b
	for i in $(seq 1 "$ROUNDS"); do
		a=${V[$1.$2.$i]:-}
		[ -n "$a" ] || continue
		if [ -n "${3:-}" ]; then
			b=${V[$3.$2.$i]:-}
			[ -n "$b" ] || continue
			awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.6f\n", a / b }'
		else
			echo "$a"
		fi
	done | sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
fmt() { awk -v v="$1" -v d="$2" -v m="${3:-1}" -v u="${4:-}" 'BEGIN {
	if (v == "-") print "–"; else printf "%.*f%s\n", d, v * m, u }'; }
mkdir -p "$OUT"
{
	echo "## $CLIENTS clients at once through one server (TCP, iperf3 -P $STREAMS from each, summed)"
	echo
	echo "- command: \`$CMDLINE\`"
	echo "- host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), nproc $(nproc), kernel $(uname -r); load average at start $LOAD0, at end $LOAD1; run took $(($(date +%s) - STARTED)) s"
	echo "- ${SECS} s per test, $ROUNDS interleaved round(s), medians; ratios within each round first; the server, every client and every iperf3 share this machine's cores"
	echo
	echo "| pair | sum, Mbit/s | × stock | slowest client, % of sum | fastest, % of sum | server cycles/B | all VPN processes cycles/B |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for p in "${PL[@]}"; do
		x=$([ "$p" = stock ] && echo "–" || fmt "$(med "$p" mbps stock)" 2 1 x)
		echo "| $p | $(fmt "$(med "$p" mbps)" 1) | $x | $(fmt "$(med "$p" min)" 1 100 %) | $(fmt "$(med "$p" max)" 1 100 %) | $(fmt "$(med "$p" scyb)" 2) | $(fmt "$(med "$p" cyb)" 2) |"
	done
	echo
	echo "(an even split would give each client $(awk -v n="$CLIENTS" 'BEGIN { printf "%.1f", 100 / n }')%). server_threads below: each server thread's CPU over the run, in % of one core (sluice: one thread per stage; stock: one thread)."
	echo
	echo '```'
	printf '%s' "$LOG"
	echo '```'
} >"$OUT/multi.md"
cat "$OUT/multi.md"
for p in "${PL[@]}"; do
	echo "multi pair=$p clients=$CLIENTS mbit_s=$(med "$p" mbps) of_stock=$(med "$p" mbps stock) server_cycles_per_byte=$(med "$p" scyb) all_cycles_per_byte=$(med "$p" cyb)"
done
