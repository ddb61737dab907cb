#!/bin/bash
# server_sample_config.sh - the server with OpenVPN's own sample server.conf
# (Debian: /usr/share/doc/openvpn/examples/sample-config-files), clients with
# the sample client.conf, both nearly unchanged.
#
# The server and the clients run in $WORK, where the PKI files carry the
# sample's names (ca.crt, server.crt, server.key, dh2048.pem = ffdhe2048
# parameters from openssl genpkey, ta.key), so the sample's relative paths
# and its "key server.key  # This file should be kept secret" line stay as
# they are. Substituted, line by line (the script fails if a line is not in
# the sample): `port`, `server 198.19.62.0 255.255.255.0`, the
# ifconfig-pool-persist and status paths; in client.conf `remote`, `cert`,
# `key`. The client namespaces get a default route via the server's address
# so that a pushed redirect-gateway really applies.
#
# Variants (each: server + two stock clients, which ping the server's tunnel
# address; with client-to-client they ping each other, without it they must
# not reach each other):
#   sample   the sample as it is (topology subnet, keepalive 10 120,
#            persist-key, persist-tun, explicit-exit-notify 1, tls-auth
#            commented out, default data ciphers); $WORK/sample-ipp.txt
#            (ifconfig-pool-persist) holds client1,198.19.62.20 and
#            client2,198.19.62.21 before the start: the clients get these.
#   options  the sample's commented-out common options enabled:
#            client-to-client, duplicate-cn (both clients use client1's
#            certificate), max-clients 100, push "redirect-gateway def1
#            bypass-dhcp", push "dhcp-option DNS 198.19.62.53", tls-auth ta.key
#            0 (clients: tls-auth ta.key 1), user nobody / group nogroup
#            (the sample's "openvpn" user does not exist here). Also checked:
#            both pushed options reach the clients' PUSH_REPLY, the clients
#            route 0.0.0.0/1 into the tunnel, the server runs as nobody/nogroup.
#   comp-lzo options + `comp-lzo` on the server and in the clients (the old
#            sample's advice: "you must also enable it in the client config").
#   net30    options with `topology subnet` commented out: 2.6's default
#            net30 (each client a /30, tun with a peer address).
#   net30-plain  the sample with `topology subnet` commented out.
# After the clients are up, the server is stopped with SIGTERM: with the
# sample's explicit-exit-notify 1 it tells its clients to restart, which both
# clients log ("server-pushed-connection-reset") within 5 s.
# Without duplicate-cn the server writes the pool file back on exit: it
# lists both clients' addresses (net30: each client's /30 base address).
# A variant stops at its first failure only when the rest cannot run (server
# or client down, lost pings); other failed checks are all printed, then the
# variant fails. One PASS/FAIL line per variant, then a summary.
#
#   env: SAMPLE_VARIANTS (default: all, in the order above)
#        OPENVPN_SAMPLES (default /usr/share/doc/openvpn/examples/sample-config-files)
#
# Exit 0 all variants pass, 1 any fails, 77 skip (not root, openvpn/openssl or
# the sample files missing).
. "$(dirname "$0")/server.lib"

SAMPLES=${OPENVPN_SAMPLES:-/usr/share/doc/openvpn/examples/sample-config-files}
for f in server.conf client.conf; do
	[ -f "$SAMPLES/$f" ] || { echo "server_sample_config: SKIP (no $SAMPLES/$f)"; exit 77; }
done
VARIANTS=${SAMPLE_VARIANTS:-sample options comp-lzo net30 net30-plain}
NET=198.19.62
NOBODY_UID=$(id -u nobody) || { echo "server_sample_config: SKIP (no user nobody)"; exit 77; }
NOGROUP_GID=$(getent group nogroup | cut -d: -f3)
[ -n "$NOGROUP_GID" ] || { echo "server_sample_config: SKIP (no group nogroup)"; exit 77; }

cd "$WORK"
srv_pki 2
openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out dh2048.pem 2>/dev/null ||
	fail "openssl genpkey could not write ffdhe2048 parameters"
openvpn --genkey tls-auth ta.key >/dev/null
chmod 600 ta.key
srv_net c1 c2
for c in c1 c2; do
	ip -n "$(ns_of "$c")" route add default via $SRV_IP
done

# subst FILE OLD NEW: replaces the line that is exactly OLD; fails if there is none.
subst() {
	awk -v old="$2" -v new="$3" '$0 == old { print new; n++; next } { print }
		END { exit n ? 0 : 1 }' "$1" >"$1.tmp" ||
		fail "${1##*/}: no line '$2' (has the sample changed?)"
	mv "$1.tmp" "$1"
}

has() { case " $OPTS " in *" $1 "*) return 0 ;; esac; return 1; }

# server_conf NAME PORT: the sample server.conf for variant NAME ($OPTS).
server_conf() {
	local f=$1.conf
	cp "$SAMPLES/server.conf" "$f"
	subst "$f" "port 1194" "port $2"
	subst "$f" "server 10.8.0.0 255.255.255.0" "server $NET.0 255.255.255.0"
	subst "$f" "ifconfig-pool-persist /var/log/openvpn/ipp.txt" \
		"ifconfig-pool-persist $WORK/$1-ipp.txt"
	subst "$f" "status /var/log/openvpn/openvpn-status.log" "status $WORK/$1-status.log"
	if has c2c; then subst "$f" ";client-to-client" "client-to-client"; fi
	if has dup; then subst "$f" ";duplicate-cn" "duplicate-cn"; fi
	if has maxcl; then subst "$f" ";max-clients 100" "max-clients 100"; fi
	if has redirect; then
		subst "$f" ';push "redirect-gateway def1 bypass-dhcp"' 'push "redirect-gateway def1 bypass-dhcp"'
	fi
	if has dns; then
		subst "$f" ';push "dhcp-option DNS 208.67.222.222"' "push \"dhcp-option DNS $NET.53\""
	fi
	if has tlsauth; then
		subst "$f" ";tls-auth ta.key 0 # This file is secret" "tls-auth ta.key 0 # This file is secret"
	fi
	if has user; then
		subst "$f" ";user openvpn" "user nobody"
		subst "$f" ";group openvpn" "group nogroup"
	fi
	if has complzo; then printf '\n# Old sample: enable it in the client config too.\ncomp-lzo\n' >>"$f"; fi
	if has net30; then subst "$f" "topology subnet" ";topology subnet"; fi
	return 0
}

# client_conf NAME CLIENT CERT PORT: the sample client.conf.
client_conf() {
	local f=$1-$2.conf
	cp "$SAMPLES/client.conf" "$f"
	subst "$f" "remote my-server-1 1194" "remote $SRV_IP $4"
	subst "$f" "cert client.crt" "cert $3.crt"
	subst "$f" "key client.key" "key $3.key"
	if has tlsauth; then subst "$f" ";tls-auth ta.key 1" "tls-auth ta.key 1"; fi
	if has complzo; then printf '\ncomp-lzo\n' >>"$f"; fi
	return 0
}

# no_ping NAME ADDR: two pings from NAME to ADDR, none answered.
no_ping() {
	! ip netns exec "$(ns_of "$1")" ping -c 2 -i 0.3 -W 1 "$2" >/dev/null 2>&1
}

# proc_ids PID Uid|Gid: the real, effective, saved and fs ids of PID.
proc_ids() {
	awk -v k="$2:" '$1 == k { print $2, $3, $4, $5 }' "/proc/$1/status" 2>/dev/null
}

# vfail MSG: a failed check after which the variant can go on; it fails at its end.
vfail() {
	echo "FAIL: $*"
	VFAILS=$((VFAILS + 1))
}

# variant NAME PORT: one server + two clients. Runs in a subshell: sfail
# (server or client down, lost pings) ends it at once, vfail at its end.
variant() {
	VFAILS=0
	variant_run "$@"
	[ "$VFAILS" -eq 0 ] || sfail "$1: $VFAILS check(s) failed (see above)"
}

variant_run() {
	local name=$1 port=$2 c a cert2=client2 want
	declare -A VA=()

	STATUS=$WORK/$name-status.log
	has dup && cert2=client1
	server_conf "$name" "$port"
	client_conf "$name" c1 client1 "$port"
	client_conf "$name" c2 "$cert2" "$port"
	if has ipp; then printf 'client1,%s.20,\nclient2,%s.21,\n' $NET $NET >"$name-ipp.txt"; fi
	srv_start "$name.conf" "$name-srv.log"
	cli_start c1 "$name-c1.conf" "$name-c1.log"
	cli_start c2 "$name-c2.conf" "$name-c2.log"
	for c in c1 c2; do
		cli_up "$c" || sfail "$name: $c did not come up within 30 s"
		VA[$c]=$(cli_addr "$c")
		case ${VA[$c]} in
		$NET.*) ;;
		*) sfail "$name: $c tun address '${VA[$c]}' is not in $NET.0/24" ;;
		esac
		a=$(ip -n "$(ns_of "$c")" -4 -o addr show dev tun0)
		if has net30; then
			want="inet ${VA[$c]} peer $NET.[0-9]*/32"
		else
			want="inet ${VA[$c]}/24"
		fi
		echo "$a" | grep -q "$want" || vfail "$name: $c tun0 is '$a', expected '$want'"
	done
	[ "${VA[c1]}" != "${VA[c2]}" ] || sfail "$name: both clients got ${VA[c1]}"
	if has ipp; then
		[ "${VA[c1]} ${VA[c2]}" = "$NET.20 $NET.21" ] ||
			vfail "$name: clients got ${VA[c1]} and ${VA[c2]}, not $NET.20 and $NET.21 from $name-ipp.txt"
	fi
	echo "$name: c1 ${VA[c1]}, c2 ${VA[c2]}"

	for c in c1 c2; do
		ping_ok "$c" $NET.1 || sfail "$name: $c cannot ping the server $NET.1"
	done
	if has c2c; then
		ping_ok c1 "${VA[c2]}" || sfail "$name: c1 cannot ping c2 at ${VA[c2]} (client-to-client)"
		ping_ok c2 "${VA[c1]}" || sfail "$name: c2 cannot ping c1 at ${VA[c1]} (client-to-client)"
		ip netns exec "$(ns_of c1)" ping -c 5 -i 0.2 -W 2 "${VA[c2]}" >"$name-ping.log" 2>&1 ||
			{ cat "$name-ping.log"; sfail "$name: c1 -> c2 lost pings"; }
	else
		no_ping c1 "${VA[c2]}" || vfail "$name: c1 reaches c2 at ${VA[c2]} without client-to-client"
	fi
	ip netns exec "$(ns_of c2)" ping -c 5 -i 0.2 -W 2 $NET.1 >"$name-ping-srv.log" 2>&1 ||
		{ cat "$name-ping-srv.log"; sfail "$name: c2 -> server lost pings"; }
	if has redirect; then
		grep -q "PUSH_REPLY.*redirect-gateway def1 bypass-dhcp" "$name-c1.log" ||
			vfail "$name: no redirect-gateway in c1's PUSH_REPLY"
		ip -n "$(ns_of c1)" route show 0.0.0.0/1 | grep -q "dev tun0" ||
			vfail "$name: c1 has no 0.0.0.0/1 route into tun0: $(ip -n "$(ns_of c1)" route)"
	fi
	if has dns; then
		grep -q "PUSH_REPLY.*dhcp-option DNS $NET.53" "$name-c1.log" ||
			vfail "$name: no 'dhcp-option DNS $NET.53' in c1's PUSH_REPLY"
	fi
	if has user; then
		a=$(proc_ids "$SRV" Uid)
		[ "$a" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ] ||
			vfail "$name: server uids (real effective saved fs) '$a', expected nobody ($NOBODY_UID) after 'user nobody'"
		a=$(proc_ids "$SRV" Gid)
		[ "$a" = "$NOGROUP_GID $NOGROUP_GID $NOGROUP_GID $NOGROUP_GID" ] ||
			vfail "$name: server gids '$a', expected nogroup ($NOGROUP_GID) after 'group nogroup'"
	fi

	# explicit-exit-notify 1 on the server: SIGTERM tells the clients to restart.
	srv_stop
	for c in c1 c2; do
		wait_log "${CPID[$c]}" 5 "$name-$c.log" "server-pushed-connection-reset" ||
			vfail "$name: $c did not log a server-pushed restart within 5 s of the server's exit"
	done
	for c in c1 c2; do
		cli_stop "$c" || sfail "$name: $c did not exit cleanly"
	done
	# The pool is written back on exit (nothing with duplicate-cn); net30: each /30's base.
	has dup && return 0
	[ -f "$name-ipp.txt" ] || { vfail "$name: no $name-ipp.txt after the server's exit"; return 0; }
	for c in c1 c2; do
		a=${VA[$c]}
		has net30 && a=${a%.*}.$((${a##*.} & ~3))
		grep -qx "client${c#c},$a," "$name-ipp.txt" ||
			vfail "$name: $name-ipp.txt lacks 'client${c#c},$a,' after the server's exit: $(cat "$name-ipp.txt")"
	done
}

# Each variant runs in a subshell (sfail exits it), with its own process cleanup.
declare -A RESULT=()
port=1194
rc=0
for v in $VARIANTS; do
	case $v in
	sample) OPTS="ipp" ;;
	options) OPTS="c2c dup maxcl redirect dns tlsauth user" ;;
	comp-lzo) OPTS="c2c dup maxcl redirect dns tlsauth user complzo" ;;
	net30) OPTS="c2c dup maxcl redirect dns tlsauth user net30" ;;
	net30-plain) OPTS="net30" ;;
	*) fail "unknown variant '$v'" ;;
	esac
	echo "=== variant $v ($SERVER_IMPL server):${OPTS:+ $OPTS}"
	set +e
	(
		set -e
		PIDS_STARTED=()
		LOGS=()
		trap 'set +e; for p in "${PIDS_STARTED[@]}"; do kill -TERM "$p" 2>/dev/null; done
			for p in "${PIDS_STARTED[@]}"; do
				for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
				kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
			done' EXIT
		variant "$v" "$port"
	)
	r=$?
	set -e
	if [ $r -eq 0 ]; then RESULT[$v]=PASS; else RESULT[$v]=FAIL; rc=1; fi
	echo "server_sample_config ($SERVER_IMPL) variant $v: ${RESULT[$v]}"
	port=$((port + 1))
done
echo "----- server_sample_config ($SERVER_IMPL) summary -----"
for v in $VARIANTS; do
	printf '  %-12s %s\n' "$v" "${RESULT[$v]}"
done
[ $rc -eq 0 ] && echo "server_sample_config ($SERVER_IMPL): PASS" ||
	echo "server_sample_config ($SERVER_IMPL): FAIL"
exit $rc
