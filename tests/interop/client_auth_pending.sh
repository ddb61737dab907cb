#!/bin/bash
# client_auth_pending.sh - the 2.6 server messages a client meets during
# authentication, from a stock OpenVPN 2.6 server whose authentication runs
# through its management interface (management-client-auth; the answers come
# from tests/interop/mgmt_auth.py):
#   1  AUTH_PENDING: client-pending-auth with a 30 s timeout, then success
#      2 s later. The server sends "AUTH_PENDING,timeout 30" (the client
#      announced AUTH_PENDING_KW) and "INFO_PRE,<extra>". The client must
#      log both, show state=AUTH_PENDING (and info=<extra>) in its status
#      file meanwhile, and come up.
#   2  AUTH_FAILED,TEMP[backoff 4]: the first attempt is refused with a
#      temporary reason, the second accepted. The client must not exit, must
#      wait at least 4 s before its next attempt, and then come up.
#   3  AUTH_FAILED (not TEMP): the client exits non-zero by itself.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/python3 missing).
. "$(dirname "$0")/stock.lib"
command -v python3 >/dev/null || { echo "client_auth_pending: SKIP (python3 missing)"; exit 77; }
MGMT=$(dirname "$(readlink -f "$0")")/mgmt_auth.py

cd "$WORK"
stock_pki slap
stock_net
printf 'alice\ns3cret\n' >up.txt
chmod 600 up.txt

# run_case NAME ACTIONS: a fresh stock server with its management helper, and the client.
run_case() {
	stock_server_conf "srv-$1.conf" 1194
	printf '%s\n' "management $WORK/mgmt-$1.sock unix" "management-client-auth" \
		>>"srv-$1.conf"
	stock_server_start "srv-$1.conf" "srv-$1.log"
	SRVPID=$SRV
	spawn "$NS_S" timeout 120 python3 "$MGMT" "$WORK/mgmt-$1.sock" 110 "$2" \
		>"mgmt-$1.log" 2>&1
	MGMTPID=$LAST_PID
	# A CONNECT the helper misses is never sent again: it must listen first.
	wait_for 10 grep -q "mgmt_auth: connected" "mgmt-$1.log" ||
		{ cat "mgmt-$1.log"; fail "$1: the management helper did not connect"; }
	stock_client_conf "cli-$1.conf" 1194
	printf '%s\n' "auth-user-pass $WORK/up.txt" "status $WORK/st-$1.txt 1" >>"cli-$1.conf"
	stock_client_start "cli-$1.conf" "cli-$1.log"
}

end_case() {
	stock_stop "$CLI" || true
	stock_stop "$MGMTPID" || true
	stock_stop "$SRVPID" || true
}

# 1: AUTH_PENDING with a timeout, then success.
run_case pending "pending:30:WEB_AUTH::https://sso.example/login"
saw_state=0
for _ in $(seq 1 300); do
	grep -q "^state=AUTH_PENDING" st-pending.txt 2>/dev/null && { saw_state=1; break; }
	grep -q "Initialization Sequence Completed" cli-pending.log && break
	sleep 0.1
done
stock_client_up cli-pending.log || { tail -n 30 srv-pending.log; fail "pending: no tunnel"; }
grep -q "AUTH_PENDING received, extending handshake timeout from 60s to 30s" cli-pending.log ||
	{ cat cli-pending.log; fail "pending: AUTH_PENDING,timeout 30 not taken"; }
grep -q "Info command was pushed by server ('WEB_AUTH::https://sso.example/login')" \
	cli-pending.log || { cat cli-pending.log; fail "pending: INFO_PRE not logged"; }
[ $saw_state -eq 1 ] || fail "pending: the status file never showed state=AUTH_PENDING"
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 $TUN_SRV >/dev/null 2>&1 ||
	fail "pending: no ping through the tunnel"
sleep 1.5
grep -q "^state=CONNECTED" st-pending.txt || fail "pending: state is not CONNECTED once up"
end_case
echo "case 1 (AUTH_PENDING,timeout 30 + INFO_PRE): tunnel up after the pending auth"

# 2: AUTH_FAILED,TEMP[backoff 4], then success.
run_case temp "temp:4:try again later,ok"
stock_client_up cli-temp.log || { tail -n 30 srv-temp.log; fail "temp: no tunnel after the retry"; }
grep -q "auth-temp-failure" cli-temp.log || { cat cli-temp.log; fail "temp: not taken as TEMP"; }
pause=$(grep -o "Restart pause, [0-9.]* second" cli-temp.log | head -n 1 | awk '{ print $3 }')
awk -v p="${pause:-0}" 'BEGIN { exit !(p >= 4) }' ||
	{ cat cli-temp.log; fail "temp: restart pause ${pause:-none} s, backoff asked for 4 s"; }
ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 $TUN_SRV >/dev/null 2>&1 ||
	fail "temp: no ping through the tunnel"
end_case
echo "case 2 (AUTH_FAILED,TEMP[backoff 4]): retried after ${pause} s, tunnel up"

# 3: a plain AUTH_FAILED is final.
run_case deny "deny:go away"
exited=0
for _ in $(seq 1 300); do
	kill -0 "$CLI" 2>/dev/null || { exited=1; break; }
	sleep 0.1
done
[ $exited -eq 1 ] || { cat cli-deny.log; fail "deny: client still running after 30 s"; }
rc=0
stock_stop "$CLI" || rc=$?
[ $rc -ne 0 ] || fail "deny: client exited 0"
grep -q "AUTH_FAILED,go away" cli-deny.log || { cat cli-deny.log; fail "deny: reason not logged"; }
stock_stop "$MGMTPID" || true
stock_stop "$SRVPID" || true
echo "case 3 (AUTH_FAILED): client exited with status $rc"
echo "client_auth_pending: PASS"
exit 0
