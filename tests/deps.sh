#!/bin/sh
# Installs every Debian package the build, tests and demo need; with --bench also what only
# `make bench` uses (gnuplot for its chart, wireguard-go and wireguard-tools for its
# userspace WireGuard pair, bench/wg.lib).
# Idempotent: does nothing (and needs no network) when all are present.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev libssl-dev liburing-dev libck-dev
liblz4-dev liblzo2-dev openssl openvpn iperf3 iproute2 iputils-ping nftables procps psmisc tcpdump
python3 python3-cryptography curl"
[ "${1:-}" != --bench ] || PKGS="$PKGS gnuplot-nox wireguard-go wireguard-tools"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
