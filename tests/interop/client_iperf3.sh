#!/bin/bash
# client_iperf3.sh - iperf3 through a sluice client <-> stock OpenVPN 2.6 tunnel,
# 3 s client->server then 3 s server->client (-R). Prints Mbit/s each way
# (informational only; never asserted) and requires > 0 bytes received.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl/iperf3 missing).
command -v iperf3 >/dev/null || { echo "client_iperf3: SKIP (iperf3 missing)"; exit 77; }
command -v python3 >/dev/null || { echo "client_iperf3: SKIP (python3 missing)"; exit 77; }
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
stock_server_conf srv.conf 1194
stock_client_conf cli.conf 1194
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"

spawn "$NS_S" iperf3 -s -B $TUN_SRV -p 5201 >iperf3-s.log 2>&1
IPS=$LAST_PID
# iperf3 -s has no ready signal; poll its listening socket.
wait_for 5 sh -c "ip netns exec $NS_S ss -Htln | grep -q ':5201'" || fail "iperf3 -s did not listen"

# run DIR-NAME [iperf3 args]: one 3 s run; prints Mbit/s, fails on 0 bytes.
run() {
	local what=$1; shift
	timeout 20 ip netns exec "$NS_C" iperf3 -c $TUN_SRV -p 5201 -t 3 -J "$@" >"$what.json" 2>&1 ||
		{ cat "$what.json"; fail "iperf3 $what failed"; }
	python3 - "$what" "$what.json" <<'PY' || fail "iperf3 $what: no bytes received"
import json, sys
r = json.load(open(sys.argv[2]))["end"]["sum_received"]
print("%-18s %8.1f Mbit/s  (%d bytes in %.1f s)" % (sys.argv[1], r["bits_per_second"] / 1e6, r["bytes"], r["seconds"]))
sys.exit(0 if r["bytes"] > 0 else 1)
PY
}
run client-to-server
run server-to-client -R
stock_stop "$CLI" || { sed 's/^/client: /' cli.log; fail "client did not exit 0 on SIGTERM"; }
echo "client_iperf3: PASS"
exit 0
