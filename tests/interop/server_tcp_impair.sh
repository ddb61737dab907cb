#!/bin/bash
# server_tcp_impair.sh - OpenVPN over TCP through the impairment proxy's
# stream mode (tests/tools/impair.py --proto tcp), both ends ours by default.
#
#   ns c1 (client) == ns c1-p (impair.py --proto tcp) == ns s (server, proto tcp-server)
#
# The proxy writes every chunk in pieces of 1..5 bytes with 10 ms delay and
# up to 20 ms jitter, so both ends see length prefixes and frames cut at
# every offset and, when pieces pile up, coalesced. Checked:
#   1. the client comes up through it and 20 pings (1400-byte payloads, so
#      frames span many pieces) all come back;
#   2. a 4 s blackout (nothing relayed, bytes held): the session rides it out
#      with no reconnect, and pings work after it;
#   3. a reset of the connection both ways (SIGUSR1): the client notices,
#      connects again through the proxy and pings;
#   4. the proxy counted no bad frame (zero length) before the reset, and
#      relayed frames both ways.
# The client is the sluice client; CLIENT_IMPL=stock uses stock openvpn.
# Both servers must pass (SERVER_IMPL=stock).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3 missing).
. "$(dirname "$0")/server.lib"
. "$(dirname "$0")/hard.lib"
CLIENT_IMPL=${CLIENT_IMPL:-sluice}

cd "$WORK"
srv_pki 1
srv_net
hard_proxy_net c1
srv_conf srv.conf
sed -i 's/^proto udp$/proto tcp-server/' srv.conf
echo "keepalive 5 30" >>srv.conf
srv_start srv.conf srv.log
cli_conf c1.conf client1
sed -i -e 's/^proto udp$/proto tcp-client/' -e "s/^remote .*/remote $PROXY_IP 1194/" c1.conf
cat >>c1.conf <<EOF
connect-timeout 5
connect-retry 1 2
EOF
proxy_start 1194 --proto tcp --split-max 5 --delay 10 --jitter 20 --blackout-len 4 --duration 120
case $CLIENT_IMPL in
sluice) cli_start_sluice c1 c1.conf c1.log ;;
stock) cli_start c1 c1.conf c1.log ;;
*) fail "CLIENT_IMPL must be sluice or stock" ;;
esac
cli_up c1 45 || sfail "$CLIENT_IMPL client did not come up through the TCP proxy"
nc=$(grep -c "Initialization Sequence Completed" c1.log)
ping_ok c1 $TUN_SRV 20 || sfail "no ping through the split stream"
ip netns exec "$(ns_of c1)" ping -c 20 -i 0.1 -s 1400 -W 3 $TUN_SRV >ping1.log 2>&1 ||
	{ cat ping1.log; sfail "pings lost through the split stream (TCP loses nothing)"; }
echo "split stream: $(grep -o '[0-9]* received' ping1.log) of 20"

# 2. A blackout: bytes wait in the proxy; the session must not restart.
kill -USR2 "$PROXY"
sleep 1
ip netns exec "$(ns_of c1)" ping -c 1 -W 1 $TUN_SRV >/dev/null 2>&1 &&
	echo "note: a ping crossed during the blackout (it had started before it)"
sleep 3.5
ping_ok c1 $TUN_SRV 20 || sfail "no ping after the 4 s blackout"
[ "$(grep -c 'Initialization Sequence Completed' c1.log)" -eq "$nc" ] ||
	sfail "the client reconnected during a 4 s blackout (keepalive 5 30)"
grep -q "blackout" proxy.err || sfail "the proxy did not log the blackout"
echo "blackout: 4 s, session kept"

# 4 (before the reset cuts frames): no zero-length frame went through either way.
cp proxy.stats stats-before-reset
for d in up down; do
	[ "$(kv ${d}_bad_frames stats-before-reset)" = 0 ] ||
		sfail "proxy saw a bad frame $d: $(cat stats-before-reset)"
	[ "$(kv ${d}_frames stats-before-reset)" -gt 20 ] ||
		sfail "proxy relayed few frames $d: $(cat stats-before-reset)"
done

# 3. A reset both ways: the client must connect again.
kill -USR1 "$PROXY"
wait_for 60 sh -c "[ \$(grep -c 'Initialization Sequence Completed' c1.log) -gt $nc ]" ||
	sfail "the client did not come back after the connection reset"
ping_ok c1 $TUN_SRV 20 || sfail "no ping after the reconnect"
proxy_stop
echo "proxy: $(tr '\n' ' ' <proxy.out)"
[ "$(kv resets proxy.out)" -ge 1 ] && [ "$(kv conns proxy.out)" -ge 2 ] ||
	sfail "expected a reset and a second connection: $(cat proxy.out)"
cli_stop c1 || true
echo "server_tcp_impair ($SERVER_IMPL server, $CLIENT_IMPL client): PASS"
exit 0
