#!/bin/bash
# server_float.sh - a connected client changes its source address (float);
# forged and replayed datagrams carrying its peer-id must not move it.
#
# client1 (stock, nobind: one unconnected UDP socket, the kernel picks the
# source address per datagram) is connected from 198.18.60.11:PORT. Its
# namespace gets a second address 198.18.60.61 and a host route to the
# server with `src 198.18.60.61`, so its next datagrams come from
# 198.18.60.61:PORT. While it pings the server every 0.2 s:
#   1. float: the status file must show 198.18.60.61:PORT as client1's real
#      address within 10 s, and at most 5 of 25 pings may be lost;
#   2. forged: from a third namespace ("attacker", 198.18.60.12) 400
#      datagrams P_DATA_V2 key 0 with client1's peer-id (from the status
#      file's "Peer ID" column) and 1..300 random bytes, then 2 x 20
#      authenticated-looking datagrams replayed from a capture of client1's
#      own traffic (same bytes, new source): neither may move client1 (the
#      real address stays 198.18.60.61:PORT), its pings must keep working
#      without loss, and the client must not restart;
#   3. float back: the host route is deleted, client1 is moved back to
#      198.18.60.11:PORT.
# With SERVER_IMPL=sluice also: GLOBAL_STATS floats is 1 after the float,
# unchanged after the forged and replayed datagrams, 2 after the float back.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3/tcpdump missing).
. "$(dirname "$0")/server.lib"
for cmd in python3 tcpdump; do
	command -v "$cmd" >/dev/null || { echo "server_float: SKIP ($cmd missing)"; exit 77; }
done

NEW_IP=198.18.60.61

cd "$WORK"
srv_pki 1
srv_net c1 attacker
srv_conf srv.conf
srv_start srv.conf srv.log
cli_conf c1.conf client1
cli_start c1 c1.conf c1.log
cli_up c1 || sfail "client1 did not come up within 30 s"
wait_for 5 st_has client1 || sfail "status never listed client1"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
NS1=$(ns_of c1)
ATT=$(ns_of attacker)

# st_col CN HEADER: client CN's value in the CLIENT_LIST column named HEADER.
st_col() {
	st_snap | awk -F, -v cn="$1" -v h="$2" '
		$1 == "HEADER" && $2 == "CLIENT_LIST" { for (i = 3; i <= NF; i++) if ($i == h) col = i - 1 }
		$1 == "CLIENT_LIST" && $2 == cn && col { print $col; exit }'
}

real0=$(st_field client1 3)
port=${real0##*:}
pid=$(st_col client1 "Peer ID")
case $real0 in 198.18.60.11:[0-9]*) ;; *) sfail "status: client1 real address '$real0'" ;; esac
[ -n "$pid" ] && [ "$pid" -ge 0 ] 2>/dev/null || sfail "status: no Peer ID for client1 ('$pid')"
echo "client1 at $real0, peer-id $pid"
floats() { st_global floats; }
[ "$SERVER_IMPL" = stock ] || [ "$(floats)" -eq 0 ] || sfail "floats is $(floats) before any float"

# pings PREFIX COUNT: client1 pings the server every 0.2 s in the background ($PING).
pings() {
	ip netns exec "$NS1" ping -i 0.2 -c "$2" -W 2 $TUN_SRV >"$1.log" 2>&1 &
	PING=$!
}
received() { grep -o '[0-9]* received' "$1.log" | cut -d' ' -f1; }

# ---- 1. float ------------------------------------------------------------
# A capture of client1's datagrams from the new address, for the replay below.
spawn "$NS_S" tcpdump -i br0 -n -U -w cap.pcap -c 40 "udp and src host $NEW_IP and dst port $SRV_PORT" \
	>tcpdump.log 2>&1
TCPDUMP=$LAST_PID
wait_for 5 grep -q "listening on" tcpdump.log || sfail "tcpdump did not start: $(cat tcpdump.log)"
pings ping-float 25
sleep 1
ip -n "$NS1" addr add $NEW_IP/24 dev eth0
ip -n "$NS1" route add $SRV_IP/32 dev eth0 src $NEW_IP
t0=$SECONDS
wait_for 10 eval '[ "$(st_field client1 3)" = "$NEW_IP:$port" ]' ||
	{ wait $PING || true; sfail "status: client1 real address '$(st_field client1 3)', expected $NEW_IP:$port 10 s after the source changed"; }
echo "client1 floated to $NEW_IP:$port after $((SECONDS - t0)) s"
wait $PING || true
echo "pings across the float: $(grep -o '[0-9]* packets transmitted, [0-9]* received' ping-float.log)"
[ "$(received ping-float)" -ge 20 ] ||
	{ cat ping-float.log; sfail "client1 lost more than 5 of 25 pings across the float"; }
ip netns exec "$NS1" ping -c 5 -i 0.2 -W 2 $TUN_SRV >ping-after-float.log 2>&1 ||
	{ cat ping-after-float.log; sfail "client1 lost pings after the float"; }
case $SERVER_IMPL in
stock) grep -E "float|Float" srv.log | tail -n 2 ;;
sluice)
	grep -q "client1: peer float from 198.18.60.11:$port to $NEW_IP:$port" srv.log ||
		sfail "sluice did not log the float"
	wait_for 3 eval '[ "$(floats)" -eq 1 ]' || sfail "floats is $(floats) after one float, expected 1"
	;;
esac
# 40 datagrams or 5 s, whichever first.
for _ in $(seq 1 50); do kill -0 "$TCPDUMP" 2>/dev/null || break; sleep 0.1; done
pid_stop "$TCPDUMP" INT || true

# ---- 2. forged and replayed datagrams ------------------------------------
cat >attack.py <<'EOF'
# attack.py SERVER PORT PEER_ID COUNT [PCAP]: COUNT forged P_DATA_V2 datagrams
# (key 0, PEER_ID, 1..300 random bytes); with PCAP also every P_DATA_V2 payload
# in it, sent twice. Prints "forged=N replayed=M replies=R".
import os, random, select, socket, struct, sys

srv, port, peer_id, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
rnd = random.Random(peer_id)
hdr = bytes([9 << 3 | 0]) + peer_id.to_bytes(3, "big")
for i in range(count):
    s.sendto(hdr + os.urandom(rnd.randint(1, 300)), (srv, port))

def udp_payloads(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        l2 = 14 if linktype == 1 else 16 if linktype == 113 else 0
        ip = frame[l2:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 15) * 4:]
        out.append(udp[8:])
    return out

replayed = 0
if len(sys.argv) > 5:
    pkts = [p for p in udp_payloads(sys.argv[5]) if p and p[0] >> 3 == 9]
    for _ in range(2):
        for p in pkts:
            s.sendto(p, (srv, port))
            replayed += 1
replies = 0
while select.select([s], [], [], 1.0)[0]:
    s.recv(2048)
    replies += 1
print("forged=%d replayed=%d replies=%d" % (count, replayed, replies))
EOF
floats1=0
[ "$SERVER_IMPL" = sluice ] && floats1=$(floats)
pings ping-attack 25
sleep 0.5
ip netns exec "$ATT" python3 attack.py $SRV_IP "$SRV_PORT" "$pid" 400 cap.pcap >attack.log 2>&1 ||
	{ cat attack.log; sfail "attack script failed"; }
wait $PING || true
echo "attacker: $(cat attack.log)"
grep -q "replayed=[1-9]" attack.log || sfail "no P_DATA_V2 datagram of client1 captured to replay"
echo "pings during the attack: $(grep -o '[0-9]* packets transmitted, [0-9]* received' ping-attack.log)"
grep -q " 0% packet loss" ping-attack.log ||
	{ cat ping-attack.log; sfail "client1 lost pings during the forged/replayed datagrams"; }
sleep 1.5 # one status rewrite
[ "$(st_field client1 3)" = "$NEW_IP:$port" ] ||
	sfail "status: forged/replayed datagrams moved client1 to '$(st_field client1 3)'"
grep -q " replies=0$" attack.log || sfail "the attacker received answers: $(cat attack.log)"
kill -0 "${CPID[c1]}" 2>/dev/null || sfail "client1 exited"
! grep -qE "Restart pause|SIGUSR1" c1.log || sfail "client1 restarted during the attack"
if [ "$SERVER_IMPL" = sluice ]; then
	[ "$(floats)" -eq "$floats1" ] ||
		sfail "floats rose from $floats1 to $(floats) on forged/replayed datagrams"
	! grep -q "peer float from $NEW_IP:$port to 198.18.60.12" srv.log ||
		sfail "sluice logged a float to the attacker"
fi
ip netns exec "$NS1" ping -c 5 -i 0.2 -W 2 $TUN_SRV >ping-after-attack.log 2>&1 ||
	{ cat ping-after-attack.log; sfail "client1 lost pings after the attack"; }
echo "client1 stayed at $NEW_IP:$port"

# ---- 3. float back --------------------------------------------------------
ip -n "$NS1" route del $SRV_IP/32 dev eth0 src $NEW_IP
ip netns exec "$NS1" ping -c 3 -i 0.2 -W 2 $TUN_SRV >/dev/null 2>&1 || true
wait_for 10 eval '[ "$(st_field client1 3)" = "198.18.60.11:$port" ]' ||
	sfail "status: client1 real address '$(st_field client1 3)', expected 198.18.60.11:$port after the float back"
ip netns exec "$NS1" ping -c 5 -i 0.2 -W 2 $TUN_SRV >ping-back.log 2>&1 ||
	{ cat ping-back.log; sfail "client1 lost pings after the float back"; }
if [ "$SERVER_IMPL" = sluice ]; then
	wait_for 3 eval '[ "$(floats)" -eq $((floats1 + 1)) ]' ||
		sfail "floats is $(floats) after the float back, expected $((floats1 + 1))"
fi
[ "$(st_count)" -eq 1 ] || sfail "status: $(st_count) CLIENT_LIST lines, expected 1"
echo "client1 floated back to 198.18.60.11:$port"

cli_stop c1 || sfail "client1 did not exit cleanly"
echo "server_float ($SERVER_IMPL): PASS"
exit 0
