#!/bin/bash
# server_reap.sh - the server reaps a client that vanished without a word.
#
# Server `keepalive 1 5`: it pushes "ping 1, ping-restart 5" to its clients
# and itself uses twice the restart time (10 s) for each client. client1 is
# killed with SIGKILL (no exit notification); within 15 s the status file
# must drop client1's CLIENT_LIST line while client2 keeps pinging the
# server without loss (client-to-client is on: client2 also reaches
# client1 afterwards). Then client1 starts again (new source port), gets an
# address and pings the server.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 2
srv_net c1 c2
srv_conf srv.conf
sed -i 's/^keepalive .*/keepalive 1 5/' srv.conf
echo "client-to-client" >>srv.conf
srv_start srv.conf srv.log
for i in 1 2; do
	cli_conf "c$i.conf" "client$i"
	cli_start "c$i" "c$i.conf" "c$i.log"
done
cli_up c1 || sfail "client1 did not come up within 30 s"
cli_up c2 || sfail "client2 did not come up within 30 s"
grep -q "PUSH_REPLY.*ping 1,ping-restart 5" c1.log ||
	sfail "client1 was not pushed 'ping 1,ping-restart 5'"
wait_for 5 st_has client1 || sfail "status never listed client1"
wait_for 5 st_has client2 || sfail "status never listed client2"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
ping_ok c2 $TUN_SRV || sfail "client2 cannot ping the server"
old_real=$(st_field client1 3)

# client2 pings throughout the reap (60 x 0.25 s = 15 s).
ip netns exec "$(ns_of c2)" ping -i 0.25 -c 60 -W 2 $TUN_SRV >ping2.log 2>&1 &
PING2=$!
t0=$SECONDS
cli_stop c1 KILL || true
# Last Ref is the client's last activity: it stops moving once the client is gone.
sleep 3
ref=$(st_snap | awk -F, '$1 == "ROUTING_TABLE" && $3 == "client1" { print $6 }')
age=$(($(date +%s) - ${ref:-0}))
echo "client1's Last Ref 3 s after SIGKILL: ${age} s old"
[ "$SERVER_IMPL" = stock ] || [ "$age" -ge 2 ] ||
	sfail "Last Ref of the killed client1 is only ${age} s old (not its last activity)"
wait_for 16 st_lacks client1 ||
	{ wait $PING2 || true; sfail "client1 still in the status file 16 s after SIGKILL"; }
echo "client1 reaped after $((SECONDS - t0)) s"
st_has client2 || sfail "client2 vanished from the status file together with client1"
wait $PING2 || true
grep -q " 0% packet loss" ping2.log ||
	{ tail -n 3 ping2.log; sfail "client2 lost pings while client1 was reaped"; }
if [ "$SERVER_IMPL" = stock ]; then
	grep -q "Inactivity timeout (--ping-restart)" srv.log ||
		sfail "stock server did not log the ping-restart of client1"
fi

# The same client again: a new session from a new port.
cli_start c1 c1.conf c1-again.log
cli_up c1 || sfail "client1 did not come back within 30 s"
a1=$(cli_addr c1)
[ -n "$a1" ] || sfail "client1 has no tun address after the restart"
wait_for 5 eval '[ "$(st_field client1 4)" = "$a1" ]' ||
	sfail "status: client1 virtual address '$(st_field client1 4)', its tun has $a1"
[ "$(st_field client1 3)" != "$old_real" ] ||
	sfail "status: client1 real address unchanged ($old_real) after the restart"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server after the restart"
ping_ok c2 "$a1" || sfail "server no longer routes to client1's new address $a1 from client2"
[ "$(st_count)" -eq 2 ] || sfail "status: $(st_count) CLIENT_LIST lines, expected 2"
echo "client1 back as $a1, client2 unaffected"

cli_stop c1 || sfail "client1 did not exit cleanly"
cli_stop c2 || sfail "client2 did not exit cleanly"
echo "server_reap ($SERVER_IMPL): PASS"
exit 0
