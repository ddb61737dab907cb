#!/bin/bash
# End-to-end tunnel benchmark in namespaces: iperf3 TCP through
#   - sluice (fixed test key, AES-256-GCM, threaded data plane)
#   - stock OpenVPN 2.6 (TLS, AES-256-GCM, userspace data channel: --disable-dco)
#   - the bare veth (no tunnel; the ceiling)
# (stock OpenVPN on port 1195: io_uring may hold the previous run's socket for a moment)
# in interleaved rounds in the same invocation; prints medians as key=value lines and a
# Markdown table. Env: ROUNDS (3), SECS (5 per run), STREAMS (1).
#
#     ns bA-<pid>  198.18.20.1/30 ==veth== 198.18.20.2/30  ns bB-<pid>
#     tunnel 198.19.20.1/24                 tunnel 198.19.20.2/24
source "$(dirname "$0")/../tests/netns/lib.sh"
ROUNDS=${ROUNDS:-3} SECS=${SECS:-5} STREAMS=${STREAMS:-1}
A=bA-$$ B=bB-$$
netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.20.1/30 "$B" vb 198.18.20.2/30
cd "$WORK"

# Throwaway PKI for the stock pair.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
	-days 2 -subj /CN=bench-ca 2>/dev/null
for n in server client; do
	eku=$([ $n = server ] && echo serverAuth || echo clientAuth)
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr \
		-subj /CN=bench-$n 2>/dev/null
	printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' $eku >$n.ext
	openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile $n.ext -out $n.crt 2>/dev/null
done
make_static_key key

run_iperf() {	# run_iperf DST -> prints Mbit/s received
	local pid
	spawn "$B" iperf3 -s -1 -B "$1" -p 5201 >/dev/null 2>&1
	pid=$LAST_PID
	wait_for 10 ip netns exec "$B" sh -c "ss -ltn | grep -q $1:5201" || fail "iperf3 server"
	ip netns exec "$A" iperf3 -c "$1" -p 5201 -t "$SECS" -P "$STREAMS" -J >iperf.json || true
	wait "$pid" 2>/dev/null || true
	python3 -c 'import json,sys; r=json.load(open("iperf.json")); print("%.0f" % (r["end"]["sum_received"]["bits_per_second"]/1e6))' 2>/dev/null || echo 0
}

bench_sluice() {
	local pa pb mbps
	for s in a b; do
		if [ $s = a ]; then l=198.18.20.1 r=198.18.20.2 t=198.19.20.1 d=0; else
			l=198.18.20.2 r=198.18.20.1 t=198.19.20.2 d=1; fi
		printf 'dev sl0\ndev-type tun\nlocal %s\nlport 1194\nremote %s 1194\ntopology subnet\nifconfig %s 255.255.255.0\ntest-data-key key %s\ntest-cipher AES-256-GCM\nverb 0\n' \
			$l $r $t $d >sl-$s.conf
	done
	spawn "$A" "$SLUICE" --config sl-a.conf >/dev/null 2>&1; pa=$LAST_PID
	spawn "$B" "$SLUICE" --config sl-b.conf >/dev/null 2>&1; pb=$LAST_PID
	wait_for 10 ip -n "$B" addr show dev sl0 to 198.19.20.2 || fail "sluice B"
	wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.20.1 || fail "sluice A"
	wait_for 10 ip netns exec "$A" ping -c1 -W1 198.19.20.2 || fail "sluice tunnel"
	mbps=$(run_iperf 198.19.20.2)
	stop_pid $pa || true; stop_pid $pb || true
	echo "$mbps"
}

bench_openvpn() {
	local ps pc mbps
	spawn "$B" openvpn --dev ov0 --dev-type tun --proto udp --local 198.18.20.2 --port 1195 \
		--topology subnet --server 198.19.21.0 255.255.255.0 --ca ca.crt --cert server.crt \
		--key server.key --dh none --disable-dco --verb 1 --data-ciphers AES-256-GCM \
		>>ovpn-server.log 2>&1
	ps=$LAST_PID
	spawn "$A" openvpn --client --dev ov0 --dev-type tun --proto udp --remote 198.18.20.2 1195 \
		--nobind --ca ca.crt --cert client.crt --key client.key --disable-dco --verb 0 \
		--data-ciphers AES-256-GCM >>ovpn-client.log 2>&1
	pc=$LAST_PID
	wait_for 30 ip netns exec "$A" ping -c1 -W1 198.19.21.1 || fail "openvpn tunnel"
	mbps=$(run_iperf 198.19.21.1)
	stop_pid $pc || true; stop_pid $ps || true
	echo "$mbps"
}

declare -A res
for r in $(seq 1 "$ROUNDS"); do
	for what in sluice openvpn veth; do
		case $what in
		sluice) v=$(bench_sluice) ;;
		openvpn) v=$(bench_openvpn) ;;
		veth) v=$(run_iperf 198.18.20.2) ;;
		esac
		res[$what]="${res[$what]} $v"
		echo "round=$r impl=$what tcp_streams=$STREAMS mbit_s=$v" >&2
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(echo "${res[sluice]}" | median) mo=$(echo "${res[openvpn]}" | median) mv=$(echo "${res[veth]}" | median)
echo "tunnel_tcp streams=$STREAMS secs=$SECS rounds=$ROUNDS sluice_mbit_s=$ms openvpn_mbit_s=$mo veth_mbit_s=$mv"
echo
echo "| iperf3 TCP, $STREAMS stream(s), ${SECS}s x $ROUNDS rounds (median) | Mbit/s | vs stock OpenVPN |"
echo "|---|---:|---:|"
echo "| sluice (AES-256-GCM, test key) | $ms | $(awk -v a="$ms" -v b="$mo" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }') |"
echo "| stock OpenVPN 2.6 (AES-256-GCM, --disable-dco) | $mo | 1.00x |"
echo "| bare veth, no tunnel (ceiling) | $mv | |"
echo
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, kernel $(uname -r)"
