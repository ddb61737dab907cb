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
#   env: FLOOD_COUNT (default 2000)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3-cryptography missing).
. "$(dirname "$0")/server.lib"
python3 -c "import cryptography" 2>/dev/null ||
	{ echo "server_bad_input: SKIP (python3-cryptography missing)"; exit 77; }

FLOOD=$(cd "$(dirname "$0")" && pwd)/server_flood.py
COUNT=${FLOOD_COUNT:-2000}

cd "$WORK"
srv_pki 1
srv_net c1 attacker
openvpn --genkey tls-crypt tc.key >/dev/null
srv_conf srv.conf
echo "tls-crypt $WORK/tc.key" >>srv.conf
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

cli_stop c1 || sfail "client1 did not exit cleanly"
echo "server_bad_input ($SERVER_IMPL): PASS"
exit 0
