#!/bin/bash
# server_flood_keyless.sh - a server without tls-auth or tls-crypt, flooded from
# 2046 source addresses, answers no more than its reply budget and keeps no state.
#
#   ns fl (server_flood.py; owns 10.80.0.0/21 on lo) == br0 in ns s (server)
#
# Without a control-channel key anyone can send a valid HARD_RESET_CLIENT_V2, so
# the only limit is connect-freq-initial (here 100 10: 100 answers per 10 s). The
# generator sends (seeded, paced at 2000/s, from every address of the /21 in turn):
#   resets   $FLOOD_N unwrapped resets: answered at most 100 + 10/s over the time
#            the generator sent and listened, at least once; no session created;
#   third    $FLOOD_N forged third packets (P_ACK_V1 naming a random server session
#            id): never answered, no session.
# Then client1, a stock client, still connects (the budget refills) and pings.
# With SERVER_IMPL=sluice also: sessions_created stays 0 through the floods,
# firstpkt_reply equals the replies received, answered + over-budget resets equal
# what was sent, and every forged third packet is counted as a first-packet drop.
#
#   env: FLOOD_N (3000), FLOOD_SEED (1)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3 missing).
. "$(dirname "$0")/server.lib"
. "$(dirname "$0")/hard.lib"
FLOOD=$(cd "$(dirname "$0")" && pwd)/server_flood.py
FLOOD_N=${FLOOD_N:-3000} FLOOD_SEED=${FLOOD_SEED:-1}
CIDR=10.80.0.0/21

cd "$WORK"
srv_pki 1
srv_net c1
hard_swarm_net fl $CIDR
srv_conf srv.conf
echo "connect-freq-initial 100 10" >>srv.conf
srv_start srv.conf srv.log

# st TAG: the sluice counters into TAG.st (after one status rewrite).
st() {
	[ "$SERVER_IMPL" = sluice ] || return 0
	sleep 1.2
	st_snap | awk -F, '$1 == "GLOBAL_STATS" { print $2 "=" $3 }' >"$1.st"
}
delta() { echo $(($(dp_get "$2.st" "$3") - $(dp_get "$1.st" "$3"))); }
gen() {
	local tag=$1 mode=$2
	ip netns exec "$(ns_of fl)" python3 "$FLOOD" --mode "$mode" --dst $SRV_IP:1194 \
		--sources $CIDR --count "$FLOOD_N" --seed "$FLOOD_SEED" --linger 1.5 >"$tag.out" 2>&1 ||
		{ cat "$tag.out"; sfail "flood generator ($mode) failed"; }
	echo "$tag: $(cat "$tag.out")"
	[ "$(kv sources "$tag.out")" -ge 2000 ] || sfail "$tag: fewer than 2000 source addresses"
}

st s0
gen resets reset-keyless
st s1
replies=$(kv replies resets.out) sent=$(kv sent resets.out)
budget=$(awk -v d="$(kv duration_s resets.out)" 'BEGIN { printf "%d", 100 + 10 * (d + 1.5) + 0.999 }')
echo "resets: replies=$replies budget=$budget sent=$sent from $(kv reply_sources resets.out) addresses"
[ "$replies" -gt 0 ] || sfail "no reset was answered: the generator's resets are wrong"
[ "$replies" -le "$budget" ] || sfail "$replies replies to keyless resets, the budget allows $budget"
gen third third-forged
st s2
[ "$(kv replies third.out)" -eq 0 ] || sfail "forged third packets were answered"
[ "$(st_count)" -eq 0 ] || sfail "the server lists $(st_count) clients after the floods"
if [ "$SERVER_IMPL" = sluice ]; then
	drops=$(awk -F= 'NR == FNR { a[$1] = $2; next }
		$1 ~ /^firstpkt_/ && $1 != "firstpkt_reply" && $1 != "firstpkt_create" { n += $2 - a[$1] }
		END { print n + 0 }' s1.st s2.st)
	echo "sluice: resets: firstpkt_reply +$(delta s0 s1 firstpkt_reply)" \
		"firstpkt_reply_budget +$(delta s0 s1 firstpkt_reply_budget);" \
		"third: first-packet drops +$drops (bad_cookie +$(delta s1 s2 firstpkt_bad_cookie));" \
		"sessions_created $(dp_get s2.st sessions_created)"
	[ "$(dp_get s2.st sessions_created)" -eq 0 ] || sfail "the floods created sessions"
	[ "$(delta s0 s1 firstpkt_reply)" -eq "$replies" ] ||
		sfail "firstpkt_reply rose by $(delta s0 s1 firstpkt_reply), $replies replies received"
	[ $(($(delta s0 s1 firstpkt_reply) + $(delta s0 s1 firstpkt_reply_budget))) -eq "$sent" ] ||
		sfail "answered + over-budget resets is not the $sent sent"
	[ "$drops" -eq "$(kv sent third.out)" ] ||
		sfail "first-packet drops rose by $drops, $(kv sent third.out) forged third packets sent"
fi

# A real client still gets in once the budget refilled.
sleep 2
cli_conf c1.conf client1
cli_start c1 c1.conf c1.log
cli_up c1 || sfail "client1 did not come up after the floods"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
cli_stop c1 || sfail "client1 did not exit cleanly"
echo "server_flood_keyless ($SERVER_IMPL): PASS"
exit 0
