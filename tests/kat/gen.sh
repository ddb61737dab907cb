#!/bin/bash
# gen.sh - captures data-channel known-answer vectors from stock OpenVPN 2.6.
#
#   usage: sudo tests/kat/gen.sh OUTFILE
#
# For each AEAD cipher a stock openvpn server and client (--verb 9, no DCO)
# run in two private network namespaces joined by a veth. Pings of three
# sizes cross the tunnel in both directions, then both ends idle long enough
# to send ping-magic keepalives (--ping 1). tcpdump records the server-side
# veth; extract.py takes the sender's data key and implicit IV from the logs,
# decrypts a handful of P_DATA_V2 packets per direction with
# python3-cryptography and writes one record per packet to OUTFILE.
#
# Namespaces slkat-<pid>-s/-c and addresses from 198.18.0.0/15 only; the
# root namespace is never touched. Everything started here is ended by pid
# from the EXIT trap. Exit 0 ok, 1 failure, 77 not root or tool missing.
set -eu

OUT=$(realpath -m "${1:?usage: gen.sh OUTFILE}")
HERE=$(cd "$(dirname "$0")" && pwd)
CIPHERS=${KAT_CIPHERS:-"AES-128-GCM AES-256-GCM CHACHA20-POLY1305"}

NS_S=slkat-$$-s
NS_C=slkat-$$-c
IF_S=kat-s0
IF_C=kat-c0
IP_S=198.18.201.1
IP_C=198.18.201.2
TUN_NET=198.19.201.0
TUN_S=198.19.201.1
TUN_C=198.19.201.2

PIDS=""
CREATED_NS=""
WORK=""

cleanup() {
	set +e
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$p" 2>/dev/null
	done
	for ns in $CREATED_NS; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$WORK" ] && [ -z "${KAT_KEEP:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "gen.sh: needs root (network namespaces)" >&2
	exit 77
fi
for cmd in openvpn tcpdump openssl ip ping python3; do
	command -v "$cmd" >/dev/null || { echo "gen.sh: missing $cmd" >&2; exit 77; }
done
python3 -c 'import cryptography' 2>/dev/null || { echo "gen.sh: missing python3-cryptography" >&2; exit 77; }

WORK=$(mktemp -d -t slkat.XXXXXX)
[ -n "${KAT_KEEP:-}" ] && echo "gen.sh: work dir $WORK" >&2

# Polls until FILE contains PATTERN; fails after TENTHS/10 seconds.
wait_for() {
	local file=$1 pattern=$2 tenths=$3 i
	for ((i = 0; i < tenths; i++)); do
		grep -q "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Sends TERM to one pid we started and waits (bounded) for it to go.
stop_pid() {
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || return 0
	for ((i = 0; i < 30; i++)); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
}

make_pki() {
	local ext
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout ca.key -out ca.crt -days 2 -subj "/CN=slkat-ca" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout $who.key -out $who.csr -subj "/CN=slkat-$who" 2>/dev/null
		ext=serverAuth
		[ $who = client ] && ext=clientAuth
		printf '%s\n' "basicConstraints=CA:FALSE" \
			"keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=$ext" >$who.ext
		openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -extfile $who.ext -out $who.crt 2>/dev/null
	done
	chmod 600 ./*.key
}

make_netns() {
	ip netns add "$NS_S"
	CREATED_NS="$NS_S"
	ip netns add "$NS_C"
	CREATED_NS="$NS_S $NS_C"
	# both ends are created inside the namespaces: nothing appears in the root ns
	ip link add $IF_S netns "$NS_S" type veth peer name $IF_C netns "$NS_C"
	ip -n "$NS_S" addr add $IP_S/30 dev $IF_S
	ip -n "$NS_C" addr add $IP_C/30 dev $IF_C
	for ns in "$NS_S" "$NS_C"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_S" link set $IF_S up
	ip -n "$NS_C" link set $IF_C up
}

# One server/client run with CIPHER; leaves $WORK/<cipher>.{pcap,server.log,client.log}.
run_cipher() {
	local c=$1 srv cli cap i nc ns
	local base="$WORK/$c"

	ip netns exec "$NS_S" tcpdump -i $IF_S -U -n -s 0 -w "$base.pcap" udp port 1194 \
		>"$base.tcpdump.log" 2>&1 &
	cap=$!
	PIDS="$PIDS $cap"
	if ! wait_for "$base.tcpdump.log" "listening on" 50; then
		echo "gen.sh: tcpdump did not start" >&2
		return 1
	fi

	ip netns exec "$NS_S" openvpn --cd "$WORK" --dev tun --proto udp --local $IP_S \
		--port 1194 --topology subnet --server $TUN_NET 255.255.255.0 \
		--ca ca.crt --cert server.crt --key server.key --dh none \
		--remote-cert-tls client --data-ciphers "$c" --disable-dco \
		--ping 1 --ping-restart 60 --verb 9 --log "$base.server.log" &
	srv=$!
	PIDS="$PIDS $srv"
	if ! wait_for "$base.server.log" "Initialization Sequence Completed" 100; then
		echo "gen.sh: $c: server did not start; see $base.server.log" >&2
		return 1
	fi

	ip netns exec "$NS_C" openvpn --cd "$WORK" --client --dev tun --proto udp \
		--remote $IP_S 1194 --nobind --ca ca.crt --cert client.crt --key client.key \
		--remote-cert-tls server --verify-x509-name slkat-server name \
		--disable-dco --ping 1 --ping-restart 60 --verb 9 --log "$base.client.log" &
	cli=$!
	PIDS="$PIDS $cli"
	if ! wait_for "$base.client.log" "Initialization Sequence Completed" 200; then
		echo "gen.sh: $c: tunnel did not come up in 20 s; see $base.client.log" >&2
		return 1
	fi

	# three sizes each way: 84, 361 (not a block multiple) and 1400-byte IPv4 plaintexts
	for s in 56 333 1372; do
		ip netns exec "$NS_C" ping -n -q -c 2 -i 0.2 -W 2 -s $s $TUN_S >/dev/null 2>&1 || true
		ip netns exec "$NS_S" ping -n -q -c 2 -i 0.2 -W 2 -s $s $TUN_C >/dev/null 2>&1 || true
	done
	# idle: with --ping 1 each end sends a keepalive after 1 s without traffic
	nc=$(grep -c "SENT PING" "$base.client.log" || true)
	ns=$(grep -c "SENT PING" "$base.server.log" || true)
	for ((i = 0; i < 60; i++)); do
		[ "$(grep -c "SENT PING" "$base.client.log" || true)" -gt "$nc" ] &&
			[ "$(grep -c "SENT PING" "$base.server.log" || true)" -gt "$ns" ] &&
			break
		sleep 0.1
	done
	sleep 0.3

	stop_pid $cli
	stop_pid $srv
	sleep 0.3
	stop_pid $cap
	PIDS=""
}

cd "$WORK"
make_pki
make_netns

: >"$WORK/vectors"
for c in $CIPHERS; do
	run_cipher "$c"
	python3 "$HERE/extract.py" "$WORK" "$c" >>"$WORK/vectors"
done

{
	echo "# sluice data-channel known-answer vectors (P_DATA_V2, key_id 0)."
	echo "# Captured from $(openvpn --version | head -1 | cut -d' ' -f1-2) by tests/kat/gen.sh;"
	echo "# decrypted independently with python3-cryptography (tests/kat/extract.py)."
	echo "# key = sender's cipher key, iv = sender's implicit IV (first 8 bytes of its"
	echo "# hmac slot), packet = whole UDP payload, plain = decrypted payload."
	echo "# c2s: client sends with key2 half 0; s2c: server sends with key2 half 1."
	cat "$WORK/vectors"
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "gen.sh: $(grep -vc '^#' "$OUT") vectors written to $OUT" >&2
