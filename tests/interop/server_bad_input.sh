#!/bin/bash
# server_bad_input.sh - a flood of forged first packets must neither create
# sessions nor disturb a connected client.
#
# Server with tls-crypt; client1 (right key) is connected. From a third
# namespace ("attacker", 198.18.60.12) server_flood.py sends 2000 datagrams
# from 16 source ports, half of them HARD_RESET_CLIENT_V2 wrapped with a
# wrong tls-crypt key, half forged third packets (P_ACK_V1 / P_CONTROL_V1
# acking message id 0) wrapped with the right key but naming a random
# server session id (a forged cookie). A valid reset probe first proves the
# script's wrapping is right (the server answers it).
# Checks: client1 pings the server throughout (no more than 20% loss during
# the flood, 0% after it), stays listed with the same real address and does
# not reconnect; the attacker gets no datagram back (stock 2.6.14 drops the
# forged third packets silently, logs one "tls-crypt unwrapping failed" per
# wrong-key reset); the status file lists no client but client1.
# With SERVER_IMPL=sluice also: GLOBAL_STATS sessions_created stays 1,
# firstpkt_bad_wrap and firstpkt_bad_cookie rose, firstpkt_reply did not
# (the probe's reply is counted before the flood).
#
# Then from every address of a /21 (2046 sources, ns "swarm", one socket with
# IP_PKTINFO; tests/interop/server_flood.py's generator form), seeded:
#   keyless   $FLOOD_N HARD_RESET_CLIENT_V2 without tls-crypt wrapping: zero
#             replies, zero sessions (sluice: the first-packet drop counters
#             rise by exactly what was sent: too short for tls-crypt);
#   keyed     $FLOOD_N resets wrapped with the right key (an attacker who has
#             it): answered within the reply budget, connect-freq-initial 100 10
#             (at most 100 + 10/s over the flood and the listening time after
#             it; at least one answer), still zero sessions;
#   junk      $FLOOD_N P_DATA_V2 with client1's peer-id and random bodies;
#   replayed  every data packet client1 sent while a tcpdump ran (40 pings);
#   tampered  the same with one bit flipped after the packet id.
# Every data packet must be rejected: no reply, client1 neither floats nor
# reconnects, and with sluice the drop counters rise by exactly what was sent
# (junk and tampered: decrypt.drop.auth; replayed: tun_tx.drop.replay).
#
#   env: FLOOD_COUNT (default 2000), FLOOD_N (default 3000), FLOOD_SEED (1)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3-cryptography missing).
. "$(dirname "$0")/server.lib"
. "$(dirname "$0")/hard.lib"
python3 -c "import cryptography" 2>/dev/null ||
	{ echo "server_bad_input: SKIP (python3-cryptography missing)"; exit 77; }

FLOOD=$(cd "$(dirname "$0")" && pwd)/server_flood.py
COUNT=${FLOOD_COUNT:-2000} FLOOD_N=${FLOOD_N:-3000} FLOOD_SEED=${FLOOD_SEED:-1}
CIDR=10.78.0.0/21
command -v tcpdump >/dev/null || { echo "server_bad_input: SKIP (tcpdump missing)"; exit 77; }

cd "$WORK"
srv_pki 1
srv_net c1 attacker
hard_swarm_net swarm $CIDR
openvpn --genkey tls-crypt tc.key >/dev/null
srv_conf srv.conf
echo "tls-crypt $WORK/tc.key" >>srv.conf
echo "connect-freq-initial 100 10" >>srv.conf
srv_start srv.conf srv.log
cli_conf c1.conf client1
echo "tls-crypt $WORK/tc.key" >>c1.conf
cli_start c1 c1.conf c1.log
cli_up c1 || sfail "client1 did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
wait_for 5 st_has client1 || sfail "status never listed client1"
real1=$(st_field client1 3)

ATT=$(ns_of attacker)
ip netns exec "$ATT" python3 "$FLOOD" tc.key $SRV_IP 1194 --probe >probe.log 2>&1 ||
	{ cat probe.log; sfail "flood script failed"; }
grep -q "replies=1 opcode=8" probe.log ||
	{ cat probe.log; sfail "server did not answer the valid probe reset: flood wrapping is wrong"; }
if [ "$SERVER_IMPL" = sluice ]; then
	sleep 1.5 # one status rewrite after the probe
	created0=$(st_global sessions_created)
	badwrap0=$(st_global firstpkt_bad_wrap)
	badcookie0=$(st_global firstpkt_bad_cookie)
	reply0=$(st_global firstpkt_reply)
	[ "$created0" -eq 1 ] || sfail "sessions_created is $created0 before the flood, expected 1"
fi

ip netns exec "$(ns_of c1)" ping -i 0.2 -c 25 -W 2 $TUN_SRV >ping-flood.log 2>&1 &
PING=$!
ip netns exec "$ATT" python3 "$FLOOD" tc.key $SRV_IP 1194 "$COUNT" >flood.log 2>&1 ||
	{ cat flood.log; sfail "flood script failed"; }
wait $PING || true
echo "flood: $(cat flood.log)"
echo "client1 during the flood: $(grep -o '[0-9]* packets transmitted, [0-9]* received' ping-flood.log)"
rx=$(grep -o '[0-9]* received' ping-flood.log | cut -d' ' -f1)
[ "${rx:-0}" -ge 20 ] ||
	{ cat ping-flood.log; sfail "client1 lost more than 20% of its pings during the flood"; }
ip netns exec "$(ns_of c1)" ping -c 10 -i 0.2 -W 2 $TUN_SRV >ping-after.log 2>&1 ||
	{ cat ping-after.log; sfail "client1 lost pings after the flood"; }

kill -0 "${CPID[c1]}" 2>/dev/null || sfail "client1 exited"
! grep -qE "Restart pause|SIGUSR1" c1.log || sfail "client1 reconnected during the flood"
sleep 1.5
[ "$(st_field client1 3)" = "$real1" ] ||
	sfail "status: client1 real address changed from $real1 to '$(st_field client1 3)'"
others=$(st_clients | grep -vc "^CLIENT_LIST,client1," || true)
[ "$others" -eq 0 ] || sfail "status: $others CLIENT_LIST lines besides client1"
grep -q " replies=0$" flood.log || sfail "the attacker received answers: $(cat flood.log)"

if [ "$SERVER_IMPL" = sluice ]; then
	created=$(st_global sessions_created)
	badwrap=$(st_global firstpkt_bad_wrap)
	badcookie=$(st_global firstpkt_bad_cookie)
	reply=$(st_global firstpkt_reply)
	echo "sluice: sessions_created $created0 -> $created, bad_wrap $badwrap0 -> $badwrap," \
		"bad_cookie $badcookie0 -> $badcookie, reply $reply0 -> $reply"
	[ "$created" -eq 1 ] || sfail "sessions_created is $created after the flood, expected 1"
	[ "$badwrap" -gt "$badwrap0" ] || sfail "firstpkt_bad_wrap did not rise ($badwrap)"
	[ "$badcookie" -gt "$badcookie0" ] || sfail "firstpkt_bad_cookie did not rise ($badcookie)"
	[ "$reply" -eq "$reply0" ] || sfail "firstpkt_reply rose from $reply0 to $reply: forged packets were answered"
else
	n=$(grep -c "tls-crypt unwrapping failed" srv.log || true)
	echo "stock: $n 'tls-crypt unwrapping failed' log lines"
	[ "$n" -gt 0 ] || sfail "stock logged no tls-crypt unwrap failures for the wrong-key resets"
fi

# Part 2: floods from 2046 source addresses. First a capture of client1's
# data packets for the replay, while it pings.
PEER_ID=$(st_field client1 12)
[ -n "$PEER_ID" ] || sfail "status gives no peer-id for client1"
spawn "$(ns_of c1)" tcpdump -i eth0 -n -U -w c1.pcap "udp and dst port 1194" >tcpdump.log 2>&1
TCPDUMP=$LAST_PID
wait_for 5 grep -q "listening on" tcpdump.log || sfail "tcpdump did not start"
ip netns exec "$(ns_of c1)" ping -i 0.05 -c 40 -W 2 $TUN_SRV >ping-cap.log 2>&1 ||
	{ cat ping-cap.log; sfail "client1 lost pings during the capture"; }
sleep 0.3
pid_stop "$TCPDUMP" INT || true
sleep 1.5
floats0=$([ "$SERVER_IMPL" = sluice ] && st_global floats || echo 0)

# gen TAG MODE ARGS...: server_flood.py from the swarm's CIDR; key=value in TAG.out.
gen() {
	local tag=$1 mode=$2
	shift 2
	ip netns exec "$(ns_of swarm)" python3 "$FLOOD" --mode "$mode" --dst $SRV_IP:1194 \
		--sources $CIDR --seed "$FLOOD_SEED" --linger 1.5 "$@" >"$tag.out" 2>&1 ||
		{ cat "$tag.out"; sfail "flood generator ($mode) failed"; }
	echo "$tag: $(cat "$tag.out")"
}
# before TAG / delta TAG NAME: sluice counters (status file and data plane) around a flood.
before() {
	[ "$SERVER_IMPL" = sluice ] || return 0
	sleep 1.2 # one status rewrite
	st_snap | awk -F, '$1 == "GLOBAL_STATS" { print $2 "=" $3 }' >"$1.st0"
	dp_stats "$SRV" srv.log "$1.dp0"
}
after() {
	[ "$SERVER_IMPL" = sluice ] || return 0
	sleep 1.2
	st_snap | awk -F, '$1 == "GLOBAL_STATS" { print $2 "=" $3 }' >"$1.st1"
	dp_stats "$SRV" srv.log "$1.dp1"
}
delta() {
	local ext=st
	case $2 in *.*) ext=dp ;; esac
	echo $(($(dp_get "$1.${ext}1" "$2") - $(dp_get "$1.${ext}0" "$2")))
}

before keyless
gen keyless reset-keyless --count "$FLOOD_N"
after keyless
sent=$(kv sent keyless.out)
[ "$(kv sources keyless.out)" -ge 2000 ] || sfail "keyless: fewer than 2000 source addresses"
[ "$(kv replies keyless.out)" -eq 0 ] || sfail "keyless resets were answered: $(cat keyless.out)"
if [ "$SERVER_IMPL" = sluice ]; then
	drops=$(awk -F= 'NR == FNR { a[$1] = $2; next }
		$1 ~ /^firstpkt_/ && $1 != "firstpkt_reply" && $1 != "firstpkt_create" { n += $2 - a[$1] }
		END { print n + 0 }' keyless.st0 keyless.st1)
	echo "keyless: sessions_created +$(delta keyless sessions_created)" \
		"firstpkt_reply +$(delta keyless firstpkt_reply) first-packet drops +$drops" \
		"(truncated +$(delta keyless firstpkt_truncated)) of $sent sent"
	[ "$(delta keyless sessions_created)" -eq 0 ] || sfail "keyless resets created sessions"
	[ "$(delta keyless firstpkt_reply)" -eq 0 ] || sfail "firstpkt_reply rose"
	[ "$drops" -eq "$sent" ] || sfail "first-packet drops rose by $drops, $sent sent"
fi

before keyed
gen keyed reset-keyed --count "$FLOOD_N" --key tc.key
after keyed
replies=$(kv replies keyed.out)
# The budget over the whole time the generator listened: 100 + 10/s.
budget=$(awk -v d="$(kv duration_s keyed.out)" 'BEGIN { printf "%d", 100 + 10 * (d + 1.5) + 0.999 }')
echo "keyed: replies=$replies budget=$budget sent=$(kv sent keyed.out)" \
	"from $(kv reply_sources keyed.out) addresses"
[ "$replies" -gt 0 ] || sfail "no keyed reset was answered: the flood's wrapping is wrong"
[ "$replies" -le "$budget" ] || sfail "$replies replies to keyed resets, the budget allows $budget"
if [ "$SERVER_IMPL" = sluice ]; then
	echo "keyed: firstpkt_reply +$(delta keyed firstpkt_reply)" \
		"firstpkt_reply_budget +$(delta keyed firstpkt_reply_budget)" \
		"sessions_created +$(delta keyed sessions_created)"
	[ "$(delta keyed sessions_created)" -eq 0 ] || sfail "keyed resets created sessions"
	[ "$(delta keyed firstpkt_reply)" -eq "$replies" ] ||
		sfail "firstpkt_reply rose by $(delta keyed firstpkt_reply), $replies replies received"
	[ $(($(delta keyed firstpkt_reply) + $(delta keyed firstpkt_reply_budget))) -eq \
		"$(kv sent keyed.out)" ] || sfail "answered + over-budget is not what was sent"
fi

before data
gen junk data-junk --count "$FLOOD_N" --peer-id "$PEER_ID"
gen replay data-replay --pcap c1.pcap --peer-id "$PEER_ID"
gen tamper data-tamper --pcap c1.pcap --peer-id "$PEER_ID"
after data
nj=$(kv sent junk.out) nr=$(kv sent replay.out) nt=$(kv sent tamper.out)
[ "$nr" -ge 20 ] || sfail "only $nr data packets of client1 captured"
for t in junk replay tamper; do
	[ "$(kv replies $t.out)" -eq 0 ] || sfail "$t data packets were answered: $(cat $t.out)"
done
ping_ok c1 $TUN_SRV 5 || sfail "client1 cannot ping the server after the data floods"
sleep 1.5
[ "$(st_field client1 3)" = "$real1" ] ||
	sfail "status: client1 real address changed from $real1 to '$(st_field client1 3)'"
! grep -qE "Restart pause|SIGUSR1" c1.log || sfail "client1 reconnected during the floods"
if [ "$SERVER_IMPL" = sluice ]; then
	auth=$(delta data decrypt.drop.auth) replay=$(delta data tun_tx.drop.replay)
	echo "data: decrypt.drop.auth +$auth (junk $nj + tampered $nt)," \
		"tun_tx.drop.replay +$replay (replayed $nr), floats $floats0 -> $(st_global floats)"
	[ "$auth" -eq $((nj + nt)) ] || sfail "decrypt.drop.auth rose by $auth, expected $((nj + nt))"
	[ "$replay" -eq "$nr" ] || sfail "tun_tx.drop.replay rose by $replay, expected $nr"
	[ "$(st_global floats)" -eq "$floats0" ] || sfail "client1 floated to a flooding address"
fi
cli_stop c1 || sfail "client1 did not exit cleanly"
echo "server_bad_input ($SERVER_IMPL): PASS"
exit 0
