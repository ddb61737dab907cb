#!/bin/bash
# server_impair_data.sh - the data channel through loss, reordering,
# duplication and bit flips, with a NAT rebinding in the middle of a transfer.
#
#   ns c1 (sluice client) == ns c1-p (tests/tools/impair.py) == ns s (server)
#
# The proxy drops 5% each way, holds back 5% behind 1..8 later datagrams,
# duplicates 2%, flips a bit in 1%, and adds 2 +- 1 ms. Through the tunnel, at
# the same time: a canary stream each way (tests/tools/canary.py, 400/s for
# 12 s) and a 48 MiB TCP stream each way (canary.py tcp-send / tcp-sink, which
# checks every byte). Half a second into the streams, and then every 1.5 s
# while they and the canaries run (at most 8 times), the proxy rebinds: a new
# source port towards the server, as a NAT that forgot the mapping. Checks:
#   - the canaries saw no duplicated and no corrupt datagram (the replay
#     window and the AEAD tag must stop every copy and every flipped bit)
#     and lost at most 20%;
#   - both TCP streams completed, intact;
#   - the session went on: the client did not reconnect, the server's status
#     shows the client at the proxy's last port, and (sluice) floats equals
#     the number of rebinds and no second session was made;
#   - sluice server: the duplicates and flips were dropped as replays and
#     authentication failures (both counters rose), no buffer leaked.
#
#   env: IMPAIR_SEED (1)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3 missing).
. "$(dirname "$0")/server.lib"
. "$(dirname "$0")/hard.lib"
SEED=${IMPAIR_SEED:-1}
TCP_BYTES=$((48 << 20))

cd "$WORK"
srv_pki 1
srv_net
hard_proxy_net c1
openvpn --genkey tls-crypt tc.key >/dev/null
srv_conf srv.conf
echo "tls-crypt $WORK/tc.key" >>srv.conf
srv_start srv.conf srv.log
cli_conf c1.conf client1
sed -i "s/^remote .*/remote $PROXY_IP 1194/" c1.conf
cat >>c1.conf <<EOF
tls-crypt $WORK/tc.key
status $WORK/c1.status 1
EOF
proxy_start 1194 --seed "$SEED" --duration 120 --loss 0.05 --reorder 0.05 --displace 8 \
	--dup 0.02 --flip 0.01 --delay 2 --jitter 1
cli_start_sluice c1 c1.conf c1.log
cli_up c1 45 || sfail "the client did not come up through the impairment within 45 s"
CADDR=$(cli_addr c1)
[ -n "$CADDR" ] || sfail "the client has no tunnel address"
ping_ok c1 $TUN_SRV 20 || sfail "no ping through the tunnel"
wait_for 5 st_has client1 || sfail "status never listed client1"
real0=$(st_field client1 3)
echo "client1 at $real0 (through the proxy), tunnel $CADDR"

canary_recv s "$TUN_SRV:9000" canary-up.out --seed 11 --duration 40 --idle 8
RX_UP=$CANARY_RX
canary_recv c1 "$CADDR:9001" canary-down.out --seed 12 --duration 40 --idle 8
RX_DOWN=$CANARY_RX
spawn "$NS_S" python3 "$TOOLS/canary.py" tcp-sink --bind "$TUN_SRV:5001" --seed 21 --timeout 45 \
	>tcp-up.out 2>&1
SINK_UP=$LAST_PID
spawn "$(ns_of c1)" python3 "$TOOLS/canary.py" tcp-sink --bind "$CADDR:5002" --seed 22 --timeout 45 \
	>tcp-down.out 2>&1
SINK_DOWN=$LAST_PID
sleep 1
ip netns exec "$(ns_of c1)" python3 "$TOOLS/canary.py" send --to "$TUN_SRV:9000" --seed 11 \
	--rate 400 --duration 12 >canary-up-send.out 2>&1 &
TX_UP=$!
ip netns exec "$NS_S" python3 "$TOOLS/canary.py" send --to "$CADDR:9001" --seed 12 \
	--rate 400 --duration 12 >canary-down-send.out 2>&1 &
TX_DOWN=$!
t0=$SECONDS
ip netns exec "$(ns_of c1)" python3 "$TOOLS/canary.py" tcp-send --to "$TUN_SRV:5001" --seed 21 \
	--bytes $TCP_BYTES --timeout 40 >tcp-up-send.out 2>&1 &
TCP_UP=$!
ip netns exec "$NS_S" python3 "$TOOLS/canary.py" tcp-send --to "$CADDR:5002" --seed 22 \
	--bytes $TCP_BYTES --timeout 40 >tcp-down-send.out 2>&1 &
TCP_DOWN=$!
(
	sleep 0.5
	for _ in 1 2 3 4 5 6 7 8; do
		kill -0 "$TX_UP" 2>/dev/null || kill -0 "$TCP_UP" 2>/dev/null ||
			kill -0 "$TCP_DOWN" 2>/dev/null || break
		kill -USR1 "$PROXY"
		sleep 1.5
	done
) &
REBIND=$!
wait "$TCP_UP" || true
wait "$TCP_DOWN" || true
wait "$SINK_UP" || true
wait "$SINK_DOWN" || true
wait "$REBIND" || true
wait "$TX_UP" || true
wait "$TX_DOWN" || true
wait "$RX_UP" || true
wait "$RX_DOWN" || true
echo "transfers and canaries took $((SECONDS - t0)) s"
echo "tcp up:   $(cat tcp-up.out)"
echo "tcp down: $(cat tcp-down.out)"
echo "canary up:   $(tr '\n' ' ' <canary-up.out | cut -c1-300)"
echo "canary down: $(tr '\n' ' ' <canary-down.out | cut -c1-300)"
rebinds=$(grep -c "rebind .*SIGUSR1" proxy.err || true)
first=$(grep -m1 "rebind .*SIGUSR1" proxy.err | cut -d' ' -f1)
echo "proxy: $rebinds rebinds, the first at $first"
[ "$rebinds" -ge 1 ] || sfail "the proxy never rebound"

for dir in up down; do
	f=tcp-$dir.out
	# The stream ran across the first rebinding (0.5 s after it started).
	awk -v e="$(kv elapsed_s $f)" 'BEGIN { exit !(e > 0.6) }' ||
		echo "note: the TCP stream $dir took only $(kv elapsed_s $f) s, ending near the first rebinding"
	[ "$(kv complete $f)" = 1 ] && [ "$(kv bytes $f)" -eq $TCP_BYTES ] && [ "$(kv intact $f)" = 1 ] ||
		sfail "the TCP stream $dir did not complete intact: $(cat $f) $(cat tcp-$dir-send.out)"
done
for dir in up down; do
	f=canary-$dir.out
	sent=$(kv sent $f) lost=$(kv lost $f) dup=$(kv dup $f) corrupt=$(kv corrupt $f)
	[ "$sent" -gt 0 ] || sfail "canary $dir: no END from the sender (sent=$sent)"
	[ "$dup" -eq 0 ] || sfail "canary $dir: $dup duplicated datagrams delivered"
	[ "$corrupt" -eq 0 ] || sfail "canary $dir: $corrupt corrupt datagrams delivered"
	[ "$lost" -le $((sent / 5)) ] || sfail "canary $dir: lost $lost of $sent"
done

# The session went on across the rebinding.
kill -0 "${CPID[c1]}" 2>/dev/null || sfail "the client exited"
[ "$(counter "$WORK/c1.status" reconnects)" -eq 0 ] || sfail "the client reconnected"
newport=$(grep -o "rebind .* upstream port [0-9]*" proxy.err | tail -n 1 | awk '{ print $NF }')
wait_for 5 eval '[ "$(st_field client1 3)" = "${real0%:*}:$newport" ]' ||
	sfail "status: client1 at $(st_field client1 3), expected the proxy's new port $newport"
echo "client1 moved from $real0 to $(st_field client1 3)"
if [ "$SERVER_IMPL" = sluice ]; then
	[ "$(st_global floats)" -eq "$rebinds" ] ||
		sfail "floats is $(st_global floats), expected one per rebind ($rebinds)"
	[ "$(st_global sessions_created)" -eq 1 ] ||
		sfail "sessions_created is $(st_global sessions_created): the client made a new session"
	dp_stats "$SRV" srv.log dp.txt
	replay=$(dp_get dp.txt tun_tx.drop.replay) auth=$(dp_get dp.txt decrypt.drop.auth)
	echo "server drops: replay=$replay auth=$auth"
	[ "$replay" -gt 0 ] || sfail "no duplicate was dropped as a replay"
	[ "$auth" -gt 0 ] || sfail "no flipped datagram failed authentication"
fi
proxy_stop
echo "proxy: $(tr '\n' ' ' <proxy.out)"
cli_stop c1 || sfail "the client did not exit cleanly"
echo "server_impair_data ($SERVER_IMPL): PASS"
exit 0
