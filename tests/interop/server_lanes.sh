#!/bin/bash
# server_lanes.sh - a UDP server with two lanes (io-queues 2, workers 2: a
# multi-queue TUN and two SO_REUSEPORT sockets steered by peer-id; see
# ctrl/lanes.c, io/udp.c) and five clients: four sluice clients and one stock
# OpenVPN 2.6 client (SERVER_IMPL=sluice|stock, see server.lib; with stock
# the sluice-only option and its checks are left out).
#
# Peer-ids 0..4 put the clients on lanes 0,1,0,1,0 (peer-id % 2): the
# status file's Peer ID column must cover both. Every client pings the
# server's tunnel address and the next client's (client-to-client), the
# server's namespace pings every client (new flows: the kernel picks their
# TUN queue, so some are read by the other lane and handed over), then
# all five send a bounded ping flood at once (200 pings 5 ms apart, at most
# 5% lost each); iperf3 runs up from a client of each lane (2 s). The status
# file must show bytes both ways for every client.
#
# sluice only: the log says "pipeline: 2 lanes (io-queues 2)" with one
# worker per lane (LANE_WORKERS=0: crypto on each lane's I/O threads), two sockets are bound to the port, and a SIGUSR2 dump is
# taken at once. If the data plane runs lanes (its dump has lanes=2), each
# lane must have carried packets from its socket and its TUN queue by the
# end (lane0/lane1 .udp_rx.rx_pkts and .tun_rx.rx_pkts in a second dump), and
# no data packet may have been refused as another lane's (udp_rx.drop.wrong_lane). If
# not (the io side of lanes has not landed), nobody would read lane 1's
# socket and TUN queue: the server is restarted without io-queues for the
# traffic part and the per-lane checks are skipped (the test says so).
# Last, sluice only: with a persistent single-queue sl0 as its device and
# io-queues 2, the server logs the refused multi-queue TUN and serves a
# client on one lane.
#
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/openssl missing).
. "$(dirname "$0")/server.lib"

N=5
cd "$WORK"
srv_pki $N
srv_net c1 c2 c3 c4 c5
srv_conf srv.conf
echo "client-to-client" >>srv.conf
# LANE_WORKERS: 2 crypto threads (one per lane), or 0: each lane's I/O threads seal and open.
LANE_WORKERS=${LANE_WORKERS:-2}
[ "$SERVER_IMPL" = sluice ] && printf 'io-queues 2\nworkers %s\nmetrics 127.0.0.1 9179\n' \
	"$LANE_WORKERS" >>srv.conf
if [ "$LANE_WORKERS" = 0 ]; then
	LANE_CRYPTO="no crypto threads, each lane's I/O threads seal and open"
else
	LANE_CRYPTO="2 crypto worker(s) per direction, 1 per lane"
fi
srv_start srv.conf srv.log

# A data plane that runs lanes says lanes=2 in its SIGUSR2 dump from the start.
# One that does not yet reads lane 0's socket and TUN queue only, so lane 1's
# clients could not connect: the rest then runs on a server restarted without
# io-queues, and the per-lane checks are skipped.
LANES=0
if [ "$SERVER_IMPL" = sluice ]; then
	grep -qF "pipeline: 2 lanes (io-queues 2): TUN queues and SO_REUSEPORT sockets, packets steered by peer-id; $LANE_CRYPTO" srv.log ||
		sfail "no 'pipeline: 2 lanes (io-queues 2)' line in the server log"
	grep -q "running one lane" srv.log && sfail "the server fell back to one lane"
	[ "$(ip netns exec "$NS_S" ss -Hun state all "( sport = :1194 )" | wc -l)" -eq 2 ] ||
		sfail "not two sockets on port 1194: $(ip netns exec "$NS_S" ss -Hun state all "( sport = :1194 )")"
	kill -USR2 "$SRV"
	if wait_for 3 grep -q "stats: lanes=" srv.log; then
		LANES=1
	else
		echo "lanes: not in the dump, per-lane checks skipped (the data plane does not run lanes yet; the rest runs with one)"
		srv_stop
		sed -i '/^io-queues/d' srv.conf
		srv_start srv.conf srv1.log
	fi
fi

# One client at a time, so peer-ids follow the order: c1..c4 sluice, c5 stock.
for i in $(seq 1 $N); do
	cli_conf "c$i.conf" "client$i"
	if [ "$i" -le 4 ]; then
		cli_start_sluice "c$i" "c$i.conf" "c$i.log"
	else
		cli_start "c$i" "c$i.conf" "c$i.log"
	fi
	cli_up "c$i" || sfail "client$i did not come up within 30 s"
done
declare -A VADDR
for i in $(seq 1 $N); do
	VADDR[c$i]=$(cli_addr "c$i")
	[ -n "${VADDR[c$i]}" ] || sfail "client$i has no tun address"
done
wait_for 5 eval '[ "$(st_count)" -eq $N ]' || sfail "status: $(st_count) CLIENT_LIST lines, expected $N"

# Status version 2: field 12 is the Peer ID; lane = peer-id % 2.
lanes_seen=
for i in $(seq 1 $N); do
	pid=$(st_field "client$i" 12)
	case $pid in '' | *[!0-9]*) sfail "status: client$i peer-id '$pid'" ;; esac
	lanes_seen="$lanes_seen $((pid % 2))"
done
echo "clients' lanes (peer-id % 2):$lanes_seen"
case $lanes_seen in *0*) ;; *) sfail "no client on lane 0" ;; esac
case $lanes_seen in *1*) ;; *) sfail "no client on lane 1" ;; esac

for i in $(seq 1 $N); do
	j=$((i % N + 1))
	ping_ok "c$i" $TUN_SRV || sfail "client$i cannot ping the server $TUN_SRV"
	ping_ok "c$i" "${VADDR[c$j]}" || sfail "client$i cannot ping client$j at ${VADDR[c$j]}"
done
echo "pings: every client reaches the server and the next client"
# From the server's side: the kernel picks a TUN queue per new flow, so some of these
# replies-to-be are read by the other lane's tun_rx and handed over to the client's.
for i in $(seq 1 $N); do
	ip netns exec "$NS_S" ping -c 3 -i 0.2 -W 2 "${VADDR[c$i]}" >/dev/null 2>&1 ||
		sfail "the server's namespace cannot ping client$i at ${VADDR[c$i]}"
done
echo "pings: the server's namespace reaches every client"

# All five at once: 200 pings 5 ms apart each, at most 10 lost.
FLOODS=()
for i in $(seq 1 $N); do
	ip netns exec "$(ns_of "c$i")" ping -q -c 200 -i 0.005 -W 2 $TUN_SRV >"flood-c$i.log" 2>&1 &
	FLOODS+=($!)
done
for p in "${FLOODS[@]}"; do
	wait "$p" 2>/dev/null || true
done
for i in $(seq 1 $N); do
	got=$(awk '/packets transmitted/ { print $4 }' "flood-c$i.log")
	[ -n "$got" ] && [ "$got" -ge 190 ] ||
		{ cat "flood-c$i.log"; sfail "client$i ping flood: ${got:-no} replies of 200"; }
done
echo "ping floods: every client got at least 190 of 200 replies"

iperf_checks 2 c1:up c2:up

# Every client's bytes, both ways, in the status file (fields 6 and 7).
sleep 1.5
for i in $(seq 1 $N); do
	rx=$(st_field "client$i" 6)
	tx=$(st_field "client$i" 7)
	[ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ] ||
		sfail "status: client$i bytes received '$rx' sent '$tx'"
done

if [ "$SERVER_IMPL" = sluice ]; then
	SLOG=srv.log
	[ $LANES = 1 ] || SLOG=srv1.log
	kill -USR2 "$SRV"
	wait_for 5 grep -q "stats: .*udp_rx.rx_pkts=" $SLOG || sfail "no SIGUSR2 dump in the server log"
	sleep 0.5
	if [ $LANES = 1 ]; then
		grep -q "stats: lanes=2$" srv.log || sfail "SIGUSR2 dump: $(grep -o 'lanes=.*' srv.log | tail -n 1), want lanes=2"
		for c in lane0.udp_rx.rx_pkts lane1.udp_rx.rx_pkts lane0.tun_rx.rx_pkts lane1.tun_rx.rx_pkts; do
			v=$(grep -oE "stats: $c=[0-9]+" srv.log | tail -n 1 | cut -d= -f2)
			[ "${v:-0}" -gt 0 ] || sfail "SIGUSR2 dump: $c is ${v:-absent (0)}"
			echo "$c=$v"
		done
		# The steering program put every data packet on its peer's lane: none refused
		# (the log leaves out counters that are 0).
		v=$(grep -oE "stats: udp_rx.drop.wrong_lane=[0-9]+" srv.log | tail -n 1 | cut -d= -f2)
		[ -z "$v" ] || sfail "SIGUSR2 dump: udp_rx.drop.wrong_lane is $v, want 0"
		v=$(grep -oE "stats: tun_rx.lane_pkts=[0-9]+" srv.log | tail -n 1 | cut -d= -f2)
		echo "udp_rx.drop.wrong_lane=0; packets handed between lanes by tun_rx: ${v:-0}"
		# /metrics: each lane's share in the sluice_lane_* families, a valid exposition.
		ip netns exec "$NS_S" curl -fsS -o metrics.txt http://127.0.0.1:9179/metrics ||
			sfail "curl /metrics failed"
		python3 "$TOP/tests/interop/metrics_check.py" metrics.txt \
			'sluice_lane_stage_packets_total{lane="0",stage="udp_rx",direction="rx"}' \
			'sluice_lane_stage_packets_total{lane="1",stage="udp_rx",direction="rx"}' \
			'sluice_lane_stage_bytes_total{lane="1",stage="tun_tx",direction="tx"}' \
			'sluice_lane_drops_total{lane="1",stage="udp_socket",reason="kernel"}' \
			'sluice_stage_packets_total{stage="udp_rx",direction="rx"}' >metrics.out ||
			{ cat metrics.out; sfail "/metrics: not valid, or a lane series is missing"; }
		cat metrics.out
		for l in 0 1; do
			v=$(awk -v s="sluice_lane_stage_packets_total{lane=\"$l\",stage=\"udp_rx\",direction=\"rx\"}" \
				'$1 == s { print $2 }' metrics.out)
			[ "${v%.*}" -gt 0 ] || sfail "/metrics: lane $l's udp_rx packets are $v"
		done
		echo "[ok] /metrics: both lanes' series"
	fi
fi

for i in $(seq 1 $N); do
	cli_stop "c$i" || sfail "client$i did not exit cleanly on SIGTERM"
done

# sluice only: a single-queue device of the configured name (persistent, made
# with ip tuntap) cannot take more queues: the server says so, runs one lane,
# and a client still gets through.
if [ "$SERVER_IMPL" = sluice ]; then
	srv_stop
	ip -n "$NS_S" tuntap add dev sl0 mode tun
	sed -i -e '/^io-queues/d' -e 's/^dev tun$/dev sl0\ndev-type tun/' srv.conf
	echo "io-queues 2" >>srv.conf
	srv_start srv.conf srv2.log
	grep -q "io-queues 2: multi-queue TUN device 'sl0' refused; running one lane" srv2.log ||
		sfail "no warning about the refused multi-queue TUN in the server log"
	grep -q "pipeline: 2 lanes" srv2.log && sfail "lanes logged after the fallback"
	[ "$(ip netns exec "$NS_S" ss -Hun state all "( sport = :1194 )" | wc -l)" -eq 1 ] ||
		sfail "more than one socket on port 1194 after the fallback"
	cli_start_sluice c1 c1.conf c1b.log
	cli_up c1 || sfail "client1 did not come up on the one-lane server"
	ping_ok c1 $TUN_SRV || sfail "client1 cannot ping the one-lane server"
	cli_stop c1 || sfail "client1 did not exit cleanly on SIGTERM"
	echo "fallback: a single-queue sl0 refused more queues, the server ran one lane"
fi
echo "server_lanes ($SERVER_IMPL): PASS"
exit 0
