#!/bin/sh
# STYLE.md §1: the dependency direction between folders, enforced.
#   One line of layers: ctrl/ -> io/ -> crypto/ -> core/.
#   core/   may include only itself (and libc, ck)
#   crypto/ may include core/ (and OpenSSL, lz4)
#   io/     may include crypto/ and core/ (and liburing)
#   ctrl/   anything; bench/ and tests/ anything
fail=0
check() {
	dir=$1; shift
	for bad in "$@"; do
		hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]+[\"<](\.\./)*$bad/" \
			"$dir"/*.c "$dir"/*.h 2>/dev/null)
		if [ -n "$hits" ]; then
			echo "deps-check: $dir/ must not include $bad/:"
			echo "$hits"
			fail=1
		fi
	done
	# A library header in the wrong folder is the same mistake.
}
check core crypto io ctrl
check crypto io ctrl
check io ctrl
libs() {
	dir=$1; pat=$2; what=$3
	hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]+<($pat)" "$dir"/*.c "$dir"/*.h 2>/dev/null)
	if [ -n "$hits" ]; then
		echo "deps-check: $dir/ must not use $what:"
		echo "$hits"
		fail=1
	fi
}
libs core "openssl/|liburing|lz4" "OpenSSL, liburing or lz4"
libs crypto "liburing" "liburing"
libs io "openssl/|lz4" "OpenSSL or lz4 (crypto/ wraps them)"
[ $fail -eq 0 ] && echo "deps-check: ok"
exit $fail
