#!/bin/bash
# clients_bench.sh - control-plane load on an OpenVPN 2.6 server, stock openvpn and sluice
# with the same server config in the same invocation:
#   1. server RSS per connected client: VmRSS of the server PID on a fresh server, then
#      with $CLIENTS clients connected and idle (bench/loadgen --hold); (after - before) / N
#   2. full handshakes per second (reset, TLS, key-method 2, PUSH_REQUEST -> PUSH_REPLY,
#      then EXIT): $HS_N sessions, $HS_C in flight, with latency and server CPU per handshake
# Prints a Markdown table, also written to bench/out/clients.md. Figures, not pass/fail,
# except one: sluice's RSS per idle client against issue 14's target, 64 KiB
# (RSS_TARGET_KB) at CLIENTS=1000 (the figure is only judged from 1000 clients up).
#
#     ns slld-<pid>-s  198.18.91.1/30 ==veth== 198.18.91.2/30  ns slld-<pid>-l
#     server, tun pool 198.19.0.0/16                            bench/loadgen (all clients)
#
# Env: CLIENTS (100) held clients, HS_N (1000) handshakes per round, HS_C (20) in flight,
#      ROUNDS (3, the median round is reported), LOADGEN ($BUILD/bench/loadgen),
#      SLUICE (./sluice), BUILD (build). KEEP_WORK=1 keeps the logs and configs.
# Both servers, the load generator and the shell share this machine's cores: the load
# generator does the same public-key work per handshake as the server, so handshakes/s
# is a lower bound for the server alone; "server CPU ms per handshake" is the cleaner figure.
# Bounded: about 1 min when both servers run; the loadgen caps (-t) keep a hanging server
# under ~3 min at the default sizes.
cd "$(dirname "$0")/.."
source tests/netns/lib.sh
command -v openvpn >/dev/null || { echo "clients_bench: SKIP (openvpn missing)"; exit 77; }
CLIENTS=${CLIENTS:-100} HS_N=${HS_N:-1000} HS_C=${HS_C:-20} ROUNDS=${ROUNDS:-3}
LOADGEN=${LOADGEN:-${BUILD:-build}/bench/loadgen}
case $LOADGEN in /*) ;; *) LOADGEN="$TOP/$LOADGEN" ;; esac
[ -x "$LOADGEN" ] || fail "no load generator at $LOADGEN (make bench-bins)"
OUT_DIR=$TOP/bench/out
NS_S=slld-$$-s NS_L=slld-$$-l
SRV_IP=198.18.91.1
HOLD_SECS=30 HS_SECS=20 HS_TIMEOUT=10	# loadgen -t caps and per-handshake timeout
CLK_TCK=$(getconf CLK_TCK)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

netns_add "$NS_S"
netns_add "$NS_L"
veth_pair "$NS_S" slld-s0 $SRV_IP/30 "$NS_L" slld-l0 198.18.91.2/30
cd "$WORK"

# Throwaway P-256 PKI; every load client presents the same certificate (duplicate-cn).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-out ca.crt -days 2 -subj /CN=slld-ca -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
for n in server client; do
	eku=$([ $n = server ] && echo serverAuth || echo clientAuth)
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
		-out $n.csr -subj /CN=slld-$n 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
		$eku >$n.ext
	openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile $n.ext -out $n.crt 2>/dev/null
done
chmod 600 ./*.key

# server_conf PORT: the one server config both implementations run. keepalive 10 120 means
# ping-restart 240 s on the server, longer than any phase, so idle held clients stay.
# connect-freq-initial: stock 2.6 answers at most 100 first packets per 10 s by default (an
# anti-amplification limit), which would cap the rate measured here at 10/s.
server_conf() {
	cat <<EOF
dev tun
proto udp
local $SRV_IP
port $1
topology subnet
server 198.19.0.0 255.255.0.0
max-clients 2000
duplicate-cn
keepalive 10 120
ca $WORK/ca.crt
cert $WORK/server.crt
key $WORK/server.key
dh none
verb 1
ignore-unknown-option disable-dco connect-freq-initial
disable-dco
connect-freq-initial 100000 10
EOF
}

client_conf() {
	cat <<EOF
client
dev tun
proto udp
remote $SRV_IP $1
nobind
ca $WORK/ca.crt
cert $WORK/client.crt
key $WORK/client.key
remote-cert-tls server
verb 0
EOF
}

# forget PID: a process we stopped ourselves leaves the cleanup list.
forget() {
	local p keep=()
	for p in "${PIDS_STARTED[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS_STARTED=("${keep[@]}")
}

udp_bound() {	# udp_bound PORT: the server's socket is there
	ip netns exec "$NS_S" ss -Hlun "sport = :$1" | grep -q .
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
kv() { grep -o "\b$1=[^ ]*" "$2" | head -n 1 | cut -d= -f2; }	# kv KEY FILE

# start_server NAME PORT: starts it, waits until it is up; $SRV = pid, $CCONF = the client
# config for it. Returns 1 if it did not come up. Each start takes a new port: a stopped
# sluice's io_uring may hold its socket for a moment.
start_server() {
	local name=$1 port=$2 log=$1-$2-server.log
	server_conf "$port" >"$name-$port-server.conf"
	client_conf "$port" >"$name-$port-client.conf"
	CCONF=$name-$port-client.conf
	if [ "$name" = stock ]; then
		spawn "$NS_S" openvpn --config "$name-$port-server.conf" --log "$log"
		SRV=$LAST_PID
		wait_for 15 grep -q "Initialization Sequence Completed" "$log" && return 0
	else
		spawn "$NS_S" "$SLUICE" --config "$name-$port-server.conf" >"$log" 2>&1
		SRV=$LAST_PID
		# No fixed start-up line to wait for: alive with the UDP port bound is "up".
		wait_for 5 udp_bound "$port" && sleep 0.5 && kill -0 "$SRV" 2>/dev/null &&
			return 0
	fi
	stop_pid "$SRV" >/dev/null 2>&1 || true
	forget "$SRV"
	return 1
}

ready_or_gone() { grep -q '^ready' "$2" || ! kill -0 "$1" 2>/dev/null; }

# hold_test NAME: RSS of a fresh server, then with $CLIENTS idle clients.
hold_test() {
	local name=$1 lg rss0 rss1 held
	sleep 1
	rss0=$(rss_kb "$SRV")
	spawn "$NS_L" "$LOADGEN" --config "$CCONF" -n "$CLIENTS" -c "$HS_C" --hold \
		-t $HOLD_SECS --hs-timeout $HS_TIMEOUT >"$name-hold.out" 2>"$name-hold.err"
	lg=$LAST_PID
	wait_for $((HOLD_SECS + 5)) ready_or_gone "$lg" "$name-hold.out" || true
	sleep 2	# let the server finish the last pushes and settle its heap
	rss1=$(rss_kb "$SRV")
	stop_pid "$lg" >/dev/null 2>&1 || true
	forget "$lg"
	held=$(kv held "$name-hold.out")
	R[$name.rss0]=$rss0 R[$name.rss1]=$rss1 R[$name.held]=${held:-0}
	echo "$name hold: $(tr '\n' ' ' <"$name-hold.out")" >&2
}

# hs_test NAME ROUND: $HS_N full handshakes, $HS_C at a time; server CPU in the .out file.
hs_test() {
	local out=$1-hs-$2.out c0 c1
	c0=$(cpu_ticks "$SRV")
	ip netns exec "$NS_L" "$LOADGEN" --config "$CCONF" -n "$HS_N" -c "$HS_C" \
		-t $HS_SECS --hs-timeout $HS_TIMEOUT >"$out" 2>"$1-hs-$2.err" || true
	c1=$(cpu_ticks "$SRV")
	echo "server_cpu_ms=$(( (c1 - c0) * 1000 / CLK_TCK ))" >>"$out"
	echo "$1 handshakes round $2: $(tr '\n' ' ' <"$out")" >&2
}

stop_server() {
	stop_pid "$SRV" >/dev/null 2>&1 || true
	forget "$SRV"
}

# Every phase on a fresh server: the RSS baseline is a server that never saw a client, and
# no round meets the instances a previous one left behind (OpenVPN keeps a client's
# instance for some seconds after its EXIT and refuses a new session from that address).
declare -A R
STATUS_stock="" STATUS_sluice=""
for name in stock sluice; do
	port=$([ $name = stock ] && echo 1194 || echo 1294)
	if ! start_server $name $port; then
		if [ $name = sluice ]; then
			STATUS_sluice="sluice: server mode not available"
			echo "sluice server did not come up: $(head -c 300 sluice-$port-server.log)" >&2
		else
			STATUS_stock="stock server did not start"
			sed 's/^/stock: /' stock-$port-server.log >&2 || true
		fi
		continue
	fi
	hold_test $name
	stop_server
	if [ "${R[$name.held]}" = 0 ]; then
		printf -v "STATUS_$name" '%s' "$name: server up, but no client got connected"
		continue
	fi
	for r in $(seq 1 "$ROUNDS"); do
		start_server $name $((port + r)) || { echo "$name: restart failed" >&2; break; }
		hs_test $name "$r"
		stop_server
	done
	# The round with the median handshake rate stands for all.
	med=$(for f in $name-hs-*.out; do echo "$(kv hs_per_s "$f") $f"; done | sort -n |
		awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }')
	[ -n "$med" ] && cp "$med" "$name-hs.out"
	R[$name.rates]=$(for f in $name-hs-*.out; do kv hs_per_s "$f"; done | tr '\n' ' ')
done

# cell NAME WHAT: one table cell. A server that did not run shows why in the first row.
cell() {
	local name=$1 st hs=$1-hs.out ok
	st=STATUS_$name
	if [ -n "${!st}" ]; then
		[ "$2" = hs ] && echo "${!st}" || echo "-"
		return
	fi
	ok=$(kv ok $hs 2>/dev/null)
	ok=${ok:-0}
	case $2 in
	hs) if [ "$ok" -gt 0 ]; then kv hs_per_s $hs; else echo "failed (0 ok)"; fi ;;
	rounds) echo "${R[$name.rates]:--}" ;;
	lat) [ "$ok" -gt 0 ] && echo "$(kv p50_ms $hs) / $(kv p99_ms $hs)" || echo "-" ;;
	fail) [ -f $hs ] && echo "$(kv failed $hs) failed, $(kv unfinished $hs) unfinished" ||
		echo "-" ;;
	exit) [ "$ok" -gt 0 ] && echo "$((ok - $(kv exit_unacked $hs))) of $ok" || echo "-" ;;
	srvcpu) awk -v c="$(kv server_cpu_ms $hs 2>/dev/null)" -v n="$ok" \
		'BEGIN { if (n > 0) printf "%.2f", c / n; else print "-" }' ;;
	lgcpu) awk -v c="$(kv cpu_s $hs 2>/dev/null)" -v n="$ok" \
		'BEGIN { if (n > 0) printf "%.2f", c * 1000 / n; else print "-" }' ;;
	held) echo "${R[$name.held]} of $CLIENTS" ;;
	rss0) awk -v k="${R[$name.rss0]}" 'BEGIN { printf "%.1f", k / 1024 }' ;;
	rss1) awk -v k="${R[$name.rss1]}" 'BEGIN { printf "%.1f", k / 1024 }' ;;
	per) awk -v a="${R[$name.rss0]}" -v b="${R[$name.rss1]}" -v n="${R[$name.held]}" \
		'BEGIN { if (n > 0) printf "%.1f", (b - a) / n; else print "-" }' ;;
	esac
}

row() { echo "| $1 | $(cell stock "$2") | $(cell sluice "$2") |"; }
mkdir -p "$OUT_DIR"	# gitignored
{
	echo "| control plane, UDP, P-256 certs, TLS 1.3 | stock OpenVPN $(openvpn --version |
		awk 'NR == 1 { print $2 }') | sluice |"
	echo "|---|---:|---:|"
	row "handshakes/s ($HS_N sessions, $HS_C in flight; median round)" hs
	row "handshakes/s of each round" rounds
	row "handshake latency p50 / p99 (ms)" lat
	row "handshakes failed / unfinished (of $HS_N)" fail
	row "EXITs acked by the server" exit
	row "server CPU per handshake (ms)" srvcpu
	row "load generator CPU per handshake (ms)" lgcpu
	row "clients held for the RSS figure" held
	row "server RSS, no clients (MiB)" rss0
	row "server RSS, $CLIENTS clients idle (MiB)" rss1
	row "server RSS per client (KiB)" per
	echo
	if grep -qs "unsupported option 'connect-freq-initial'" sluice-*-server.log; then
		echo "sluice ignored connect-freq-initial: its own new-session reply budget" \
			"(ctrl/server/firstpkt.h, 100/s, burst 200) applies."
	fi
	echo "load average at start: $LOADAVG (other work on the machine skews handshakes/s;" \
		"CPU per handshake is the steadier figure)"
	echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
		"$(nproc) cores, kernel $(uname -r); server and load generator share the cores"
} | tee "$OUT_DIR/clients.md"

# The target: RSS per idle client at >= 1000 clients.
RSS_TARGET_KB=${RSS_TARGET_KB:-64}
per=$(cell sluice per)
if [ "$CLIENTS" -ge 1000 ] && [ -z "$STATUS_sluice" ] && [ "$per" != - ]; then
	if awk -v p="$per" -v t="$RSS_TARGET_KB" 'BEGIN { exit !(p <= t) }'; then
		echo "sluice RSS per idle client: $per KiB with $CLIENTS clients (target <= $RSS_TARGET_KB KiB): ok" |
			tee -a "$OUT_DIR/clients.md"
	else
		echo "sluice RSS per idle client: $per KiB with $CLIENTS clients: over the $RSS_TARGET_KB KiB target" |
			tee -a "$OUT_DIR/clients.md"
		exit 1
	fi
fi
