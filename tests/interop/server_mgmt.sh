#!/bin/bash
# server_mgmt.sh - a server's management interface with management-client-auth,
# on TCP with a password file, driven the way an admin tool drives stock's
# (and the same script passes against the stock server, SERVER_IMPL=stock).
#
#   ns s: the server (sluice or stock), management 127.0.0.1 7505 PWFILE
#   three stock clients client1..client3
#
# Checks, on one management connection kept open throughout:
#  1. the password prompt; >CLIENT:CONNECT,CID,KID with ENV lines
#     (common_name, untrusted_ip, IV_*) and ENV,END
#  2. client-auth-nt admits client1; client-auth with a text block
#     ("ifconfig-push") admits client2 at the address the text gave it;
#     client-deny refuses client3, which gets AUTH_FAILED with our text
#  3. >CLIENT:ADDRESS and >CLIENT:ESTABLISHED; status 2 lists both clients;
#     load-stats counts 2; bytecount 1 gives >BYTECOUNT_CLI: lines
#  4. kill CN drops client1 (>CLIENT:DISCONNECT, stock's SUCCESS line), which
#     reconnects (RESTART) and is admitted again; kill IP:port drops client2;
#     client-kill CID HALT makes client1 exit
#  5. wrong arguments get stock's ERROR lines
# and with sluice, `sluice status` (table, JSON) and `metrics` (per client).
# Exit 0 pass, 1 fail, 77 skip.
SRVT_TAG=slsm
. "$(dirname "$0")/server.lib"
M="$TOP/tests/interop/mgmt_client.py"
cd "$WORK"
srv_pki 3
srv_net c1 c2 c3
srv_conf srv.conf
echo "secret" >mpw.txt
cat >>srv.conf <<EOF
management 127.0.0.1 7505 $WORK/mpw.txt
management-client-auth
EOF
# sluice's own: a Prometheus endpoint (stock has none).
[ "$SERVER_IMPL" = sluice ] && echo "metrics 127.0.0.1 9178" >>srv.conf
# Stock's management-client-auth wants a user name and password from every client.
for i in 1 2 3; do
	cli_conf "cli$i.conf" "client$i"
	printf 'user%s\npass%s\n' "$i" "$i" >"up$i.txt"
	echo "auth-user-pass $WORK/up$i.txt" >>"cli$i.conf"
done
srv_start srv.conf srv.log

# The management connection: steps come through a FIFO as the test goes.
mkfifo mq.in
ip netns exec "$NS_S" python3 "$M" --password secret --timeout 30 --stdin 127.0.0.1:7505 \
	<mq.in >mq.out 2>&1 &
MQ=$!
PIDS_STARTED+=("$MQ")
exec 8>mq.in
# mq STEP: one step of mgmt_client.py; fails the test when it fails.
mq() {
	local n
	n=$(grep -c '^#' mq.out || true)
	printf '%s\n' "$1" >&8
	wait_for 40 eval "[ \$(grep -c '^#' mq.out) -gt $n ]" || sfail "no answer to step '$1'"
	tail -n 1 mq.out | grep -q '^#ok ' || { cat mq.out; sfail "management step failed: $1"; }
}
mq_has() { grep -q -- "$1" mq.out || { cat mq.out; sfail "management output lacks: $1"; }; }
reg_log mq.out

# ---- 1 + 2: admission decided over the socket ----
mq "pid"	# logged in: notifications from now on reach us
cli_start c1 cli1.conf c1.log
mq "=^>CLIENT:CONNECT,(?P<c1>[0-9]+),(?P<k1>[0-9]+)$"
mq "=^>CLIENT:ENV,common_name=client1$"
mq "=^>CLIENT:ENV,END$"
mq "client-auth-nt {c1} {k1}"
cli_up c1 || sfail "client1 did not come up after client-auth-nt"
mq_has "^>CLIENT:ENV,untrusted_ip=198.18.60.11$"
mq_has "^>CLIENT:ENV,username=user1$"
mq_has "^>CLIENT:ENV,IV_PROTO="
mq_has "^SUCCESS: client-auth command succeeded$"
mq "=^>CLIENT:ESTABLISHED,{c1}$"
echo "[ok] CONNECT with ENV, client-auth-nt, ESTABLISHED"

cli_start c2 cli2.conf c2.log
mq "=^>CLIENT:CONNECT,(?P<c2>[0-9]+),(?P<k2>[0-9]+)$"
mq "=^>CLIENT:ENV,END$"
mq "+client-auth {c2} {k2}|ifconfig-push 198.19.60.77 255.255.255.0|END"
cli_up c2 || sfail "client2 did not come up after client-auth"
wait_for 5 eval '[ "$(cli_addr c2)" = 198.19.60.77 ]' ||
	sfail "client2 has $(cli_addr c2), not the address of the client-auth text"
mq "=^>CLIENT:ADDRESS,{c2},198\.19\.60\.77,1$"
mq "=^>CLIENT:ESTABLISHED,{c2}$"
echo "[ok] client-auth with a text block: client2 at 198.19.60.77"

cli_start c3 cli3.conf c3.log
mq "=^>CLIENT:CONNECT,(?P<c3>[0-9]+),(?P<k3>[0-9]+)$"
mq "=^>CLIENT:ENV,END$"
mq "client-deny {c3} {k3} \"denied by test\" \"go away\""
wait_log "${CPID[c3]}" 15 c3.log "AUTH_FAILED,go away" ||
	sfail "client3 did not get AUTH_FAILED with the client reason"
cli_stop c3 || true
echo "[ok] client-deny: AUTH_FAILED,go away"

# ---- 3: status, load-stats, bytecount ----
mq "status 2"
mq_has "^CLIENT_LIST,client1,198.18.60.11:[0-9]*,"
mq_has "^CLIENT_LIST,client2,198.18.60.12:[0-9]*,198.19.60.77,"
mq "load-stats"
mq_has "^SUCCESS: nclients=2,bytesin=[0-9]*,bytesout=[0-9]*$"
mq "bytecount 1"
mq "=^>BYTECOUNT_CLI:{c1},[0-9]+,[0-9]+$"
mq "bytecount 0"
mq "state"
mq_has "^[0-9]*,CONNECTED,SUCCESS,$TUN_SRV,,,$SRV_IP,1194$"
echo "[ok] status 2, load-stats, bytecount, state"

# `sluice status` on a second connection (stock serves one client at a time).
if [ "$SERVER_IMPL" = sluice ]; then
	ip netns exec "$NS_S" "$SLUICE" status --password-file mpw.txt 127.0.0.1:7505 >st.txt 2>&1 ||
		{ cat st.txt; sfail "sluice status on the server: exit $?"; }
	cat st.txt
	grep -q "^  clients *2 connected" st.txt && grep -q " client2 .* 198.19.60.77 " st.txt ||
		sfail "sluice status: no two clients"
	ip netns exec "$NS_S" "$SLUICE" status --json --password-file mpw.txt 127.0.0.1:7505 >st.json
	python3 - st.json <<'PY' || sfail "sluice status --json: $(cat st.json)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["role"] == "server" and j["state"] == "CONNECTED", j
cl = {c["cn"]: c for c in j["clients"]}
assert cl["client2"]["tun_ipv4"] == "198.19.60.77" and cl["client1"]["state"] == "CONNECTED", cl
assert cl["client1"]["cipher"] == "AES-256-GCM" and cl["client1"]["next_rekey"] > 0, cl
PY
	echo "[ok] sluice status: the server's clients, table and JSON"
	ip netns exec "$NS_S" curl -fsS -o metrics.txt http://127.0.0.1:9178/metrics ||
		sfail "curl /metrics failed"
	python3 "$TOP/tests/interop/metrics_check.py" metrics.txt 'sluice_up{role="server"}' \
		'sluice_server_clients' "sluice_client_bytes_total{cid=\"0\",cn=\"client1\",direction=\"rx\"}" \
		>mc.txt || { cat mc.txt; sfail "bad exposition"; }
	cat mc.txt
	grep -q '^sluice_server_clients 2$' mc.txt || sfail "sluice_server_clients is not 2"
	grep -q '^sluice_server_events_total{event="sessions_created"} ' metrics.txt ||
		sfail "no server event series"
	echo "[ok] metrics: per-client series, clients 2"
fi

# ---- 4: kill by CN, by address, client-kill ----
mq "kill client1"
mq_has "^SUCCESS: common name 'client1' found, 1 client(s) killed$"
mq "=^>CLIENT:DISCONNECT,{c1}$"
mq "=^>CLIENT:ENV,END$"
# Killed with RESTART: it comes back at once and asks again.
mq "=^>CLIENT:CONNECT,(?P<c1>[0-9]+),(?P<k1>[0-9]+)$"
mq "=^>CLIENT:ENV,END$"
mq "client-auth-nt {c1} {k1}"
mq "=^>CLIENT:ESTABLISHED,{c1}$"
echo "[ok] kill client1: DISCONNECT, reconnected, admitted again"

addr2=$(st_field client2 3)
port2=${addr2##*:}
[ "${addr2%:*}" = 198.18.60.12 ] && [ -n "$port2" ] || sfail "client2's address in the status: '$addr2'"
mq "kill 198.18.60.12:$port2"
mq_has "^SUCCESS: 1 client(s) at address 198.18.60.12:$port2 killed$"
mq "=^>CLIENT:DISCONNECT,{c2}$"
echo "[ok] kill IP:port"

mq "client-kill {c1} HALT"
mq_has "^SUCCESS: client-kill command succeeded$"
wait_for 15 eval '! kill -0 ${CPID[c1]} 2>/dev/null' || sfail "client1 did not exit on HALT"
echo "[ok] client-kill CID HALT: client1 exited"

# ---- 5: stock's errors ----
mq "kill nosuch"
mq_has "^ERROR: common name 'nosuch' not found$"
mq "kill 1.2.3.4:5"
mq_has "^ERROR: client at address 1.2.3.4:5 not found$"
mq "kill 1.2.3.4:x"
mq_has "^ERROR: port number is out of range: x$"
mq "kill"
mq_has "^ERROR: the 'kill' command requires 1 parameter$"
mq "client-kill 999"
mq_has "^ERROR: client-kill command failed$"
mq "client-auth-nt 999 1"
mq_has "^ERROR: client-auth command failed$"
mq "client-deny 999 1 x"
mq_has "^ERROR: client-deny command failed$"
mq "signal FOO"
mq_has "^ERROR: signal 'FOO' is not a known signal type$"
mq "hold"
mq_has "^SUCCESS: hold=0$"
echo "[ok] stock's error lines"
mq "exit"
exec 8>&-
echo "server_mgmt ($SERVER_IMPL): PASS"
exit 0
