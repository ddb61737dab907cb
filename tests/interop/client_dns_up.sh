#!/bin/bash
# client_dns_up.sh - pushed dhcp-option DNS/DOMAIN against a stock 2.6 server.
# Case 1: the client has `up`/`down` scripts (script-security 2): they run with
#         OpenVPN's arguments and environment, the DNS settings arrive as
#         foreign_option_N, and the client log says DNS was handed to the script.
# Case 2: no script and (on this machine) no resolvectl/resolvconf: the client
#         must say plainly that the pushed DNS was not applied (skipped where a
#         resolver tool exists, so the test never touches the host's DNS).
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
cat >up.sh <<'SH'
#!/bin/sh
{ echo "args=$*"; env | grep -E '^(script_type|dev|tun_mtu|ifconfig_local|ifconfig_netmask|route_vpn_gateway|foreign_option_[0-9]+|trusted_ip)=' | sort; } >"$(dirname "$0")/$script_type.out"
SH
chmod +x up.sh
stock_server_conf srv.conf 1331
printf 'push "dhcp-option DNS 198.19.77.53"\npush "dhcp-option DOMAIN vpn.example"\n' >>srv.conf
stock_client_conf cli.conf 1331
printf 'script-security 2\nup %s/up.sh\ndown %s/up.sh\n' "$WORK" "$WORK" >>cli.conf
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"
[ -s up.out ] || { sed 's/^/client: /' cli.log; fail "the up script did not run"; }
sed 's/^/    up: /' up.out
grep -q "^args=tun[0-9]* 1500 0 198.19.77.2 255.255.255.0 init$" up.out || fail "up arguments"
grep -q "^foreign_option_1=dhcp-option DNS 198.19.77.53$" up.out || fail "foreign_option_1"
grep -q "^foreign_option_2=dhcp-option DOMAIN vpn.example$" up.out || fail "foreign_option_2"
grep -q "^script_type=up$" up.out || fail "script_type"
grep -q "DNS: 198.19.77.53 domain vpn.example handed to the up script" cli.log || fail "DNS log line"
stock_stop "$CLI" || fail "client did not exit 0"
grep -q "^script_type=down$" down.out 2>/dev/null || fail "the down script did not run"
echo "[ok] up/down scripts with foreign_option_N"

if command -v resolvectl >/dev/null || command -v resolvconf >/dev/null; then
	echo "[skip] no-script case: a resolver tool is installed (would touch the host's DNS)"
else
	stock_client_conf cli2.conf 1331
	stock_client_start cli2.conf cli2.log
	stock_client_up cli2.log || fail "client 2 did not come up"
	grep -q "WARNING: pushed DNS 198.19.77.53 domain vpn.example NOT applied" cli2.log ||
		{ sed 's/^/client: /' cli2.log; fail "no clear 'DNS not applied' warning"; }
	stock_stop "$CLI" || fail "client 2 did not exit 0"
	echo "[ok] no resolver: clear warning"
fi
echo "client_dns_up: PASS"
exit 0
