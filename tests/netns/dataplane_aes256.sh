#!/bin/bash
# End to end: two sluice data planes with one fixed test key, each on a real
# TUN device in its own namespace.
#
#      ns A (slA-<pid>)                         ns B (slB-<pid>)
#   tun sl0 198.19.0.1/24                     tun sl0 198.19.0.2/24
#   sluice -- veth 198.18.0.1/30 ======== 198.18.0.2/30 veth -- sluice
#
# Checks: ping both ways; iperf3 TCP for 5 s; exact counters (everything A
# sent B received, zero authentication failures); a re-injected captured
# packet is dropped as a replay; a bit-flipped one as an auth failure;
# SIGTERM gives a clean exit 0. CIPHER (env) picks the cipher; EXTRA_CONF adds
# config lines to both ends (e.g. compression). The LZ4 and LZO counters prove
# what the framing did: with EXPECT_COMP=lz4 or lzo (that codec configured,
# allow-compression yes) both ends must have compressed and decompressed
# payloads with it (the 1000-byte 0xff pings and their replies); every other
# codec, and in every other run, stub framing included, none.
source "$(dirname "$0")/lib.sh"
CIPHER=${CIPHER:-AES-256-GCM}
A=slA-$$ B=slB-$$
netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.0.1/30 "$B" vb 198.18.0.2/30

make_static_key "$WORK/key"
testkey_conf a 198.18.0.1 198.18.0.2 198.19.0.1 0 "status $WORK/a.status 1" "${EXTRA_CONF:-}"
testkey_conf b 198.18.0.2 198.18.0.1 198.19.0.2 1 "status $WORK/b.status 1" "${EXTRA_CONF:-}"

spawn "$A" "$SLUICE" --config "$WORK/a.conf"
PA=$LAST_PID
spawn "$B" "$SLUICE" --config "$WORK/b.conf"
PB=$LAST_PID
wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.0.1 || fail "A's tun did not come up"
wait_for 10 ip -n "$B" addr show dev sl0 to 198.19.0.2 || fail "B's tun did not come up"
ip -n "$A" addr show dev sl0 | grep -q 'state UP\|UP' || fail "A's tun is not up"

cmd ip netns exec "$A" ping -c 5 -i 0.2 -W 2 198.19.0.2
cmd ip netns exec "$B" ping -c 5 -i 0.2 -W 2 198.19.0.1
cmd ip netns exec "$A" ping -c 3 -i 0.2 -W 2 -s 1400 198.19.0.2
cmd ip netns exec "$A" ping -c 3 -i 0.2 -W 2 -s 1000 -p ff 198.19.0.2

if [ -z "${SKIP_IPERF:-}" ]; then
spawn "$B" iperf3 -s -1 -B 198.19.0.2 -p 5201
IPERF_S=$LAST_PID
wait_for 10 ip netns exec "$B" sh -c "ss -ltn | grep -q 198.19.0.2:5201" || fail "iperf3 server"
cmd ip netns exec "$A" iperf3 -c 198.19.0.2 -p 5201 -t 5 -J >"$WORK/iperf.json"
wait "$IPERF_S" || true
python3 - "$WORK/iperf.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bps = r["end"]["sum_received"]["bits_per_second"]
print("[+] iperf3 TCP A->B: %.1f Mbit/s" % (bps / 1e6))
assert r["end"]["sum_received"]["bytes"] > 0, "iperf3 moved no data"
PY
fi

# Replay and forgery: capture a data packet A sends, then send it again.
spawn "$B" tcpdump -q -n -U -c 3 -i vb -w "$WORK/b.pcap" udp and src host 198.18.0.1
TCPDUMP=$LAST_PID
wait_for 10 test -s "$WORK/b.pcap" || fail "tcpdump did not start"
cmd ip netns exec "$A" ping -c 3 -i 0.2 -W 2 198.19.0.2
wait "$TCPDUMP" || fail "tcpdump did not capture 3 packets"
cmd ip netns exec "$A" python3 "$TOP/tests/netns/inject.py" "$WORK/b.pcap" 198.18.0.1 198.18.0.2
cmd ip netns exec "$A" python3 "$TOP/tests/netns/inject.py" "$WORK/b.pcap" 198.18.0.1 198.18.0.2 --flip
for bad in short opcode key_id empty; do
	cmd ip netns exec "$A" python3 "$TOP/tests/netns/inject.py" --bad $bad 198.18.0.1 198.18.0.2 1194
done
sleep 1
[ -n "${DEBUG_SNMP:-}" ] && ip netns exec "$B" nstat -az | grep -iE "udp|IpIn|Reasm|Discard" >&2

# Quiesce before stopping: with both TUNs down the kernels send nothing more, so
# no packet is in flight when the first daemon exits and the counts stay exact.
ip -n "$A" link set sl0 down
ip -n "$B" link set sl0 down
sleep 0.5
# Then wait (status files are rewritten every second) until each side has read
# every datagram the other sent, so the daemons stop with nothing in a socket.
settled() {
	[ "$(($(counter "$WORK/a.status" udp_tx.tx_pkts) + 6))" = \
	  "$(($(counter "$WORK/b.status" udp_rx.rx_pkts) + $(udp_rcvbuf_errors "$B") +
	      $(udp_noports "$B") + $(path_drops "$A" va "$B" vb)))" ] &&
	[ "$(counter "$WORK/b.status" udp_tx.tx_pkts)" = \
	  "$(($(counter "$WORK/a.status" udp_rx.rx_pkts) + $(udp_rcvbuf_errors "$A") +
	      $(udp_noports "$A") + $(path_drops "$B" vb "$A" va)))" ]
}
wait_for 5 settled || echo "[!] counters did not settle within 5 s; checking them as they are"
stop_pid "$PA" || fail "A did not exit 0 on SIGTERM"
stop_pid "$PB" || fail "B did not exit 0 on SIGTERM"
SA=$WORK/a.status SB=$WORK/b.status
[ -s "$SA" ] && [ -s "$SB" ] || fail "no status files"
echo "--- A"; grep -v '=0$' "$SA" | sed 's/^/    /'
echo "--- B"; grep -v '=0$' "$SB" | sed 's/^/    /'

check() {	# check DESCRIPTION LEFT RIGHT
	if [ "$2" != "$3" ]; then fail "$1: $2 != $3"; fi
	echo "[ok] $1: $2"
}
# Datagrams the kernels dropped (socket buffer full, no socket bound yet, veth
# backlog full) never reached a socket; with them every datagram is accounted for.
errs_b=$(($(udp_rcvbuf_errors "$B") + $(udp_noports "$B") + $(path_drops "$A" va "$B" vb)))
errs_a=$(($(udp_rcvbuf_errors "$A") + $(udp_noports "$A") + $(path_drops "$B" vb "$A" va)))
echo "[+] kernel drops on the way to A: $errs_a, to B: $errs_b"
# Every datagram A sent reached B's socket (plus our six injections), and back.
check "A sent = B received (+6 injected)" \
	$(($(counter $SA udp_tx.tx_pkts) + 6)) $(($(counter $SB udp_rx.rx_pkts) + errs_b))
check "B short packets (the 3-byte and the empty one)" $(counter $SB udp_rx.drop.short) 2
check "B unknown opcodes" $(counter $SB udp_rx.drop.bad_opcode) 1
check "B unknown key_id" $(counter $SB udp_rx.drop.no_key) 1
check "B sent = A received" $(counter $SB udp_tx.tx_pkts) $(($(counter $SA udp_rx.rx_pkts) + errs_a))
check "B auth failures (the flipped packet)" $(counter $SB decrypt.drop.auth) 1
check "B replays (the re-injected packet)" $(counter $SB tun_tx.drop.replay) 1
check "A auth failures" $(counter $SA decrypt.drop.auth) 0
check "A replays" $(counter $SA tun_tx.drop.replay) 0
# Conservation at each end: every datagram received was written to the TUN or
# dropped with a counted reason; every packet read from the TUN was sent or
# dropped with a counted reason. (tun_tx counts the verdicts decrypt set.)
for s in $SA $SB; do
	n=$(basename "$s" .status)
	check "$n: udp_rx in = tun written + counted drops" $(counter $s udp_rx.rx_pkts) \
		$(($(counter $s tun_tx.tx_pkts) + $(sumdrops $s udp_rx) + $(sumdrops $s tun_tx) + \
		   $(counter $s ctrl.ctrl_pkts)))
	check "$n: tun_rx in = udp sent + counted drops" $(counter $s tun_rx.rx_pkts) \
		$(($(counter $s udp_tx.tx_pkts) + $(sumdrops $s tun_rx) + $(sumdrops $s udp_tx)))
	check "$n: leaked buffers" \
		$(($(counter $s pool.tun.leaked) + $(counter $s pool.udp.leaked) + $(counter $s pool.ctrl.leaked))) 0
	for alg in lz4 lzo; do
		comp=$(counter $s tun_rx.${alg}_compressed) decomp=$(counter $s tun_tx.${alg}_decompressed)
		if [ "${EXPECT_COMP:-}" = $alg ]; then
			[ "$comp" -gt 0 ] || fail "$n: $alg configured but no payload sent compressed"
			[ "$decomp" -gt 0 ] || fail "$n: $alg configured but no payload decompressed"
			echo "[ok] $n: $alg used: $comp payloads compressed, $decomp decompressed"
		else
			check "$n: payloads $alg-compressed" "$comp" 0
			check "$n: payloads $alg-decompressed" "$decomp" 0
		fi
	done
done
echo "dataplane ($CIPHER): ok"
