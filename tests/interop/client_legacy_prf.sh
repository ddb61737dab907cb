#!/bin/bash
# client_legacy_prf.sh - data keys from OpenVPN's TLS1-PRF method (openvpn-wire.md
# §5.2) instead of the TLS exporter: the client does not announce TLS_KEY_EXPORT
# (test-no-ekm), so the stock 2.6 server pushes no tls-ekm and both sides derive
# the keys from the key-method-2 randoms and session ids. The server renegotiates
# every 5 s; a 12 s ping must see zero loss across the PRF-derived keys.
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
stock_server_conf srv.conf 1351
stock_client_conf cli.conf 1351
echo "reneg-sec 5" >>srv.conf
echo "test-no-ekm" >>cli.conf
stock_server_start srv.conf srv.log
stock_client_start cli.conf cli.log
stock_client_up cli.log || fail "client did not come up"
grep -q "key derivation: openvpn-prf" cli.log || { grep "Data Channel" cli.log; fail "not the PRF path"; }
ip netns exec "$NS_C" ping -c 48 -i 0.25 -W 2 $TUN_SRV >ping.log 2>&1 || true
tail -n 3 ping.log
grep -q " 0% packet loss" ping.log || { sed 's/^/client: /' cli.log | tail -n 30; fail "packet loss"; }
n=$(grep -c "key derivation: openvpn-prf" cli.log)
[ "$n" -ge 2 ] || fail "expected at least one renegotiation with PRF keys, saw $n derivations"
stock_stop "$CLI" || fail "client did not exit 0 on SIGTERM"
echo "client_legacy_prf: PASS ($n PRF derivations)"
exit 0
