#!/bin/bash
# The kernel's drops at sluice's UDP socket show in its counters.
#
#      ns A (slA-<pid>)                         ns B (slB-<pid>)
#   tun sl0 198.19.2.1/24                     tun sl0 198.19.2.2/24
#   sluice -- veth 198.18.2.1/30 ======== 198.18.2.2/30 veth -- sluice
#
# B's sluice is stopped (SIGSTOP) while A's namespace sends it a bounded
# burst of junk datagrams (FLOOD of them, more than its receive buffer
# holds), then continued. Checks: before the burst udp_socket.drop.kernel is
# 0; after it, B's status shows udp_socket.drop.kernel > 0 and equal to the
# RcvbufErrors of B's namespace (sluice's is its only UDP socket), the junk
# sluice did read is counted as dropped by udp_rx, `sluice status`-style
# totals (the drop line) include the kernel's drops, and the tunnel still
# carries pings.
source "$(dirname "$0")/lib.sh"
FLOOD=${FLOOD:-40000}
A=slA-$$ B=slB-$$
netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.2.1/30 "$B" vb 198.18.2.2/30

make_static_key "$WORK/key"
testkey_conf a 198.18.2.1 198.18.2.2 198.19.2.1 0 "status $WORK/a.status 1"
testkey_conf b 198.18.2.2 198.18.2.1 198.19.2.2 1 "status $WORK/b.status 1"

spawn "$A" "$SLUICE" --config "$WORK/a.conf"
spawn "$B" "$SLUICE" --config "$WORK/b.conf"
PB=$LAST_PID
wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.2.1 || fail "A's tun did not come up"
wait_for 10 ip -n "$B" addr show dev sl0 to 198.19.2.2 || fail "B's tun did not come up"
cmd ip netns exec "$A" ping -c 3 -i 0.2 -W 2 198.19.2.2
SB=$WORK/b.status
wait_for 5 test -s "$SB" || fail "no status file from B"
[ "$(counter "$SB" udp_socket.drop.kernel)" = 0 ] ||
	fail "udp_socket.drop.kernel is $(counter "$SB" udp_socket.drop.kernel) before any drop"
echo "[ok] udp_socket.drop.kernel=0 before the burst"
rcv0=$(udp_rcvbuf_errors "$B")
rx0=$(counter "$SB" udp_rx.rx_pkts)

kill -STOP "$PB"
# Junk (opcode 31 does not exist) from A's sluice port (B's socket is connected to it),
# through a raw socket: at most FLOOD datagrams, and at most 20 s.
ip netns exec "$A" timeout 20 python3 - "$FLOOD" <<'PY' || { kill -CONT "$PB"; fail "the burst"; }
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
junk = bytes([31 << 3]) + bytes(100)
# UDP header: source and destination port 1194, length, checksum 0 (none, IPv4).
dgram = struct.pack("!HHHH", 1194, 1194, 8 + len(junk), 0) + junk
for _ in range(int(sys.argv[1])):
    s.sendto(dgram, ("198.18.2.2", 0))
PY
kill -CONT "$PB"
rcv1=$(udp_rcvbuf_errors "$B")
dropped=$((rcv1 - rcv0))
echo "[+] $FLOOD junk datagrams sent; B's namespace counted $dropped RcvbufErrors"
[ "$dropped" -gt 0 ] || fail "the burst did not overflow B's socket (raise FLOOD)"
# The status file is rewritten every second.
wait_for 10 eval '[ "$(counter "$SB" udp_socket.drop.kernel)" = "$dropped" ]' ||
	fail "udp_socket.drop.kernel=$(counter "$SB" udp_socket.drop.kernel), want $dropped"
echo "[ok] udp_socket.drop.kernel=$dropped, the namespace's RcvbufErrors"
# What sluice did read of the burst is junk, counted by udp_rx as a bad opcode.
wait_for 10 eval '[ "$(counter "$SB" udp_rx.drop.bad_opcode)" -gt 0 ]' ||
	fail "udp_rx.drop.bad_opcode=$(counter "$SB" udp_rx.drop.bad_opcode) after the burst"
read_junk=$(counter "$SB" udp_rx.drop.bad_opcode)
echo "[ok] udp_rx read $read_junk of the junk and dropped it (bad opcode); rx_pkts $rx0 -> $(counter "$SB" udp_rx.rx_pkts)"
# No datagram is both read and dropped: every junk datagram is one or the other (the
# kernel may have merged some into one GRO batch, so the sum is at most FLOOD).
[ $((read_junk + dropped)) -le "$FLOOD" ] || fail "read $read_junk + dropped $dropped > sent $FLOOD"
cmd ip netns exec "$A" ping -c 3 -i 0.2 -W 2 198.19.2.2
echo "sock_drops: PASS"
