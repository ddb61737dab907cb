#!/bin/bash
# install_units.sh - `make install` (PREFIX, SYSCONFDIR, DESTDIR) puts the
# binary, the systemd units and the man page in place, the units name the
# installed binary and pass `systemd-analyze verify` (when it is there), the
# man page renders without warnings, and `make uninstall` takes them away.
# Nothing outside $WORK is touched. Exit 0 pass, 1 fail, 77 skip.
source "$(dirname "$0")/lib.sh"
cd "$TOP"
P=$WORK/prefix E=$WORK/etc D=$WORK/dest
cmd make -s install BUILD="${BUILD:-build}" PREFIX="$P" SYSCONFDIR="$E" >/dev/null
for f in "$P/sbin/sluice" "$P/share/man/man8/sluice.8" "$P/lib/systemd/system/sluice-client@.service" \
	"$P/lib/systemd/system/sluice-server@.service"; do
	[ -f "$f" ] || fail "not installed: $f"
done
[ -d "$E/sluice/client" ] && [ -d "$E/sluice/server" ] || fail "no $E/sluice/{client,server}"
[ "$(stat -c %a "$P/sbin/sluice")" = 755 ] || fail "the binary is not mode 755"
"$P/sbin/sluice" --version | grep -q "^sluice " || fail "the installed binary does not run"
for u in client server; do
	f=$P/lib/systemd/system/sluice-$u@.service
	grep -q "^ExecStart=$P/sbin/sluice " "$f" || fail "$u unit: ExecStart does not name $P/sbin/sluice"
	grep -q "^WorkingDirectory=$E/sluice/$u$" "$f" || fail "$u unit: WorkingDirectory is not $E/sluice/$u"
	grep -q "^Type=notify$" "$f" && grep -q "^Restart=on-failure$" "$f" ||
		fail "$u unit: not Type=notify with Restart=on-failure"
done
echo "[ok] make install: binary, units, man page, config directories"

if command -v groff >/dev/null; then
	w=$(groff -man -ww -z "$P/share/man/man8/sluice.8" 2>&1)
	[ -z "$w" ] || fail "the man page has warnings: $w"
	echo "[ok] man page renders without warnings"
fi
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$WORK/units"
	for u in client server; do
		cp "$P/lib/systemd/system/sluice-$u@.service" "$WORK/units/sluice-$u@test.service"
	done
	out=$(cd "$WORK/units" && MANPATH="$P/share/man" systemd-analyze verify \
		sluice-client@test.service sluice-server@test.service 2>&1) ||
		fail "systemd-analyze verify: $out"
	echo "[ok] systemd-analyze verify: both units"
fi

cmd make -s install BUILD="${BUILD:-build}" DESTDIR="$D" PREFIX=/usr >/dev/null
[ -x "$D/usr/sbin/sluice" ] && grep -q "^ExecStart=/usr/sbin/sluice " \
	"$D/usr/lib/systemd/system/sluice-client@.service" || fail "DESTDIR install"
echo "[ok] make install DESTDIR=... PREFIX=/usr"
cmd make -s uninstall PREFIX="$P" SYSCONFDIR="$E" >/dev/null
[ ! -e "$P/sbin/sluice" ] && [ ! -e "$P/lib/systemd/system/sluice-client@.service" ] ||
	fail "make uninstall left files"
echo "[ok] make uninstall"
