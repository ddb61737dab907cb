#!/bin/bash
# End-to-end tunnel benchmark in namespaces: iperf3 through VPN pairs built from the very
# same server.conf, client.conf and PKI, beside the bare veth, all in one run:
#   veth      no tunnel: the ceiling
#   stock     stock OpenVPN 2.6 server + client (userspace data channel: --disable-dco)
#   sluice    sluice server + sluice client (SLUICE_PAIR=testkey: two fixed-key data planes)
#   sl-cli    sluice client + stock server        (mixed pairs: never slower than stock)
#   sl-srv    stock client + sluice server
#   sl-nooff  sluice pair with tun-offload, udp-gso and udp-gro all "no"   (OFFLOAD_OFF=1)
#   sl-thr    sluice pair with one crypto thread per direction ("workers 1"): on a host of 2
#             CPUs or fewer the default is none (the I/O threads seal and open), so this pair
#             shows what that default buys (THREADS_PAIR=1)
#   base      another sluice binary, e.g. before a change: BASE_SLUICE=/path/to/sluice
#   wireguard-go  userspace WireGuard at both ends (bench/wg.lib; WG_GO=/path/to/wireguard-go
#             for another build); "n/a" when wireguard-go or wg is not installed
# Tests: TCP 1 stream, TCP 4 streams, UDP with 64-byte payloads (packets/s and loss as the
# iperf3 server counts them). Interleaved rounds: the order of the pairs rotates every round,
# so a change of load on this shared machine hits every pair alike. Every ratio (to veth, to
# stock) is taken within one round and then the median over rounds is shown with its range:
# absolute figures swing with the host, same-round ratios much less.
# CPU per byte: utime+stime of both VPN processes (every thread, /proc/PID/stat) over the
# iperf3 run, per byte delivered, as ns/KB and as cycles/byte at the CPU's nominal clock.
# Prints Markdown tables (also bench/out/tunnel.md), key=value lines, bench/out/tunnel.png.
# Env: ROUNDS (3), SECS (5 per test), TESTS ("tcp1 tcp4 udp64"), PAIRS (default: "veth stock
# sluice sl-cli sl-srv wireguard-go", plus sl-nooff with OFFLOAD_OFF=1, sl-thr with
# THREADS_PAIR=1 and base with
# BASE_SLUICE; "wg" stands for wireguard-go), WG_GO (the wireguard-go binary),
# SLUICE_PAIR (tls|testkey, the sluice pair only), SLUICE_ARGS (extra sluice arguments).
#
#     ns slbn-<pid>-a                                ns slbn-<pid>-b
#     198.18.20.1/30 ============ veth ============ 198.18.20.2/30
#     VPN client, iperf3 client (sender)             VPN server, iperf3 server (receiver)
#     tls pairs:     tunnel 198.19.21.0/24, server 198.19.21.1, UDP port 1194
#     testkey pair:  198.19.20.1/24 <-> 198.19.20.2/24, UDP port 1194 both ends
source "$(dirname "$0")/../tests/netns/lib.sh"
ROUNDS=${ROUNDS:-3} SECS=${SECS:-5} SLUICE_PAIR=${SLUICE_PAIR:-tls}
TESTS=${TESTS:-tcp1 tcp4 udp64} SLUICE_ARGS=${SLUICE_ARGS:-}
BASE_SLUICE=${BASE_SLUICE:-}
if [ -z "${PAIRS:-}" ]; then
	PAIRS="veth stock sluice sl-cli sl-srv"
	[ -z "${OFFLOAD_OFF:-}" ] || PAIRS+=" sl-nooff"
	[ -z "${THREADS_PAIR:-}" ] || PAIRS+=" sl-thr"
	[ -z "$BASE_SLUICE" ] || PAIRS+=" base"
	PAIRS+=" wireguard-go"
fi
PAIRS=$(echo " $PAIRS " | sed 's/ wg / wireguard-go /g; s/^ *//; s/ *$//')
case $SLUICE_PAIR in tls|testkey) ;; *) fail "SLUICE_PAIR must be tls or testkey" ;; esac
case "$ROUNDS$SECS" in *[!0-9]*) fail "ROUNDS and SECS must be integers" ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$SECS" -ge 1 ] || fail "ROUNDS and SECS must be >= 1"
[ -z "$BASE_SLUICE" ] || [ -x "$BASE_SLUICE" ] || fail "BASE_SLUICE=$BASE_SLUICE is not executable"
CMDLINE="ROUNDS=$ROUNDS SECS=$SECS PAIRS=\"$PAIRS\" TESTS=\"$TESTS\" SLUICE_PAIR=$SLUICE_PAIR${WG_GO:+ WG_GO=$WG_GO} bash bench/tunnel_bench.sh"
OUT=$TOP/bench/out
STARTED=$(date +%s) LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
MHZ=$(awk -F: '/^cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo)
A=slbn-$$-a B=slbn-$$-b
netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.20.1/30 "$B" vb 198.18.20.2/30
cd "$WORK"
# shellcheck source=bench/wg.lib
source "$TOP/bench/wg.lib"

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
# udp_rcvbuf_errs: UDP datagrams namespace B dropped because a receive socket was full
# (RcvbufErrors, /proc/net/snmp), less those of the tunnel's own sockets (the VPNs' UDP
# port 1194, wireguard-go's $WG_PORT; ss's skmem d): what the iperf3 server could not read.
udp_rcvbuf_errs() {
	local all own
	all=$(ip netns exec "$B" awk '/^Udp:/ { if (!n++) { for (i = 2; i <= NF; i++) c[$i] = i; next }
		print $c["RcvbufErrors"]; exit }' /proc/net/snmp)
	own=$(ip netns exec "$B" ss -Huamn "( sport = :1194 or sport = :${WG_PORT:-51820} )" |
		grep -o ',d[0-9]*)' | tr -dc '0-9\n' | awk '{ s += $1 } END { print s + 0 }')
	echo $((all - own))
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

# impl_cmd IMPL: the command line (without --config) of one end.
impl_cmd() {
	case $1 in
	stock) echo "openvpn --disable-dco" ;;
	sluice) echo "$SLUICE $SLUICE_ARGS" ;;
	sluice-off) echo "$SLUICE $SLUICE_ARGS --tun-offload no --udp-gso no --udp-gro no" ;;
	sluice-thr) echo "$SLUICE $SLUICE_ARGS --workers 1" ;;
	base) echo "$BASE_SLUICE" ;;
	esac
}

# pair_impls PAIR: "server-impl client-impl".
pair_impls() {
	case $1 in
	stock) echo "stock stock" ;;
	sluice) echo "sluice sluice" ;;
	sl-cli) echo "stock sluice" ;;
	sl-srv) echo "sluice stock" ;;
	sl-nooff) echo "sluice-off sluice-off" ;;
	sl-thr) echo "sluice-thr sluice-thr" ;;
	base) echo "base base" ;;
	esac
}

pair_desc() {
	case $1 in
	veth) echo "bare veth, no tunnel (the ceiling)" ;;
	stock) echo "stock OpenVPN server + stock client (--disable-dco)" ;;
	sluice) [ "$SLUICE_MODE" = tls ] && echo "sluice server + sluice client" ||
		echo "two sluice data planes with a fixed test key (test-data-key, no TLS)" ;;
	sl-cli) echo "sluice client + stock server" ;;
	sl-srv) echo "stock client + sluice server" ;;
	sl-nooff) echo "sluice server + sluice client, tun-offload no, udp-gso no, udp-gro no" ;;
	sl-thr) echo "sluice server + sluice client, workers 1 (a crypto thread per direction)" ;;
	base) echo "sluice server + client of $BASE_SLUICE (built $(date -r "$BASE_SLUICE" "+%F %T"))" ;;
	wireguard-go) wg_desc ;;
	esac
}

# pair_up PAIR: starts a VPN pair; sets PAIR_PIDS (server, client) and PAIR_DST (the iperf3
# server address inside the tunnel, in namespace B). Returns 1 if it did not come up.
PAIR_PIDS="" PAIR_DST="" SLUICE_MODE=$SLUICE_PAIR SLUICE_NOTE=""
pair_up() {
	local impls
	if [ "$1" = wireguard-go ]; then
		wg_up
		return
	fi
	wait_ports_free
	if [ "$1" = sluice ] && [ "$SLUICE_MODE" = testkey ]; then
		sluice_testkey_up
		return
	fi
	impls=$(pair_impls "$1")
	tls_up "$1" ${impls% *} ${impls#* }
}

# tls_up PAIR SERVER-IMPL CLIENT-IMPL: the server gets 30 s (and is given up on at once if
# either end exits) to let the client through: ping the server's tunnel address.
tls_up() {
	local ps pc n why="no ping through the tunnel"
	# shellcheck disable=SC2046
	spawn "$B" $(impl_cmd "$2") --config server.conf >>"$1-server.log" 2>&1; ps=$LAST_PID
	# shellcheck disable=SC2046
	spawn "$A" $(impl_cmd "$3") --config client.conf >>"$1-client.log" 2>&1; pc=$LAST_PID
	PAIR_PIDS="$ps $pc" PAIR_DST=198.19.21.1
	for n in $(seq 1 60); do
		if ! kill -0 "$ps" 2>/dev/null; then why="server exited: $(tail_log "$1-server.log")"; break; fi
		if ! kill -0 "$pc" 2>/dev/null; then why="client exited: $(tail_log "$1-client.log")"; break; fi
		if ip netns exec "$A" ping -c1 -W1 198.19.21.1 >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	echo "pair $1 did not come up: $why" >&2
	stop_bounded $PAIR_PIDS
	return 1
}

sluice_testkey_up() {
	local pa pb
	# shellcheck disable=SC2086
	spawn "$A" "$SLUICE" --config testkey-a.conf $SLUICE_ARGS >>sluice-testkey-a.log 2>&1; pa=$LAST_PID
	# shellcheck disable=SC2086
	spawn "$B" "$SLUICE" --config testkey-b.conf $SLUICE_ARGS >>sluice-testkey-b.log 2>&1; pb=$LAST_PID
	PAIR_PIDS="$pb $pa" PAIR_DST=198.19.20.2
	wait_for 10 ip -n "$B" addr show dev sl0 to 198.19.20.2 &&
		wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.20.1 &&
		wait_for 10 ip netns exec "$A" ping -c1 -W1 198.19.20.2 && return 0
	echo "sluice testkey pair did not come up: $(tail_log sluice-testkey-a.log) $(tail_log sluice-testkey-b.log)" >&2
	stop_bounded $PAIR_PIDS
	return 1
}

# run_test TEST DST PID...: one bounded iperf3 run from A to DST (in B), CPU of PIDs over it.
# Sets R_MBPS R_KPPS R_LOSS R_NSKB R_CYB R_CORES, and for udp64 R_SOCKQ (kpps overflowing B's
# receive sockets) and R_REACH (delivered + those), "-" where not measured; returns 1 on failure.
run_test() {
	local test=$1 dst=$2 args sp c0 c1 t0 t1 m q0 q1
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
	q0=$(udp_rcvbuf_errs)
	c0=$(cpu_ticks "$@") t0=$(date +%s%N)
	# shellcheck disable=SC2086
	ip netns exec "$A" timeout $((SECS + 30)) iperf3 -c "$dst" -p 5201 -t "$SECS" $args \
		>/dev/null 2>&1 || true
	t1=$(date +%s%N) c1=$(cpu_ticks "$@")
	wait "$sp" 2>/dev/null || true
	q1=$(udp_rcvbuf_errs)
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
	read -r R_MBPS R_KPPS R_LOSS R_NSKB R_CYB R_CORES < <(awk -v b="$1" -v s="$2" -v loss="$3" \
		-v udp="$([ "$test" = udp64 ] && echo 1 || echo 0)" -v cpu=$(((c1 - c0))) \
		-v hz="$CLK_TCK" -v wall=$(((t1 - t0))) -v npid="$NPIDS" -v mhz="$MHZ" 'BEGIN {
		ns = cpu * 1e9 / hz
		printf "%.1f %s %s %s %s %s\n", b * 8 / s / 1e6,
			udp ? sprintf("%.2f", b / 64 / s / 1e3) : "-", udp ? sprintf("%.2f", loss) : "-",
			npid ? sprintf("%.0f", ns / (b / 1000)) : "-",
			npid && mhz ? sprintf("%.2f", ns / b * mhz / 1000) : "-",
			npid ? sprintf("%.3f", ns / wall) : "-" }')
	R_SOCKQ=- R_REACH=-
	if [ "$test" = udp64 ] && [ -n "$q0" ] && [ -n "$q1" ]; then
		R_SOCKQ=$(awk -v d=$((q1 - q0)) -v s="$2" 'BEGIN { printf "%.2f", (s > 0 ? d / s / 1e3 : 0) }')
		R_REACH=$(awk -v a="$R_KPPS" -v b="$R_SOCKQ" 'BEGIN { printf "%.2f", a + b }')
	fi
}

# Per round: V[pair.test.metric.round].
declare -A V
METRICS="mbps kpps loss nskb cyb cores sockq reach"
ROUNDLOG=""
read -r -a PLIST <<<"$PAIRS"
NP=${#PLIST[@]}
record() {	# record PAIR TEST
	local k line="round=$r pair=$1 test=$2 mbit_s=$R_MBPS kpps=$R_KPPS loss_pct=$R_LOSS sockq_kpps=$R_SOCKQ reach_kpps=$R_REACH cpu_ns_per_kb=$R_NSKB cycles_per_byte=$R_CYB cpu_cores=$R_CORES"
	for k in $METRICS; do
		local var=R_${k^^}
		[ "${!var}" = "-" ] || V[$1.$2.$k.$r]=${!var}
	done
	ROUNDLOG+="$line"$'\n'
	echo "$line" >&2
}

for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 0 $((NP - 1))); do
		pair=${PLIST[$(((r - 1 + i) % NP))]}
		if [ "$pair" = veth ]; then
			PAIR_PIDS="" PAIR_DST=198.18.20.2
		elif [ "$pair" = wireguard-go ] && [ -n "$WG_NA" ]; then
			continue
		elif ! pair_up "$pair"; then
			echo "round=$r pair=$pair: did not come up; round skipped for it" >&2
			continue
		fi
		NPIDS=$(echo $PAIR_PIDS | wc -w)
		for t in $TESTS; do
			# shellcheck disable=SC2086
			if run_test "$t" "$PAIR_DST" $PAIR_PIDS; then
				record "$pair" "$t"
			else
				echo "round=$r pair=$pair test=$t: iperf3 failed" >&2
			fi
		done
		[ -z "$PAIR_PIDS" ] || stop_bounded $PAIR_PIDS
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# values PAIR TEST METRIC [per-round divisor PAIR]: the per-round values (or ratios to the
# same round's figure of the divisor pair), one per line.
values() {
	local i a b
	for i in $(seq 1 "$ROUNDS"); do
		a=${V[$1.$2.$3.$i]:-}
		[ -n "$a" ] || continue
		if [ -n "${4:-}" ]; then
			b=${V[$4.$2.$3.$i]:-}
			[ -n "$b" ] || continue
			awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.6f\n", a / b }'
		else
			echo "$a"
		fi
	done
}
# stat "v1\nv2...": "median min max" ("- - -" if none)
stat3() {
	echo "$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { if (!NR) { print "- - -"; exit }
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m, a[1], a[NR] }'
}
# cell PAIR TEST METRIC DECIMALS [DIVISOR-PAIR [pct|x]]: "median (min–max)"
cell() {
	local s
	if [ "$1" = wireguard-go ] && [ -n "$WG_NA" ]; then echo "n/a"; return; fi
	s=$(stat3 "$(values "$1" "$2" "$3" "${5:-}")")
	awk -v s="$s" -v d="$4" -v mode="${6:-}" -v n="$ROUNDS" 'BEGIN { split(s, v, " ")
		if (v[1] == "-") { print "–"; exit }
		f = mode == "pct" ? 100 : 1; u = mode == "pct" ? "%" : mode == "x" ? "x" : ""
		if (n > 1 && v[2] != v[3])
			printf "%.*f%s (%.*f–%.*f)\n", d, v[1] * f, u, d, v[2] * f, d, v[3] * f
		else
			printf "%.*f%s\n", d, v[1] * f, u }'
}
med() { stat3 "$(values "$1" "$2" "$3" "${4:-}")" | cut -d' ' -f1; }
label() {
	case $1 in tcp1) echo "TCP, 1 stream, Mbit/s" ;; tcp4) echo "TCP, 4 streams, Mbit/s" ;;
	udp64) echo "UDP 64 B, kpackets/s delivered" ;; esac
}
metric() { [ "$1" = udp64 ] && echo kpps || echo mbps; }

hdr() {	# hdr FIRST-COLUMN: a table header with one column per pair
	local p line="| $1 |" sep="|---|"
	for p in "${PLIST[@]}"; do line+=" $p |"; sep+="---:|"; done
	echo "$line"; echo "$sep"
}
row() {	# row TEXT TEST METRIC DECIMALS [DIVISOR-PAIR pct|x]
	local p line="| $1 |"
	for p in "${PLIST[@]}"; do
		if [ -n "${5:-}" ] && { [ "$p" = veth ] || [ "$p" = "$5" ]; }; then
			line+=" – |"
			continue
		fi
		line+=" $(cell "$p" "$2" "$3" "$4" "${5:-}" "${6:-}") |"
	done
	echo "$line"
}

# issue_row TEST: per pair "figure (x% of veth, y× stock)", TCP in Gbit/s, UDP in kpackets/s.
issue_row() {
	local p m v line
	m=$(metric "$1")
	case $1 in tcp1) line="| TCP 1 stream, Gbit/s |" ;; tcp4) line="| TCP 4 streams, Gbit/s |" ;;
	udp64) line="| UDP 64 B, kpps delivered |" ;; esac
	for p in "${PLIST[@]}"; do
		if [ "$p" = wireguard-go ] && [ -n "$WG_NA" ]; then line+=" n/a |"; continue; fi
		v=$(med "$p" "$1" "$m")
		if [ -z "$v" ] || [ "$v" = "-" ]; then line+=" – |"; continue; fi
		line+=" $(awk -v v="$v" -v u="$([ "$m" = mbps ] && echo 1000 || echo 1)" \
			-v d="$([ "$m" = mbps ] && echo 2 || echo 1)" 'BEGIN { printf "%.*f", d, v / u }')"
		local a="" b=""
		[ "$p" = veth ] || a=$(med "$p" "$1" "$m" veth)
		[ "$p" = stock ] || [ "$p" = veth ] || b=$(med "$p" "$1" "$m" stock)
		if [ -n "$a" ] && [ "$a" != "-" ]; then
			line+=" ($(awk -v a="$a" 'BEGIN { printf "%.1f%%", a * 100 }')"
			[ -z "$b" ] || [ "$b" = "-" ] || line+=", $(awk -v b="$b" 'BEGIN { printf "%.2f×", b }')"
			line+=")"
		fi
		line+=" |"
	done
	echo "$line"
}

have() { [[ " $PAIRS " == *" $1 "* ]]; }
# target TEXT VALUE OP LIMIT: one line of the target check
target() {
	local v=$2 ok
	if [ -z "$v" ] || [ "$v" = "-" ]; then echo "- $1: not measured"; return; fi
	ok=$(awk -v v="$v" -v l="$4" -v op="$3" 'BEGIN { print (op == ">=" ? v >= l : v <= l) ? "met" : "NOT met" }')
	echo "- $1: $(awk -v v="$v" 'BEGIN { printf "%.3g", v }') ($3 $4): **$ok**"
}

ELAPSED=$(($(date +%s) - STARTED))
mkdir -p "$OUT"
{
	echo "## iperf3 through the tunnel: $(echo "$PAIRS" | sed 's/ /, /g') (namespaces, one run)"
	echo
	echo "- command: \`$CMDLINE\`"
	echo "- host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), ${MHZ} MHz, nproc $(nproc), kernel $(uname -r); load average at start $LOAD0, at end $LOAD1 (other work shares this machine)"
	echo "- stock: $(openvpn --version | head -n1 | cut -d' ' -f1-2); sluice: $SLUICE (built $(date -r "$SLUICE" "+%F %T")), git $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$TOP" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')${SLUICE_ARGS:+, arguments $SLUICE_ARGS}; AES-256-GCM for OpenVPN and sluice"
	! have wireguard-go || echo "- wireguard-go: $(wg_version)"
	for p in "${PLIST[@]}"; do echo "- **$p**: $(pair_desc "$p")"; done
	[ -z "$SLUICE_NOTE" ] || echo "- **note: $SLUICE_NOTE**"
	echo "- $(iperf3 --version | head -n1 | cut -d' ' -f1-2): sender in A, receiver in B, ${SECS} s per test; $ROUNDS interleaved rounds (pair order rotates); cells are the median over rounds and (min–max); ratios are taken within each round first; run took ${ELAPSED} s"
	echo "- CPU per byte: utime+stime of both VPN processes (all threads) over the iperf3 run per byte delivered (UDP: 64 B per packet received), at ${MHZ} MHz; softirq work charged to other processes and iperf3 itself are not counted"
	echo
	echo "### The issue's table (medians; in brackets: share of bare veth, times stock, same round)"
	echo
	hdr test
	for t in $TESTS; do issue_row "$t"; done
	[[ " $TESTS " != *" tcp1 "* ]] || row "CPU cycles per delivered byte (TCP 1, both ends)" tcp1 cyb 1
	echo
	echo "### Delivered"
	echo
	hdr test
	for t in $TESTS; do row "$(label "$t")" "$t" "$(metric "$t")" 1; done
	if [[ " $TESTS " == *" udp64 "* ]]; then
		row "UDP 64 B, loss %" udp64 loss 1
		row "UDP 64 B, kpps dropped by the iperf3 server's full socket in B" udp64 sockq 1
		row "UDP 64 B, kpps reaching the iperf3 server's socket (delivered + those)" udp64 reach 1
		echo
		echo "On udp64 the sender and receiver share the CPUs with the tunnel: what a tunnel delivers to B but the CPU-starved iperf3 server cannot read in time overflows its socket (RcvbufErrors in B over the run, less the drops of the tunnel's own sockets)."
	fi
	echo
	echo "### Ratio to bare veth, same round"
	echo
	hdr test
	for t in $TESTS; do row "$(label "$t" | cut -d, -f1-2)" "$t" "$(metric "$t")" 1 veth pct; done
	echo
	if have stock; then
		echo "### Ratio to stock OpenVPN, same round"
		echo
		hdr test
		for t in $TESTS; do row "$(label "$t" | cut -d, -f1-2)" "$t" "$(metric "$t")" 2 stock x; done
		echo
	fi
	if have wireguard-go && [ -z "$WG_NA" ]; then
		echo "### Ratio to wireguard-go, same round (the same as the ratio of the shares of veth)"
		echo
		hdr test
		for t in $TESTS; do row "$(label "$t" | cut -d, -f1-2)" "$t" "$(metric "$t")" 2 wireguard-go x; done
		echo
	fi
	echo "### CPU cycles per delivered byte, both ends (and ns per KB)"
	echo
	hdr test
	for t in $TESTS; do row "$(label "$t" | cut -d, -f1-2), cycles/B" "$t" cyb 2; done
	for t in $TESTS; do row "$(label "$t" | cut -d, -f1-2), ns/KB" "$t" nskb 0; done
	for t in $TESTS; do row "$(label "$t" | cut -d, -f1-2), CPU cores" "$t" cores 2; done
	if have sluice && have veth; then
		echo
		echo "### Targets (issue 10), sluice pair, medians of same-round ratios"
		echo
		for t in tcp1 tcp4; do
			[[ " $TESTS " == *" $t "* ]] || continue
			target "$t: share of veth" "$(med sluice $t mbps veth)" ">=" 0.30
			! have stock || target "$t: times stock" "$(med sluice $t mbps stock)" ">=" 10
		done
		if [[ " $TESTS " == *" udp64 "* ]]; then
			target "udp64: share of veth (veth = the load generator's own limit)" "$(med sluice udp64 kpps veth)" ">=" 0.60
			echo "- udp64, for reference: packets reaching B's sockets, share of veth's: $(med sluice udp64 reach veth | awk '{ printf "%.3g", $1 }') (delivered + dropped by the iperf3 server's full socket)"
		fi
		[[ " $TESTS " != *" tcp1 "* ]] || target "tcp1: CPU cycles per byte, both ends" "$(med sluice tcp1 cyb)" "<=" 7
		if have wireguard-go && [ -z "$WG_NA" ]; then
			for t in $TESTS; do
				target "$t: times wireguard-go (ratio of the shares of veth)" \
					"$(med sluice $t "$(metric "$t")" wireguard-go)" ">=" 2
			done
		fi
		for p in sl-cli sl-srv; do
			have "$p" && have stock || continue
			for t in $TESTS; do target "$p $t: times stock-with-stock" "$(med $p $t "$(metric "$t")" stock)" ">=" 1; done
		done
	fi
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
	for p in "${PLIST[@]}"; do
		echo "tunnel test=$t pair=$p mbit_s=$(med "$p" "$t" mbps) kpps=$(med "$p" "$t" kpps) loss_pct=$(med "$p" "$t" loss) of_veth=$(med "$p" "$t" "$(metric "$t")" veth) of_stock=$(med "$p" "$t" "$(metric "$t")" stock) of_wireguard_go=$(med "$p" "$t" "$(metric "$t")" wireguard-go) cpu_ns_per_kb=$(med "$p" "$t" nskb) cycles_per_byte=$(med "$p" "$t" cyb) cpu_cores=$(med "$p" "$t" cores)"
	done
done

# The chart: per test, each pair's share of veth (same round), and CPU cycles per byte.
if ! command -v gnuplot >/dev/null; then
	echo "gnuplot not installed (make deps): no $OUT/tunnel.png"
	exit 0
fi
short() { case $1 in tcp1) echo "TCP 1 stream" ;; tcp4) echo "TCP 4 streams" ;; udp64) echo "UDP 64 B" ;; esac; }
: >share.dat; : >cpu.dat
for t in $TESTS; do
	line="\"$(short "$t")\"" cl="\"$(short "$t")\""
	for p in "${PLIST[@]}"; do
		[ "$p" != veth ] || continue
		v=$(med "$p" "$t" "$(metric "$t")" veth) c=$(med "$p" "$t" cyb)
		line+=" $(awk -v v="$v" 'BEGIN { printf "%.1f", v == "-" ? 0 : v * 100 }')"
		cl+=" $(awk -v v="$c" 'BEGIN { printf "%.2f", v == "-" ? 0 : v }')"
	done
	echo "$line" >>share.dat
	echo "$cl" >>cpu.dat
done
colors=("#7f7f7f" "#1f77b4" "#2ca02c" "#ff7f0e" "#9467bd" "#8c564b" "#e377c2")
plots() {	# plots FILE: one bar series per non-veth pair
	local k=2 c=0 p s="" t
	for p in "${PLIST[@]}"; do
		[ "$p" != veth ] || continue
		t=$p
		[ "$p" != wireguard-go ] || t="$p ${WG_VER:-(n/a)}"
		s+="${s:+, }\"$1\" using $k:xtic(1) title \"$t\" lc rgb \"${colors[$c]}\", \"\" using (\$0 + ($c - ($NP - 2) / 2.0) * 0.8 / ($NP - 1)):$k:(sprintf(\"%g\", \$$k)) with labels offset 0,0.6 font \",8\" notitle"
		k=$((k + 1)) c=$((c + 1))
	done
	echo "plot $s"
}
cat >chart.gp <<GP
set terminal png size 1500,560 font ",10"
set output "$OUT/tunnel.png"
set multiplot layout 1,2 title "iperf3 through the tunnel, same-run ratios: median of $ROUNDS round(s) x ${SECS} s, $(nproc) cores, kernel $(uname -r), load $LOAD0"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set title "Delivered, % of bare veth (higher is better)"
set ylabel "% of veth, same round"
$(plots share.dat)
set title "CPU of both VPN processes per delivered byte (lower is better)"
set ylabel "cycles per byte at ${MHZ} MHz"
$(plots cpu.dat)
unset multiplot
GP
if gnuplot chart.gp 2>gnuplot.err; then
	echo "chart: $OUT/tunnel.png; table: $OUT/tunnel.md"
else
	echo "gnuplot failed: $(head -n 3 gnuplot.err)"
fi
