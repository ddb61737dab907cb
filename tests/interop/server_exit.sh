#!/bin/bash
# server_exit.sh - explicit-exit-notify: a client that says goodbye is
# dropped at once, not after its ping-restart timeout.
#
# client1 runs with `explicit-exit-notify 1` (2.6 sends the EXIT on the
# control channel when the server pushed protocol-flags cc-exit, else as an
# OCC message on the data channel). After SIGTERM, its CLIENT_LIST line must
# vanish from the status file (rewritten every second) within 10 s, long
# before the server's own ping-restart (keepalive 10 60: 120 s); client2
# stays listed and keeps working. Stock 2.6.14 logs "CC-EEN exit message
# received by peer" / "Delayed exit in 5 seconds" and drops the client ~6 s
# after the SIGTERM; dropping it sooner is fine.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 2
srv_net c1 c2
srv_conf srv.conf
sed -i 's/^keepalive .*/keepalive 10 60/' srv.conf
srv_start srv.conf srv.log
for i in 1 2; do
	cli_conf "c$i.conf" "client$i"
	echo "explicit-exit-notify 1" >>"c$i.conf"
	cli_start "c$i" "c$i.conf" "c$i.log"
done
cli_up c1 || sfail "client1 did not come up within 30 s"
cli_up c2 || sfail "client2 did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
wait_for 5 st_has client1 || sfail "status never listed client1"
wait_for 5 st_has client2 || sfail "status never listed client2"

# client2 pings meanwhile: an idle stock server rewrites its status file
# only every few seconds, traffic makes it run its per-second timers.
ip netns exec "$(ns_of c2)" ping -i 0.2 -c 50 -W 2 $TUN_SRV >ping2.log 2>&1 &
PING2=$!
t0=$(date +%s%N)
kill -TERM "${CPID[c1]}"
wait_for 10 st_lacks client1 ||
	{ wait $PING2 || true; sfail "client1 still listed 10 s after it sent its exit notification"; }
echo "client1 dropped $((($(date +%s%N) - t0) / 1000000)) ms after SIGTERM"
wait $PING2 || true
grep -q " 0% packet loss" ping2.log ||
	{ tail -n 3 ping2.log; sfail "client2 lost pings while client1 left"; }
cli_stop c1 || sfail "client1 did not exit cleanly on SIGTERM"
grep -q "SIGTERM" c1.log || sfail "client1 did not log its SIGTERM"
if [ "$SERVER_IMPL" = stock ]; then
	grep -q "CC-EEN exit message received" srv.log ||
		sfail "stock server did not log the exit notification"
fi
st_has client2 || sfail "client2 vanished from the status file"
ping_ok c2 $TUN_SRV || sfail "client2 cannot ping the server after client1 left"

cli_stop c2 || sfail "client2 did not exit cleanly"
echo "server_exit ($SERVER_IMPL): PASS"
exit 0
