#!/bin/sh
# The bench's optional Debian packages (make bench-deps, after tests/deps.sh --bench):
# wireguard-go and wireguard-tools for tunnel_bench's wireguard-go column (bench/wg.lib).
# Idempotent, needs no network when they are present. Never fails the bench: without them
# that column reads "n/a" and everything else is measured as before.
PKGS="wireguard-go wireguard-tools"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-deps: missing:$missing (optional; run 'make bench-deps' as root)" >&2
	exit 0
fi
echo "bench-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; } ||
	echo "bench-deps: could not install$missing: the wireguard-go column will read n/a" >&2
exit 0
