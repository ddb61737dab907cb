#!/bin/bash
# client_tcp_badframe.sh - bad TCP framing from the server closes the
# connection, counted, and the client starts over on a fresh one. A fake
# server (python3) answers the client's first frame on connection 1 with a
# zero length prefix and on connection 2 with 0xffff (longer than any
# packet). The client must close each (tcp_rx.drop.short and
# tcp_rx.drop.oversize counted), log the reset and connect again.
#
# Exit 0 pass, 1 fail, 77 skip (not root, python3/openssl missing).
STOCK_TAG=sltcpb
command -v python3 >/dev/null || { echo "client_tcp_badframe: SKIP (python3 missing)"; exit 77; }
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki sltcpb
stock_net
stock_client_conf cli.conf 1194
sed -i -e 's/^proto udp$/proto tcp-client/' -e '/^explicit-exit-notify/d' cli.conf
cat >>cli.conf <<EOF
connect-timeout 5
connect-retry 1 1
status $WORK/cli.status 1
EOF
cat >fake.py <<EOF
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("$SRV_IP", 1194))
s.listen(8)
for n in range(3):
    c, _ = s.accept()
    c.recv(4096)
    c.sendall([b"\x00\x00", b"\xff\xff" + b"x" * 64, b""][n])
    time.sleep(1.5)
    c.close()
print("fake: 3 connections", flush=True)
time.sleep(30)
EOF
spawn "$NS_S" python3 fake.py >fake.log 2>&1
wait_for 5 sh -c "ip netns exec $NS_S ss -Htln | grep -q ':1194'" || fail "fake server did not listen"
stock_client_start cli.conf cli.log
wait_for 30 grep -q "fake: 3 connections" fake.log ||
	{ tail -n 30 cli.log; fail "the client did not come back after the bad frames"; }
sleep 1.5
short=$(counter cli.status tcp_rx.drop.short)
big=$(counter cli.status tcp_rx.drop.oversize)
[ "$short" -ge 1 ] && [ "$big" -ge 1 ] || { cat cli.status; fail "bad frames not counted"; }
resets=$(grep -c "Connection reset, restarting" cli.log)
[ "$resets" -ge 2 ] || { tail -n 30 cli.log; fail "fewer than 2 resets logged"; }
echo "bad frames: short=$short oversize=$big, $resets resets"
stock_stop "$CLI" || { tail -n 20 cli.log; fail "client did not exit 0 on SIGTERM"; }
echo "client_tcp_badframe: PASS"
exit 0
