#!/bin/bash
# server_tcp_junk.sh - a tcp-server (SERVER_IMPL=sluice|stock, see server.lib)
# under junk TCP connections from client namespace fl (server_tcp_junk.py,
# bounded in count and time): JUNK_N each of connections that send a zero
# length prefix, an oversize one (0xffff), random bytes, or nothing and close
# at once; then JUNK_SILENT connections that send nothing and stay open (more
# than the server's connection cap: max-clients 10 gives 2 x 10 + 16 = 36).
#
# Then: the server is still up, a stock client (client1) connects and pings.
# With SERVER_IMPL=sluice also (the link's counters, from the SIGUSR2 dump):
# every zero/oversize prefix closed the connection at once (tcpsrv.
# closed_bad_len, and the generator saw the close), the silent connections
# over the cap were refused (tcpsrv.refused) and the rest closed by the
# first-frame timeout (tcpsrv.closed_silent) within 12 s; no connection is
# left open but client1's; and the server's VmRSS after the flood is within
# 2 MiB of before (both printed; not judged under a sanitizer build, see
# hard_san in hard.lib).
#
#   env: JUNK_N (100), JUNK_SILENT (45), JUNK_SEED (1)
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3 missing).
. "$(dirname "$0")/server.lib"
. "$(dirname "$0")/hard.lib"
command -v python3 >/dev/null || { echo "${0##*/}: SKIP (python3 missing)"; exit 77; }
GEN=$(cd "$(dirname "$0")" && pwd)/server_tcp_junk.py
JUNK_N=${JUNK_N:-100} JUNK_SILENT=${JUNK_SILENT:-45} JUNK_SEED=${JUNK_SEED:-1}

cd "$WORK"
srv_pki 1
srv_net fl c1
srv_conf srv.conf
sed -i 's/^proto udp$/proto tcp-server/' srv.conf
echo "max-clients 10" >>srv.conf
openvpn --genkey tls-crypt wrap.key >/dev/null
echo "tls-crypt $WORK/wrap.key" >>srv.conf
srv_start srv.conf srv.log
sleep 1
RSS0=$(proc_rss_kb "$SRV")

# dump: a fresh SIGUSR2 dump of the counters (zero ones are left out) into dump.txt.
dump() {
	local n
	n=$(wc -l <srv.log)
	kill -USR2 "$SRV"
	wait_for 5 eval "tail -n +$((n + 1)) srv.log | grep -q 'stats: tun_rx'" || sfail "no SIGUSR2 dump"
	sleep 0.3
	tail -n +$((n + 1)) srv.log >dump.txt
}
# link COUNTER: tcpsrv.COUNTER in dump.txt (0 when the dump left it out).
link() {
	local v
	v=$(grep -oE "tcpsrv\.$1=[0-9]+" dump.txt | tail -n 1 | cut -d= -f2)
	echo "${v:-0}"
}

ip netns exec "$(ns_of fl)" timeout 60 python3 "$GEN" --dst $SRV_IP:1194 --count "$JUNK_N" \
	--silent "$JUNK_SILENT" --hold 12 --seed "$JUNK_SEED" >junk.out 2>&1 ||
	{ cat junk.out; sfail "junk generator failed"; }
echo "junk: $(tr '\n' ' ' <junk.out)"
kill -0 "$SRV" 2>/dev/null || sfail "the server died under the junk connections"
[ "$(kv zero_connected junk.out)" -gt 0 ] || sfail "the generator could not connect"

if [ "$SERVER_IMPL" = sluice ]; then
	for k in zero big; do
		[ "$(kv ${k}_closed_by_server junk.out)" -eq "$(kv ${k}_connected junk.out)" ] ||
			sfail "$k prefix: not every connection was closed by the server"
	done
	[ "$(kv silent_closed_by_server junk.out)" -eq "$(kv silent_connected junk.out)" ] ||
		sfail "silent connections: not every one was closed within 12 s"
	dump
	bad=$(link closed_bad_len) refused=$(link refused) silent=$(link closed_silent)
	open=$(link open)
	echo "tcpsrv: accepted=$(link accepted) refused=$refused closed_bad_len=$bad" \
		"closed_silent=$silent closed_eof=$(link closed_eof) closed_err=$(link closed_err) open=$open"
	[ "$bad" -ge $((2 * JUNK_N)) ] || sfail "closed_bad_len $bad < $((2 * JUNK_N))"
	[ "$refused" -ge $((JUNK_SILENT - 36)) ] || sfail "refused $refused < $((JUNK_SILENT - 36))"
	[ "$silent" -ge 1 ] || sfail "no silent connection was closed by the first-frame timeout"
	[ "$open" -eq 0 ] || sfail "$open connections still open after the flood"
	sleep 1
	RSS1=$(proc_rss_kb "$SRV")
	echo "VmRSS before the flood ${RSS0} KiB, after ${RSS1} KiB ($((RSS1 - RSS0)) KiB)"
	hard_san || [ $((RSS1 - RSS0)) -lt 2048 ] || sfail "VmRSS grew $((RSS1 - RSS0)) KiB over the flood"
fi

cli_conf c1.conf client1
sed -i 's/^proto udp$/proto tcp-client/' c1.conf
printf 'connect-retry 1 1\ntls-crypt %s\n' "$WORK/wrap.key" >>c1.conf
cli_start c1 c1.conf c1.log
cli_up c1 || sfail "client1 did not come up after the junk"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server after the junk"
ping_ok s "$(cli_addr c1)" || sfail "the server cannot ping client1 after the junk"
[ "$SERVER_IMPL" != sluice ] || { dump; [ "$(link open)" -eq 1 ]; } || sfail "tcpsrv.open is not 1 with client1"
cli_stop c1 || sfail "client1 did not exit cleanly on SIGTERM"
echo "server_tcp_junk ($SERVER_IMPL): PASS"
exit 0
