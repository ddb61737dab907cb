#!/bin/bash
# server_tcp.sh - the server over TCP (proto tcp-server; SERVER_IMPL=sluice|
# stock, see server.lib): two stock OpenVPN 2.6 clients (proto tcp-client)
# connect with tls-crypt (TCP_WRAP=tls-auth: tls-auth instead; tls-crypt-v2:
# a client key per client wrapped with the server's; none: no wrapping),
# client-to-client on.
#
#   1. Both come up; each pings the server's tunnel address and the other
#      client; the server pings each client.
#   2. iperf3 from client1 to the server, 3 s each way, moves data.
#   3. client1 has reneg-sec 10: once it logged a completed renegotiation
#      (a second "Control Channel:"), a ping still goes through.
#   4. The server is killed (SIGKILL: no RESTART to the clients) and started
#      again on the same port: both clients reconnect (connect-retry 1 1)
#      and ping the server again.
#   5. The server gets SIGUSR1: it tells every client to reconnect and drops
#      it (sluice closes each connection after the RESTART: tcpsrv.hangups);
#      both reconnect and ping.
#   6. client2 leaves (SIGTERM): the server drops its session within 4 s
#      (the status file no longer lists it), long before ping-restart;
#      sluice counts it in GLOBAL_STATS tcp_closed.
# sluice only, after 1.: the link's counters (tcpsrv.*, SIGUSR2 dump) show
# two connections open and the status file lists two clients.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

WRAP=${TCP_WRAP:-tls-crypt}
cd "$WORK"
srv_pki 2
srv_net c1 c2
srv_conf srv.conf
sed -i 's/^proto udp$/proto tcp-server/' srv.conf
echo "client-to-client" >>srv.conf
case $WRAP in
tls-crypt)
	openvpn --genkey tls-crypt wrap.key >/dev/null
	echo "tls-crypt $WORK/wrap.key" >>srv.conf
	;;
tls-auth)
	openvpn --genkey tls-auth wrap.key >/dev/null
	echo "tls-auth $WORK/wrap.key 0" >>srv.conf
	;;
tls-crypt-v2)
	openvpn --genkey tls-crypt-v2-server v2srv.key >/dev/null
	for i in 1 2; do
		openvpn --genkey tls-crypt-v2-client "v2cli$i.key" --tls-crypt-v2 v2srv.key >/dev/null
	done
	echo "tls-crypt-v2 $WORK/v2srv.key" >>srv.conf
	;;
none) ;;
*) fail "TCP_WRAP must be tls-crypt, tls-auth, tls-crypt-v2 or none" ;;
esac
srv_start srv.conf srv.log
grep -q "Listening for incoming TCP connection" srv.log ||
	sfail "server did not log that it listens on TCP"

for i in 1 2; do
	cli_conf "c$i.conf" "client$i"
	sed -i 's/^proto udp$/proto tcp-client/' "c$i.conf"
	echo "connect-retry 1 1" >>"c$i.conf"
	case $WRAP in
	tls-crypt) echo "tls-crypt $WORK/wrap.key" >>"c$i.conf" ;;
	tls-auth) echo "tls-auth $WORK/wrap.key 1" >>"c$i.conf" ;;
	tls-crypt-v2) echo "tls-crypt-v2 $WORK/v2cli$i.key" >>"c$i.conf" ;;
	esac
done
echo "reneg-sec 10" >>c1.conf
T0=$SECONDS
for i in 1 2; do
	cli_start "c$i" "c$i.conf" "c$i.log"
done
for i in 1 2; do
	cli_up "c$i" || sfail "client$i did not come up within 30 s"
done
A1=$(cli_addr c1)
A2=$(cli_addr c2)
[ -n "$A1" ] && [ -n "$A2" ] || sfail "a client has no tun address"
echo "tunnel addresses: $A1 $A2 (up after $((SECONDS - T0)) s)"

ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
ping_ok c2 $TUN_SRV || sfail "client2 cannot ping the server"
ping_ok s "$A1" || sfail "the server cannot ping client1"
ping_ok s "$A2" || sfail "the server cannot ping client2"
ping_ok c1 "$A2" || sfail "client1 cannot ping client2 (client-to-client)"
ping_ok c2 "$A1" || sfail "client2 cannot ping client1 (client-to-client)"
echo "pings: server <-> clients, client <-> client"

if [ "$SERVER_IMPL" = sluice ]; then
	wait_for 5 eval '[ "$(st_count)" -eq 2 ]' || sfail "status: $(st_count) clients, expected 2"
	kill -USR2 "$SRV"
	wait_for 5 grep -q "tcpsrv.open=2" srv.log || sfail "tcpsrv.open=2 not in the SIGUSR2 dump"
	echo "link: $(grep -oE "tcpsrv\.(open|accepted|refused)=[0-9]+" srv.log | tail -n 3 | tr '\n' ' ')"
fi

if command -v iperf3 >/dev/null; then
	iperf_srv
	iperf_must c1 up 3 "over TCP"
	iperf_must c1 down 3 "over TCP"
	pid_stop "$IPERF" TERM || true
else
	echo "iperf3 missing: throughput part skipped"
fi

# A renegotiation (client1, reneg-sec 10) completes and the tunnel still carries pings.
wait_for 20 eval '[ "$(grep -c "Control Channel:" c1.log)" -ge 2 ]' ||
	sfail "client1 completed no renegotiation in 20 s"
ping_ok c1 $TUN_SRV 5 || sfail "client1 cannot ping the server after a renegotiation"
ping_ok c1 "$A2" 5 || sfail "client1 cannot ping client2 after a renegotiation"
echo "renegotiation: client1 pings after $(($(grep -c "Control Channel:" c1.log) - 1))"

# The server dies and comes back: the clients reconnect over fresh connections.
pid_stop "$SRV" KILL || true
SRV=
sleep 1
srv_start srv.conf srv2.log
for i in 1 2; do
	wait_for 30 eval "[ \$(grep -c 'Initialization Sequence Completed' c$i.log) -ge 2 ]" ||
		sfail "client$i did not reconnect within 30 s of the server's restart"
done
ping_ok c1 $TUN_SRV 10 || sfail "client1 cannot ping the server after its restart"
ping_ok c2 $TUN_SRV 10 || sfail "client2 cannot ping the server after its restart"
echo "restart: both clients reconnected and ping"

# SIGUSR1: the server tells every client to reconnect (RESTART) and drops it, its
# connection closed after the message (sluice counts tcpsrv.hangups); both come back.
kill -USR1 "$SRV"
for i in 1 2; do
	wait_for 30 eval "[ \$(grep -c 'Initialization Sequence Completed' c$i.log) -ge 3 ]" ||
		sfail "client$i did not reconnect within 30 s of the server's SIGUSR1"
done
ping_ok c1 $TUN_SRV 10 || sfail "client1 cannot ping the server after SIGUSR1"
ping_ok c2 "$A1" 10 || ping_ok c2 "$(cli_addr c1)" 10 || sfail "client2 cannot ping client1 after SIGUSR1"
if [ "$SERVER_IMPL" = sluice ]; then
	kill -USR2 "$SRV"
	wait_for 5 grep -q "tcpsrv.hangups=2" srv2.log || sfail "tcpsrv.hangups=2 not in the SIGUSR2 dump"
fi
echo "SIGUSR1: both clients told to reconnect, their connections closed; back and pinging"

# A client that leaves closes its connection: the server ends its session at once
# (stock closes the client instance on the TCP close), well before ping-restart.
wait_for 5 eval '[ "$(st_count)" -eq 2 ]' || sfail "status: $(st_count) clients after the restart"
cli_stop c2 || sfail "client2 did not exit cleanly on SIGTERM"
wait_for 4 st_lacks client2 || sfail "client2 still listed 4 s after its connection closed"
[ "$SERVER_IMPL" != sluice ] || [ "$(st_global tcp_closed)" -ge 1 ] ||
	sfail "GLOBAL_STATS tcp_closed did not count client2's close"
echo "close: client2's session ended with its connection"
cli_stop c1 || sfail "client1 did not exit cleanly on SIGTERM"
echo "server_tcp ($SERVER_IMPL, $WRAP): PASS in $((SECONDS - T0)) s"
exit 0
