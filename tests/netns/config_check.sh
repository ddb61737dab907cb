#!/bin/bash
# config_check.sh - `sluice --config FILE --check` and the same checks at start.
#
# A good client and server configuration check clean (exit 0). A broken one
# (a certificate that is really a key, a CA with broken base64, a missing
# tls-crypt key, unknown names in data-ciphers / cipher / auth, an unwritable
# status directory, a missing up script, management-hold without management)
# lists every problem with its FILE:LINE and exits 1. Started for real in a
# fresh namespace, the broken one exits 2 (configuration error) before any
# TUN device or socket exists. Stock openvpn refuses the same algorithm names
# at start-up. --help lists the options grouped, sluice's own marked.
# Exit 0 pass, 1 fail, 77 skip.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
NS=slck-$$
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
	-days 2 -subj "/CN=slck-ca" 2>/dev/null
for n in server client; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr \
		-subj "/CN=$n" 2>/dev/null
	openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out $n.crt \
		2>/dev/null
done
make_static_key tc.key
sed 's/^MII/MI!I/' ca.crt >broken-ca.crt

cat >good-client.conf <<EOF
client
dev tun
remote 198.18.99.1 1194
ca ca.crt
cert client.crt
key client.key
tls-crypt tc.key
remote-cert-tls server
data-ciphers AES-256-GCM:CHACHA20-POLY1305
EOF
cat >good-server.conf <<EOF
server 198.19.99.0 255.255.255.0
dev tun
ca ca.crt
cert server.crt
key server.key
dh none
tls-crypt tc.key
status $WORK/status.txt 10
management $WORK/mgmt.sock unix
management-client-auth
EOF
for f in good-client good-server; do
	"$SLUICE" --config $f.conf --check >$f.out 2>&1 || { cat $f.out; fail "$f: --check exit $?"; }
	grep -q "0 error(s), 0 warning(s): ready to start" $f.out || fail "$f: $(cat $f.out)"
done
[ ! -e mgmt.sock ] && [ ! -e status.txt ] || fail "--check opened a socket or wrote a file"
echo "[ok] good client and server configurations: exit 0, nothing opened"

cat >bad.conf <<EOF
client
dev tun
remote 198.18.99.1 1194
ca broken-ca.crt
cert client.key
key client.key
tls-crypt missing.key
data-ciphers AES-256-GCM:ROT13-CBC
cipher ROT13-CBC
auth MD17
status /nonexistent/dir/status.txt
up $WORK/no-such-script
management-hold
EOF
set +e
"$SLUICE" --config bad.conf --check >bad.out 2>&1
rc=$?
set -e
cat bad.out
[ $rc = 1 ] || fail "bad: --check exit $rc, want 1"
for want in "bad.conf:4: error: TLS: cannot load ca 'broken-ca.crt'" \
	"bad.conf:5: error: TLS: cannot load certificate 'client.key'" \
	"bad.conf:7: error: cannot read tls-crypt 'missing.key'" \
	"bad.conf:8: error: Unsupported cipher in --data-ciphers: ROT13-CBC" \
	"bad.conf:9: error: Cipher ROT13-CBC not supported" \
	"bad.conf:10: error: Message hash algorithm 'MD17' not found" \
	"bad.conf:11: error: cannot write status" \
	"bad.conf:12: error: up script fails with" \
	"bad.conf:13: error: --management is not specified"; do
	grep -qF "$want" bad.out || fail "bad: missing '$want'"
done
grep -q "9 error(s)" bad.out || fail "bad: not 9 errors"
echo "[ok] broken configuration: every problem with FILE:LINE, exit 1"

# A real start of the broken configuration: exit 2 before any device or socket.
netns_add "$NS"
set +e
ip netns exec "$NS" "$SLUICE" --config bad.conf >start.out 2>&1
rc=$?
set -e
[ $rc = 2 ] || { cat start.out; fail "bad: start exit $rc, want 2 (configuration error)"; }
grep -q "not starting" start.out || fail "bad: start did not say why"
ip -n "$NS" -o link show | grep -q tun && fail "bad: a TUN device was created"
[ -z "$(ip netns exec "$NS" ss -Huan)" ] || fail "bad: a socket was opened"
echo "[ok] broken configuration at start: exit 2, no TUN device, no socket"

# Layer 2 is refused with its place, at --check and at start (exit 2).
{ cat good-client.conf; echo "dev tap"; } >tap.conf
n=$(wc -l <tap.conf)
set +e
"$SLUICE" --config tap.conf --check >tap.out 2>&1
rc=$?
set -e
[ $rc = 1 ] && grep -q "^tap.conf:$n: error: dev tap (layer 2" tap.out ||
	{ cat tap.out; fail "dev tap: --check exit $rc, want 1 and tap.conf:$n"; }
set +e
ip netns exec "$NS" "$SLUICE" --config tap.conf >tap.out 2>&1
rc=$?
set -e
[ $rc = 2 ] && grep -q "tap.conf:$n: error: dev tap" tap.out ||
	{ cat tap.out; fail "dev tap: start exit $rc, want 2 with tap.conf:$n"; }
echo "[ok] dev tap refused with its file:line"

# Stock refuses the same names at start-up.
if command -v openvpn >/dev/null; then
	for opt in "--data-ciphers AES-256-GCM:ROT13-CBC|Unsupported cipher in --data-ciphers: ROT13-CBC" \
		"--cipher ROT13-CBC|Cipher ROT13-CBC not supported" \
		"--auth MD17|Message hash algorithm 'MD17' not found"; do
		msg=${opt#*|}
		opt=${opt%%|*}
		# shellcheck disable=SC2086 # the option and its argument are two words
		ip netns exec "$NS" timeout 10 openvpn --config good-client.conf $opt --verb 1 \
			>stock.out 2>&1 && fail "stock openvpn accepted $opt"
		grep -qF "$msg" stock.out || fail "stock's refusal of $opt: $(cat stock.out)"
		# shellcheck disable=SC2086
		"$SLUICE" --config good-client.conf $opt --check >sl.out 2>&1 &&
			fail "sluice --check accepted $opt"
		grep -qF "error: $msg" sl.out || fail "sluice's refusal of $opt: $(cat sl.out)"
	done
	echo "[ok] stock and sluice both refuse ROT13-CBC and MD17"
fi

"$SLUICE" --help >help.out
for want in "Connection, transport and keepalive:" "TLS, authentication and the data channel:" \
	"Server:" "  --management ADDRESS PORT [PW-FILE] or PATH unix [PW-FILE]" \
	"  --metrics ADDRESS PORT   [sluice]" "  --workers N   [sluice]" \
	"Refused (OpenVPN options sluice does not implement"; do
	grep -qF -- "$want" help.out || fail "--help lacks '$want'"
done
grep -q -- "--remote.*\[sluice\]" help.out && fail "--help marks an OpenVPN option as sluice's"
echo "[ok] --help: grouped, sluice's own marked, refused ones listed"
