#!/bin/bash
# client_mgmt.sh - the sluice client's management interface, driven the way a
# GUI drives stock's, against a stock 2.6 server.
#
#   ns s: stock openvpn server (auth-user-pass-verify: user1/pw1 only)
#   ns c: sluice client, `management SOCK unix`, management-hold,
#         management-query-passwords, auth-user-pass without a file
#
# Checks, on one management connection (A) with a second one (B) watching:
#  1. >HOLD at start; nothing is sent to the server before `hold release`
#  2. >PASSWORD:Need 'Auth' username/password; the credentials given over
#     the socket reach the server (its script accepts only user1/pw1)
#  3. >STATE: lines live, in stock's format, through CONNECTED; B (a second
#     client at the same time) sees them too
#  4. bytecount 1 gives >BYTECOUNT: lines; status gives stock's client format
#  5. `signal SIGUSR1`: RECONNECTING,SIGUSR1, >HOLD again (the hold flag stays),
#     no new password query, CONNECTED again after `hold release`
#  6. hostile input on a third connection (garbage, NUL bytes, a 100 KB line,
#     a flood of commands it never reads the answers of) gets ERROR lines,
#     and neither ctrl nor the data plane stalls: A still answers, pings
#     through the tunnel still pass
#  7. `signal SIGTERM`: EXITING, the client exits 0, the socket file is gone
# and on the way `sluice status` (table, JSON, exit 0 up / 1 held) and the
# `metrics` endpoint (curl, a valid exposition, 404, 405).
# Exit 0 pass, 1 fail, 77 skip.
STOCK_TAG=slmc
. "$(dirname "$0")/stock.lib"
M="$TOP/tests/interop/mgmt_client.py"
cd "$WORK"
stock_pki slmc
stock_net
stock_server_conf srv.conf 1352
cat >auth.sh <<'EOF'
#!/bin/sh
[ "$username" = user1 ] && [ "$password" = pw1 ]
EOF
chmod 755 auth.sh
cat >>srv.conf <<EOF
keepalive 2 10
script-security 3
auth-user-pass-verify $WORK/auth.sh via-env
EOF
stock_client_conf cli.conf 1352
cat >>cli.conf <<EOF
management $WORK/mgmt.sock unix
management-hold
management-query-passwords
auth-user-pass
metrics 127.0.0.1 9177
verb 3
EOF
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
wait_for 10 test -S mgmt.sock || { cat cli.log; fail "no management socket"; }

# B: a second connection, watching the state changes the whole time.
python3 "$M" --timeout 50 "$WORK/mgmt.sock" "state on" "=>STATE:[0-9]+,CONNECTED," \
	"=>STATE:[0-9]+,RECONNECTING,SIGUSR1" "=>STATE:[0-9]+,CONNECTED," >b.txt 2>&1 &
BPID=$!

# ---- 1 to 4: hold, password, state, bytecount, status ----
sleep 1
grep -q "TLS: Initial packet from" srv.log && fail "the client talked to the server before hold release"
python3 "$M" --timeout 30 "$WORK/mgmt.sock" hold "state on" "=^>HOLD:Waiting for hold release:0$" \
	"hold release" "=^>PASSWORD:Need 'Auth' username/password$" \
	'username "Auth" user1' 'password "Auth" pw1' \
	"=^>STATE:[0-9]+,CONNECTED,SUCCESS,198\.19\.77\.2,198\.18\.77\.1,1352,,$" \
	state "bytecount 1" "=^>BYTECOUNT:[0-9]+,[0-9]+$" "bytecount 0" status pid >a1.txt 2>&1 ||
	{ cat a1.txt; sed 's/^/client: /' cli.log | tail -n 30; fail "hold / password / connect"; }
grep -q "^SUCCESS: hold=1$" a1.txt || fail "hold flag not 1 at start: $(cat a1.txt)"
grep -q "^SUCCESS: 'Auth' password entered, but not yet verified$" a1.txt || fail "password reply"
# Stock's order; GET_CONFIG only if we had to ask (a 2.6 server pushes early, so not here).
order=$(sed -n 's/^>STATE:[0-9]*,\([A-Z_]*\),.*/\1/p' a1.txt | tr '\n' ' ')
case "$order" in
*"WAIT AUTH "*"ASSIGN_IP "*CONNECTED*) ;;
*) grep STATE a1.txt; fail "live >STATE: lines not in stock's order: $order" ;;
esac
for s in WAIT AUTH; do
	grep -q "^>STATE:[0-9]*,$s,,,,,,$" a1.txt || { grep STATE a1.txt; fail "no live >STATE:...,$s in stock's format"; }
done
grep -q "^>STATE:[0-9]*,ASSIGN_IP,,198.19.77.2,,,,$" a1.txt || fail "no ASSIGN_IP with the address"
grep -q "^OpenVPN STATISTICS$" a1.txt && grep -q "^TCP/UDP read bytes,[1-9]" a1.txt ||
	fail "status is not stock's client format: $(cat a1.txt)"
grep -q "^SUCCESS: pid=$CLI$" a1.txt || fail "pid is not the client's"
grep -q "username=user1" srv.log 2>/dev/null || grep -q "user1" srv.log ||
	grep -q "Peer Connection Initiated" srv.log || fail "the server did not accept the credentials"
echo "[ok] hold at start, password over the socket, >STATE: live, bytecount, status"

# `sluice status`: a table for people, JSON for tools, exit 0 while up.
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >/dev/null || fail "no ping through the tunnel"
"$SLUICE" status "$WORK/mgmt.sock" >st.txt 2>&1 || { cat st.txt; fail "sluice status: exit $? while up"; }
cat st.txt
grep -q "^  state *CONNECTED" st.txt && grep -q "^  cipher *AES-256-GCM, key 0 in use" st.txt ||
	fail "sluice status: no CONNECTED state or cipher line"
grep -q "^  data plane *cpu tun_rx [0-9.]*s, encrypt .*; fullest ring [a-z_0-9]* [0-9]* of [0-9]*$" st.txt ||
	fail "sluice status: no data plane line (stage CPU, fullest ring)"
"$SLUICE" status --json "$WORK/mgmt.sock" >st.json || fail "sluice status --json: exit $?"
python3 - st.json <<'PY' || fail "sluice status --json: $(cat st.json)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["role"] == "client" and j["state"] == "CONNECTED", j
assert j["tun_ipv4"] == "198.19.77.2" and j["remote"] == "198.18.77.1:1352", j
assert j["cipher"] == "AES-256-GCM" and j["next_rekey"] > j["key_since"] > 0, j
assert j["tun_rx_pkts"] >= 3 and j["tun_tx_pkts"] >= 3, j
assert j["last_auth_rx"] > 0 and isinstance(j["drops"], dict), j
assert j["counters"]["udp_rx.rx_pkts"] > 0, j
PY
echo "[ok] sluice status: table and JSON, exit 0 while up"

# The Prometheus endpoint: a valid exposition with the tunnel's series.
ip netns exec "$NS_C" curl -fsS -o metrics.txt http://127.0.0.1:9177/metrics ||
	fail "curl /metrics failed"
python3 "$TOP/tests/interop/metrics_check.py" metrics.txt 'sluice_up{role="client"}' \
	'sluice_state{state="CONNECTED"}' 'sluice_stage_packets_total{stage="udp_rx",direction="rx"}' \
	'sluice_drops_total{stage="udp_rx",reason="replay"}' >mc.txt || { cat mc.txt; fail "bad exposition"; }
cat mc.txt
grep -q '^sluice_up{role="client"} 1$' mc.txt || fail "sluice_up is not 1 while connected"
grep -q '^sluice_thread_cpu_seconds_total{thread="sl-tun-rx",' metrics.txt || fail "no per-stage CPU series"
grep -q '^sluice_stage_cpu_seconds_total{stage="encrypt"} ' metrics.txt || fail "no stage CPU clock series"
grep -q '^sluice_ring_high_water_packets{ring="dec_out0"} [1-9]' metrics.txt ||
	fail "no ring high-water mark for dec_out0 (or it stayed 0 after traffic)"
grep -Eq '^sluice_ring_capacity_packets{ring="enc_out0"} [0-9]+$' metrics.txt || fail "no ring capacity series"
code=$(ip netns exec "$NS_C" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9177/other)
[ "$code" = 404 ] || fail "GET /other: HTTP $code, want 404"
code=$(ip netns exec "$NS_C" curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9177/metrics)
[ "$code" = 405 ] || fail "POST /metrics: HTTP $code, want 405"
echo "[ok] metrics: valid exposition, sluice_up 1, stage and drop series, 404, 405"

# ---- 5: a reconnect seen live ----
python3 "$M" --timeout 30 "$WORK/mgmt.sock" "state on" "signal SIGUSR1" \
	"=^>STATE:[0-9]+,RECONNECTING,SIGUSR1,,,,,$" "=^>HOLD:Waiting for hold release:1$" \
	>a2.txt 2>&1 || { cat a2.txt; fail "reconnect through the management interface"; }
set +e
"$SLUICE" status "$WORK/mgmt.sock" >st2.txt 2>&1
rc=$?
set -e
grep -q "^  state *RECONNECTING (sigusr1)" st2.txt && [ $rc = 1 ] ||
	{ cat st2.txt; fail "sluice status while held: exit $rc, want 1 and RECONNECTING"; }
echo "[ok] sluice status while held: RECONNECTING, exit 1"
python3 "$M" --timeout 30 "$WORK/mgmt.sock" "state on" "hold release" \
	"=^>STATE:[0-9]+,CONNECTED,SUCCESS," "hold off" "state 3" >>a2.txt 2>&1 ||
	{ cat a2.txt; fail "reconnect through the management interface"; }
grep -q "PASSWORD:Need" a2.txt && fail "the password was asked again on a reconnect"
wait "$BPID" || { cat b.txt; fail "the second connection did not see the same state changes"; }
ip netns exec "$NS_C" ping -c 2 -W 2 $TUN_SRV >/dev/null || fail "no ping after the reconnect"
echo "[ok] SIGUSR1 over the socket: RECONNECTING, hold again, CONNECTED; a second client saw it all"

# ---- 6: hostile input, a client that never reads, and a flood ----
ip netns exec "$NS_C" ping -i 0.05 -c 100 -W 1 $TUN_SRV >ping.txt 2>&1 &
PING=$!
python3 - "$WORK/mgmt.sock" >h.txt 2>&1 <<'PY' || { cat h.txt; fail "hostile input"; }
import socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(5)
    return s
def read_until(s, want, limit=5):
    buf, end = b"", time.time() + limit
    while want not in buf and time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        buf += d
    return buf
h = conn()
h.sendall(b"\x00\x01NUL\n" + b"\x01\x02garbage\xff\xfe\n" + b"A" * 100000 + b"\n" +
          b'"unterminated\n' + b"\r\n\n" + b"pid\n")
out = read_until(h, b"SUCCESS: pid=")
assert b"ERROR: NUL byte" in out, out[-300:]
assert b"ERROR: command too long" in out, out[-300:]
assert b"ERROR: cannot parse" in out, out[-300:]
assert b"ERROR: unknown command" in out, out[-300:]
assert b"SUCCESS: pid=" in out, out[-300:]
print("hostile: ERROR lines, then an answer")
# A client that asks for everything and never reads, plus one that floods commands.
slow = conn()
slow.sendall(b"log on\nstate on\nbytecount 1\n")
flood = conn()
flood.setblocking(False)
sent = 0
end = time.time() + 3
while time.time() < end:
    try:
        sent += flood.send(b"help\n" * 2000)
    except BlockingIOError:
        time.sleep(0.01)
print("flood: %d bytes sent, none read" % sent)
# ctrl still answers at once on a fresh connection.
t0 = time.time()
a = conn()
out = read_until(a, b"SUCCESS: pid=", 2) if a.sendall(b"pid\n") is None else b""
assert b"SUCCESS: pid=" in out, out
print("a fresh connection answered in %.3f s" % (time.time() - t0))
flood.close()
slow.close()
h.close()
a.close()
PY
cat h.txt
wait "$PING" || true
loss=$(grep -o '[0-9.]*% packet loss' ping.txt | cut -d% -f1)
echo "    ping during the flood: $(grep -o '[0-9]* received' ping.txt), ${loss}% loss"
[ "${loss%.*}" -le 5 ] || fail "the data plane stalled during the management flood: $(tail -n 2 ping.txt)"
kill -0 "$CLI" || fail "the client died"
echo "[ok] hostile input answered with ERROR lines; a flood and a reader that never reads stall nothing"

# ---- 7: exit through the socket ----
python3 "$M" --timeout 10 "$WORK/mgmt.sock" "state on" "signal SIGTERM" \
	"=^>STATE:[0-9]+,EXITING," >a3.txt 2>&1 || { cat a3.txt; fail "SIGTERM over the socket"; }
stock_stop "$CLI" || fail "client did not exit 0"
[ ! -e mgmt.sock ] || fail "the socket file is left behind"
echo "[ok] signal SIGTERM: EXITING, exit 0, socket removed"
echo "client_mgmt: PASS"
exit 0
