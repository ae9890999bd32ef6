#!/usr/bin/env bash
# The cost of the e-mail's charts (docs/ARCHITECTURE.md, notification and delivery): counts
# with callgrind the instructions of rendering one e-mail of two signals and a late feed
# without and with its two cairo charts (bench/email_bench.c), and prints the bytes and the
# instructions of each and their ratio. Instruction counts, unlike times, are stable on a
# shared machine.
#
# usage: bench/email.sh [BUILD_DIR]   (an optimised build with bench/email_bench in it;
#        default: configure and build $SCALEUPD_BENCH_BUILD, build-bench at the top)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
command -v valgrind >/dev/null || { echo "email.sh: valgrind is not installed" >&2; exit 2; }
build=${1:-${SCALEUPD_BENCH_BUILD:-$root/build-bench}}
if [ $# -eq 0 ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target email_bench -j2 >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# instructions MODE: instructions inside render_email() for 10 e-mails, / 10
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$work/$1.out" \
        --toggle-collect='render_email*' "$build/bench/email_bench" "$1" 10 >"$work/$1.txt" 2>/dev/null
    callgrind_annotate "$work/$1.out" 2>/dev/null |
        sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d , | awk '{print int($1 / 10)}'
}
plain=$(instructions plain)
charts=$(instructions charts)
cat "$work/plain.txt" "$work/charts.txt"
awk -v p="$plain" -v c="$charts" 'BEGIN {
    printf "instructions per e-mail: %d without charts, %d with two (%.1f x; %d per chart)\n",
        p, c, c / p, (c - p) / 2 }'
