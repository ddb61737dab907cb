#!/bin/bash
# client_outage.sh - the tunnel's own path failing, against a stock 2.6
# server pushing keepalive 2 10:
#   1  a 30 s blackout (nft drops the server's UDP both ways): the client
#      goes STALLED (no-response) within the keepalive interval, then
#      RECONNECTING (ping-restart) at ping-restart, and is CONNECTED again
#      after the blackout ends - the same process, never exiting; the
#      status file tells each state with its reason while it happens;
#   2  the server killed with SIGKILL and started again 3 s later: the
#      client is back within ping-restart plus a few seconds.
# Recovery times are printed (OUTAGE_STOCK=1 runs a stock client through
# the same for the figure beside it).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/nft missing).
STOCK_TAG=slog
. "$(dirname "$0")/stock.lib"
command -v nft >/dev/null || { echo "client_outage: SKIP (nft missing)"; exit 77; }
SRV_IP=198.18.88.1

cd "$WORK"
stock_pki slog
netns_add "$NS_S"
netns_add "$NS_C"
veth_pair "$NS_S" slog-s0 $SRV_IP/24 "$NS_C" slog-c0 198.18.88.2/24
stock_server_conf srv.conf 1194
echo "keepalive 2 10" >>srv.conf
stock_server_start srv.conf srv.log
SRVPID=$SRV
stock_client_conf cli.conf 1194
printf '%s\n' "status $WORK/st.txt 1" >>cli.conf

now_ms() { echo $(($(date +%s%N) / 1000000)); }
st() { awk -F= -v k="$1" '$1 == k { print $2 }' st.txt 2>/dev/null; }
state_is() { [ "$(st state)" = "$1" ]; }
up_ping() { wait_for "$1" ip netns exec "$NS_C" ping -c 1 -W 1 $TUN_SRV; }
blackout_on() {
	ip netns exec "$NS_S" nft -f - <<'EOF'
table inet slog_drop {
	chain in {
		type filter hook input priority 0;
		udp dport 1194 drop
	}
	chain out {
		type filter hook output priority 0;
		udp sport 1194 drop
	}
}
EOF
}
blackout_off() { ip netns exec "$NS_S" nft delete table inet slog_drop; }

if [ "${OUTAGE_STOCK:-0}" = 1 ]; then
	spawn "$NS_C" openvpn --config cli.conf --log "$WORK/cli.log"
	CLI=$LAST_PID
else
	stock_client_start cli.conf cli.log
fi
stock_client_up cli.log || fail "client did not come up"
up_ping 10 || fail "no tunnel traffic"

# 1: blackout.
blackout_on
t0=$(now_ms)
if [ "${OUTAGE_STOCK:-0}" != 1 ]; then
	wait_for 6 state_is STALLED || fail "blackout: no STALLED within 6 s (state $(st state))"
	[ "$(st state_reason)" = no-response ] || fail "blackout: STALLED reason '$(st state_reason)'"
	t_stall=$(($(now_ms) - t0))
	wait_for 15 eval 'grep -q "state: RECONNECTING (ping-restart)" cli.log' ||
		fail "blackout: no RECONNECTING (ping-restart) within 15 s"
	t_rec=$(($(now_ms) - t0))
fi
sleep $((30 - ($(now_ms) - t0) / 1000))
blackout_off
t1=$(now_ms)
up_ping 60 || { tail -n 20 cli.log; fail "blackout: not back within 60 s after it ended"; }
t_back=$(($(now_ms) - t1))
kill -0 "$CLI" 2>/dev/null || fail "blackout: the client exited"
if [ "${OUTAGE_STOCK:-0}" != 1 ]; then
	wait_for 5 state_is CONNECTED || fail "blackout: state $(st state) once back"
	# The first reset is resent every 4 s at most (stock doubles: 2, 4, 8, 16 s).
	[ "$t_back" -le 10000 ] || fail "blackout: back only ${t_back} ms after it ended"
	echo "case 1: blackout 30 s: STALLED after ${t_stall} ms, RECONNECTING (ping-restart)" \
		"after ${t_rec} ms, traffic back ${t_back} ms after the blackout ended"
else
	echo "case 1 (stock client): traffic back ${t_back} ms after the 30 s blackout ended"
fi

# 2: server killed and restarted.
kill -KILL "$SRVPID"
wait "$SRVPID" 2>/dev/null || true
sleep 3
: >srv2.log
spawn "$NS_S" openvpn --config srv.conf --log "$WORK/srv2.log"
SRVPID=$LAST_PID
wait_for 10 grep -q "Initialization Sequence Completed" srv2.log || fail "server did not restart"
t2=$(now_ms)
up_ping 40 || { tail -n 20 cli.log; fail "server restart: not back within 40 s"; }
t_srv=$(($(now_ms) - t2))
kill -0 "$CLI" 2>/dev/null || fail "server restart: the client exited"
[ "$t_srv" -le 16000 ] || [ "${OUTAGE_STOCK:-0}" = 1 ] ||
	fail "server restart: back after $t_srv ms, more than ping-restart (10 s) + 6 s"
echo "case 2: server SIGKILLed, restarted 3 s later: traffic back ${t_srv} ms after it" \
	"listened again"
stock_stop "$CLI" || true
echo "client_outage: PASS"
exit 0
