#!/bin/bash
# End-to-end tunnel benchmark in namespaces: iperf3 through
#   - stock OpenVPN 2.6 server + client (TLS, AES-256-GCM, userspace data channel: --disable-dco)
#   - a sluice pair: SLUICE_PAIR=tls (default) runs a sluice server and a sluice client from
#     the very same config files and PKI as the stock pair; SLUICE_PAIR=testkey runs two
#     fixed-key data planes (test-data-key, no TLS). If the sluice TLS server is not up
#     within 20 s the bench says so and falls back to testkey for the whole run.
#   - the bare veth (no tunnel: the ceiling)
# Tests: TCP 1 stream, TCP 4 streams, UDP with 64-byte payloads (packets/s received and loss,
# as the iperf3 server counts them). Interleaved rounds (the order of stock/sluice/veth rotates
# every round), medians per cell, CPU of the VPN processes per delivered byte. Prints a
# Markdown table (also bench/out/tunnel.md), key=value lines, and draws bench/out/tunnel.png.
# Env: ROUNDS (3), SECS (5 per test), SLUICE_PAIR (tls|testkey), TESTS ("tcp1 tcp4 udp64").
#
#     ns slbn-<pid>-a                                ns slbn-<pid>-b
#     198.18.20.1/30 ============ veth ============ 198.18.20.2/30
#     VPN client, iperf3 client (sender)             VPN server, iperf3 server (receiver)
#     tls pairs:     tunnel 198.19.21.0/24, server 198.19.21.1, UDP port 1194
#     testkey pair:  198.19.20.1/24 <-> 198.19.20.2/24, UDP port 1194 both ends
source "$(dirname "$0")/../tests/netns/lib.sh"
ROUNDS=${ROUNDS:-3} SECS=${SECS:-5} SLUICE_PAIR=${SLUICE_PAIR:-tls}
TESTS=${TESTS:-tcp1 tcp4 udp64}
case $SLUICE_PAIR in tls|testkey) ;; *) fail "SLUICE_PAIR must be tls or testkey" ;; esac
case "$ROUNDS$SECS" in *[!0-9]*) fail "ROUNDS and SECS must be integers" ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$SECS" -ge 1 ] || fail "ROUNDS and SECS must be >= 1"
CMDLINE="ROUNDS=$ROUNDS SECS=$SECS SLUICE_PAIR=$SLUICE_PAIR TESTS=\"$TESTS\" bash bench/tunnel_bench.sh"
OUT=$TOP/bench/out
STARTED=$(date +%s) LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
A=slbn-$$-a B=slbn-$$-b
netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.20.1/30 "$B" vb 198.18.20.2/30
cd "$WORK"

# One throwaway PKI and one pair of config files, used unchanged by stock OpenVPN and sluice.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
	-days 2 -subj /CN=bench-ca 2>/dev/null
for n in server client; do
	eku=$([ $n = server ] && echo serverAuth || echo clientAuth)
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr \
		-subj /CN=bench-$n 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
		$eku >$n.ext
	openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile $n.ext -out $n.crt 2>/dev/null
done
cat >server.conf <<CONF
# 'server' implies 'mode server' and 'tls-server'
dev tun
proto udp
local 198.18.20.2
port 1194
topology subnet
server 198.19.21.0 255.255.255.0
ca ca.crt
cert server.crt
key server.key
dh none
remote-cert-tls client
data-ciphers AES-256-GCM
keepalive 10 60
verb 1
CONF
cat >client.conf <<CONF
client
dev tun
proto udp
remote 198.18.20.2 1194
nobind
ca ca.crt
cert client.crt
key client.key
remote-cert-tls server
data-ciphers AES-256-GCM
verb 1
CONF
make_static_key key
for s in a b; do
	if [ $s = a ]; then l=198.18.20.1 r=198.18.20.2 t=198.19.20.1 d=0; else
		l=198.18.20.2 r=198.18.20.1 t=198.19.20.2 d=1; fi
	printf 'dev sl0\ndev-type tun\nlocal %s\nlport 1194\nremote %s 1194\ntopology subnet\nifconfig %s 255.255.255.0\ntest-data-key key %s\ntest-cipher AES-256-GCM\nverb 0\n' \
		$l $r $t $d >testkey-$s.conf
done

CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID...: utime+stime of the processes (all their threads), in clock ticks.
cpu_ticks() {
	local p s=0 f
	for p in "$@"; do
		# after "(comm) " comes field 3 (state); utime is field 14, stime 15 (proc(5))
		read -r -a f < <(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		s=$((s + ${f[11]:-0} + ${f[12]:-0}))
	done
	echo "$s"
}

# forget_pid PID: a reaped PID leaves the cleanup list, so a reused PID is never signalled.
forget_pid() {
	local i
	for i in "${!PIDS_STARTED[@]}"; do
		[ "${PIDS_STARTED[$i]}" != "$1" ] || unset "PIDS_STARTED[$i]"
	done
}

# stop_bounded PID...: SIGTERM, up to 5 s, then SIGKILL; reaps them. Only our own PIDs.
stop_bounded() {
	local p n
	for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "$@"; do
		for n in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		! kill -0 "$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		forget_pid "$p"
	done
}

# Waits until no previous data plane still holds UDP port 1194 (an io_uring may keep a
# socket open for a moment after its process exited).
wait_ports_free() {
	wait_for 10 sh -c "! ip netns exec $A ss -Huan 'sport = :1194' | grep -q . &&
		! ip netns exec $B ss -Huan 'sport = :1194' | grep -q ." ||
		echo "warning: UDP port 1194 still busy after 10 s" >&2
}

tail_log() { tail -n 3 "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-300; }

# pair_up IMPL: starts a VPN pair; sets PAIR_PIDS (server, client) and PAIR_DST (the iperf3
# server address inside the tunnel, in namespace B). Returns 1 if it did not come up.
PAIR_PIDS="" PAIR_DST="" SLUICE_MODE=$SLUICE_PAIR SLUICE_NOTE="" TLS_TRIED=""
pair_up() {
	wait_ports_free
	case $1 in
	stock) stock_up ;;
	sluice)
		if [ "$SLUICE_MODE" = tls ]; then
			sluice_tls_up && return 0
			[ -z "$TLS_TRIED" ] || return 1
			SLUICE_MODE=testkey
			SLUICE_NOTE="SLUICE_PAIR=tls: the sluice server was not up within 20 s ($TLS_WHY); fell back to SLUICE_PAIR=testkey (fixed-key pair, no TLS)"
			echo "*** $SLUICE_NOTE" >&2
			wait_ports_free
		fi
		sluice_testkey_up ;;
	esac
}

stock_up() {
	local ps pc
	spawn "$B" openvpn --config server.conf --disable-dco >>stock-server.log 2>&1; ps=$LAST_PID
	spawn "$A" openvpn --config client.conf --disable-dco >>stock-client.log 2>&1; pc=$LAST_PID
	PAIR_PIDS="$ps $pc" PAIR_DST=198.19.21.1
	wait_for 30 ip netns exec "$A" ping -c1 -W1 198.19.21.1 && return 0
	echo "stock pair did not come up: server: $(tail_log stock-server.log) client: $(tail_log stock-client.log)" >&2
	stop_bounded $PAIR_PIDS
	return 1
}

# The sluice server gets 20 s (and is given up on at once if it exits) to let the sluice
# client through: ping the server's tunnel address from the client side.
sluice_tls_up() {
	local ps pc n
	spawn "$B" "$SLUICE" --config server.conf >>sluice-server.log 2>&1; ps=$LAST_PID
	spawn "$A" "$SLUICE" --config client.conf >>sluice-client.log 2>&1; pc=$LAST_PID
	PAIR_PIDS="$ps $pc" PAIR_DST=198.19.21.1
	TLS_WHY="no ping through the tunnel"
	for n in $(seq 1 20); do
		if ! kill -0 "$ps" 2>/dev/null; then
			TLS_WHY="sluice server exited: $(tail_log sluice-server.log)"; break; fi
		if ! kill -0 "$pc" 2>/dev/null; then
			TLS_WHY="sluice client exited: $(tail_log sluice-client.log)"; break; fi
		if ip netns exec "$A" ping -c1 -W1 198.19.21.1 >/dev/null 2>&1; then
			TLS_TRIED=1; return 0; fi
		sleep 0.5
	done
	echo "sluice tls pair: $TLS_WHY" >&2
	stop_bounded $PAIR_PIDS
	return 1
}

sluice_testkey_up() {
	local pa pb
	spawn "$A" "$SLUICE" --config testkey-a.conf >>sluice-testkey-a.log 2>&1; pa=$LAST_PID
	spawn "$B" "$SLUICE" --config testkey-b.conf >>sluice-testkey-b.log 2>&1; pb=$LAST_PID
	PAIR_PIDS="$pb $pa" PAIR_DST=198.19.20.2
	wait_for 10 ip -n "$B" addr show dev sl0 to 198.19.20.2 &&
		wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.20.1 &&
		wait_for 10 ip netns exec "$A" ping -c1 -W1 198.19.20.2 && return 0
	echo "sluice testkey pair did not come up: $(tail_log sluice-testkey-a.log) $(tail_log sluice-testkey-b.log)" >&2
	stop_bounded $PAIR_PIDS
	return 1
}

# run_test TEST DST PID...: one bounded iperf3 run from A to DST (in B), CPU of PIDs over it.
# Sets R_MBPS R_KPPS R_LOSS R_NSKB R_CORES ("-" where not measured); returns 1 on failure.
run_test() {
	local test=$1 dst=$2 args sp c0 c1 t0 t1 m
	shift 2
	case $test in
	tcp1) args="-P 1" ;;
	tcp4) args="-P 4" ;;
	udp64) args="-u -l 64 -b 0" ;;
	esac
	rm -f srv.json
	spawn "$B" timeout $((SECS + 30)) iperf3 -s -1 -B "$dst" -p 5201 -J >srv.json 2>/dev/null
	sp=$LAST_PID
	if ! wait_for 10 sh -c "ip netns exec $B ss -Hltn 'sport = :5201' | grep -q ."; then
		stop_bounded "$sp"; return 1
	fi
	c0=$(cpu_ticks "$@") t0=$(date +%s%N)
	# shellcheck disable=SC2086
	ip netns exec "$A" timeout $((SECS + 30)) iperf3 -c "$dst" -p 5201 -t "$SECS" $args \
		>/dev/null 2>&1 || true
	t1=$(date +%s%N) c1=$(cpu_ticks "$@")
	wait "$sp" 2>/dev/null || true
	forget_pid "$sp"
	# Received by the iperf3 server: bytes and seconds; for UDP also its loss figure.
	m=$(python3 - "$test" <<'PY'
import json, sys
try:
    r = json.load(open("srv.json"))["end"]["sum_received"]
    b, s = r["bytes"], r["seconds"]
    print(b, s, r.get("lost_percent", "-") if sys.argv[1] == "udp64" else "-")
except Exception:
    print("0 0 -")
PY
)
	set -- $m
	[ "$1" -gt 0 ] 2>/dev/null || return 1
	read -r R_MBPS R_KPPS R_LOSS R_NSKB R_CORES < <(awk -v b="$1" -v s="$2" -v loss="$3" \
		-v udp="$([ "$test" = udp64 ] && echo 1 || echo 0)" -v cpu=$(((c1 - c0))) \
		-v hz="$CLK_TCK" -v wall=$(((t1 - t0))) -v npid="$NPIDS" 'BEGIN {
		ns = cpu * 1e9 / hz
		printf "%.1f %s %s %s %s\n", b * 8 / s / 1e6,
			udp ? sprintf("%.2f", b / 64 / s / 1e3) : "-", udp ? sprintf("%.2f", loss) : "-",
			npid ? sprintf("%.0f", ns / (b / 1000)) : "-",
			npid ? sprintf("%.3f", ns / wall) : "-" }')
}

# Values per round, as space-separated lists: V[impl.test.metric].
declare -A V
METRICS="mbps kpps loss nskb cores"
IMPLS=(stock sluice veth)
ROUNDLOG=""
record() {	# record IMPL TEST
	local k
	for k in $METRICS; do
		local var=R_${k^^}
		[ "${!var}" = "-" ] || V[$1.$2.$k]="${V[$1.$2.$k]:-} ${!var}"
	done
	ROUNDLOG+="round=$r impl=$1 test=$2 mbit_s=$R_MBPS kpps=$R_KPPS loss_pct=$R_LOSS cpu_ns_per_kb=$R_NSKB cpu_cores=$R_CORES"$'\n'
	echo "round=$r impl=$1 test=$2 mbit_s=$R_MBPS kpps=$R_KPPS loss_pct=$R_LOSS cpu_ns_per_kb=$R_NSKB cpu_cores=$R_CORES" >&2
}

for r in $(seq 1 "$ROUNDS"); do
	for i in 0 1 2; do
		impl=${IMPLS[$(((r - 1 + i) % 3))]}
		if [ "$impl" = veth ]; then
			PAIR_PIDS="" PAIR_DST=198.18.20.2
		elif ! pair_up "$impl"; then
			echo "round=$r impl=$impl: pair did not come up; round skipped for it" >&2
			continue
		fi
		NPIDS=$(echo $PAIR_PIDS | wc -w)
		for t in $TESTS; do
			# shellcheck disable=SC2086
			if run_test "$t" "$PAIR_DST" $PAIR_PIDS; then
				record "$impl" "$t"
			else
				echo "round=$r impl=$impl test=$t: iperf3 failed" >&2
			fi
		done
		[ -z "$PAIR_PIDS" ] || stop_bounded $PAIR_PIDS
	done
done

median() {	# median "v1 v2 ...": the middle value (mean of the two middle ones if even)
	echo "$1" | tr ' ' '\n' | grep . | sort -g |
		awk '{ a[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print a[(NR + 1) / 2];
			else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
med() { median "${V[$1.$2.$3]:-}"; }
fmt() {	# fmt VALUE DECIMALS
	[ "$1" = "-" ] && { echo "–"; return; }
	awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f\n", d, v }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2fx\n", a / b; else print "–" }'; }
label() {
	case $1 in tcp1) echo "TCP, 1 stream" ;; tcp4) echo "TCP, 4 streams" ;;
	udp64) echo "UDP, 64-byte payload" ;; esac
}
row() {	# row TEXT TEST METRIC DECIMALS VETH(yes|no) RATIO(yes|no)
	local s o v
	o=$(med stock "$2" "$3") s=$(med sluice "$2" "$3") v=$(med veth "$2" "$3")
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$(fmt "$o" "$4")" "$(fmt "$s" "$4")" \
		"$([ "$6" = yes ] && ratio "$s" "$o" || echo "–")" \
		"$([ "$5" = yes ] && fmt "$v" "$4" || echo "–")"
}

if [ "$SLUICE_MODE" = tls ]; then
	SL_DESC="sluice server + sluice client, TLS, the same config files and PKI as stock"
else
	SL_DESC="two sluice data planes with a fixed test key (test-data-key, no TLS)"
fi
ELAPSED=$(($(date +%s) - STARTED))
mkdir -p "$OUT"
{
	echo "## iperf3 through the tunnel: sluice vs stock OpenVPN 2.6 (namespaces, same run)"
	echo
	echo "- command: \`$CMDLINE\`"
	echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), nproc $(nproc), kernel $(uname -r), load average at start $LOAD0"
	echo "- stock: $(openvpn --version | head -n1); server + client, TLS, AES-256-GCM, --disable-dco"
	echo "- sluice ($SLUICE_MODE): $SL_DESC; binary $SLUICE (built $(date -r "$SLUICE" "+%F %T")), git $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$TOP" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
	[ -z "$SLUICE_NOTE" ] || echo "- **note: $SLUICE_NOTE**"
	echo "- $(iperf3 --version | head -n1): client (sender) in one namespace, server (receiver) in the other; ${SECS} s per test; median of $ROUNDS interleaved rounds (stock, sluice, veth; the order rotates every round); throughput and packets/s as received by the iperf3 server; run took ${ELAPSED} s"
	echo "- **CPU ns/KB** = utime+stime (all threads, from /proc/PID/stat) of both VPN processes (server and client) over the iperf3 run, in ns, per 1000 bytes of iperf3 payload delivered (UDP: 64 B per received packet); lower is better. **CPU cores** = the same CPU time / wall time. Kernel work not charged to the VPN processes (softirq, iperf3 itself) is not counted."
	echo
	echo "| test | stock | sluice | sluice/stock | veth |"
	echo "|---|---:|---:|---:|---:|"
	for t in $TESTS; do
		case $t in
		udp64)
			row "$(label $t), kpackets/s received" $t kpps 1 yes yes
			row "$(label $t), loss %" $t loss 1 yes no ;;
		*) row "$(label $t), Mbit/s" $t mbps 0 yes yes ;;
		esac
	done
	for t in $TESTS; do row "CPU ns/KB, $(label $t)" $t nskb 0 no yes; done
	for t in $TESTS; do row "CPU cores, $(label $t)" $t cores 2 no yes; done
	echo
	echo "<details><summary>per-round values</summary>"
	echo
	echo '```'
	printf '%s' "$ROUNDLOG"
	echo '```'
	echo "</details>"
} >"$OUT/tunnel.md"
cat "$OUT/tunnel.md"
echo
for t in $TESTS; do
	for impl in "${IMPLS[@]}"; do
		echo "tunnel test=$t impl=$impl$([ "$impl" = sluice ] && echo "($SLUICE_MODE)") mbit_s=$(med $impl $t mbps) kpps=$(med $impl $t kpps) loss_pct=$(med $impl $t loss) cpu_ns_per_kb=$(med $impl $t nskb) cpu_cores=$(med $impl $t cores)"
	done
done

# The chart: stock vs sluice per test; TCP Mbit/s, UDP kpackets/s, CPU ns/KB.
if ! command -v gnuplot >/dev/null; then
	echo "gnuplot not installed (make deps): no $OUT/tunnel.png"
	exit 0
fi
short() { case $1 in tcp1) echo "TCP 1 stream" ;; tcp4) echo "TCP 4 streams" ;; udp64) echo "UDP 64 B" ;; esac; }
# datrow LABEL STOCK SLUICE DECIMALS [norm]: "label" y_stock y_sluice "text" "text"; with norm
# the bars are relative to stock (= 1) and the texts keep the absolute values.
datrow() {
	awk -v l="$1" -v o="$2" -v s="$3" -v d="$4" -v norm="${5:-}" 'BEGIN {
		if (o == "-") o = 0; if (s == "-") s = 0
		to = sprintf("%.*f", d, o); ts = sprintf("%.*f", d, s)
		if (norm != "") { if (o > 0) { s = s / o; o = 1 } else s = o = 0 }
		printf "\"%s\" %g %g \"%s\" \"%s\"\n", l, o, s, to, ts }'
}
: >tcp.dat; : >udp.dat; : >cpu.dat
for t in $TESTS; do
	case $t in
	udp64) datrow "$(short $t)" "$(med stock $t kpps)" "$(med sluice $t kpps)" 1 >>udp.dat ;;
	*) datrow "$(short $t)" "$(med stock $t mbps)" "$(med sluice $t mbps)" 0 >>tcp.dat ;;
	esac
	datrow "$(short $t)" "$(med stock $t nskb)" "$(med sluice $t nskb)" 0 norm >>cpu.dat
done
cat >chart.gp <<GP
set terminal png size 1500,520 font ",10"
set output "$OUT/tunnel.png"
set multiplot layout 1,3 title "iperf3 through the tunnel, stock OpenVPN 2.6 vs sluice ($SLUICE_MODE): median of $ROUNDS round(s) x ${SECS} s, $(nproc) cores, kernel $(uname -r)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
GP
for p in "tcp.dat|TCP throughput|Mbit/s (higher is better)" \
	"udp.dat|UDP, 64-byte payload|kpackets/s received (higher is better)" \
	"cpu.dat|CPU of both VPN processes per byte delivered (labels: ns per 1000 B)|relative to stock OpenVPN = 1 (lower is better)"; do
	IFS='|' read -r f ttl yl <<<"$p"
	[ -s "$f" ] || continue
	cat >>chart.gp <<GP
set title "$ttl"
set ylabel "$yl"
plot "$f" using 2:xtic(1) title "stock OpenVPN" lc rgb "#7f7f7f", \\
     "" using 3 title "sluice ($SLUICE_MODE)" lc rgb "#1f77b4", \\
     "" using (\$0 - 0.22):2:4 with labels offset 0,0.8 notitle, \\
     "" using (\$0 + 0.22):3:5 with labels offset 0,0.8 notitle
GP
done
echo "unset multiplot" >>chart.gp
if gnuplot chart.gp 2>gnuplot.err; then
	echo "chart: $OUT/tunnel.png; table: $OUT/tunnel.md"
else
	echo "gnuplot failed: $(head -n 3 gnuplot.err)"
fi
