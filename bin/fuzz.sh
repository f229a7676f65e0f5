#!/usr/bin/env bash
# Run every fuzz target in the module (or those FUZZ matches) for FUZZTIME
# each: what `make fuzz` runs. Targets are found by listing each compiled test
# binary (-test.list), so no list goes stale; each package is compiled once,
# with the fuzzing instrumentation, and its binary runs each target in turn.
#
# Environment (defaults in brackets):
#   FUZZTIME [30s]       how long each target runs
#   FUZZ [.]             regexp picking targets; one that matches none fails
#   FUZZ_CACHE [shared]  shared: $(go env GOCACHE)/fuzz, as go test -fuzz;
#                        fresh: a throwaway cache, so only the seeds count
#   GO [go]
#
# Exit status: 0 only when at least one target ran and every target passed.
# A failing input is written to the package's testdata/fuzz/<target>/, to be
# committed with the fix.
#
# Go before 1.27 can end a run at FUZZTIME with a spurious "context deadline
# exceeded" from its own coordinator (go.dev/issue/75804). Such a run is
# forgiven only when that report is its sole failure: the output is nothing
# but progress lines and exactly "--- FAIL: <target> (…)", "    context
# deadline exceeded", "FAIL" — no other --- FAIL, no panic, no failing input
# named — and no new file appeared under testdata/fuzz/<target>/.
set -euo pipefail

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
FUZZ=${FUZZ:-.}
FUZZ_CACHE=${FUZZ_CACHE:-shared}

cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $FUZZ_CACHE in
fresh) cache=$work/cache ;;
shared) cache=$("$GO" env GOCACHE)/fuzz ;;
*) echo "fuzz: FUZZ_CACHE must be shared or fresh, not $FUZZ_CACHE" >&2; exit 2 ;;
esac

# only_spurious_deadline NAME OUT: true when OUT is the coordinator's
# spurious deadline report for target NAME and nothing else.
only_spurious_deadline() {
	awk -v name="$1" '
		/^fuzz: elapsed: / { next }
		/^warning: starting with empty corpus$/ { next }
		$0 ~ "^--- FAIL: " name " \\([0-9.]+s\\)$" && !head { head = 1; next }
		$0 == "    context deadline exceeded" && head && !msg { msg = 1; next }
		$0 == "FAIL" && msg && !tail { tail = 1; next }
		{ other = 1 }
		END { exit !(head && msg && tail && !other) }
	' "$2"
}

# Packages declaring a target FUZZ matches, read from the source so that a
# FUZZ matching nothing fails before anything is compiled; the compiled
# binary's own listing decides what runs.
mapfile -t pkgs < <(grep -rHoE --include='*_test.go' --exclude-dir=testdata '^func Fuzz[A-Za-z0-9_]*' cmd internal |
	awk -F: -v re="$FUZZ" '{ name = substr($2, 6) } name ~ re { sub(/\/[^\/]*$/, "", $1); print $1 }' | sort -u)
((${#pkgs[@]})) || { echo "fuzz: no fuzz target matches FUZZ=$FUZZ" >&2; exit 1; }

ran=0
for pkg in "${pkgs[@]}"; do
	exe=$work/$(echo "$pkg" | tr / _).test
	"$GO" test -c -fuzz=. -o "$exe" "./$pkg"
	listing=$("$exe" -test.list '^Fuzz')
	mapfile -t names < <(awk -v re="$FUZZ" '/^Fuzz/ && $0 ~ re' <<<"$listing")
	for name in "${names[@]}"; do
		ran=$((ran + 1))
		corpus=$pkg/testdata/fuzz/$name
		before=$(ls "$corpus" 2>/dev/null | sort || :)
		rc=0
		(cd "$pkg" && "$exe" -test.run '^$' -test.fuzz "^$name\$" -test.fuzztime "$FUZZTIME" \
			-test.fuzzcachedir "$cache") >"$work/out" 2>&1 || rc=$?
		after=$(ls "$corpus" 2>/dev/null | sort || :)
		if ((rc == 0)); then
			echo "fuzz: $pkg $name: $(grep '^fuzz: elapsed' "$work/out" | tail -n 1 | sed 's/^fuzz: //; s/ ([0-9]*\/sec)//')"
		elif [[ $before == "$after" ]] && only_spurious_deadline "$name" "$work/out"; then
			echo "fuzz: $pkg $name: passed; Go's coordinator misreported the end of FUZZTIME (go.dev/issue/75804, Go < 1.27), no failing input"
		else
			cat "$work/out"
			echo "fuzz: $pkg $name FAILED (exit $rc); a failing input, if one was found, is under $corpus/" >&2
			exit 1
		fi
	done
done
((ran)) || { echo "fuzz: no fuzz target matches FUZZ=$FUZZ" >&2; exit 1; }
echo "fuzz: $ran targets passed"
