#!/usr/bin/env bash
# Ingest parse budget (docs/ARCHITECTURE.md, performance budgets): counts with callgrind the
# instructions that obs_parse_json / obs_parse_csv / obs_parse_dhis2 spend per observation,
# and compares them with the budget: 5,000 per JSON (and DHIS2) point, 3,000 per CSV point;
# and obs_parse_fhir per MeasureReport of a batch Bundle (one group, ~760 bytes; jansson
# builds the whole tree): 250,000 (measured 2026-12-02: 200,000, three quarters in jansson).
#
# Each format is parsed twice, with N and 2N synthetic rows, and only the parse call is
# counted (--toggle-collect); (I(2N) - I(N)) / N cancels the fixed costs (token array and
# parser set-up). Instruction counts, unlike times, are stable on a shared machine.
#
# usage: bench/parse.sh [BUILD_DIR]
#   BUILD_DIR  an optimised (Release or RelWithDebInfo, no sanitizer) build tree with
#              bench/parse_bench in it; by default the script configures and builds its own
#              in $SCALEUPD_BENCH_BUILD (default: build-bench at the top of the repository).
#   PARSE_BENCH_ROWS=N  rows of the smaller run (default 20000).
# Exit status: 0 within budget, 1 over budget, 2 could not measure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
rows=${PARSE_BENCH_ROWS:-20000}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "parse.sh: $*" >&2
    exit 2
}

# build_step COMMAND...: runs a configure or build step quietly, showing its output if it fails
build_step() {
    "$@" >"$work/build.log" 2>&1 || {
        cat "$work/build.log" >&2
        fail "failed: $*"
    }
}

command -v valgrind >/dev/null || fail "valgrind is not installed (apt-get install valgrind)"

if [ $# -ge 1 ]; then
    build=$(cd "$1" && pwd) || fail "no build directory $1"
    cache="$build/CMakeCache.txt"
    [ -f "$cache" ] || fail "$build is not a CMake build directory"
    if grep -q '^SCALEUPD_SANITIZE:BOOL=ON' "$cache"; then
        fail "$build is a sanitizer build; valgrind cannot run it"
    fi
    type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
    case "$type" in
    Release | RelWithDebInfo) ;;
    *) fail "$build is a '$type' build; instruction counts need Release or RelWithDebInfo" ;;
    esac
else
    build=${SCALEUPD_BENCH_BUILD:-$root/build-bench}
    build_step cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
build_step cmake --build "$build" --target parse_bench fhir_bench -j "$(nproc)"
bench="$build/bench/parse_bench"

# instructions FORMAT ROWS: instructions spent inside the parse call
instructions() {
    local out="$work/callgrind.$1.$2"
    local run=("$bench" "$1" "$2")
    [ "$1" = fhir ] && run=("$build/bench/fhir_bench" "$2")
    valgrind --tool=callgrind --toggle-collect="obs_parse_$1" --callgrind-out-file="$out" \
        "${run[@]}" >"$work/stdout" 2>"$work/stderr" ||
        {
            cat "$work/stderr" >&2
            fail "parse_bench $1 $2 failed"
        }
    local total
    total=$(sed -n 's/^summary: *//p' "$out")
    [ -n "$total" ] || fail "no instruction count in $out"
    echo "$total"
}

status=0
for spec in json:5000 csv:3000 dhis2:5000 fhir:250000; do
    format=${spec%%:*}
    budget=${spec##*:}
    n=$rows
    [ "$format" = fhir ] && n=700 # 1,400 reports stay within the body's weight bound
    small=$(instructions "$format" "$n")
    large=$(instructions "$format" $((2 * n)))
    verdict=$(awk -v s="$small" -v l="$large" -v n="$n" -v b="$budget" -v f="$format" 'BEGIN {
        per = (l - s) / n
        ratio = per / b
        printf "parse %s: %.0f instr/point, budget %d, ratio %.2f (%s)\n", f, per, b, ratio,
            ratio <= 1 ? "PASS" : "FAIL"
    }')
    echo "$verdict"
    case "$verdict" in *FAIL*) status=1 ;; esac
done
exit $status
