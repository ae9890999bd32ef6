#!/usr/bin/env bash
# National-scale benchmark (issue 13): a programme of REGIONS regions x PRACTICES practices,
# 23 indicators (20 monthly a practice), MONTHS months, loaded THROUGH THE API by CLIENTS data
# teams (JSON batches of 1,000 rows, each team its months in order), then the dashboard's
# reads, each timed after one warm-up against a trivial query measured in the same run, on a
# fresh PostgreSQL with fsync and synchronous_commit on. bench/scale_load.py says what the
# data are, bench/scale_reads.py how the reads are timed. Not a ctest test: run it by hand.
#
#   bench/scale.sh                       PRACTICES=7000 REGIONS=20 MONTHS=72: 10.08 M rows,
#                                        ~14 min on the shared 2-core machine (EVAL_WAIT=120)
#   PRACTICES=700 bench/scale.sh         1 M observations, ~3.5 min
#   RUNS=9 bench/scale.sh                timed reads of each endpoint after the warm-up
#                                        (default 7; fast reads repeat for ~2 s, up to 40)
#   CLIENTS=4 WORKERS=4                  load clients and the daemon's worker_threads
#   CHART_INDICATOR=patients_enrolled    the indicator of the chart and series reads
#                                        (default hba1c_tested_pct, weighted)
#   EXPLAIN=0 bench/scale.sh             skip the pass that logs the plans (auto_explain,
#                                        EXPLAIN ANALYZE) of the slow statements of each read
#   EVAL_WAIT=300                        seconds the reads wait for the alert evaluation of the
#                                        load before dropping its marks (see below)
#   OUT=DIR                              where the report, the plans and the logs are kept
#                                        (default /tmp/scaleupd-scale-<size>-<time>)
#   KEEP=1                               keep the scratch directory (bodies, logs)
#   HOLD=1                               at the end, keep the daemon and the cluster running
#                                        (OUT/hold.env says where) until the script is stopped
# Peak RSS: VmHWM of /proc/PID/status, reset (clear_refs 5) before the load and before the
# reads, so each figure is the peak of that phase.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
build=${BUILD_DIR:-$here/build-bench}
export PRACTICES=${PRACTICES:-7000} REGIONS=${REGIONS:-20} MONTHS=${MONTHS:-72}
export CLIENTS=${CLIENTS:-4} BATCH=${BATCH:-1000} RUNS=${RUNS:-7}
export SLUG=national-scale
WORKERS=${WORKERS:-4}
EXPLAIN=${EXPLAIN:-1}
EXPLAIN_MS=${EXPLAIN_MS:-50}
OUT=${OUT:-/tmp/scaleupd-scale-$PRACTICES-$(date +%Y%m%d-%H%M%S)}
work=$(mktemp -d /tmp/scaleupd-scale.XXXXXX)
mkdir -p "$OUT"
daemon_pid=

cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    [ -f "$work/pg/root" ] && cp "$(cat "$work/pg/root")/postgres.log" "$OUT/postgres.log" 2>/dev/null
    [ -f "$work/scaleupd.log" ] && cp "$work/scaleupd.log" "$OUT/scaleupd.log"
    "$here/scripts/pgcluster" stop "$work/pg" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

bench_build

say "== generating the observations ($PRACTICES practices x $MONTHS months, $CLIENTS clients)"
t0=$(now)
data=$(python3 "$here/bench/scale_load.py" generate "$work")
say "   $data ($(elapsed "$t0" "$(now)") s, not timed in the load)"

bench_start_pg
# auto_explain is loaded but off (log_min_duration = -1: no instrumentation) until the
# EXPLAIN pass at the end turns it on with a reload.
psql -X -q -d "$base" -c "ALTER SYSTEM SET shared_preload_libraries = 'auto_explain'"
"$here/scripts/pgcluster" restart "$work/pg" >/dev/null
postmaster=$(head -1 "$(cat "$work/pg/root")/data/postmaster.pid")
psql -X -q -d "$base" -c "CREATE DATABASE bench"
db="$base dbname=bench"
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
say "   $(sql "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
          WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers',
                         'work_mem', 'server_version')")"

say "== scaleupd (worker_threads = $WORKERS); the programme and roadmap through the admin API"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/scaleupd.conf" <<CONF
[server]
listen_port = $port
rate_limit = 0
worker_threads = $WORKERS
max_body_bytes = 16777216
[log]
level = ${LOG_LEVEL:-warning}
CONF
SCALEUPD_DATABASE="$db" "$build/scaleupd" -c "$work/scaleupd.conf" 2>"$work/scaleupd.log" &
daemon_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 100); do
    curl -sf "$url/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
admin=$("$build/scaleupctl" --database "$db" token create --admin --name bench 2>/dev/null)
api() { # METHOD PATH FILE: the answer's status, body in $work/answer
    curl -s -o "$work/answer" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $admin" \
        -H 'Content-Type: application/json' --data-binary @"$3" "$url$2"
}
python3 "$here/bench/scale_load.py" programme >"$work/programme.json"
python3 "$here/bench/scale_load.py" roadmap >"$work/roadmap.json"
t0=$(now)
status=$(api POST /api/v1/programmes "$work/programme.json")
[ "$status" = 201 ] || { say "POST programme: $status $(head -c 500 "$work/answer")"; exit 1; }
say "   programme created ($(wc -c <"$work/programme.json") bytes) in $(elapsed "$t0" "$(now)") s"
status=$(api PUT "/api/v1/programmes/$SLUG/roadmap" "$work/roadmap.json")
[ "$status" = 201 ] || { say "PUT roadmap: $status $(head -c 500 "$work/answer")"; exit 1; }
feed=$(SCALEUPD_URL=$url SCALEUPD_TOKEN=$admin "$build/scaleupctl" token create --feed "$SLUG" --name bench-feed 2>/dev/null)
say "   $(sql "SELECT count(*) FROM site") sites, $(sql "SELECT count(*) FROM indicator") indicators"

rss_reset() { echo 5 >"/proc/$daemon_pid/clear_refs"; }
rss_peak_mb() { awk '/VmHWM/ { printf "%.1f\n", $2 / 1024 }' "/proc/$daemon_pid/status"; }

# the national institutionalisation scores (a few dozen rows) from the programme office
status=$(api POST "/api/v1/programmes/$SLUG/observations" "$work/scores.json")
[ "$status" = 200 ] || { say "POST scores: $status $(head -c 500 "$work/answer")"; exit 1; }

say "== load: $CLIENTS clients POST JSON batches of $BATCH rows through the API"
sql "CHECKPOINT"
rss_reset
pg_cpu "$work/pg.before"
cpu_of "$daemon_pid" >"$work/d.before"
load=$(python3 "$here/bench/scale_load.py" load "$url" "$feed" "$work")
pg_cpu "$work/pg.after"
cpu_of "$daemon_pid" >"$work/d.after"
say "   $load"
say "   CPU seconds during the load: PostgreSQL $(cpu_since "$work/pg.before" "$work/pg.after"), scaleupd $(cpu_since "$work/d.before" "$work/d.after")"
# the first read of progress right after the load (the issue's "first read after the load");
# the background task may already have refreshed some months: say how many marks are left
marks=$(sql "SELECT count(*) FROM progress_dirty")
first_load=$(python3 "$here/bench/scale_reads.py" first "$url" "$admin" "/api/v1/programmes/$SLUG/progress")
say "   first GET …/progress after the load ($marks progress marks pending): $first_load"
rss_load=$(rss_peak_mb)
# Alert evaluation (the programme's default rules) of what the load changed (one mark per
# batch, ~1,000 series each) runs after it; the reads wait for it, at most EVAL_WAIT seconds:
# then the marks left are dropped (a benchmark's shortcut: at 10 M it would take ~25 min) so
# that the reads are not timed against a busy evaluator. The report says which it was.
marks_after_load=$(sql "SELECT count(*) FROM dirty_series")
t0=$(now)
deadline=$(python3 -c "import time; print(time.time() + ${EVAL_WAIT:-300})")
marks_left=$marks_after_load
while [ "$marks_left" != 0 ]; do
    if python3 -c "import sys, time; sys.exit(time.time() < $deadline)"; then
        sql "DELETE FROM dirty_series" >/dev/null
        break
    fi
    sleep 0.5
    marks_left=$(sql "SELECT count(*) FROM dirty_series")
done
evaluation=$(elapsed "$t0" "$(now)")
say "   evaluation: $marks_after_load marks after the load; $marks_left left after $evaluation s" \
    "$([ "$marks_left" = 0 ] && echo "(caught up)" || echo "(dropped: EVAL_WAIT)")"
sql "VACUUM ANALYZE"
stored=$(sql "SELECT count(*) FROM observation")
say "   $stored observations stored; database $(sql "SELECT pg_size_pretty(pg_database_size(current_database()))")"
series_id=$(sql "SELECT se.id FROM series se JOIN site s ON s.programme_id = se.programme_id
                 AND s.id = se.site_id WHERE s.code = 'NA-R01-GP0001' ORDER BY se.id LIMIT 1")
pid=$(sql "SELECT id FROM programme WHERE slug = '$SLUG'")

say "== reads: one warm-up, then $RUNS or more timed GETs each"
rss_reset
reads=$(python3 "$here/bench/scale_reads.py" measure "$url" "$admin")
# the first read after a revision of the oldest month
status=$(python3 "$here/bench/scale_load.py" revision >"$work/revision.json" &&
    api POST "/api/v1/programmes/$SLUG/observations" "$work/revision.json")
[ "$status" = 200 ] || { say "POST revision: $status $(head -c 500 "$work/answer")"; exit 1; }
say "   revision: $(cat "$work/answer")"
first_rev=$(python3 "$here/bench/scale_reads.py" first "$url" "$admin" "/api/v1/programmes/$SLUG/progress")
say "   first GET …/progress after revising the oldest month: $first_rev"
rss_reads=$(rss_peak_mb)

say "== floor: a trivial indexed query through psql ($RUNS x 10 runs, one session)"
floor_query="SELECT 1 FROM observation WHERE programme_id = $pid AND series_id = $series_id LIMIT 1"
for _ in $(seq $((RUNS * 10))); do echo "$floor_query;"; done |
    psql -X -q -A -t -d "$db" -c '\timing on' -f - 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >"$work/psql.times"
psql_floor=$(python3 - "$work/psql.times" <<'PY'
import json, math, statistics, sys
t = sorted(float(x) for x in open(sys.argv[1]))
print(json.dumps({"query": "SELECT 1 FROM observation WHERE programme_id = $1 AND series_id = $2 LIMIT 1",
                  "runs": len(t), "median_ms": statistics.median(t),
                  "p95_ms": t[max(0, math.ceil(0.95 * len(t)) - 1)]}))
PY
)
errors=$(grep -c ' ERROR' "$work/scaleupd.log" || true)

python3 - "$data" "$load" "$reads" "$first_load" "$first_rev" "$psql_floor" "$rss_load" \
    "$rss_reads" "$stored" "$evaluation" "$errors" "$marks_after_load" "$marks_left" \
    "$marks" >"$work/results.json" <<'PY'
import json, os, sys
data, load, reads, first_load, first_rev, psql_floor = (json.loads(a) for a in sys.argv[1:7])
rss_load, rss_reads, stored, evaluation, errors, marks, left, pmarks = sys.argv[7:15]
first_load["progress_marks"] = int(pmarks)
print(json.dumps({
    "size": {"practices": int(os.environ["PRACTICES"]), "regions": int(os.environ["REGIONS"]),
             "months": int(os.environ["MONTHS"]), "indicators": 23, "monthly_per_practice": 20,
             "first": data["first"], "last": data["last"], "observations": int(stored),
             "late_practices": data["late_practices"],
             "partial_practices": data["partial_practices"]},
    "load": load, "reads": reads, "first_after_load": first_load,
    "first_after_revision": first_rev, "psql_floor": psql_floor,
    "rss_load_mb": float(rss_load), "rss_reads_mb": float(rss_reads),
    "evaluation_seconds": float(evaluation), "evaluation_marks": int(marks),
    "evaluation_marks_dropped": int(left), "errors": int(errors)}))
PY
cp "$work/results.json" "$OUT/results.json"
python3 "$here/bench/scale_reads.py" report "$work/results.json" | tee "$OUT/report.txt"

if [ "$EXPLAIN" != 0 ]; then
    say "== the plans of the statements over $EXPLAIN_MS ms (auto_explain, ANALYZE, BUFFERS)"
    log=$(cat "$work/pg/root")/postgres.log
    mark=$(wc -l <"$log")
    sql "ALTER SYSTEM SET auto_explain.log_min_duration = $EXPLAIN_MS"
    sql "ALTER SYSTEM SET auto_explain.log_analyze = on"
    sql "ALTER SYSTEM SET auto_explain.log_buffers = on"
    sql "SELECT pg_reload_conf()" >/dev/null
    sleep 1
    # a revision of the oldest month again, so that progress recomputes every month
    python3 - "$work/revision.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["observations"][0]["value"] += 1
json.dump(doc, open(sys.argv[1], "w"))
PY
    api POST "/api/v1/programmes/$SLUG/observations" "$work/revision.json" >/dev/null
    for path in progress "chart?indicator=${CHART_INDICATOR:-hba1c_tested_pct}&site=NA" \
        "chart?indicator=${CHART_INDICATOR:-hba1c_tested_pct}&site=NA-R01" \
        "series?indicator=${CHART_INDICATOR:-hba1c_tested_pct}&site=NA" feeds; do
        say "   GET …/$path: $(python3 "$here/bench/scale_reads.py" first "$url" "$admin" "/api/v1/programmes/$SLUG/$path")"
    done
    sql "ALTER SYSTEM SET auto_explain.log_min_duration = -1"
    sql "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    tail -n +"$((mark + 1))" "$log" >"$OUT/plans.txt"
    python3 "$here/bench/scale_reads.py" plans "$OUT/plans.txt" >"$OUT/plans-summary.txt"
    say "   plans: $OUT/plans.txt (the daemon's background tasks' too); their key lines"
    say "   (nodes over 8 % of a statement's time, JIT), also in $OUT/plans-summary.txt:"
    sed 's/^/   /' "$OUT/plans-summary.txt" >&2
fi
say "== report, results and plans in $OUT"
if [ -n "${HOLD:-}" ]; then
    printf 'url=%s\nadmin=%s\ndb="%s"\n' "$url" "$admin" "$db" >"$OUT/hold.env"
    say "   HOLD: the daemon ($url) and the cluster run until this script is stopped;"
    say "   $OUT/hold.env has the URL, the admin token and the conninfo"
    while kill -0 "$daemon_pid" 2>/dev/null; do sleep 5; done
fi
