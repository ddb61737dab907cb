#!/bin/bash
# server_impair_handshake.sh - full handshakes through 20% loss each way.
#
#   ns lg (bench/loadgen) == ns lg-p (tests/tools/impair.py) == ns s (server)
#
# The load generator runs $HS_N complete client start-ups (reset, TLS 1.3 with
# client certificates, key-method 2, PUSH_REQUEST/PUSH_REPLY, keys; then EXIT),
# all at once, through the impairment proxy, which drops 20% of the datagrams
# in each direction (seeded). Target (issue 14): at least 99% of them within
# 30 s each, judged from HS_N=100 up (HS_PCT 99 there). A run of 20 asks for
# 95% (19 of 20): a handshake of ~8 round trips, each lost with p=0.36
# (20% each way), needs one message through in 5 tries now and then, and at
# 2+4+4+4+4 s that is a real, rare 30 s tail (1 run in 16 under ASan, seen
# with stock's own 2.6 server too, 98 of 100), not a hang. A stall in one
# stage (no answer to 8 resets) prints the session's counters. Both servers
# must pass (SERVER_IMPL=stock).
#
#   env: HS_N (20), HS_SEED (1), HS_LOSS (0.2), HS_PCT (95 below 100 sessions, else 99)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3/loadgen missing).
. "$(dirname "$0")/server.lib"
. "$(dirname "$0")/hard.lib"
hard_need_loadgen
HS_N=${HS_N:-20} HS_SEED=${HS_SEED:-1} HS_LOSS=${HS_LOSS:-0.2}

cd "$WORK"
srv_pki 1
srv_net
hard_proxy_net lg
openvpn --genkey tls-crypt tc.key >/dev/null
srv_conf srv.conf
cat >>srv.conf <<EOF
tls-crypt $WORK/tc.key
duplicate-cn
keepalive 10 120
EOF
srv_start srv.conf srv.log
lg_conf lg.conf $PROXY_IP
echo "tls-crypt $WORK/tc.key" >>lg.conf
proxy_start 1194 --loss "$HS_LOSS" --seed "$HS_SEED" --duration 120

HS_PCT=${HS_PCT:-$([ "$HS_N" -ge 100 ] && echo 99 || echo 95)}
need=$(( (HS_N * HS_PCT + 99) / 100 ))
t0=$SECONDS
lg_run lg lg.out --config lg.conf -n "$HS_N" -c "$HS_N" --hs-timeout 30 -t 45 --seed "$HS_SEED"
echo "loadgen ($((SECONDS - t0)) s): $(tr '\n' ' ' <lg.out)"
proxy_stop
echo "proxy: $(tr '\n' ' ' <proxy.out)"
ok=$(kv ok lg.out)
lost_up=$(kv up_lost proxy.out) rx_up=$(kv up_rx proxy.out)
lost_dn=$(kv down_lost proxy.out) rx_dn=$(kv down_rx proxy.out)
echo "handshakes_ok=$ok of $HS_N (need $need) loss=$HS_LOSS" \
	"p50_ms=$(kv p50_ms lg.out) p99_ms=$(kv p99_ms lg.out) max_ms=$(kv max_ms lg.out)" \
	"dropped_up=$lost_up/$rx_up dropped_down=$lost_dn/$rx_dn"
[ "$rx_up" -gt 0 ] && [ "$lost_up" -gt $((rx_up / 10)) ] ||
	sfail "the proxy did not impair the client's side ($lost_up of $rx_up dropped)"
[ "$ok" -ge "$need" ] || { cat lg.out.err; false; } ||
	sfail "$ok of $HS_N handshakes completed within 30 s through ${HS_LOSS} loss, need $need ($HS_PCT%)"
if [ "$SERVER_IMPL" = sluice ]; then
	sleep 1.5
	echo "server: sessions_created=$(st_global sessions_created)" \
		"clients_active=$(st_global clients_active) exits=$(st_global exits)"
fi
echo "server_impair_handshake ($SERVER_IMPL): PASS"
exit 0
