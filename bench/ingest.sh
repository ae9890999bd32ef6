#!/usr/bin/env bash
# Ingest benchmark (the README's performance table): observations per second through
# POST /api/v1/programmes/{slug}/observations (JSON batches of 1,000 rows from CLIENTS
# concurrent clients) against binary COPY of the same rows into the same table, in one run,
# on a fresh PostgreSQL with fsync and synchronous_commit on; p50/p99 of 10-row POSTs under
# that load; the daemon's peak RSS. Not a ctest test: run it by hand, ~1-3 minutes.
#
#   bench/ingest.sh            CLIENTS=4 WORKERS=4 SITES=500 INDICATORS=10 MONTHS=36
#   PASSES=insert bench/ingest.sh   only new keys (default: insert, then update every row)
#   ORDER=interleaved bench/ingest.sh   batches dealt out in turn, not one data team per client
#                              (bench/ingest_load.py says what each order means)
#   PERF=1 bench/ingest.sh     also record a perf profile of the daemon during the load
#                              (PERF=all: of the whole machine, PostgreSQL and the clients too)
#   EXTRA_SQL="DROP TRIGGER …" bench/ingest.sh   run SQL before the load (experiments only)
#   STATS=1 bench/ingest.sh    also print the statements that took the database's time
#                              (pg_stat_statements, over the API load, then over the catch-up
#                              after it) and how long rollup marks waited during the load
# After the load it prints how long the background work the load left took to catch up:
# the rollup folds, the progress snapshots (of programmes with a roadmap) and the evaluation.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
build=${BUILD_DIR:-$here/build-bench}
export CLIENTS=${CLIENTS:-4}
WORKERS=${WORKERS:-4}
BATCH=${BATCH:-1000}
export BATCH
work=$(mktemp -d /tmp/scaleupd-bench.XXXXXX)
daemon_pid=
perf_pid=
sampler_pid=
declare -A caught

cleanup() {
    [ -n "$sampler_pid" ] && kill -- -"$sampler_pid" 2>/dev/null
    [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    "$here/scripts/pgcluster" stop "$work/pg" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

bench_build
cc -O2 -Wall -Wextra -o "$work/ingest_copy" "$here/bench/ingest_copy.c" \
    -I"$(pg_config --includedir)" -lpq -lpthread

bench_start_pg
psql -X -q -d "$base" -c "CREATE DATABASE bench"
db="$base dbname=bench"
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
# the $1 statements that took the most time since pg_stat_statements was reset
top_statements() {
    sql "SELECT round(total_exec_time)::text || ' | ' || calls || ' | ' ||
                round(mean_exec_time::numeric, 3) || ' | ' || rows || ' | ' ||
                (shared_blks_hit + shared_blks_read) || ' | ' ||
                CASE WHEN toplevel THEN '' ELSE 'nested: ' END ||
                left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
         FROM pg_stat_statements WHERE query NOT LIKE '%pg_sleep%' AND query NOT LIKE '%bench_waits%'
         AND query NOT LIKE '%bench_rollup_lag%'
         ORDER BY total_exec_time DESC LIMIT $1" >&2
}
say "   $(sql "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
          WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method',
                         'shared_buffers')")"

say "== scaleupd (worker_threads = $WORKERS) and the synthetic programme"
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
python3 "$here/bench/ingest_load.py" programme >"$work/programme.json"
SCALEUPD_URL=$url SCALEUPD_TOKEN=$admin "$build/scaleupctl" programme apply "$work/programme.json" >/dev/null
feed=$(SCALEUPD_URL=$url SCALEUPD_TOKEN=$admin "$build/scaleupctl" token create --feed bench --name bench-feed 2>/dev/null)
say "   $(sql "SELECT count(*) FROM site") sites, $(sql "SELECT count(*) FROM indicator") indicators"
if [ -n "${EXTRA_SQL:-}" ]; then
    say "   experiment: $EXTRA_SQL"
    sql "$EXTRA_SQL"
fi

say "== API: $CLIENTS clients POST JSON batches of $BATCH rows (probe: 10-row POSTs meanwhile)"
sql "CHECKPOINT"
if [ -n "${STATS:-}" ]; then
    sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    sql "ALTER SYSTEM SET pg_stat_statements.track = 'all'"
    sql "SELECT pg_reload_conf()" >/dev/null
    sql "SELECT pg_stat_statements_reset()" >/dev/null
    # what the busy backends wait for, sampled every 20 ms during the load
    # and how long the oldest rollup mark has waited to be folded (0: none waits)
    sql "CREATE TABLE bench_waits (sample int, what text)"
    sql "CREATE TABLE bench_rollup_lag (sample int, seconds float8)"
    setsid bash -c 'for i in $(seq 100000); do
        echo "INSERT INTO bench_waits SELECT $i, coalesce(wait_event_type || '"':'"' || wait_event,
              '"'CPU'"') FROM pg_stat_activity WHERE state = '"'active'"' AND pid <> pg_backend_pid()
              AND backend_type = '"'client backend'"';
              INSERT INTO bench_rollup_lag SELECT $i, coalesce(extract(epoch FROM
              clock_timestamp() - min(marked_at)), 0) FROM rollup_dirty; SELECT pg_sleep(0.02);"
    done | psql -X -q -A -t -d "$0" >/dev/null 2>&1' "$db" &
    sampler_pid=$!
fi
if [ -n "${PERF:-}" ]; then
    if [ "$PERF" = all ]; then
        perf record -a -g -o "$work/perf.data" >/dev/null 2>&1 &
    else
        perf record -g -p "$daemon_pid" -o "$work/perf.data" >/dev/null 2>&1 &
    fi
    perf_pid=$!
fi
pg_cpu "$work/pg.before"
cpu_of "$daemon_pid" >"$work/d.before"
api=$(python3 "$here/bench/ingest_load.py" load "$url" "$feed" bench)
load_end=$(now)
pg_cpu "$work/pg.after"
cpu_of "$daemon_pid" >"$work/d.after"
say "   CPU seconds during the API load: PostgreSQL $(cpu_since "$work/pg.before" "$work/pg.after"), scaleupd $(cpu_since "$work/d.before" "$work/d.after")"
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    perf_pid=
    perf report -i "$work/perf.data" --no-children --percent-limit 1.5 --stdio 2>/dev/null |
        grep -v '^$' | head -60 >"$work/perf.txt" || true
    say "   perf profile: $work/perf.txt (KEEP=1 keeps it and perf.data)"
fi
if [ -n "${STATS:-}" ]; then
    kill -- -"$sampler_pid" 2>/dev/null || true
    sampler_pid=
    say "   busy backends, sampled every 20 ms: share of samples per wait (CPU = not waiting):"
    sql "SELECT string_agg(what || ' ' || share || ' %', ', ' ORDER BY share DESC) FROM (SELECT what,
         round(100.0 * count(*) / sum(count(*)) OVER ())::int AS share FROM bench_waits
         GROUP BY what) w WHERE share >= 1" >&2
    say "   the oldest rollup mark waiting to be folded, sampled every 20 ms: $(sql "SELECT
         'median ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::numeric, 2)
         || ' s, p95 ' || round(percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds)::numeric, 2)
         || ' s, max ' || round(max(seconds)::numeric, 2) || ' s' FROM bench_rollup_lag")"
    say "   statements by total time during the API load (ms total, calls, ms mean, rows, buffers;"
    say "   'nested' ones run inside a trigger or function and count in their caller's time too):"
    top_statements 24
    sql "SELECT pg_stat_statements_reset()" >/dev/null
fi
# the background work the load left gives way to ingest (it waits while requests are served,
# then catches up with larger claims): how long after the load the rollups were all folded,
# the progress snapshots refreshed (of programmes with a roadmap: the synthetic one has none,
# so its changes only leave marks) and the changed series all evaluated
pg_cpu "$work/pg.before"
cpu_of "$daemon_pid" >"$work/d.before"
left="rollups snapshots evaluation"
while [ -n "$left" ]; do
    read -r rollups snapshots evaluation <<<"$(sql "SELECT (SELECT count(*) FROM rollup_dirty),
        (SELECT count(*) FROM progress_dirty d WHERE EXISTS (SELECT 1 FROM roadmap_version r
         WHERE r.programme_id = d.programme_id)), (SELECT count(*) FROM dirty_series)" | tr '|' ' ')"
    for what in $left; do
        if [ "${!what}" = 0 ]; then
            caught[$what]=$(elapsed "$load_end" "$(now)")
            left=$(echo "$left" | sed "s/\b$what\b//; s/^ *//; s/ *$//")
        fi
    done
    [ -n "$left" ] && sleep 0.05
done
pg_cpu "$work/pg.after"
cpu_of "$daemon_pid" >"$work/d.after"
[ "$(sql "SELECT count(*) FROM roadmap_version")" = 0 ] && caught[snapshots]="- (no roadmap: none to refresh)"
say "   caught up after the load: rollups folded ${caught[rollups]} s, progress snapshots ${caught[snapshots]} s, evaluation ${caught[evaluation]} s (CPU meanwhile: PostgreSQL $(cpu_since "$work/pg.before" "$work/pg.after") s, scaleupd $(cpu_since "$work/d.before" "$work/d.after") s)"
if [ -n "${STATS:-}" ]; then
    say "   statements by total time while catching up:"
    top_statements 12
fi
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$daemon_pid/status")
errors=$(grep -c ' ERROR' "$work/scaleupd.log" || true)
kill "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=
stored=$(sql "SELECT count(*) FROM observation")
revisions=$(sql "SELECT count(*) FROM observation_revision")

say "== COPY: the same $stored rows, binary COPY of $BATCH rows per transaction, $CLIENTS clients"
sql "COPY (SELECT programme_id, series_id, period_start, value, numerator, denominator, token_id
           FROM observation ORDER BY period_start, series_id) TO STDOUT" >"$work/rows.tsv"
copies=()
for _ in 1 2 3; do # COPY takes about a second: the median of three runs
    sql "TRUNCATE observation"
    sql "CHECKPOINT"
    pg_cpu "$work/pg.before"
    copies+=("$("$work/ingest_copy" "$db" "$work/rows.tsv" "$CLIENTS" "$BATCH")")
    pg_cpu "$work/pg.after"
    say "   CPU seconds of PostgreSQL during COPY: $(cpu_since "$work/pg.before" "$work/pg.after")"
done
copy=$(printf '%s\n' "${copies[@]}" | python3 -c 'import json, sys
runs = sorted((json.loads(l) for l in sys.stdin), key=lambda r: r["seconds"])
print(json.dumps(dict(runs[1], all=[r["rows_per_second"] for r in runs])))')
copied=$(sql "SELECT count(*) FROM observation")

python3 - "$api" "$copy" "$rss_kb" "$stored" "$copied" "$revisions" "$errors" <<'PY'
import json, sys
api, copy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rss_kb, stored, copied, revisions, errors = (int(x) for x in sys.argv[3:8])
print(f"clients {api['clients']} (order: {api['order']}), batches of {api['batch']} rows; observations stored "
      f"{stored}, revisions {revisions}; COPY reloaded {copied}")
print(f"{'':28}{'rows':>9}{'seconds':>9}{'rows/s':>10}{'of COPY':>9}"
      f"{'p50 10-row':>12}{'p99 10-row':>12}")
print(f"{'COPY (binary, 1 txn/batch)':28}{copy['rows']:>9}{copy['seconds']:>9.2f}"
      f"{copy['rows_per_second']:>10.0f}{'100 %':>9}   (median of "
      f"{', '.join(f'{r:.0f}' for r in copy['all'])})")
for name in ("insert", "update"):
    if name not in api:
        continue
    r = api[name]
    label = "API, new keys" if name == "insert" else "API, every value changed"
    ratio = r["rows_per_second"] / copy["rows_per_second"]
    print(f"{label:28}{r['rows']:>9}{r['seconds']:>9.2f}{r['rows_per_second']:>10.0f}"
          f"{ratio * 100:>7.0f} %{r['probe_p50_ms']:>10.1f}ms{r['probe_p99_ms']:>10.1f}ms")
    if r["errors"] or r["rejected"]:
        print(f"  !! {r['errors']} failed requests, {r['rejected']} rejected rows")
first = api.get("insert") or api[next(k for k in api if isinstance(api[k], dict))]
ratio = first["rows_per_second"] / copy["rows_per_second"]
print(f"target: API >= 50 % of COPY: {'met' if ratio >= 0.5 else 'NOT met'} ({ratio * 100:.0f} %)"
      f"; probes under load: {first['probe_count']}, max {first['probe_max_ms']:.1f} ms")
print(f"scaleupd peak RSS (VmHWM): {rss_kb / 1024:.1f} MB; ERROR lines in its log: {errors}")
PY
