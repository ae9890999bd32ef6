#!/usr/bin/env bash
# Signals benchmark (docs/ARCHITECTURE.md, the evaluation path; issue "alert budget"): the
# false alerts and detection delays of the default spc rule (method "detector", the alerting
# detector of core/detector.c under the programme's budget: core/rules.c's rule_detector_params
# and rule_eval_detector, one call per new period on the series' state, as services/evaluator.c
# calls them) next to the plain Making Data Count rule (method "mdc": rule_eval_spc on the
# series' history at each new period) and that rule with for 2; each through
# core/alert_state.c with the rule's for/resolve.
#
# Simulated series, fixed seed (xoshiro256** and Box-Muller in bench/signals_bench.c):
# SERIES (20,000) normal series of 60 months, higher is better; stable, or stable for 36
# months and then a drift for 24: shifts of -1.5, -3, +1.5 and +3 SD, a trend of -0.3 SD a
# month, a single -4 SD outlier at month 37, or month 37 missing (not fed; the late-feed pass
# parks an open alert in no_data). An alert is counted each time one opens (a FIRING event:
# re-opening after resolving counts again); a drift is detected at the first month from 37 on
# at which the alert is firing, the first drifted month counting 1 (mean over the series
# detected within 24 months; p90 over all, ">24" when under 90 % were). Then the stable series
# again over 120 months (the same seeds: their first 60 months are the stable scenario's):
# alerts opened per 100 series in each year 1..10 of a series, and per 100 series-years over
# years 6..10 (the steady state of a series watched for years).
# Prints the figures, then the targets of the issue as ratios (<= 1.00 meets it): the false
# alerts per 100 series-years of the 60-month series as the issue counts them, and also in the
# worst single year of 2..5 and in the steady state, so that a budget met on average over
# the first five years but not once a series is watched shows as missed.
#
# usage: bench/signals.sh [BUILD_DIR]
#   BUILD_DIR  a build tree; by default the script configures and builds its own in
#              $SCALEUPD_BENCH_BUILD (default: build-bench at the top of the repository).
#   SERIES=N  series per scenario (default 20000; about 25 s of CPU with 20000)
#   BUDGET=B  the detector's budget, false alerts per 100 series-years (default 2)
#   AGGREGATE=N  each series is a region's mean over N practices (the same detector path: an
#              aggregate rule's state goes on as a series' does); LATE=P (default 0) the share
#              of practices that report after the due date. The region's month goes through the
#              evaluator's gate (core/rules.c, rule_aggregate_gate): it waits while partial
#              before its due date, is judged after it on the practices on time when they cover
#              MIN_COVERAGE (default 1, the rule's min_coverage; else it is skipped), then
#              again on all of them once the late ones report
#   CALIBRATE=1  print instead the table of detector_params_for_budget (h against the false
#              alerts it costs: over years 3..10 of stable series of 120 months, the worst
#              single year of 2..10, over the first 60 months as the issue counts them, with
#              Siegmund's figure and the detection of the two shifts), as core/detector.c's
#              comment says
# Exit status: 0 when the detector meets every target, 1 when it misses one, 2 on error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "signals.sh: $*" >&2
    exit 2
}

build_step() {
    "$@" >"$work/build.log" 2>&1 || {
        cat "$work/build.log" >&2
        fail "failed: $*"
    }
}

if [ $# -ge 1 ]; then
    build=$(cd "$1" && pwd) || fail "no build directory $1"
    [ -f "$build/CMakeCache.txt" ] || fail "$build is not a CMake build directory"
else
    build=${SCALEUPD_BENCH_BUILD:-$root/build-bench}
    build_step cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
build_step cmake --build "$build" --target signals_bench -j 2

args=(--series "${SERIES:-20000}" --budget "${BUDGET:-2}")
[ -n "${AGGREGATE:-}" ] &&
    args+=(--aggregate "$AGGREGATE" --late "${LATE:-0}" --min-coverage "${MIN_COVERAGE:-1}")
if [ -n "${CALIBRATE:-}" ]; then
    exec "$build/bench/signals_bench" --calibrate --series "${SERIES:-50000}" --seed 7
fi
exec "$build/bench/signals_bench" "${args[@]}"
