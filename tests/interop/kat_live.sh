#!/bin/bash
# kat_live.sh - live data-channel interop check against the installed openvpn.
#
# Captures fresh known-answer vectors from stock OpenVPN 2.6 (tests/kat/gen.sh:
# AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305, both directions) and runs
# ${BUILD:-build}/tests/kat_test on them: sluice must open every packet
# OpenVPN sent and reproduce it byte for byte when sealing.
# Exit 0 pass, 1 fail, 77 skip (not root, openvpn/tcpdump missing, no test binary).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KAT=${BUILD:-build}/tests/kat_test
case "$KAT" in /*) ;; *) KAT="$ROOT/$KAT" ;; esac

if [ "$(id -u)" -ne 0 ]; then
	echo "kat_live: SKIP (needs root for network namespaces)"
	exit 77
fi
for cmd in openvpn tcpdump python3; do
	if ! command -v "$cmd" >/dev/null; then
		echo "kat_live: SKIP ($cmd not installed)"
		exit 77
	fi
done
if [ ! -x "$KAT" ]; then
	echo "kat_live: SKIP ($KAT not built; make unit-bins)"
	exit 77
fi

TMP=$(mktemp -t slkat-live.XXXXXX)
trap 'rm -f "$TMP"' EXIT

timeout 120 "$ROOT/tests/kat/gen.sh" "$TMP"
rc=$?
case $rc in
	0) ;;
	77) echo "kat_live: SKIP (gen.sh could not run)"; exit 77 ;;
	*) echo "kat_live: FAIL (gen.sh exit $rc)"; exit 1 ;;
esac

if "$KAT" "$TMP"; then
	echo "kat_live: PASS ($(openvpn --version | head -1 | cut -d' ' -f1-2))"
	exit 0
fi
echo "kat_live: FAIL"
exit 1
