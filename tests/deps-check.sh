#!/bin/bash
# STYLE.md §1: one line of layers, enforced.
#
#   ctrl/ -> io/ -> crypto/ -> core/          (bench/ and tests/ are not checked)
#
#   core/    includes nothing above it              libraries: libc, ck (no OpenSSL, liburing, lz4,
#                                                   lzo)
#   crypto/  may include core/                      libraries: + OpenSSL, lz4, lzo (no liburing)
#   io/      may include core/ and crypto/          libraries: + liburing (no OpenSSL, lz4, lzo: io calls
#                                                   crypto's functions, never OpenSSL directly)
#   ctrl/    anything (ctrl/config, ctrl/proto, ctrl/client, ctrl/server: scanned recursively)
#
# Three rules, each on every .c/.h below a layer folder:
#   1. a quoted #include, resolved against the including file's folder, lands in the same
#      layer or a lower one (never in a higher layer, bench/ or tests/);
#   2. an #include <...> of a library the layer must not use;
#   3. no type of a higher layer below it: every `struct NAME` a file mentions (a forward
#      declaration `struct NAME;`, a pointer in a prototype or a member) must not name a
#      struct defined only in higher layers. Definitions (`struct NAME {`) are collected from
#      all four layers first; comments and string literals are ignored; names defined
#      nowhere in the tree (libc, OpenSSL, liburing) are not ours and not checked.
#
# Usage: tests/deps-check.sh [ROOT]      check the tree at ROOT (default: this checkout)
#        tests/deps-check.sh --selftest [-v]
#                                        plant violations in temporary copies of the tree and
#                                        check that each one fails and the clean copy passes
#                                        (-v: one line per case)
# Env:   DEPS_CHECK_NO_ALLOW=1           ignore the allow-list below
set -u

# Known violations being removed, as "file:struct". Each entry needs a comment saying why
# and when it goes; an entry that no longer matches anything is reported, so the list
# cannot outlive its reason.
ALLOW=(
)

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

check_tree() {
	local root=$1 allow=""
	local -a files

	[ "${DEPS_CHECK_NO_ALLOW:-0}" = 1 ] || allow="${ALLOW[*]}"
	cd "$root" || return 2
	mapfile -t files < <(find core crypto io ctrl -type f \( -name '*.c' -o -name '*.h' \) \
		2>/dev/null | LC_ALL=C sort)
	if [ ${#files[@]} -eq 0 ]; then
		echo "deps-check: no sources under $root"
		return 2
	fi
	awk -v allow="$allow" '
	function layer_of(path,   top) {
		top = path
		sub(/\/.*/, "", top)
		if (top == "core") return 0
		if (top == "crypto") return 1
		if (top == "io") return 2
		if (top == "ctrl") return 3
		return -1
	}
	# "a/b/../c/./d.h" -> "a/c/d.h"; "" if it climbs out of the root.
	function normalize(path,   n, i, k, part, out) {
		n = split(path, part, "/")
		k = 0
		for (i = 1; i <= n; i++) {
			if (part[i] == "" || part[i] == ".")
				continue
			if (part[i] == "..") {
				if (k == 0)
					return ""
				k--
				continue
			}
			out[++k] = part[i]
		}
		path = ""
		for (i = 1; i <= k; i++)
			path = path (i > 1 ? "/" : "") out[i]
		return path
	}
	function report(msg) {
		print "deps-check: " msg
		bad++
	}
	# The line without comments and with string and character literals blanked;
	# in_comment carries a /* comment over line ends.
	function strip(line,   out, i, c, n, q) {
		out = ""
		n = length(line)
		for (i = 1; i <= n; i++) {
			c = substr(line, i, 1)
			if (in_comment) {
				if (c == "*" && substr(line, i + 1, 1) == "/") {
					in_comment = 0
					i++
				}
				continue
			}
			if (c == "/" && substr(line, i + 1, 1) == "*") {
				in_comment = 1
				i++
				out = out " "
				continue
			}
			if (c == "/" && substr(line, i + 1, 1) == "/")
				break
			if (c == "\"" || c == "\047") {
				q = c
				out = out q
				for (i++; i <= n; i++) {
					c = substr(line, i, 1)
					if (c == "\\") {
						i++
						continue
					}
					if (c == q)
						break
				}
				out = out q
				continue
			}
			out = out c
		}
		return out
	}
	BEGIN {
		lib_bad[0] = "^(openssl/|liburing|lz4|lzo/)"
		lib_what[0] = "OpenSSL, liburing, lz4 or lzo"
		lib_bad[1] = "^liburing"
		lib_what[1] = "liburing"
		lib_bad[2] = "^(openssl/|lz4|lzo/)"
		lib_what[2] = "OpenSSL, lz4 or lzo (call crypto/ instead)"
		name[0] = "core"; name[1] = "crypto"; name[2] = "io"; name[3] = "ctrl"
		nallow = split(allow, allow_list, " ")
		for (i = 1; i <= nallow; i++)
			allowed[allow_list[i]] = 0
	}
	FNR == 1 {
		in_comment = 0
		pending = ""
		layer = layer_of(FILENAME)
		dir = FILENAME
		sub(/\/[^\/]*$/, "", dir)
	}
	{
		raw = $0
		s = strip(raw)
		# Rules 1 and 2: includes (the stripped line keeps the directive, not a comment).
		if (s ~ /^[ \t]*#[ \t]*include[ \t]*"/) {
			inc = raw
			sub(/^[^"]*"/, "", inc)
			sub(/".*/, "", inc)
			target = normalize(dir "/" inc)
			tl = layer_of(target)
			top = target
			sub(/\/.*/, "", top)
			if (target != "" && tl > layer)
				report(FILENAME ":" FNR ": " name[layer] "/ must not include " \
				       name[tl] "/ (" inc ")")
			else if (top == "tests" || top == "bench")
				report(FILENAME ":" FNR ": " name[layer] "/ must not include " \
				       top "/ (" inc ")")
		} else if (s ~ /^[ \t]*#[ \t]*include[ \t]*</ && layer in lib_bad) {
			inc = s
			sub(/^[^<]*</, "", inc)
			if (inc ~ lib_bad[layer])
				report(FILENAME ":" FNR ": " name[layer] "/ must not use " \
				       lib_what[layer] " (<" inc ")")
		}
		# Rule 3, collection: definitions and mentions of struct names.
		if (pending != "" && s ~ /^[ \t]*\{/)
			def[pending, layer] = 1
		pending = ""
		rest = s
		while (match(rest, /struct[ \t]+[A-Za-z_][A-Za-z0-9_]*/)) {
			before = RSTART > 1 ? substr(rest, RSTART - 1, 1) : " "
			tok = substr(rest, RSTART, RLENGTH)
			rest = substr(rest, RSTART + RLENGTH)
			if (before ~ /[A-Za-z0-9_]/)
				continue
			sub(/^struct[ \t]+/, "", tok)
			if (rest ~ /^[ \t]*\{/) {
				def[tok, layer] = 1
				continue
			}
			if (rest ~ /^[ \t]*$/)
				pending = tok
			nuse++
			use_file[nuse] = FILENAME
			use_line[nuse] = FNR
			use_name[nuse] = tok
			use_layer[nuse] = layer
			use_fwd[nuse] = rest ~ /^[ \t]*;/
		}
	}
	END {
		for (u = 1; u <= nuse; u++) {
			n = use_name[u]
			l = use_layer[u]
			mine = 0
			for (k = 0; k <= l; k++)
				if ((n, k) in def)
					mine = 1
			if (mine)
				continue
			owner = -1
			for (k = 3; k > l; k--)
				if ((n, k) in def)
					owner = k
			if (owner < 0)
				continue
			key = use_file[u] ":" n
			if (key in allowed) {
				allowed[key]++
				continue
			}
			report(use_file[u] ":" use_line[u] ": struct " n " is " name[owner] \
			       "/'"'"'s type, " (use_fwd[u] ? "forward-declared" : "used") " in " \
			       name[l] "/")
		}
		for (key in allowed)
			if (allowed[key] == 0)
				report("allow-list entry " key " matches nothing: remove it")
			else
				printf "deps-check: allowed for now: %s (%d mentions)\n", key, allowed[key]
		if (bad) {
			printf "deps-check: %d violation(s) of the layers ctrl/ -> io/ -> crypto/ -> core/\n", bad
			exit 1
		}
		print "deps-check: ok"
	}' "${files[@]}"
}

# One planted case: copies the tree, runs @edit in the copy, expects @want (pass or fail)
# and, for a failure, @needle in the report.
selftest_case() {
	local what=$1 want=$2 needle=$3 edit=$4 dir out rc
	dir=$(mktemp -d -t sluice-depscheck.XXXXXX)
	cp -r "$src/core" "$src/crypto" "$src/io" "$src/ctrl" "$dir/"
	# The edit runs in the subshell that runs the check, so it may also set the environment.
	out=$(cd "$dir" && eval "$edit" && "$self" "$dir" 2>&1)
	rc=$?
	rm -rf "$dir"
	ncases=$((ncases + 1))
	if [ "$want" = pass ] && [ $rc -eq 0 ]; then
		[ "$verbose" = 1 ] && echo "deps-check selftest: ok   $what (passes)"
		return 0
	fi
	if [ "$want" = fail ] && [ $rc -eq 1 ] && grep -qF -- "$needle" <<<"$out"; then
		[ "$verbose" = 1 ] &&
			echo "deps-check selftest: ok   $what (fails: $(grep -F -- "$needle" <<<"$out" | head -n 1))"
		return 0
	fi
	echo "deps-check selftest: FAIL $what: expected $want${needle:+ with '$needle'}, exit $rc:"
	sed 's/^/    | /' <<<"$out"
	return 1
}

# The planted cases name no particular source file or type of the tree (pick takes the
# first file of a layer; planted types are defined by the case), so they keep working
# while files move between layers.
selftest() {
	local fails=0 entry
	ncases=0
	src=$(cd "$(dirname "$self")/.." && pwd)
	pick='pick() { find "$1" -name "$2" | LC_ALL=C sort | head -n 1; };'
	hi='echo "struct selftest_hi { int x; };" >> "$(pick crypto "*.h")";'

	t() { selftest_case "$@" || fails=$((fails + 1)); }
	t "the clean tree" pass "" ":"
	t "crypto/ including io/" fail "crypto/ must not include io/" \
		"$pick"'echo "#include \"../io/x.h\"" >> "$(pick crypto "*.c")"'
	t "core/ including crypto/" fail "core/ must not include crypto/" \
		"$pick"'echo "#include \"../crypto/x.h\"" >> "$(pick core "*.h")"'
	t "io/ including ctrl/" fail "io/ must not include ctrl/" \
		"$pick"'echo "#include \"../ctrl/x.h\"" >> "$(pick io "*.c")"'
	t "core/ including tests/" fail "core/ must not include tests/" \
		"$pick"'echo "#include \"../tests/unit/harness.h\"" >> "$(pick core "*.c")"'
	t "a forward declaration of crypto's type in core/" fail \
		"struct selftest_hi is crypto/'s type, forward-declared in core/" \
		"$pick$hi"'echo "struct selftest_hi;" >> "$(pick core "*.h")"'
	t "crypto's type, defined over two lines, in a core/ prototype" fail \
		"struct selftest_hi is crypto/'s type, used in core/" \
		"$pick"'printf "struct selftest_hi\n{\n\tint x;\n};\n" >> "$(pick crypto "*.c")";
		 echo "void selftest_fn(struct selftest_hi *h);" >> "$(pick core "*.h")"'
	t "ctrl's type in an io/ prototype" fail "struct selftest_ctl is ctrl/'s type, used in io/" \
		"$pick"'echo "struct selftest_ctl { int x; };" >> "$(find ctrl -mindepth 2 -name "*.h" |
		 LC_ALL=C sort | head -n 1)"; echo "void selftest_fn(const struct selftest_ctl *c);" \
		 >> "$(pick io "*.h")"'
	t "a forward declaration in a comment" pass "" \
		"$pick$hi"'echo "/* struct selftest_hi; */" >> "$(pick core "*.h")"'
	t "a type defined in core/ and again in ctrl/" pass "" \
		"$pick"'echo "struct selftest_lo { int x; };" >> "$(pick core "*.h")";
		 echo "struct selftest_lo { int y; };" >> "$(pick ctrl "*.c")";
		 echo "void selftest_fn(struct selftest_lo *l);" >> "$(pick core "*.h")"'
	t "OpenSSL included by io/" fail "io/ must not use OpenSSL" \
		"$pick"'echo "#include <openssl/evp.h>" >> "$(pick io "*.c")"'
	t "lz4 included by core/" fail "core/ must not use OpenSSL, liburing, lz4 or lzo" \
		"$pick"'echo "#include <lz4.h>" >> "$(pick core "*.c")"'
	t "lzo included by io/" fail "io/ must not use OpenSSL, lz4 or lzo" \
		"$pick"'echo "#include <lzo/lzo1x.h>" >> "$(pick io "*.c")"'
	t "lzo included by crypto/" pass "" \
		"$pick"'echo "#include <lzo/lzo1x.h>" >> "$(pick crypto "*.c")"'
	t "liburing included by crypto/" fail "crypto/ must not use liburing" \
		"$pick"'echo "#include <liburing.h>" >> "$(pick crypto "*.c")"'
	t "io/ including crypto/" pass "" \
		"$pick"'echo "#include \"../crypto/x.h\"" >> "$(pick io "*.c")"'
	t "a ctrl/ subfolder including io/ and crypto/" pass "" \
		'f=$(find ctrl -mindepth 2 -name "*.c" | LC_ALL=C sort | head -n 1);
		 printf "#include \"../../io/x.h\"\n#include \"../../crypto/x.h\"\n" >> "$f"'
	for entry in "${ALLOW[@]}"; do
		t "allow-listed ${entry%%:*} without the allow-list" fail \
			"${entry%%:*}:" 'export DEPS_CHECK_NO_ALLOW=1'
	done
	if [ $fails -ne 0 ]; then
		echo "deps-check selftest: $fails of $ncases case(s) failed"
		return 1
	fi
	echo "deps-check selftest: ok ($ncases cases: the clean tree passes, each planted violation fails)"
}

verbose=0
case "${1:-}" in
--selftest)
	[ "${2:-}" = -v ] && verbose=1
	selftest
	exit $?
	;;
-h|--help)
	sed -n '2,27p' "$self"
	exit 0
	;;
esac
check_tree "${1:-$(dirname "$self")/..}"
