#!/usr/bin/env bash
# The cost of the e-mail's charts (docs/ARCHITECTURE.md, notification and delivery): counts
# with callgrind the instructions of rendering one e-mail of two signals and a late feed
# without and with its two cairo charts (bench/email_bench.c), and prints the bytes and the
# instructions of each and their ratio. Then the e-mail of a national feed that failed
# (`email_bench national`: 700 and 7,000 practices late, 23 indicators each, and a signal at
# a tenth of them): its bytes, and the instructions of 7,000 against 700, which is linear
# (10x the alerts, about 10x the work) where comparing alerts pairwise made it 100x.
# Instruction counts, unlike times, are stable on a shared machine.
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

# instructions MODE [N] [FUNCTION]: instructions inside FUNCTION (render_email) for N (10)
# e-mails, / N (national: N is the practices, one e-mail)
instructions() {
    local n=${2:-10} per=${2:-10}
    [ "$1" = national ] && per=1
    valgrind --tool=callgrind --callgrind-out-file="$work/$1$n.out" \
        --toggle-collect="${3:-render_email}*" "$build/bench/email_bench" "$1" "$n" \
        >"$work/$1$n.txt" 2>/dev/null
    callgrind_annotate "$work/$1$n.out" 2>/dev/null |
        sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d , | awk -v per="$per" '{printf "%.0f\n", $1 / per}'
}
plain=$(instructions plain)
charts=$(instructions charts)
cat "$work/plain10.txt" "$work/charts10.txt"
awk -v p="$plain" -v c="$charts" 'BEGIN {
    printf "instructions per e-mail: %.0f without charts, %.0f with two (%.1f x; %.0f per chart)\n",
        p, c, c / p, (c - p) / 2 }'
small=$(instructions national 700 render_national)
large=$(instructions national 7000 render_national)
cat "$work/national700.txt" "$work/national7000.txt"
awk -v s="$small" -v l="$large" 'BEGIN {
    printf "national e-mail: %.0f instructions at 700 practices, %.0f at 7,000: %.1f x for 10 x the alerts (target: at most 12 x, linear)\n",
        s, l, l / s }'
