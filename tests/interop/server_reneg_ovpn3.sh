#!/bin/bash
# server_reneg_ovpn3.sh - server-started renegotiation every 5 s (reneg-sec 5)
# for 80 s, with two clients pinging the server through the tunnel 5 times a
# second the whole time:
#   client1  a peer in the OpenVPN 3 core's order: the sluice client with
#            test-reneg-ovpn3 (no soft reset of its own: it answers the
#            server's soft reset with an ack and its ClientHello at once;
#            it keeps sending on its old key until 60 s after the new one is
#            ready, and a soft reset before then throws the new key away);
#   client2  a stock 2.6 client.
# tls-crypt wraps the first key, so renegotiations run under dynamic
# tls-crypt (both clients announce it).
#
# Against the sluice server: zero pings lost by either client, every
# renegotiation the server started completed (the one in flight at the end
# excepted), at least 10 completed with the stock client, at least one with
# client1, and no TLS error. Against the stock server (SERVER_IMPL=stock),
# which drops its old key at each renegotiation: the stock client must still
# lose nothing; client1's losses are printed, not judged (the baseline).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

SECS=${SECS:-80}
COUNT=$((SECS * 5))

cd "$WORK"
srv_pki 2
srv_net c1 c2
openvpn --genkey tls-crypt tc.key >/dev/null
srv_conf srv.conf
{ echo "reneg-sec 5"; echo "tls-crypt $WORK/tc.key"; } >>srv.conf
cli_conf c1.conf client1
{ echo "tls-crypt $WORK/tc.key"; echo "test-reneg-ovpn3"; } >>c1.conf
cli_conf c2.conf client2
echo "tls-crypt $WORK/tc.key" >>c2.conf
srv_start srv.conf srv.log
cli_start_sluice c1 c1.conf c1.log
cli_start c2 c2.conf c2.log
cli_up c1 || sfail "client1 (OpenVPN 3 order) did not come up within 30 s"
cli_up c2 || sfail "client2 (stock) did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
ping_ok c2 $TUN_SRV || sfail "client2 cannot ping the server"

# Both ping streams run at once; each is bounded in count and time.
ip netns exec "$(ns_of c1)" timeout $((SECS + 30)) ping -i 0.2 -c $COUNT -W 2 $TUN_SRV \
	>ping1.log 2>&1 &
p1=$!
ip netns exec "$(ns_of c2)" timeout $((SECS + 30)) ping -i 0.2 -c $COUNT -W 2 $TUN_SRV \
	>ping2.log 2>&1 &
p2=$!
wait $p1 || true
wait $p2 || true
kill -0 "${CPID[c1]}" 2>/dev/null || sfail "client1 exited during the test"
kill -0 "${CPID[c2]}" 2>/dev/null || sfail "client2 exited during the test"

received() { grep -o '[0-9]* received' "$1" | awk '{ print $1 }'; }
r1=$(received ping1.log)
r2=$(received ping2.log)
r1=${r1:-0}
r2=${r2:-0}
echo "client1 (OpenVPN 3 order): $r1 of $COUNT pings answered"
echo "client2 (stock 2.6):       $r2 of $COUNT pings answered"
[ "$r2" -eq $COUNT ] || sfail "the stock client lost $((COUNT - r2)) pings across renegotiations"

if [ "$SERVER_IMPL" = stock ]; then
	n=$(grep -c "TLS: soft reset" srv.log || true)
	echo "stock server: $n soft resets, client1 lost $((COUNT - r1)) pings (baseline, not judged)"
	echo "server_reneg_ovpn3 ($SERVER_IMPL): PASS"
	exit 0
fi
[ "$r1" -eq $COUNT ] || sfail "client1 (OpenVPN 3 order) lost $((COUNT - r1)) pings"
! grep -qE "TLS Error|AUTH_FAILED" srv.log c1.log c2.log ||
	sfail "a TLS error in a log"

# Per client: renegotiations the server started, and key_ids > 0 that got keys.
started() { grep -c "\[$1\] TLS: soft reset sec=" srv.log || true; }
done_() { grep -c "\[$1\] Data Channel: .*key_id [1-7]$" srv.log || true; }
s1=$(started client1); d1=$(done_ client1)
s2=$(started client2); d2=$(done_ client2)
holds=$(grep -c "\[client1\] TLS: next renegotiation waits" srv.log || true)
echo "client1: $s1 started, $d1 completed, $holds hold(s) while it kept its old key"
echo "client2: $s2 started, $d2 completed"
[ "$d1" -ge 1 ] || sfail "no renegotiation completed with client1"
[ "$d2" -ge 10 ] || sfail "only $d2 renegotiations completed with the stock client"
[ "$d1" -ge $((s1 - 1)) ] || sfail "client1: $s1 renegotiations started, $d1 completed"
[ "$d2" -ge $((s2 - 1)) ] || sfail "client2: $s2 renegotiations started, $d2 completed"

grep -q "protocol-flags cc-exit tls-ekm dyn-tls-crypt" c2.log ||
	sfail "the server did not push dyn-tls-crypt to the stock client"

cli_stop c1 || sfail "client1 did not exit cleanly"
cli_stop c2 || sfail "client2 did not exit cleanly"

echo "server_reneg_ovpn3 ($SERVER_IMPL): PASS"
exit 0
