#!/bin/bash
# server_sluice_client.sh - the sluice client against the server under test
# (SERVER_IMPL=sluice: sluice on both ends; stock: the usual client interop).
#
# The client is `$SLUICE --config c1.conf` with the same stock client config
# the other scripts give openvpn. It must come up, appear in the status file
# with its tun address, ping the server's tunnel address, and move data with
# iperf3 both ways (3 s each, only "more than 0 bytes" is checked); SIGTERM
# must end it with status 0 (server_exit.sh covers the server's side of the
# exit notification).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 1
srv_net c1
srv_conf srv.conf
srv_start srv.conf srv.log
cli_conf c1.conf client1
echo "explicit-exit-notify 1" >>c1.conf
cli_start_sluice c1 c1.conf c1.log
cli_up c1 || sfail "sluice client did not come up within 30 s"
a1=$(cli_addr c1)
[ -n "$a1" ] || sfail "sluice client has no tun address"
wait_for 5 eval '[ "$(st_field client1 4)" = "$a1" ]' ||
	sfail "status: client1 virtual address '$(st_field client1 4)', its tun has $a1"
ping_ok c1 $TUN_SRV || sfail "sluice client cannot ping the server"
ip netns exec "$(ns_of c1)" ping -c 10 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
	{ cat ping.log; sfail "sluice client: repeated ping lost packets"; }
echo "sluice client up as $a1, ping ok"

iperf_checks 3 c1:up c1:down

cli_stop c1 || sfail "sluice client did not exit 0 on SIGTERM"
echo "server_sluice_client ($SERVER_IMPL): PASS"
exit 0
