#!/bin/bash
# server_pkcs12.sh - the server's certificate, key and CA from a PKCS#12 bundle.
#
#   1  `pkcs12 server.p12` (certificate, key and the CA that verifies the
#      clients) encrypted with a passphrase, `askpass FILE` holding it, no
#      ca/cert/key lines: a stock client (ca, cert, key as usual) comes up
#      and pings the server.
#   2  the same with a wrong passphrase in the askpass file: the server does
#      not start; it exits non-zero within 10 s (sluice says the passphrase
#      was wrong).
# Passes against the stock server too (SERVER_IMPL=stock).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 1
srv_net c1
openssl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt \
	-passout pass:srv-p12 -out server.p12 2>/dev/null || fail "openssl pkcs12 -export failed"
printf 'srv-p12\n' >pass.txt
printf 'not-it\n' >wrong.txt
chmod 600 pass.txt wrong.txt server.p12

# p12_srv_conf FILE ASKPASS: the base server config with the bundle instead of ca/cert/key.
p12_srv_conf() {
	srv_conf "$1.tmp"
	grep -v -E '^(ca|cert|key) ' "$1.tmp" >"$1"
	rm -f "$1.tmp"
	printf '%s\n' "pkcs12 $WORK/server.p12" "askpass $WORK/$2" >>"$1"
}

# 1: the right passphrase.
p12_srv_conf srv.conf pass.txt
srv_start srv.conf srv.log
cli_conf c1.conf client1
cli_start c1 c1.conf c1.log
cli_up c1 || sfail "client1 did not come up within 30 s"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
cli_stop c1 || sfail "client1 did not exit cleanly"
srv_stop
echo "case 1 (pkcs12 + askpass file): client up, ping ok"

# 2: a wrong passphrase: no server.
p12_srv_conf bad.conf wrong.txt
: >bad.log
reg_log bad.log
case $SERVER_IMPL in
stock) spawn "$NS_S" openvpn --config bad.conf --log bad.log ;;
sluice) spawn "$NS_S" setsid -w "$SLUICE" --config bad.conf >bad.log 2>&1 </dev/null ;;
esac
pid=$LAST_PID
wait_for 10 eval '! kill -0 $pid 2>/dev/null' || sfail "wrong passphrase: server still running after 10 s"
rc=0
pid_stop "$pid" || rc=$?
[ $rc -ne 0 ] || sfail "wrong passphrase: server exited 0"
! grep -q "Initialization Sequence Completed" bad.log || sfail "wrong passphrase: server started"
if [ "$SERVER_IMPL" = sluice ]; then
	grep -q "wrong passphrase for pkcs12 '$WORK/server.p12'" bad.log ||
		sfail "wrong passphrase: the log does not say so"
fi
echo "case 2 (wrong passphrase): server exit $rc, not started"
echo "server_pkcs12 ($SERVER_IMPL): PASS"
exit 0
