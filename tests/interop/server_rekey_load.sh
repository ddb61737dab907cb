#!/bin/bash
# server_rekey_load.sh - renegotiation every 5 s under full-rate traffic, in
# both roles: zero canary loss at the key switches.
#
#   ns c1 (sluice client, or stock with CLIENT_IMPL=stock) == br0 in ns s (server)
#
# Session A: the server renegotiates every 5 s (reneg-sec 5); session B: the
# client does (the server's reneg-sec 0). In each, for 16 s: TCP at full rate
# up (iperf3, 8 s) with a canary stream down (1000/s), then TCP down with a
# canary up, so at least three key switches happen under load in each
# session. A canary travels against the bulk flow: in the bulk flow's own
# direction the sending kernel's tun queue overflows under full rate (its
# "TX dropped"), which is congestion, not the key switch; those losses are
# reported, not judged. Checks, per session:
#   - both canaries against the bulk flow: no datagram lost, duplicated or
#     corrupt (with a stock end, whose one thread is busy with the bulk flow,
#     losses are allowed only as far as the kernel counted them as overflows
#     of its socket buffer or of a tun queue);
#   - at least three renegotiations finished (the initiator's log);
#   - each sluice end: no data packet dropped for want of a key, a failed tag,
#     a replay or an unknown peer (udp_rx.drop.no_key/bad_peer,
#     decrypt.drop.auth, tun_tx.drop.replay), so no switch lost a packet
#     inside sluice either.
#
#   env: CLIENT_IMPL (sluice | stock), REKEY_SECS (8, per direction)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3/iperf3 missing).
. "$(dirname "$0")/server.lib"
. "$(dirname "$0")/hard.lib"
command -v iperf3 >/dev/null || { echo "server_rekey_load: SKIP (iperf3 missing)"; exit 77; }
CLIENT_IMPL=${CLIENT_IMPL:-sluice}
SECS=${REKEY_SECS:-8}

cd "$WORK"
srv_pki 1
srv_net c1
NS1=$(ns_of c1)
iperf_srv_started=
declare -A explained=()

# session NAME SRV_RENEG CLI_RENEG: one connected session, the two load phases, the checks.
session() {
	local name=$1 f dir lost dup corrupt n
	srv_conf "srv-$name.conf"
	echo "reneg-sec $2" >>"srv-$name.conf"
	srv_start "srv-$name.conf" "srv-$name.log"
	[ -n "$iperf_srv_started" ] || { iperf_srv; iperf_srv_started=1; }
	cli_conf "c1-$name.conf" client1
	echo "reneg-sec $3" >>"c1-$name.conf"
	if [ "$CLIENT_IMPL" = sluice ]; then
		echo "status $WORK/c1-$name.status 1" >>"c1-$name.conf"
		cli_start_sluice c1 "c1-$name.conf" "c1-$name.log"
	else
		cli_start c1 "c1-$name.conf" "c1-$name.log"
	fi
	cli_up c1 || sfail "session $name: the client did not come up"
	CADDR=$(cli_addr c1)
	ping_ok c1 $TUN_SRV || sfail "session $name: no ping through the tunnel"
	for dir in up down; do
		rb_s0=$(udp_rcvbuf_errors "$NS_S") rb_c0=$(udp_rcvbuf_errors "$NS1")
		td_s0=$(tun_txdrop "$NS_S") td_c0=$(tun_txdrop "$NS1")
		# The canary goes against the bulk flow.
		if [ $dir = up ]; then
			canary_recv c1 "$CADDR:9001" "$name-canary-down.out" --seed 31 --duration 40 --idle 5
		else
			canary_recv s "$TUN_SRV:9000" "$name-canary-up.out" --seed 32 --duration 40 --idle 5
		fi
		rx=$CANARY_RX
		sleep 0.3
		ip netns exec "$NS1" iperf3 -c $TUN_SRV -p 5201 -t "$SECS" $([ $dir = down ] && echo -R) \
			-J >"$name-iperf-$dir.json" 2>&1 &
		ip=$!
		if [ $dir = up ]; then
			ip netns exec "$NS_S" python3 "$TOOLS/canary.py" send --to "$CADDR:9001" --seed 31 \
				--rate 1000 --duration "$SECS" >"$name-canary-down-send.out" 2>&1
		else
			canary_send c1 "$TUN_SRV:9000" "$name-canary-up-send.out" --seed 32 --rate 1000 \
				--duration "$SECS"
		fi
		wait "$ip" || true
		wait "$rx" || true
		# Where a stock peer's losses went: its UDP receive buffer, or a tun queue.
		if [ $dir = up ]; then
			explained[$name-canary-down.out]=$(( $(udp_rcvbuf_errors "$NS1") - rb_c0 +
				$(tun_txdrop "$NS_S") - td_s0 ))
		else
			explained[$name-canary-up.out]=$(( $(udp_rcvbuf_errors "$NS_S") - rb_s0 +
				$(tun_txdrop "$NS1") - td_c0 ))
		fi
		mbps=$(python3 -c 'import json, sys
try:
    print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print(0)' "$name-iperf-$dir.json")
		echo "session $name: TCP $dir at $mbps Mbit/s; canary against it:" \
			"$(head -n 2 "$name-canary-$([ $dir = up ] && echo down || echo up).out" | tr '\n' ' ')"
		[ "$mbps" -gt 0 ] || sfail "session $name: iperf3 $dir moved no data"
	done
	for f in "$name-canary-down.out" "$name-canary-up.out"; do
		lost=$(kv lost "$f") dup=$(kv dup "$f") corrupt=$(kv corrupt "$f")
		[ "$(kv sent "$f")" -gt 0 ] || sfail "session $name: $f: no END from the sender"
		[ "$dup" -eq 0 ] && [ "$corrupt" -eq 0 ] ||
			sfail "session $name: $f: dup $dup, corrupt $corrupt"
		[ "$lost" -eq 0 ] && continue
		# Both ends sluice: every loss counts. A stock end (one thread, busy with the
		# bulk flow) overflows its socket buffer: those losses are counted by the kernel.
		if [ "$SERVER_IMPL" = sluice ] && [ "$CLIENT_IMPL" = sluice ] ||
		   [ "$lost" -gt "${explained[$f]}" ]; then
			sfail "session $name: $f: lost $lost (kernel-counted overflows $((explained[$f])))," \
				"loss_at $(kv loss_at "$f")"
		fi
		echo "session $name: $f: $lost lost at the stock end's full socket buffer or tun queue" \
			"(kernel counted ${explained[$f]})"
	done
	# Renegotiations that finished: the initiator logs each soft reset it starts.
	if [ "$2" != 0 ]; then
		n=$(grep -c "soft reset sec=" "srv-$name.log" || true)
	elif [ "$CLIENT_IMPL" = sluice ]; then
		n=$(counter "$WORK/c1-$name.status" ctrl.renegotiations)
	else
		n=$(grep -c "TLS: soft reset" "c1-$name.log" || true)
	fi
	echo "session $name: $n renegotiations"
	[ "$n" -ge 3 ] || sfail "session $name: $n renegotiations in $((2 * SECS)) s, expected >= 3"
	if [ "$SERVER_IMPL" = sluice ]; then
		dp_stats "$SRV" "srv-$name.log" "$name-srv-dp.txt"
		keydrops "server" "$name-srv-dp.txt"
	fi
	if [ "$CLIENT_IMPL" = sluice ]; then
		keydrops "client" "$WORK/c1-$name.status"
	fi
	echo "session $name: tun TX dropped (congestion in the bulk flow's direction):" \
		"client $(tun_txdrop "$NS1") server $(tun_txdrop "$NS_S")"
	cli_stop c1 || sfail "session $name: the client did not exit cleanly"
	srv_stop
}

# keydrops WHO FILE: the drop counters a key switch could raise must all be 0.
keydrops() {
	local c v bad=
	for c in udp_rx.drop.no_key udp_rx.drop.bad_peer decrypt.drop.auth tun_tx.drop.replay; do
		v=$(dp_get "$2" $c)
		[ "$v" -eq 0 ] || bad="$bad $c=$v"
	done
	[ -z "$bad" ] || sfail "$1 dropped data packets at key switches:$bad"
}

tun_txdrop() {
	ip -n "$1" -s link show 2>/dev/null | awk '/^[0-9]+: tun/ { t = 1 } t && /TX:/ { getline; print $4; exit }'
}

session A 5 0
session B 0 5
echo "server_rekey_load ($SERVER_IMPL server, $CLIENT_IMPL client): PASS"
exit 0
