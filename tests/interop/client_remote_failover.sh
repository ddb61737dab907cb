#!/bin/bash
# client_remote_failover.sh - the sluice client walks its connection list the
# way a stock 2.6 client does over UDP, against stock 2.6 servers.
#
# Servers (one namespace, same PKI): S1 port 1361 tunnel 198.19.77.0/24,
# S2 port 1362 tunnel 198.19.78.0/24 (explicit-exit-notify 2: its shutdown
# pushes RESTART,[N]), S3 port 1363 tunnel 198.19.79.0/24 with tls-crypt
# (explicit-exit-notify 2). S1 and S2 push keepalive 1 5. Port 1999: nothing.
# Client: server-poll-timeout 5.
#
# Case 1: remotes 1999, 1361, 1362: the dead first remote gets no answer,
#         server-poll-timeout moves on to S1; ping S1's tunnel address.
# Case 2: S1 killed: ping-restart; stock tries the remote that was up once
#         more (no_advance), then the next: S2; ping S2's tunnel address.
# Case 3: S1 back, S2 shut down: RESTART,[N] moves on at once, wrapping
#         around to the dead first remote, then S1 again.
# Case 4: <connection> blocks: 1999 plain, 1363 with its own tls-crypt key,
#         1361 plain: up on S3 (tls-crypt), then S3's RESTART,[N] takes the
#         client to S1 without tls-crypt: the wrapping follows the entry.
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
STOCK_TAG=slrm
. "$(dirname "$0")/stock.lib"

inits() { grep -c "Initialization Sequence Completed" "$1" || true; }
inits_at_least() { [ "$(inits "$1")" -ge "$2" ]; }
# attempts LOG [AFTER]: the ports of the connection attempts, one a line, from line AFTER on.
attempts() {
	tail -n +"${2:-1}" "$1" | sed -n 's/.*Attempting to establish connection with \[AF_INET\][0-9.]*:\([0-9]*\) .*/\1/p'
}
lines() { wc -l <"$1"; }
dump() { sed 's/^/client: /' "$1" | tail -n 50; }
ping_tunnel() {
	ip netns exec "$NS_C" ping -c 3 -i 0.3 -W 2 "$1" >ping.log 2>&1 ||
		{ cat ping.log; dump "$3"; fail "no ping to $1 after $2"; }
}
# drop_pid PID: forget a process that is already gone (no cleanup kill).
drop_pid() {
	local p keep=()
	for p in "${PIDS_STARTED[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS_STARTED=("${keep[@]}")
}
server_conf() {	# FILE PORT SUBNET
	stock_server_conf "$1" "$2"
	sed -i "s/^server .*/server $3 255.255.255.0/; s/^keepalive .*/keepalive 1 5/" "$1"
}

cd "$WORK"
stock_pki slrm
stock_net
server_conf s1.conf 1361 198.19.77.0
server_conf s2.conf 1362 198.19.78.0
echo "explicit-exit-notify 2" >>s2.conf
openvpn --genkey tls-crypt tc.key >/dev/null
server_conf s3.conf 1363 198.19.79.0
printf 'explicit-exit-notify 2\ntls-crypt %s/tc.key\n' "$WORK" >>s3.conf
stock_server_start s1.conf s1.log
S1=$SRV
stock_server_start s2.conf s2.log
S2=$SRV

# ---- case 1: a dead first remote ----
stock_client_conf cli.conf 1999
printf 'remote %s 1361\nremote %s 1362\nserver-poll-timeout 5\n' $SRV_IP $SRV_IP >>cli.conf
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"
got=$(attempts cli.log | tr '\n' ' ')
[ "$got" = "1999 1361 " ] || { dump cli.log; fail "attempts '$got', want '1999 1361'"; }
grep -q "Server poll timeout, restarting" cli.log || fail "no server-poll-timeout on the dead remote"
grep -q "connection 2 of 3: remote $SRV_IP 1361" cli.log || fail "entry 2 of 3 not named in the log"
ping_tunnel 198.19.77.1 "failing over from the dead remote" cli.log
echo "[ok] dead first remote: server-poll-timeout, then connected to the second"

# ---- case 2: the server goes away: ping-restart, same remote once, then the next ----
mark=$(lines cli.log)
kill -KILL "$S1"
wait "$S1" 2>/dev/null || true
drop_pid "$S1"
wait_for 15 grep -q "Inactivity timeout (--ping-restart)" cli.log ||
	{ dump cli.log; fail "no ping-restart after the server was killed"; }
wait_for 40 inits_at_least cli.log 2 || { dump cli.log; fail "not up again after the server died"; }
got=$(attempts cli.log $((mark + 1)) | tr '\n' ' ')
[ "$got" = "1361 1362 " ] || { dump cli.log; fail "attempts after ping-restart '$got', want '1361 1362'"; }
ping_tunnel 198.19.78.1 "failing over to the second server" cli.log
echo "[ok] ping-restart: the same remote once more, then the next server"

# ---- case 3: RESTART,[N] moves on at once and wraps around ----
stock_server_start s1.conf s1b.log
S1=$SRV
mark=$(lines cli.log)
stock_stop "$S2" || true
wait_for 40 inits_at_least cli.log 3 || { dump cli.log; fail "not up again after RESTART,[N]"; }
tail -n +$((mark + 1)) cli.log | grep -q "RESTART,\[N\]" ||
	{ dump cli.log; fail "the server's RESTART,[N] was not seen"; }
got=$(attempts cli.log $((mark + 1)) | tr '\n' ' ')
[ "$got" = "1999 1361 " ] || { dump cli.log; fail "attempts after RESTART,[N] '$got', want '1999 1361'"; }
ping_tunnel 198.19.77.1 "RESTART,[N]" cli.log
echo "[ok] RESTART,[N]: next remote at once, wrapping around to the first"
stock_stop "$CLI" || fail "client did not exit 0 on SIGTERM"

# ---- case 4: per-connection tls-crypt ----
stock_server_start s3.conf s3.log
S3=$SRV
stock_client_conf cli4.conf 1999
sed -i '/^remote /d' cli4.conf
cat >>cli4.conf <<EOF
server-poll-timeout 5
<connection>
remote $SRV_IP 1999 udp
</connection>
<connection>
remote $SRV_IP 1363 udp
tls-crypt $WORK/tc.key
</connection>
<connection>
remote $SRV_IP 1361 udp
</connection>
EOF
stock_client_start cli4.conf cli4.log
stock_client_up cli4.log || fail "client did not come up on the tls-crypt entry"
got=$(attempts cli4.log | tr '\n' ' ')
[ "$got" = "1999 1363 " ] || { dump cli4.log; fail "attempts '$got', want '1999 1363'"; }
ping_tunnel 198.19.79.1 "connecting to the tls-crypt entry" cli4.log
mark=$(lines cli4.log)
stock_stop "$S3" || true
wait_for 30 inits_at_least cli4.log 2 || { dump cli4.log; fail "not up on the plain entry after the tls-crypt one"; }
got=$(attempts cli4.log $((mark + 1)) | tr '\n' ' ')
[ "$got" = "1361 " ] || { dump cli4.log; fail "attempts after RESTART,[N] '$got', want '1361'"; }
ping_tunnel 198.19.77.1 "moving from the tls-crypt entry to a plain one" cli4.log
echo "[ok] <connection> blocks: tls-crypt on its entry only, plain again on the next"

stock_stop "$CLI" || fail "client did not exit 0 on SIGTERM"
echo "client_remote_failover: PASS"
exit 0
