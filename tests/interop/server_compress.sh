#!/bin/bash
# server_compress.sh - LZO on the server with stock 2.6 clients, both ways.
#
# The server runs `comp-lzo yes` with `allow-compression yes`; client c1 the
# same, client c2 `comp-lzo` (stock's adaptive LZO) with `allow-compression
# yes`. Each client pings the server's tunnel address with compressible
# 1000-byte payloads and the server's namespace pings each client the same
# way: every reply proves the other end expanded what was sent compressed.
# Then the counters: each stock client's status file (pre/post-compress and
# pre/post-decompress bytes) shows it both compressed and decompressed, and a
# sluice server's log (its counters at exit, verb 4) shows tun_rx.lzo_compressed and
# tun_tx.lzo_decompressed above zero. With SERVER_IMPL=stock the same runs
# against the stock server (its own counters are not checked).
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

cd "$WORK"
srv_pki 2
srv_net c1 c2
srv_conf srv.conf
printf '%s\n' "comp-lzo yes" "allow-compression yes" "verb 4" >>srv.conf
srv_start srv.conf srv.log

cli_conf c1.conf client1
printf '%s\n' "comp-lzo yes" "allow-compression yes" "status $WORK/c1.status 1" >>c1.conf
cli_conf c2.conf client2
printf '%s\n' "comp-lzo" "allow-compression yes" "status $WORK/c2.status 1" >>c2.conf
cli_start c1 c1.conf c1.log
cli_start c2 c2.conf c2.log
for c in c1 c2; do
	cli_up "$c" || sfail "$c did not come up within 30 s"
done
for c in c1 c2; do
	a=$(cli_addr "$c")
	ping_ok "$c" $TUN_SRV || sfail "$c cannot ping the server"
	ip netns exec "$(ns_of "$c")" ping -c 4 -i 0.2 -W 2 -s 1000 -p ff $TUN_SRV >ping.log 2>&1 ||
		{ cat ping.log; sfail "$c: compressible pings to the server lost"; }
	ip netns exec "$NS_S" ping -c 4 -i 0.2 -W 2 -s 1000 -p ff "$a" >ping.log 2>&1 ||
		{ cat ping.log; sfail "server: compressible pings to $c ($a) lost"; }
	ip netns exec "$(ns_of "$c")" ping -c 2 -i 0.2 -W 2 -s 56 $TUN_SRV >ping.log 2>&1 ||
		{ cat ping.log; sfail "$c: small pings to the server lost"; }
done
sleep 1.5	# one more status write by the clients

# stat FILE NAME: a stock client's status line "NAME,VALUE".
stat() { awk -F, -v k="$2" '$1 == k { print $2; exit }' "$1"; }
for c in c1 c2; do
	f=$WORK/$c.status
	pre_c=$(stat "$f" "pre-compress bytes") post_c=$(stat "$f" "post-compress bytes")
	pre_d=$(stat "$f" "pre-decompress bytes") post_d=$(stat "$f" "post-decompress bytes")
	[ -n "$pre_c" ] && [ -n "$post_d" ] || { cat "$f"; sfail "$c: no compression counters in its status"; }
	[ "$pre_c" -gt "$post_c" ] ||
		sfail "$c: the stock client compressed nothing (pre $pre_c, post $post_c bytes)"
	[ "$post_d" -gt "$pre_d" ] ||
		sfail "$c: the stock client expanded nothing from the server (pre $pre_d, post $post_d bytes)"
	echo "$c: compressed $pre_c -> $post_c bytes, expanded $pre_d -> $post_d bytes"
done
for c in c1 c2; do
	cli_stop "$c" || sfail "$c did not exit cleanly"
done
srv_stop
if [ "$SERVER_IMPL" = sluice ]; then
	comp=$(sed -n 's/.*stats: tun_rx\.lzo_compressed=\([0-9]*\).*/\1/p' srv.log | tail -n 1)
	decomp=$(sed -n 's/.*stats: tun_tx\.lzo_decompressed=\([0-9]*\).*/\1/p' srv.log | tail -n 1)
	[ "${comp:-0}" -gt 0 ] || { grep "stats:\|compress" srv.log; sfail "sluice server: no payload sent LZO-compressed"; }
	[ "${decomp:-0}" -gt 0 ] || sfail "sluice server: no LZO payload expanded"
	echo "sluice server: $comp payloads LZO-compressed, $decomp expanded"
fi
echo "server_compress ($SERVER_IMPL): PASS"
exit 0
