#!/bin/bash
# server_tls_crypt_v2.sh - tls-crypt-v2 on the server: a server key from
# `openvpn --genkey tls-crypt-v2-server`, a client key wrapped with it by
# `openvpn --genkey tls-crypt-v2-client`. A 2.6 client announces early
# negotiation (HARD_RESET_CLIENT_V3 + WKc, replay ids from 0x0f000000), the
# server asks it to resend the WKc, and the handshake finishes on
# P_CONTROL_WKC_V1. One stock client connects and pings; a second client
# holding a client key wrapped by another server key must not get in.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 2
srv_net c1 c2
openvpn --genkey tls-crypt-v2-server v2srv.key >/dev/null
openvpn --genkey tls-crypt-v2-client v2cli.key --tls-crypt-v2 v2srv.key >/dev/null
openvpn --genkey tls-crypt-v2-server other-srv.key >/dev/null
openvpn --genkey tls-crypt-v2-client other-cli.key --tls-crypt-v2 other-srv.key >/dev/null
srv_conf srv.conf
echo "tls-crypt-v2 $WORK/v2srv.key" >>srv.conf
srv_start srv.conf srv.log

cli_conf c1.conf client1
echo "tls-crypt-v2 $WORK/v2cli.key" >>c1.conf
cli_start c1 c1.conf c1.log
cli_up c1 || sfail "client1 (tls-crypt-v2) did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
ip netns exec "$(ns_of c1)" ping -c 5 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
	{ cat ping.log; sfail "client1: repeated ping lost packets"; }
wait_for 5 st_has client1 || sfail "status never listed client1"
echo "client1 with a tls-crypt-v2 client key: up, ping ok"

# A client key the server did not wrap: its WKc fails authentication.
cli_conf c2.conf client2
echo "tls-crypt-v2 $WORK/other-cli.key" >>c2.conf
cli_start c2 c2.conf c2.log
sleep 5
! grep -q "Initialization Sequence Completed" c2.log ||
	sfail "client2 with a foreign tls-crypt-v2 key came up"
st_lacks client2 || sfail "client2 with a foreign tls-crypt-v2 key is in the status file"
cli_stop c2 || true
ping_ok c1 $TUN_SRV || sfail "client1 stopped working after the foreign key attempt"
echo "client2 with a foreign client key: refused"

cli_stop c1 || sfail "client1 did not exit cleanly"
echo "server_tls_crypt_v2 ($SERVER_IMPL): PASS"
exit 0
