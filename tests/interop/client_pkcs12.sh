#!/bin/bash
# client_pkcs12.sh - the sluice client with a PKCS#12 bundle against a stock
# OpenVPN 2.6 server.
#
#   1  `pkcs12 FILE` (client certificate, key and the CA) encrypted with a
#      passphrase, `askpass FILE` holding it, no ca/cert/key lines: the tunnel
#      comes up and pings.
#   2  the same bundle inline (<pkcs12> with its base64 text, as stock reads
#      it) beside `ca`: up and pings.
#   3  a wrong passphrase in the askpass file: the client exits non-zero at
#      once, saying the passphrase was wrong, and never connects.
#   4  no askpass and no terminal: exits non-zero saying the bundle needs a
#      passphrase and how to give it.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/stock.lib"

cd "$WORK"
stock_pki slmx
stock_net
openssl pkcs12 -export -in slmx-client.crt -inkey slmx-client.key -certfile ca.crt \
	-passout pass:p12-s3cret -out client.p12 2>/dev/null || fail "openssl pkcs12 -export failed"
printf 'p12-s3cret\n' >pass.txt
printf 'not-it\n' >wrong.txt
chmod 600 pass.txt wrong.txt client.p12
stock_server_conf srv.conf 1194
stock_server_start srv.conf srv.log

# p12_conf NAME: the base client config without its ca/cert/key lines.
p12_conf() {
	stock_client_conf "$1.conf.tmp" 1194
	grep -v -E '^(ca|cert|key) ' "$1.conf.tmp" >"$1.conf"
	rm -f "$1.conf.tmp"
}

# up_case NAME: the client comes up, pings the server, exits 0 on SIGTERM.
up_case() {
	stock_client_start "$1.conf" "$1.log"
	stock_client_up "$1.log" || { tail -n 20 srv.log; fail "$1: client did not come up"; }
	ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 $TUN_SRV >ping.log 2>&1 ||
		{ cat ping.log; fail "$1: ping failed"; }
	stock_stop "$CLI" || { sed 's/^/client: /' "$1.log"; fail "$1: client did not exit 0"; }
	wait_for 5 stock_client_noaddr || fail "$1: tun address left behind"
}

# refused_case NAME MESSAGE: exits non-zero within 10 s, logs MESSAGE, no tunnel.
# setsid: no controlling terminal even when the tests run from one (no prompt).
refused_case() {
	local rc=0
	spawn "$NS_C" setsid -w "$SLUICE" --config "$1.conf" >"$1.log" 2>&1 </dev/null
	CLI=$LAST_PID
	wait_for 10 eval '! kill -0 $CLI 2>/dev/null' ||
		{ sed 's/^/client: /' "$1.log"; fail "$1: client still running after 10 s"; }
	stock_stop "$CLI" || rc=$?
	[ $rc -ne 0 ] || { sed 's/^/client: /' "$1.log"; fail "$1: client exited 0"; }
	grep -q "$2" "$1.log" || { sed 's/^/client: /' "$1.log"; fail "$1: no '$2' in the log"; }
	! grep -q "Initialization Sequence Completed" "$1.log" || fail "$1: the client came up"
	echo "$1: exit $rc: $(grep -o "TLS: .*" "$1.log" | head -n 1)"
}

# 1: bundle file + askpass file.
p12_conf file
printf '%s\n' "pkcs12 $WORK/client.p12" "askpass $WORK/pass.txt" >>file.conf
up_case file
echo "case 1 (pkcs12 file, askpass file): tunnel up, ping ok"

# 2: inline bundle beside ca.
p12_conf inline
{
	echo "ca $WORK/ca.crt"
	echo "askpass $WORK/pass.txt"
	echo "<pkcs12>"
	openssl base64 -in client.p12
	echo "</pkcs12>"
} >>inline.conf
up_case inline
echo "case 2 (inline <pkcs12>, ca): tunnel up, ping ok"

# 3: wrong passphrase.
p12_conf wrong
printf '%s\n' "pkcs12 $WORK/client.p12" "askpass $WORK/wrong.txt" >>wrong.conf
refused_case wrong "wrong passphrase for pkcs12 '$WORK/client.p12'"

# 4: no passphrase at all, and no terminal to ask on.
p12_conf nopass
printf '%s\n' "pkcs12 $WORK/client.p12" >>nopass.conf
refused_case nopass "is encrypted and no passphrase was given: use askpass FILE"
echo "client_pkcs12: PASS"
exit 0
