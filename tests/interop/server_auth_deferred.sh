#!/bin/bash
# server_auth_deferred.sh - auth-user-pass-verify scripts that answer later
# (OpenVPN 2.6's deferred authentication) with stock 2.6 clients:
#   client1  the script exits 2 after writing $auth_pending_file
#            ("30\ncrtext\nCR_TEXT:R,E:Enter code") and answers '1' in
#            $auth_control_file when the test says so (after client2 is up). client1 announces IV_SSO=crtext
#            (setenv IV_SSO). It must get AUTH_PENDING,timeout 30 (a stock
#            2.6 client announces AUTH_PENDING_KW) and INFO_PRE, then come up.
#   client2  connects while client1's decision is pending; its script
#            answers at once. It must be up before client1: a pending
#            decision may not stall the server.
#   client3  the first attempt is refused with "TEMP[backoff 4]: busy" in
#            $auth_failed_reason_file; the client must log AUTH_FAILED,TEMP
#            and come up on its next attempt.
#   client4  the script asks for a pending method ("webauth") the client
#            did not announce: refused with stock's reason text.
#   client5  the sluice client with client1's script and IV_SSO=crtext: it
#            must show AUTH_PENDING and INFO_PRE's text, then come up.
# Runs against stock too (SERVER_IMPL=stock).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 5
srv_net c1 c2 c3 c4 c5
cat >verify.sh <<EOF
#!/bin/sh
# via-env: \$username picks the behaviour.
case "\$username" in
pending)
	printf '30\ncrtext\nCR_TEXT:R,E:Enter code\n' >"\$auth_pending_file"
	# The answer waits for the test's go (bounded): a fixed delay raced a slow host.
	( i=0; while [ ! -f $WORK/release.\$username.\$common_name ] && [ \$i -lt 250 ]; do
		sleep 0.1; i=\$((i + 1)); done
	  echo 1 >"\$auth_control_file" ) >/dev/null 2>&1 &
	exit 2 ;;
quick)
	exit 0 ;;
temp)
	if [ ! -f $WORK/temp.seen ]; then
		touch $WORK/temp.seen
		echo "TEMP[backoff 4]: busy" >"\$auth_failed_reason_file"
		exit 1
	fi
	exit 0 ;;
web)
	printf '30\nwebauth\nOPEN_URL:https://sso.example/\n' >"\$auth_pending_file"
	exit 2 ;;
esac
exit 1
EOF
chmod 755 verify.sh

srv_conf srv.conf
printf '%s\n' "script-security 2" "auth-user-pass-verify $WORK/verify.sh via-env" \
	"tmp-dir $WORK" >>srv.conf
# auth_conf NAME CERT USER: client config with a user/password file.
auth_conf() {
	cli_conf "$1.conf" "$2"
	printf '%s\nx\n' "$3" >"$1.pass"
	chmod 600 "$1.pass"
	echo "auth-user-pass $WORK/$1.pass" >>"$1.conf"
}
auth_conf c1 client1 pending
echo "setenv IV_SSO crtext" >>c1.conf
auth_conf c2 client2 quick
auth_conf c3 client3 temp
auth_conf c4 client4 web
echo "setenv IV_SSO crtext" >>c4.conf
auth_conf c5 client5 pending
printf '%s\n' "setenv IV_SSO crtext" "status $WORK/c5.status 1" >>c5.conf

srv_start srv.conf srv.log
cli_start c1 c1.conf c1.log
wait_log "${CPID[c1]}" 10 c1.log "AUTH_PENDING" || sfail "client1 got no AUTH_PENDING"
cli_start c2 c2.conf c2.log
cli_up c2 10 || sfail "client2 did not come up while client1's decision was pending"
grep -q "Initialization Sequence Completed" c1.log &&
	sfail "client1 came up before its deferred decision"
touch release.pending.client1
cli_up c1 20 || sfail "client1 did not come up after its deferred decision"
grep -q "AUTH_PENDING received, extending handshake timeout from 60s to 30s" c1.log ||
	sfail "client1 did not get AUTH_PENDING,timeout 30"
grep -q "Info command was pushed by server ('CR_TEXT:R,E:Enter code')" c1.log ||
	sfail "client1 did not get INFO_PRE"
ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the server"
ping_ok c2 $TUN_SRV || sfail "client2 cannot ping the server"
echo "deferred: client1 up after AUTH_PENDING + INFO_PRE, client2 up meanwhile"

cli_start c3 c3.conf c3.log
cli_up c3 40 || sfail "client3 did not come up after its temporary refusal"
grep -q "AUTH_FAILED,TEMP\[backoff 4\]: busy" c3.log || sfail "client3 did not get the TEMP reason"
ping_ok c3 $TUN_SRV || sfail "client3 cannot ping the server"
echo "temp: client3 refused with TEMP[backoff 4], up on the next attempt"

cli_start c4 c4.conf c4.log
wait_log "${CPID[c4]}" 20 c4.log \
	"AUTH_FAILED,Authentication failed, required pending auth method 'webauth' not supported" ||
	sfail "client4 was not refused for the pending method it lacks"
cli_stop c4 || true
echo "method: client4 refused (webauth not in its IV_SSO)"

cli_start_sluice c5 c5.conf c5.log
wait_log "${CPID[c5]}" 15 c5.log "AUTH_PENDING" || sfail "client5 (sluice) got no AUTH_PENDING"
touch release.pending.client5
cli_up c5 20 || sfail "client5 (sluice) did not come up after its deferred decision"
grep -q "AUTH_PENDING received, extending handshake timeout from 60s to 30s" c5.log ||
	sfail "client5 (sluice) did not take AUTH_PENDING,timeout 30"
grep -q "Info command was pushed by server ('CR_TEXT:R,E:Enter code')" c5.log ||
	sfail "client5 (sluice) did not log INFO_PRE"
ping_ok c5 $TUN_SRV || sfail "client5 cannot ping the server"
echo "deferred: the sluice client up after AUTH_PENDING + INFO_PRE"
if [ "$SERVER_IMPL" = sluice ]; then
	left=$(find "$WORK" -maxdepth 1 -name 'sluice-a*' | wc -l)
	[ "$left" -eq 0 ] || sfail "$left deferred-auth files left in tmp-dir"
fi
for c in c1 c2 c3 c5; do cli_stop $c || sfail "$c did not exit cleanly"; done
echo "server_auth_deferred ($SERVER_IMPL): PASS"
exit 0
