#!/bin/bash
# client_sdnotify.sh - systemd's Type=notify protocol as the sluice client
# speaks it (ctrl/sdnotify.c), heard by a fake NOTIFY_SOCKET listener.
#
#   ns s: stock server (started late)   ns c: sluice client with
#   NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=2000000
#
# Checks: while the server is not there, STATUS= lines and WATCHDOG=1 come
# but READY=1 does not; once the server runs, READY=1 comes, and the
# listener's ping through the tunnel at that moment is answered (the tunnel
# really passes data when READY=1 says so); SIGTERM gives STOPPING=1.
# Exit 0 pass, 1 fail, 77 skip.
STOCK_TAG=slsd
. "$(dirname "$0")/stock.lib"
cd "$WORK"
stock_pki slsd
stock_net
stock_server_conf srv.conf 1353
stock_client_conf cli.conf 1353
echo "connect-retry 1 1" >>cli.conf

# The listener: every datagram with its time; on READY=1 one ping through the tunnel.
python3 - "$WORK/notify.sock" "$NS_C" "$TUN_SRV" >notify.log 2>&1 <<'PY' &
import os, socket, subprocess, sys, time
path, ns, peer = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
t0 = time.time()
while True:
    msg = s.recv(4096).decode(errors="replace")
    for line in msg.split("\n"):
        print("%.2f %s" % (time.time() - t0, line), flush=True)
    if "READY=1" in msg.split("\n"):
        r = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", peer],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("%.2f ping-at-ready %s" % (time.time() - t0, "ok" if r.returncode == 0 else "FAILED"),
              flush=True)
PY
LSN=$!
PIDS_STARTED+=("$LSN")
wait_for 5 test -S notify.sock || fail "the listener did not start"

spawn "$NS_C" env NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=2000000 \
	"$SLUICE" --config cli.conf >cli.log 2>&1
CLI=$LAST_PID
sleep 4
cat notify.log
grep -q "READY=1" notify.log && fail "READY=1 while the server is not even running"
grep -q "STATUS=WAIT" notify.log || fail "no STATUS= line for the state WAIT"
[ "$(grep -c "WATCHDOG=1" notify.log)" -ge 2 ] || fail "fewer than 2 WATCHDOG=1 in 4 s (WATCHDOG_USEC 2 s)"
echo "[ok] no READY=1 without a server; STATUS= and WATCHDOG=1 meanwhile"

stock_server_start srv.conf srv.log
wait_for 30 grep -q "READY=1" notify.log || { cat notify.log; tail -n 20 cli.log; fail "no READY=1"; }
wait_for 5 grep -q "ping-at-ready" notify.log || fail "the listener did not ping"
cat notify.log | tail -n 6
grep -q "ping-at-ready ok" notify.log || fail "READY=1 came before the tunnel passed data"
grep -B1 "^[0-9.]* READY=1" notify.log >/dev/null
grep -A1 "READY=1" notify.log | grep -q "STATUS=CONNECTED" || fail "READY=1 without STATUS=CONNECTED"
[ "$(grep -c "READY=1" notify.log)" = 1 ] || fail "READY=1 more than once"
echo "[ok] READY=1 with STATUS=CONNECTED, and the tunnel passed a ping at that moment"

stock_stop "$CLI" || fail "client did not exit 0"
wait_for 5 grep -q "STOPPING=1" notify.log || fail "no STOPPING=1 on SIGTERM"
echo "[ok] STOPPING=1 at exit"
echo "client_sdnotify: PASS"
exit 0
