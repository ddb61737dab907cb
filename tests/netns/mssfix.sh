#!/bin/bash
# mssfix: TCP MSS clamping through the fixed-key test pair (AES-256-GCM,
# test-peer-id 5, i.e. P_DATA_V2), each end in its own namespace.
#
#      ns A (slmsA-<pid>)                         ns B (slmsB-<pid>)
#   tun sl0 198.19.0.1/24, 2001:2:0:96::1     tun sl0 198.19.0.2/24, 2001:2:0:96::2
#   sluice -- veth 198.18.0.1/30 ======== 198.18.0.2/30 veth -- sluice
#               (2001:2:0:95::1/64)         (2001:2:0:95::2/64: IPv6 underlay case)
#
# For each configuration: one TCP connection over inner IPv4 and one over
# inner IPv6 from A to B. tcpdump on B's TUN reads the SYN as B's sluice wrote
# it (A's tun_rx and B's tun_tx clamped it), on A's TUN the SYN-ACK; both must
# carry the expected MSS and a correct TCP checksum. The kernels announce
# 1460/1440 (TUN MTU 1500), so "mssfix 0" must leave those.
#
# Expected values: what a stock OpenVPN 2.6.14 pair (client + server with
# AES-256-GCM and peer-id, --disable-dco, IPv4 underlay unless noted) put into
# the same SYNs, read the same way with tcpdump on the receiving TUN (it also
# logs them: "Data Channel MTU parms [ mss_fix:N ... ]", N for IPv4, N - 20
# for IPv6). tests/unit/mss_test.c checks runcfg_mss() against the same table.
#
#   config              IPv4  IPv6
#   (default 1492 mtu)  1400  1380    1492 - 20 IP - 8 UDP - 24 AEAD V2 - 40
#   mssfix 1400         1336  1316    1400 - 24 - 40 (no "mtu": UDP payload)
#   mssfix 1400 mtu     1308  1288
#   comp-lzo no         1399  1379    one framing byte
#   default, udp6       1380  1360    40-byte outer IPv6 header
#   mssfix 0            1460  1440    off: the kernels' values pass
source "$(dirname "$0")/lib.sh"
for c in tcpdump python3; do
	command -v $c >/dev/null || { echo "mssfix: SKIP ($c missing)"; exit 77; }
done
A=slmsA-$$ B=slmsB-$$
netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.0.1/30 "$B" vb 198.18.0.2/30
ip -n "$A" addr add 2001:2:0:95::1/64 dev va nodad
ip -n "$B" addr add 2001:2:0:95::2/64 dev vb nodad
make_static_key "$WORK/key"

# The listener: accepts one IPv4 and one IPv6 connection on port 5999 (10 s at most).
LISTEN='
import select, socket, sys, time
s4 = socket.socket(); s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s4.bind(("198.19.0.2", 5999)); s4.listen(4)
s6 = socket.socket(socket.AF_INET6); s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s6.bind(("2001:2:0:96::2", 5999)); s6.listen(4)
open(sys.argv[1], "w").close()
left, end = 2, time.time() + 10
while left and time.time() < end:
    for s in select.select([s4, s6], [], [], 0.5)[0]:
        s.accept()[0].close(); left -= 1
'
CONNECT='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam); s.settimeout(5); s.connect((sys.argv[1], 5999)); s.close()
'
FILTER='(ip and tcp[tcpflags] & tcp-syn != 0) or (ip6 and ip6[6] == 6 and ip6[53] & 2 != 0)'

# check FILE SRC DST FLAGS WANT: the SYN(-ACK) SRC > DST in FILE announces mss WANT.
check() {
	local line
	line=$(grep -E "$2\.[0-9]+ > $3\.[0-9]+: Flags \[$4\]" "$1" | head -n 1)
	[ -n "$line" ] || { sed 's/^/    /' "$1"; fail "$CASE: no $4 $2 > $3 captured"; }
	echo "$line" | grep -q "(correct)" || fail "$CASE: bad TCP checksum: $line"
	local got
	got=$(echo "$line" | grep -o 'mss [0-9]*' | cut -d' ' -f2)
	[ "$got" = "$5" ] || fail "$CASE: $2 > $3 [$4] mss ${got:-none}, want $5"
	echo "[ok] $CASE: $4 $2 > $3 mss $got"
}

# run_case NAME UNDERLAY(4|6) WANT4 WANT6 [EXTRA CONFIG]
run_case() {
	local la=198.18.0.1 lb=198.18.0.2 pa pb ta tb ls
	CASE=$1
	[ "$2" = 6 ] && la=2001:2:0:95::1 lb=2001:2:0:95::2
	testkey_conf a "$la" "$lb" 198.19.0.1 0 "${5:-}"
	testkey_conf b "$lb" "$la" 198.19.0.2 1 "${5:-}"
	spawn "$A" "$SLUICE" --config "$WORK/a.conf"
	pa=$LAST_PID
	spawn "$B" "$SLUICE" --config "$WORK/b.conf"
	pb=$LAST_PID
	wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.0.1 || fail "$CASE: A's tun"
	wait_for 10 ip -n "$B" addr show dev sl0 to 198.19.0.2 || fail "$CASE: B's tun"
	ip -n "$A" addr add 2001:2:0:96::1/64 dev sl0 nodad
	ip -n "$B" addr add 2001:2:0:96::2/64 dev sl0 nodad
	rm -f "$WORK"/td.* "$WORK/listening"
	spawn "$A" tcpdump -l -n -v -i sl0 "$FILTER" >"$WORK/td.a" 2>"$WORK/td.a.err"
	ta=$LAST_PID
	spawn "$B" tcpdump -l -n -v -i sl0 "$FILTER" >"$WORK/td.b" 2>"$WORK/td.b.err"
	tb=$LAST_PID
	spawn "$B" python3 -c "$LISTEN" "$WORK/listening"
	ls=$LAST_PID
	wait_for 5 grep -q "listening on" "$WORK/td.a.err" || fail "$CASE: tcpdump A"
	wait_for 5 grep -q "listening on" "$WORK/td.b.err" || fail "$CASE: tcpdump B"
	wait_for 5 test -e "$WORK/listening" || fail "$CASE: listener"
	timeout 10 ip netns exec "$A" python3 -c "$CONNECT" 198.19.0.2 ||
		fail "$CASE: TCP over inner IPv4"
	timeout 10 ip netns exec "$A" python3 -c "$CONNECT" 2001:2:0:96::2 ||
		fail "$CASE: TCP over inner IPv6"
	wait "$ls" || true
	sleep 0.3
	stop_pid "$ta" || true
	stop_pid "$tb" || true
	check "$WORK/td.b" 198.19.0.1 198.19.0.2 S "$3"
	check "$WORK/td.a" 198.19.0.2 198.19.0.1 S. "$3"
	check "$WORK/td.b" 2001:2:0:96::1 2001:2:0:96::2 S "$4"
	check "$WORK/td.a" 2001:2:0:96::2 2001:2:0:96::1 S. "$4"
	stop_pid "$pa" || fail "$CASE: A did not exit 0 on SIGTERM"
	stop_pid "$pb" || fail "$CASE: B did not exit 0 on SIGTERM"
}

run_case default 4 1400 1380
run_case "mssfix 1400" 4 1336 1316 "mssfix 1400"
run_case "mssfix 1400 mtu" 4 1308 1288 "mssfix 1400 mtu"
run_case "comp-lzo no" 4 1399 1379 "comp-lzo no"
run_case "default, IPv6 underlay" 6 1380 1360
run_case "mssfix 0" 4 1460 1440 "mssfix 0"
echo "mssfix: ok"
