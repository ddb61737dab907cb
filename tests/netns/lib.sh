# Shared helpers for the namespace tests (sourced, not run).
#
# Every test makes its own namespaces named sl<tag>-<pid>-*, addresses from
# 198.18.0.0/15 only, and deletes them in an EXIT trap. Only processes this
# test started are killed, by PID.

set -e
[ "$(id -u)" -eq 0 ] || { echo "needs root for network namespaces"; exit 77; }
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SLUICE=${SLUICE:-./sluice}
case $SLUICE in /*) ;; *) SLUICE="$TOP/${SLUICE#./}" ;; esac
[ -x "$SLUICE" ] || { echo "no sluice binary at $SLUICE"; exit 1; }
WORK=$(mktemp -d -t sluice-netns.XXXXXX)
NETNS_CREATED=()
PIDS_STARTED=()

cleanup() {
	set +e
	for p in "${PIDS_STARTED[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS_STARTED[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	for ns in "${NETNS_CREATED[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# abort: a helper found the test itself broken. It may run inside $(...), where an exit
# ends only the subshell and set -e does not see it, so it signals this shell, which exits
# 1 (running cleanup) before it runs the command that wanted the value.
trap 'exit 1' USR1
# The test's own stderr, for abort messages from helpers whose output is redirected (wait_for).
exec 7>&2

pretty() { echo "[+] $*" >&2; }
cmd() { pretty "$*"; "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
abort() {
	echo "FAIL: $*" >&7
	[ "$BASHPID" = "$$" ] || kill -USR1 $$
	exit 1
}

netns_add() {
	ip netns add "$1"
	NETNS_CREATED+=("$1")
	ip -n "$1" link set lo up
}

# veth_pair NS1 IF1 ADDR1/PLEN NS2 IF2 ADDR2/PLEN: a link made directly inside the namespaces.
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

# Starts a command in a namespace in the background; its PID goes to $LAST_PID.
spawn() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" &
	LAST_PID=$!
	PIDS_STARTED+=("$LAST_PID")
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
	local limit=$1; shift
	local n=$((limit * 10))
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# Stops a process we started with SIGTERM and returns its exit status.
stop_pid() {
	local pid=$1 rc
	kill -TERM "$pid" 2>/dev/null || true
	set +e
	wait "$pid"
	rc=$?
	set -e
	return $rc
}

# counter FILE NAME: the value of counter NAME (a NAME=value line) in a sluice status file.
# A counter the file does not have ends the test as failed (abort), never reads as 0: a
# renamed or misspelt counter must not let an assertion pass.
counter() {
	local v
	[ -f "$1" ] || abort "counter $2: no status file $1"
	v=$(awk -F= -v k="$2" '$1 == k { print $2; exit }' "$1")
	[ -n "$v" ] || abort "counter $2 not found in $1"
	echo "$v"
}

# sumdrops FILE STAGE: all drop counters of one stage added up (a stage the file does not
# have at all ends the test, as in counter).
sumdrops() {
	counter "$1" "$2.rx_pkts" >/dev/null
	awk -F= -v p="$2.drop." 'index($1, p) == 1 { s += $2 } END { print s + 0 }' "$1"
}

# make_static_key FILE: a 2048-bit key in OpenVPN's static key format.
make_static_key() {
	{
		echo "#"
		echo "# 2048 bit OpenVPN static key"
		echo "#"
		echo "-----BEGIN OpenVPN Static key V1-----"
		od -An -tx1 -v -N256 /dev/urandom | tr -d ' \n' | fold -w32
		echo
		echo "-----END OpenVPN Static key V1-----"
	} >"$1"
}

# testkey_conf NAME LOCAL REMOTE TUNADDR DIRECTION [LINE...]: $WORK/NAME.conf, one end of a
# pair of sluice data planes with the fixed test key $WORK/key (make_static_key) in that key
# direction, UDP port 1194 both ends, TUNADDR/24 on tun sl0, cipher $CIPHER (default
# AES-256-GCM), peer-id 5; each LINE is appended as it is (empty ones too).
testkey_conf() {
	local name=$1 l
	{
		cat <<CONF
dev sl0
dev-type tun
proto udp
local $2
lport 1194
remote $3 1194
topology subnet
ifconfig $4 255.255.255.0
test-data-key $WORK/key $5
test-cipher ${CIPHER:-AES-256-GCM}
test-peer-id 5
verb 1
CONF
		shift 5
		for l in "$@"; do echo "$l"; done
	} >"$WORK/$name.conf"
}

udp_rcvbuf_errors() {
	ip netns exec "$1" awk '/^Udp:/ { if (!h) { h = 1; for (i = 1; i <= NF; i++) c[$i] = i }
		else print $c["RcvbufErrors"] }' /proc/net/snmp
}

# udp_noports NS: datagrams that reached NS while no socket had their port (one
# daemon sending before the other has bound: the sender sees the ICMP error as
# udp_rx.drop.io).
udp_noports() {
	ip netns exec "$1" awk '/^Udp:/ { if (!h) { h = 1; for (i = 1; i <= NF; i++) c[$i] = i }
		else print $c["NoPorts"] }' /proc/net/snmp
}

# path_drops NS1 DEV1 NS2 DEV2: datagrams the kernels dropped between veth end
# DEV1 (sending, in NS1) and DEV2 (receiving, in NS2): DEV1's tx_dropped plus
# DEV2's rx_dropped (a full backlog on a loaded host), which no socket saw.
path_drops() {
	echo $(($(ip netns exec "$1" cat /sys/class/net/"$2"/statistics/tx_dropped) + \
		$(ip netns exec "$3" cat /sys/class/net/"$4"/statistics/rx_dropped)))
}
