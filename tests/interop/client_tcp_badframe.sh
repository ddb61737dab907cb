#!/bin/bash
# client_tcp_badframe.sh - bad TCP framing from the server closes the
# connection, counted, and the client starts over on a fresh one. A fake
# server (python3) answers the client's first frame on connection 1 with a
# zero length prefix and on connection 2 with 0xffff (longer than any
# packet). The client must close each (tcp_rx.drop.short and
# tcp_rx.drop.oversize counted), log the reset and connect again. Then a
# connect that hangs (the SYN dropped by a full accept queue) with
# connect-timeout 60 must end at once on SIGTERM, with status 0.
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

# A connect that hangs (a full accept queue drops the SYN) must not hold up SIGTERM.
cat >tarpit.py <<EOF
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("$SRV_IP", 1197))
s.listen(0)
fill = []
for i in range(3):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("$SRV_IP", 1197))
    except BlockingIOError:
        pass
    fill.append(c)
print("tarpit ready", flush=True)
time.sleep(60)
EOF
spawn "$NS_S" python3 tarpit.py >tarpit.log 2>&1
wait_for 5 grep -q "tarpit ready" tarpit.log || fail "tarpit did not start"
sed -e 's/ 1194$/ 1197/' -e 's/^connect-timeout 5$/connect-timeout 60/' cli.conf >cli2.conf
stock_client_start cli2.conf cli2.log
wait_for 10 grep -q "Attempting to establish TCP connection" cli2.log ||
	{ cat cli2.log; fail "no connect attempt"; }
sleep 1
t0=$(date +%s%N)
stock_stop "$CLI" || { tail -n 20 cli2.log; fail "client did not exit 0 on SIGTERM while connecting"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "SIGTERM during a connect took $ms ms"
grep -q "interrupted by a signal" cli2.log || { tail -n 20 cli2.log; fail "the connect was not interrupted"; }
echo "SIGTERM during a hanging connect: exit after $ms ms"
echo "client_tcp_badframe: PASS"
exit 0
