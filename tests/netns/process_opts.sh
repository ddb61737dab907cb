#!/bin/bash
# Process options on the fixed-key test pair, each end in its own namespace.
#
#      ns A (slprA-<pid>)                         ns B (slprB-<pid>)
#   tun sl0 198.19.0.1/24                     tun sl0 198.19.0.2/24
#   sluice -- veth 198.18.0.1/30 ======== 198.18.0.2/30 veth -- sluice
#   daemon, log, writepid, management           user nobody, group nogroup,
#                                               log-append, writepid, status
#
# Checks: `chroot` and an unknown `user` are refused with a message before
# anything starts. B runs as nobody/nogroup with no supplementary groups,
# CAP_NET_ADMIN left in ctrl and no capability in its data threads; it
# appends to its log and keeps writing its status file. A's starting command
# returns at once while A keeps running detached (own session, cwd /, not
# our child); its log file gets the log lines, stdout and stderr stay empty,
# its pid file holds its PID, its management socket answers, SIGHUP reopens
# its log file (logrotate). Ping both ways. SIGTERM through the pid file
# stops A cleanly and removes the file. A again as a daemon without `log`:
# stdio on /dev/null, TUN up, stopped the same way. B exits 0 on SIGTERM.
#
# A daemon is not our child: its PID comes from its pid file, and it is
# killed only if its command line names this test's work directory.
source "$(dirname "$0")/lib.sh"
A=slprA-$$ B=slprB-$$
DAEMON_PIDFILES=()

own_daemon() {	# own_daemon PID: a live sluice started with one of our configs
	[ -n "$1" ] && grep -qa -- "$WORK/" "/proc/$1/cmdline" 2>/dev/null
}
kill_daemons() {
	set +e
	local f p
	for f in "${DAEMON_PIDFILES[@]}"; do
		p=$(cat "$f" 2>/dev/null)
		own_daemon "$p" || continue
		kill -TERM "$p"
		for _ in $(seq 1 50); do own_daemon "$p" || break; sleep 0.1; done
		own_daemon "$p" && kill -KILL "$p"
	done
}
trap 'kill_daemons; cleanup' EXIT

netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.0.1/30 "$B" vb 198.18.0.2/30
make_static_key "$WORK/key"

conf() {	# conf NAME LOCAL REMOTE TUNADDR DIRECTION EXTRA...
	local name=$1 lo=$2 re=$3 tun=$4 dir=$5
	shift 5
	{
		cat <<CONF
dev sl0
dev-type tun
proto udp
local $lo
lport 1194
remote $re 1194
topology subnet
ifconfig $tun 255.255.255.0
test-data-key $WORK/key $dir
test-peer-id 5
verb 1
CONF
		printf '%s\n' "$@"
	} >"$WORK/$name.conf"
}
conf a 198.18.0.1 198.18.0.2 198.19.0.1 0 "daemon" "log $WORK/a.log" "writepid $WORK/a.pid" \
	"management 127.0.0.1 7505"
conf b 198.18.0.2 198.18.0.1 198.19.0.2 1 "user nobody" "group nogroup" \
	"log-append $WORK/b.log" "writepid $WORK/b.pid" "status $WORK/b.status 1"
conf a2 198.18.0.1 198.18.0.2 198.19.0.1 0 "daemon" "writepid $WORK/a2.pid"
DAEMON_PIDFILES=("$WORK/a.pid" "$WORK/a2.pid")

check() {	# check DESCRIPTION LEFT RIGHT
	if [ "$2" != "$3" ]; then fail "$1: '$2' != '$3'"; fi
	echo "[ok] $1: $2"
}
field() {	# field PID N: field N of /proc/PID/stat after the command name
	sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f"$2"
}

# --- refused before anything starts
set +e
ip netns exec "$A" "$SLUICE" --config "$WORK/a.conf" --chroot /var/empty >"$WORK/r1.out" 2>&1
rc=$?
ip netns exec "$A" "$SLUICE" --config "$WORK/a.conf" --user no-such-user-slpr >"$WORK/r2.out" 2>&1
rc2=$?
set -e
check "chroot: exit status (configuration error)" $rc 2
grep -q "chroot is not supported by sluice" "$WORK/r1.out" || fail "chroot: no message: $(cat "$WORK/r1.out")"
check "unknown user: exit status (configuration error)" $rc2 2
grep -q "user 'no-such-user-slpr' not found" "$WORK/r2.out" || fail "user: $(cat "$WORK/r2.out")"
[ ! -e "$WORK/a.log" ] && [ ! -e "$WORK/a.pid" ] || fail "a refused start left a log or pid file"
ip -n "$A" link show sl0 >/dev/null 2>&1 && fail "a refused start opened the TUN device"
echo "[ok] refused: no log, no pid file, no TUN"

# --- B: user nobody, group nogroup, log-append (our child)
echo "an earlier line" >"$WORK/b.log"
spawn "$B" "$SLUICE" --config "$WORK/b.conf" >"$WORK/b.out" 2>&1
PB=$LAST_PID
# The last line of the drop: everything checked below is done by then.
wait_for 10 grep -q "Capabilities retained: CAP_NET_ADMIN" "$WORK/b.log" ||
	fail "B did not drop its privileges: $(tail -n 5 "$WORK/b.log")"

# --- A: daemon with log, writepid, management
timeout 10 ip netns exec "$A" "$SLUICE" --config "$WORK/a.conf" >"$WORK/a.out" 2>&1 ||
	fail "starting the daemon failed or did not return (exit $?)"
wait_for 10 test -s "$WORK/a.pid" || fail "A wrote no pid file"
PA=$(cat "$WORK/a.pid")
own_daemon "$PA" || fail "A's pid file names $PA, not a running sluice of ours"
check "A: session leader (setsid)" "$(field "$PA" 4)" "$PA"
[ "$(field "$PA" 2)" != $$ ] || fail "A is our child"
wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.0.1 || fail "A's tun did not come up"
wait_for 10 ip -n "$B" addr show dev sl0 to 198.19.0.2 || fail "B's tun did not come up"
wait_for 5 grep -q "Initialization Sequence Completed" "$WORK/a.log" || fail "A's log: no init line"
cwd_is_root() { [ "$(readlink "/proc/$PA/cwd")" = / ]; }
wait_for 5 cwd_is_root || fail "A's cwd is $(readlink "/proc/$PA/cwd"), not /"
echo "[ok] A: cwd /"

cmd ip netns exec "$A" ping -c 3 -i 0.2 -W 2 198.19.0.2
cmd ip netns exec "$B" ping -c 3 -i 0.2 -W 2 198.19.0.1

check "A: stdout and stderr of the starting command" "$(cat "$WORK/a.out")" ""
grep -q "sluice .* starting" "$WORK/a.log" || fail "A's log: no start line"
grep -q "MANAGEMENT: TCP Socket listening on \[AF_INET\]127.0.0.1:7505" "$WORK/a.log" ||
	fail "A's log: the management interface is not listening"
echo "[ok] A: log file has the log lines"
# The daemon's management socket answers (it was opened before the fork).
ip netns exec "$A" python3 "$TOP/tests/interop/mgmt_client.py" --timeout 5 127.0.0.1:7505 pid \
	>"$WORK/a-mgmt.txt" 2>&1 || fail "A's management interface: $(cat "$WORK/a-mgmt.txt")"
check "A: management pid" "$(sed -n 's/^SUCCESS: pid=//p' "$WORK/a-mgmt.txt")" "$PA"
# logrotate: the file moved away, SIGHUP opens it anew; the rotated one keeps the old lines.
mv "$WORK/a.log" "$WORK/a.log.1"
kill -HUP "$PA"
wait_for 5 grep -q "SIGHUP: log file .* reopened" "$WORK/a.log" || fail "A did not reopen its log on SIGHUP"
grep -q "Initialization Sequence Completed" "$WORK/a.log.1" || fail "the rotated log lost its lines"
cmd ip netns exec "$A" ping -c 2 -i 0.2 -W 2 198.19.0.2
echo "[ok] A: SIGHUP reopens the log file (logrotate), the tunnel stays"

# --- B's credentials
uid=$(id -u nobody)
gid=$(getent group nogroup | cut -d: -f3)
check "B: Uid" "$(grep '^Uid:' "/proc/$PB/status" | cut -f2-)" "$uid	$uid	$uid	$uid"
check "B: Gid" "$(grep '^Gid:' "/proc/$PB/status" | cut -f2-)" "$gid	$gid	$gid	$gid"
check "B: Groups" "$(grep '^Groups:' "/proc/$PB/status" | cut -f2- | tr -d ' ')" ""
check "B: ctrl keeps CAP_NET_ADMIN only" "$(grep '^CapEff:' "/proc/$PB/status" | cut -f2)" \
	0000000000001000
n=0
for t in /proc/"$PB"/task/*; do
	[ "${t##*/}" = "$PB" ] && continue
	check "B: data thread ${t##*/} CapEff" "$(grep '^CapEff:' "$t/status" | cut -f2)" \
		0000000000000000
	n=$((n + 1))
done
[ $n -gt 0 ] || fail "B has no data threads"
check "B: first log line kept (log-append)" "$(head -n 1 "$WORK/b.log")" "an earlier line"
grep -q "GID set to nogroup" "$WORK/b.log" && grep -q "UID set to nobody" "$WORK/b.log" ||
	fail "B's log: no GID/UID lines"
check "B: pid file" "$(cat "$WORK/b.pid")" "$PB"
check "B: stdout and stderr" "$(cat "$WORK/b.out")" ""
sleep 1.5	# the status file is written every second, now through the fd kept open
[ "$(counter "$WORK/b.status" udp_rx.rx_pkts)" -gt 0 ] || fail "B's status file is not updated"
grep -q "status: cannot" "$WORK/b.log" && fail "B could not write its status file"

# --- stop A through its pid file
kill -TERM "$PA"
wait_for 10 sh -c "! grep -qa -- '$WORK/' /proc/$PA/cmdline" || fail "A did not exit on SIGTERM"
grep -q "exiting with status 0" "$WORK/a.log" || fail "A did not exit cleanly: $(tail -n 3 "$WORK/a.log")"
[ ! -e "$WORK/a.pid" ] || fail "A left its pid file"
echo "[ok] A: SIGTERM through the pid file, exit 0, pid file removed"

# --- A again: daemon without log (syslog), stdio on /dev/null
timeout 10 ip netns exec "$A" "$SLUICE" --config "$WORK/a2.conf" >"$WORK/a2.out" 2>&1 ||
	fail "starting the second daemon failed (exit $?)"
wait_for 10 test -s "$WORK/a2.pid" || fail "A2 wrote no pid file"
PA2=$(cat "$WORK/a2.pid")
own_daemon "$PA2" || fail "A2's pid file names $PA2, not a running sluice of ours"
wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.0.1 || fail "A2's tun did not come up"
for fd in 0 1 2; do
	check "A2: fd $fd" "$(readlink "/proc/$PA2/fd/$fd")" /dev/null
done
check "A2: output of the starting command" "$(cat "$WORK/a2.out")" ""
kill -TERM "$PA2"
wait_for 10 sh -c "! grep -qa -- '$WORK/' /proc/$PA2/cmdline" || fail "A2 did not exit on SIGTERM"
[ ! -e "$WORK/a2.pid" ] || fail "A2 left its pid file"
echo "[ok] A2: detached without a log, stopped through its pid file"

stop_pid "$PB" || fail "B did not exit 0 on SIGTERM"
grep -q "exiting with status 0" "$WORK/b.log" || fail "B's log: no clean exit"
echo "process options: ok"
