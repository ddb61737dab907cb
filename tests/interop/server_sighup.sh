#!/bin/bash
# server_sighup.sh - a server's SIGHUP and SIGUSR1 with clients connected.
#
#   ns s: the server, crl-verify crl.pem, client-config-dir ccd/
#   three stock clients client1..client3
#
# After client3's certificate is revoked (a new CRL) and client2's
# client-config-dir file gives it another address, SIGHUP:
#   - client2 ends up at its new address, and pings pass;
#   - client3, once it has to reconnect, is refused (certificate revoked);
#     sluice drops it at SIGHUP already (its chain is checked again);
#   - client1's tunnel keeps passing traffic. With sluice it does not even
#     reconnect (same session, same "Connected Since"): sluice re-reads the
#     files and keeps the clients whose settings did not change, where the
#     stock server (SERVER_IMPL=stock) restarts and every client reconnects.
# Then SIGUSR1 (as stock): every client is dropped and reconnects.
# Exit 0 pass, 1 fail, 77 skip.
SRVT_TAG=slhu
. "$(dirname "$0")/server.lib"
cd "$WORK"
srv_pki 3
srv_net c1 c2 c3

# A CA database for the CRL (openssl ca).
mkdir -p cadb
touch cadb/index.txt
echo 1000 >cadb/crlnumber
cat >ca.cnf <<EOF
[ca]
default_ca = d
[d]
database = $WORK/cadb/index.txt
crlnumber = $WORK/cadb/crlnumber
certificate = $WORK/ca.crt
private_key = $WORK/ca.key
default_md = sha256
default_crl_days = 2
EOF
openssl ca -config ca.cnf -gencrl -out crl.pem 2>/dev/null || fail "cannot make a CRL"
mkdir ccd
srv_conf srv.conf
cat >>srv.conf <<EOF
crl-verify $WORK/crl.pem
client-config-dir $WORK/ccd
explicit-exit-notify 1
EOF
for i in 1 2 3; do
	cli_conf "cli$i.conf" "client$i"
done
srv_start srv.conf srv.log
for i in 1 2 3; do
	cli_start "c$i" "cli$i.conf" "c$i.log"
done
for i in 1 2 3; do
	cli_up "c$i" || sfail "client$i did not come up"
done
ping_ok c1 $TUN_SRV && ping_ok c2 $TUN_SRV && ping_ok c3 $TUN_SRV || sfail "no ping before SIGHUP"
wait_for 5 eval '[ "$(st_count)" = 3 ]' || sfail "not 3 clients in the status"
since1=$(st_field client1 9)
inits() { grep -c "Initialization Sequence Completed" "$1"; }
n1=$(inits c1.log)
echo "[ok] three clients up; client1 connected since $since1"

# ---- the changes, then SIGHUP ----
openssl ca -config ca.cnf -revoke client3.crt 2>/dev/null || fail "cannot revoke client3"
openssl ca -config ca.cnf -gencrl -out crl.pem 2>/dev/null || fail "cannot make the new CRL"
echo "ifconfig-push 198.19.60.88 255.255.255.0" >ccd/client2
kill -HUP "$SRV"
wait_for 40 eval '[ "$(cli_addr c2)" = 198.19.60.88 ]' ||
	sfail "client2 is not at its new client-config-dir address after SIGHUP ($(cli_addr c2))"
ping_ok c2 $TUN_SRV 20 || sfail "client2: no ping at its new address"
ping_ok c1 $TUN_SRV 20 || sfail "client1: no ping after SIGHUP"
echo "[ok] SIGHUP: client2 moved to 198.19.60.88; client1 passes traffic"
if [ "$SERVER_IMPL" = sluice ]; then
	grep -q "SIGHUP: ca and crl-verify re-read" srv.log || sfail "no 'crl-verify re-read' line"
	[ "$(inits c1.log)" = "$n1" ] || sfail "client1 reconnected on SIGHUP"
	[ "$(st_field client1 9)" = "$since1" ] || sfail "client1's session changed on SIGHUP"
	grep -q "SIGHUP: client3: TLS: client certificate no longer valid: certificate revoked" srv.log ||
		sfail "the revoked client3 was not found at SIGHUP"
	wait_for 25 st_lacks client3 || sfail "the revoked client3 kept its session"
	echo "[ok] sluice: client1 kept its session; client2 (changed) and client3 (revoked) dropped"
fi

# client3 must reconnect now: its revoked certificate is refused.
kill -USR1 "${CPID[c3]}"
wait_log "${CPID[c3]}" 30 c3.log "SIGUSR1\[" || sfail "client3 did not restart"
sleep 6
! ip netns exec "$(ns_of c3)" ping -c 1 -W 1 $TUN_SRV >/dev/null 2>&1 ||
	sfail "client3 passes traffic with a revoked certificate"
grep -q "certificate revoked\|CRL\|revoked" srv.log ||
	sfail "the server did not say client3 was revoked"
wait_for 25 st_lacks client3 || sfail "client3 is still in the status (its old session outlives ping-restart)"
echo "[ok] client3 refused on its next handshake: certificate revoked"

# ---- SIGUSR1: every client dropped, and back ----
n1=$(inits c1.log)
kill -USR1 "$SRV"
wait_for 40 eval '[ "$(inits c1.log)" -gt "$n1" ]' || sfail "client1 did not reconnect after SIGUSR1"
ping_ok c1 $TUN_SRV 20 && ping_ok c2 $TUN_SRV 20 || sfail "no ping after SIGUSR1"
echo "[ok] SIGUSR1: clients dropped and reconnected"
echo "server_sighup ($SERVER_IMPL): PASS"
exit 0
