#!/usr/bin/env bash
# The fuzz targets of tests/fuzz run longer than their tests do: each target in turn, from
# its seed corpus and a corpus kept between runs, then one line per target with the
# executions, executions per second, and libFuzzer's coverage (cov: edges, ft: features) and
# corpus size from its final stats. Not a test: it measures and finds, it has no budget.
#
# usage: bench/fuzz.sh [TARGET...]      (default: every fuzz_* target; names without fuzz_)
#   FUZZ_BENCH_RUNS=N     executions per target (default 500000)
#   FUZZ_BENCH_TIME=S     instead, seconds per target (-max_total_time), for a human run
#   FUZZ_BENCH_BUILD=DIR  the fuzz build (default build-fuzz at the top of the repository;
#                         configured and built with -DSCALEUPD_FUZZ=ON and clang if needed)
# Corpora grow in DIR/bench-corpus/<target>; a crash, leak, UB report or broken contract
# leaves its input in DIR/bench-artifacts/<target>/ (copy it to tests/fuzz/regressions/).
# Exit status: 0 nothing found, 1 a target found something, 2 could not run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${FUZZ_BENCH_BUILD:-$root/build-fuzz}
runs=${FUZZ_BENCH_RUNS:-500000}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "fuzz.sh: $*" >&2
    exit 2
}

build_step() {
    "$@" >"$work/build.log" 2>&1 || {
        cat "$work/build.log" >&2
        fail "failed: $*"
    }
}

command -v clang >/dev/null || fail "clang is not installed (scripts/install-deps)"
build_step cmake -S "$root" -B "$build" -DSCALEUPD_FUZZ=ON -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
build_step cmake --build "$build" -j2

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for src in "$root"/tests/fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        [ -x "$build/tests/fuzz/$name" ] && targets+=("${name#fuzz_}")
    done
fi

if [ -n "${FUZZ_BENCH_TIME:-}" ]; then
    limit=(-max_total_time="$FUZZ_BENCH_TIME")
else
    limit=(-runs="$runs")
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# stat LOG FIELD: a field of the last status line ("cov:", "ft:", "corp:") of a libFuzzer log
stat() {
    grep -E '^#[0-9]+' "$1" | tail -1 | sed -n "s/.* $2 \([^ ]*\).*/\1/p"
}

status=0
printf '%-12s %12s %10s %8s %8s %10s %s\n' target executions exec/s cov ft corpus result
for name in "${targets[@]}"; do
    binary=$build/tests/fuzz/fuzz_$name
    [ -x "$binary" ] || fail "no fuzz target $binary"
    corpus=$build/bench-corpus/$name
    artifacts=$build/bench-artifacts/$name
    mkdir -p "$corpus" "$artifacts"
    dict=$root/tests/fuzz/dict/$name.dict
    flags=(-max_len=4096 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1
        -artifact_prefix="$artifacts/" "${limit[@]}")
    [ -f "$dict" ] && flags+=(-dict="$dict")
    log=$work/$name.log
    result=ok
    started=$(date +%s.%N)
    if ! "$binary" "${flags[@]}" "$corpus" "$root/tests/fuzz/corpus/$name" >"$log" 2>&1; then
        result="FOUND: $(grep -E -m1 'ERROR: |runtime error|contract broken|deadly signal' "$log" |
            sed 's/^==[0-9]*==//' | cut -c1-100)"
        status=1
        cp "$log" "$artifacts/last.log"
    fi
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    # libFuzzer's own average_exec_per_sec counts whole seconds (0 under one): use the clock
    per_second=$(awk -v n="${executions:-0}" -v a="$started" -v b="$(date +%s.%N)" \
        'BEGIN { printf "%.0f", (b > a) ? n / (b - a) : 0 }')
    printf '%-12s %12s %10s %8s %8s %10s %s\n' "$name" "${executions:-?}" "${per_second:-?}" \
        "$(stat "$log" cov:)" "$(stat "$log" ft:)" "$(stat "$log" corp: | cut -d/ -f1)" "$result"
    [ "$result" = ok ] || echo "    log: $artifacts/last.log; inputs: $(ls "$artifacts" | grep -v last.log | tr '\n' ' ')"
done
exit $status
