#!/bin/bash
# server_churn.sh - 200 connect/disconnect cycles leak nothing.
#
#   ns lg (bench/loadgen, 198.18.60.11) == br0 in ns s (server)
#
# The load generator runs $CHURN_N complete client start-ups (reset, TLS 1.3
# with a client certificate, key-method 2, PUSH_REQUEST/PUSH_REPLY, keys),
# each followed by EXIT, $CHURN_C at a time. A warm-up round of as many first, so
# the heap, the TLS caches and the thread arenas are at their working size;
# then the server's open fds (/proc/PID/fd), VmRSS and listed clients are
# counted before and after the measured round, once the server lists no
# client any more. Checks: every cycle completed, the status file lists no
# client, fds are back to the count before, RSS grew by at most
# $CHURN_RSS_KB (default 512 KiB, 2.5 KiB a cycle; measured: about 130 KiB
# with sluice, after the warm-up round of $CHURN_N), and with
# SERVER_IMPL=sluice: sessions_created and exits rose by exactly $CHURN_N,
# clients_active is 0, session_failures and the data plane's peer count did
# not move, and no data-plane drop counter rose.
#
#   env: CHURN_N (200), CHURN_C (10), CHURN_RSS_KB (512)
#
# Under a sanitizer build of sluice the RSS bound is not applied (see hard_san).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3/loadgen missing).
. "$(dirname "$0")/server.lib"
. "$(dirname "$0")/hard.lib"
hard_need_loadgen
CHURN_N=${CHURN_N:-200} CHURN_C=${CHURN_C:-10} CHURN_RSS_KB=${CHURN_RSS_KB:-512}

cd "$WORK"
srv_pki 1
srv_net lg
srv_conf srv.conf
cat >>srv.conf <<EOF
duplicate-cn
keepalive 10 120
max-clients 1000
connect-freq-initial 100000 10
EOF
srv_start srv.conf srv.log
lg_conf lg.conf $SRV_IP

# settle: no client listed (stock keeps an exited client's instance a few seconds).
settle() {
	sleep 1.5 # one status rewrite after the last handshake
	wait_for 15 eval '[ "$(st_count)" -eq 0 ]' ||
		sfail "the server still lists $(st_count) clients 15 s after the last EXIT"
	[ "$SERVER_IMPL" = stock ] || wait_for 5 eval '[ "$(st_global clients_active)" -eq 0 ]' ||
		sfail "clients_active is $(st_global clients_active), expected 0"
	sleep 1
}

# snap TAG: fds, RSS and (sluice) counters of the server into TAG.*.
snap() {
	echo "fds=$(proc_fds "$SRV") rss_kb=$(proc_rss_kb "$SRV") threads=$(proc_threads "$SRV")" \
		"clients=$(st_count)" >"$1.proc"
	if [ "$SERVER_IMPL" = sluice ]; then
		st_snap | awk -F, '$1 == "GLOBAL_STATS" { print $2 "=" $3 }' >"$1.st"
		dp_stats "$SRV" srv.log "$1.dp"
	fi
}

lg_run lg warm.out --config lg.conf -n "$CHURN_N" -c "$CHURN_C" -t 45 --hs-timeout 10
[ "$(kv ok warm.out)" -eq "$CHURN_N" ] || sfail "warm-up: $(tr '\n' ' ' <warm.out)"
settle
snap before
t0=$SECONDS
lg_run lg churn.out --config lg.conf -n "$CHURN_N" -c "$CHURN_C" -t 45 --hs-timeout 10
echo "loadgen ($((SECONDS - t0)) s): $(tr '\n' ' ' <churn.out)"
ok=$(kv ok churn.out)
[ "$ok" -eq "$CHURN_N" ] || sfail "$ok of $CHURN_N connect/disconnect cycles completed"
settle
snap after
echo "before: $(cat before.proc)"
echo "after:  $(cat after.proc)"
fd0=$(kv fds before.proc) fd1=$(kv fds after.proc)
rss0=$(kv rss_kb before.proc) rss1=$(kv rss_kb after.proc)
echo "churn ($SERVER_IMPL): cycles=$ok fds $fd0 -> $fd1, rss_kb $rss0 -> $rss1" \
	"(+$((rss1 - rss0)) KiB, bound $CHURN_RSS_KB), clients $(kv clients after.proc)"
[ "$(kv clients after.proc)" -eq 0 ] || sfail "the server lists $(kv clients after.proc) clients"
[ "$fd1" -le "$fd0" ] || sfail "open fds grew from $fd0 to $fd1 over $CHURN_N cycles"
hard_san || [ $((rss1 - rss0)) -le "$CHURN_RSS_KB" ] ||
	sfail "RSS grew by $((rss1 - rss0)) KiB over $CHURN_N cycles (bound $CHURN_RSS_KB)"
if [ "$SERVER_IMPL" = sluice ]; then
	d() { echo $(($(dp_get after.st "$1") - $(dp_get before.st "$1"))); }
	echo "sluice: sessions_created +$(d sessions_created) exits +$(d exits)" \
		"clients_connected +$(d clients_connected) session_failures +$(d session_failures)"
	[ "$(d sessions_created)" -eq "$CHURN_N" ] ||
		sfail "sessions_created rose by $(d sessions_created), expected $CHURN_N"
	[ "$(d exits)" -eq "$CHURN_N" ] || sfail "exits rose by $(d exits), expected $CHURN_N"
	[ "$(d session_failures)" -eq 0 ] || sfail "session_failures rose by $(d session_failures)"
	[ "$(dp_get after.st clients_active)" -eq 0 ] || sfail "clients_active is not 0"
	hard_dp_same before.dp after.dp || sfail "data-plane counters moved (above)"
fi
echo "server_churn ($SERVER_IMPL): PASS"
exit 0
