#!/bin/bash
# server_log_secrets.sh - no key material, password or token in any log, at
# any verbosity.
#
# A server (sluice, then stock) with tls-crypt, auth-user-pass-verify,
# auth-gen-token (its secret from a file) and reneg-sec 2, and a sluice client
# (client1's certificate and key, tls-crypt, auth-user-pass with a password),
# both at verb 1, 4, 7 and 11 in turn: the client logs in, pings, and at the
# renegotiation sends the token it was pushed instead of the password. Then
# neither log may contain (case-insensitive):
#   - any line of the tls-crypt key file or either half of it (16 hex digits),
#   - any line of the auth-token secret's PEM body,
#   - any base64 line of client1's or the server's private key PEM,
#   - the password,
#   - an auth token: "SESS_ID_AT_" followed by its base64 digits.
# With a stock server only the sluice client's log is checked: stock itself
# prints data-channel and tls-crypt keys at verb 7 and up (D_SHOW_KEYS), so its
# own log is reported, not judged. SERVER_IMPL=stock runs the stock pairing only.
#
#   env: LOG_VERBS ("1 4 7 11")
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"
LOG_VERBS=${LOG_VERBS:-1 4 7 11}
PASSWORD='Pw-q7Zr2mXk9vL4'

cd "$WORK"
srv_pki 1
srv_net c1
openvpn --genkey tls-crypt tc.key >/dev/null
openvpn --genkey auth-token secret.pem >/dev/null 2>&1 || fail "openvpn --genkey auth-token failed"
cat >verify.sh <<EOS
#!/bin/sh
[ "\$(sed -n 1p "\$1")" = alice ] && [ "\$(sed -n 2p "\$1")" = '$PASSWORD' ]
EOS
chmod 755 verify.sh
printf 'alice\n%s\n' "$PASSWORD" >c1.pass
chmod 600 c1.pass

# The fixed strings that must not show up, one a line.
{
	sed -n '/^-----BEGIN OpenVPN Static key/,/^-----END/p' tc.key | grep -v -- ----- |
		while read -r l; do echo "$l"; echo "${l:0:16}"; echo "${l:16:16}"; done
	for f in secret.pem client1.key server.key; do
		grep -v -- ----- "$f" | awk 'length($0) >= 16'
	done
	echo "$PASSWORD"
} | sort -u >secrets.txt
[ "$(grep -c . secrets.txt)" -ge 40 ] || fail "only $(grep -c . secrets.txt) secret strings"

# leaks LOG: the secrets LOG shows, one a line (none: empty).
leaks() {
	grep -F -i -o -f secrets.txt "$1" | sort -u
	grep -o -E 'SESS_ID_AT_[A-Za-z0-9+/=]{8,}' "$1" | sort -u
}

# The check itself: a line with the password and one with a token are found.
printf "x %s y\nPUSH_REPLY,auth-token SESS_ID_AT_0123456789abcdefAB==\n" "$PASSWORD" >selftest.log
[ "$(leaks selftest.log | grep -c .)" -eq 2 ] || fail "the leak check does not find planted secrets"

impls="sluice stock"
[ "$SERVER_IMPL" = stock ] && impls=stock
keep=$SERVER_IMPL
for impl in $impls; do
	for v in $LOG_VERBS; do
		SERVER_IMPL=$impl
		srv_conf srv.conf
		sed -i "s/^verb .*/verb $v/" srv.conf
		printf '%s\n' "tls-crypt $WORK/tc.key" "script-security 2" \
			"auth-user-pass-verify $WORK/verify.sh via-file" "tmp-dir $WORK" \
			"auth-gen-token 0 120" "auth-gen-token-secret $WORK/secret.pem" \
			"reneg-sec 2" >>srv.conf
		srv_start srv.conf "srv-$impl-$v.log"
		cli_conf c1.conf client1
		sed -i "s/^verb .*/verb $v/" c1.conf
		printf '%s\n' "tls-crypt $WORK/tc.key" "auth-user-pass $WORK/c1.pass" >>c1.conf
		cli_start_sluice c1 c1.conf "c1-$impl-$v.log"
		cli_up c1 || sfail "$impl server, verb $v: the client did not come up"
		ping_ok c1 $TUN_SRV || sfail "$impl server, verb $v: no ping"
		# One renegotiation with the token (reneg-sec 2), then one ping through its keys.
		sleep 3.5
		ping_ok c1 $TUN_SRV 5 || sfail "$impl server, verb $v: no ping after the renegotiation"
		cli_stop c1 || true
		srv_stop
		SERVER_IMPL=$keep
		if [ "$v" -ge 4 ]; then
			grep -q "auth-token authentication succeeded" "srv-$impl-$v.log" ||
				sfail "$impl server, verb $v: no login with the token"
		fi
		for l in "c1-$impl-$v.log" "srv-$impl-$v.log"; do
			leaks "$l" >"$l.leaks"
			n=$(grep -c . "$l.leaks" || true)
			echo "$impl server, verb $v: ${l%%-*} log $(wc -l <"$l") lines, $n secret strings"
			[ "$n" -eq 0 ] || [ "$l" = "srv-stock-$v.log" ] || {
				head -n 5 "$l.leaks"
				grep -n -F -i -f "$l.leaks" "$l" | head -n 5
				fail "$l: key material, a password or a token in the log (above)"
			}
		done
	done
done
echo "server_log_secrets ($SERVER_IMPL): PASS"
exit 0
