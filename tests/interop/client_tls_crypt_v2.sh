#!/bin/bash
# client_tls_crypt_v2.sh - the sluice client with a tls-crypt-v2 client key against a
# stock 2.6 server: HARD_RESET_CLIENT_V3 with the wrapped client key, early
# negotiation (replay id from 0x0f000000), the server's RESEND_WKC request answered
# with P_CONTROL_WKC_V1; then ping through the tunnel and a clean exit.
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
openvpn --genkey tls-crypt-v2-server v2srv.key >/dev/null
openvpn --genkey tls-crypt-v2-client v2cli.key --tls-crypt-v2 v2srv.key >/dev/null
stock_server_conf srv.conf 1341
stock_client_conf cli.conf 1341
echo "tls-crypt-v2 $WORK/v2srv.key" >>srv.conf
echo "tls-crypt-v2 $WORK/v2cli.key" >>cli.conf
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || { tail -n 20 srv.log | sed 's/^/server: /'; fail "client did not come up"; }
ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 || { cat ping.log; fail "ping"; }
stock_stop "$CLI" || fail "client did not exit 0 on SIGTERM"
echo "client_tls_crypt_v2: PASS"
exit 0
