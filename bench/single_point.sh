#!/usr/bin/env bash
# Single-point feed benchmark (the performance target: "1-point POSTs from 32 connections, each
# acknowledged after commit, at least match pgbench doing single-row upserts with 8
# clients"). In one run, on a fresh PostgreSQL with fsync and synchronous_commit on:
#   API      CONNECTIONS (32) keep-alive connections each POST 1-observation JSON batches, one
#            after the other, for DURATION seconds (bench/single_point_load.py): requests/s and
#            p50/p99 latency. MODE=new (default): every request stores a new key (each
#            connection its own sites × indicators, successive months); MODE=update: every
#            request changes the value of a stored key (a revision is written).
#   pgbench  8 clients (-M prepared) for DURATION seconds, each transaction one single-row
#            INSERT … ON CONFLICT (programme_id, series_id, period_start) DO UPDATE into the
#            same observation table, random series among those the API created, random month
#            among 1,000 (so nearly all new keys): tps and p50/p99 latency.
#   pgbench  for comparison only: as many clients as the daemon has workers, each transaction
#            the same upsert wrapped in the eight round trips the daemon makes for a 1-point
#            POST (token, programme, BEGIN, catalog, SAVEPOINT, store, RELEASE, COMMIT).
# It prints the ratio API/pgbench and the CPU seconds PostgreSQL, the daemon and the client
# used. Not a ctest test: run it by hand, about a minute.
#
#   bench/single_point.sh                  CONNECTIONS=32 DURATION=10 MODE=new SITES=320
#   WORKERS="default 8" bench/single_point.sh   one API run per worker_threads value
#                                          (default: the daemon's own default, 4)
#   STATS=1 bench/single_point.sh          also print the statements that took the
#                                          database's time during the (first) API run
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
build=${BUILD_DIR:-$here/build-bench}
export CONNECTIONS=${CONNECTIONS:-32}
export DURATION=${DURATION:-10}
export MODE=${MODE:-new}
export SITES=${SITES:-320}
export INDICATORS=${INDICATORS:-10}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-8}
WORKERS=${WORKERS:-default}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/scaleupd-bench.XXXXXX)
daemon_pid=
sampler_pid=

cleanup() {
    [ -n "$sampler_pid" ] && kill -- -"$sampler_pid" 2>/dev/null
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    "$here/scripts/pgcluster" stop "$work/pg" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

bench_build

bench_start_pg
psql -X -q -d "$base" -c "CREATE DATABASE bench"
db="$base dbname=bench"
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
say "   $(sql "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
          WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method',
                         'shared_buffers', 'commit_delay')")"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
start_daemon() { # $1 = worker_threads, or "default" for the daemon's own default
    {
        printf '[server]\nlisten_port = %s\nrate_limit = 0\n' "$port"
        [ "$1" = default ] || printf 'worker_threads = %s\n' "$1"
        printf '[log]\nlevel = warning\n'
    } >"$work/scaleupd.conf"
    SCALEUPD_DATABASE="$db" "$build/scaleupd" -c "$work/scaleupd.conf" 2>>"$work/scaleupd.log" &
    daemon_pid=$!
    for _ in $(seq 100); do
        curl -sf "$url/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    say "scaleupd did not become ready:"
    cat "$work/scaleupd.log" >&2
    exit 1
}
stop_daemon() {
    kill "$daemon_pid"
    wait "$daemon_pid" || true
    daemon_pid=
}

say "== the synthetic programme: $SITES practices × $INDICATORS indicators"
start_daemon default
default_workers=$(sed -n 's/.*"worker_threads", CONFIG_INT, "\([0-9]*\)".*/\1/p' "$here/daemon/core/config.c")
admin=$("$build/scaleupctl" --database "$db" token create --admin --name bench 2>/dev/null)
python3 "$here/bench/ingest_load.py" programme >"$work/programme.json"
SCALEUPD_URL=$url SCALEUPD_TOKEN=$admin "$build/scaleupctl" programme apply "$work/programme.json" >/dev/null
feed=$(SCALEUPD_URL=$url SCALEUPD_TOKEN=$admin "$build/scaleupctl" token create --feed bench --name bench-feed 2>/dev/null)
stop_daemon

results=()
first=1
month=2
for workers in $WORKERS; do
    say "== API: $CONNECTIONS connections POST 1-point batches for $DURATION s, MODE=$MODE," \
        "worker_threads = $workers"
    start_daemon "$workers"
    if [ -n "$first" ]; then
        warm=$(python3 "$here/bench/single_point_load.py" warmup "$url" "$feed" bench)
        say "   warm-up (creates the series; months 0 and 1 of each): $warm"
    fi
    sql "CHECKPOINT"
    if [ -n "${STATS:-}" ] && [ -n "$first" ]; then
        sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
        sql "ALTER SYSTEM SET pg_stat_statements.track = 'all'"
        sql "ALTER SYSTEM SET pg_stat_statements.track_planning = on"
        sql "SELECT pg_reload_conf()" >/dev/null
        sql "SELECT pg_stat_statements_reset()" >/dev/null
        sql "SELECT pg_stat_reset_shared('wal')" >/dev/null
        sql "CREATE TABLE IF NOT EXISTS bench_waits (sample int, what text)"
        setsid bash -c 'for i in $(seq 100000); do
            echo "INSERT INTO bench_waits SELECT $i, coalesce(wait_event_type || '"':'"' || wait_event,
                  '"'CPU'"') FROM pg_stat_activity WHERE state = '"'active'"' AND pid <> pg_backend_pid()
                  AND backend_type = '"'client backend'"'; SELECT pg_sleep(0.02);"
        done | psql -X -q -A -t -d "$0" >/dev/null 2>&1' "$db" &
        sampler_pid=$!
    fi
    api=$(FIRST_MONTH=$month CPU_PIDS="daemon=$daemon_pid postgres=$postmaster" \
        python3 "$here/bench/single_point_load.py" load "$url" "$feed" bench)
    month=$((month + 100))
    api=$(python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(workers=sys.argv[2])
print(json.dumps(r))' "$api" "$workers")
    results+=("$api")
    if [ -n "${STATS:-}" ] && [ -n "$first" ]; then
        kill -- -"$sampler_pid" 2>/dev/null || true
        sampler_pid=
        say "   busy backends, sampled every 20 ms: share of samples per wait (CPU = not waiting):"
        sql "SELECT string_agg(what || ' ' || share || ' %', ', ' ORDER BY share DESC) FROM (SELECT what,
             round(100.0 * count(*) / sum(count(*)) OVER ())::int AS share FROM bench_waits
             GROUP BY what) w WHERE share >= 1" >&2
        say "   statements by total time during the API load (ms executing + ms planning, calls,"
        say "   ms mean, rows; 'nested' ones run inside a trigger or function and count in their"
        say "   caller's time too):"
        sql "SELECT round(total_exec_time)::text || ' + ' || round(total_plan_time) || ' | ' ||
                    calls || ' | ' || round(mean_exec_time::numeric, 3) || ' | ' || rows || ' | ' ||
                    CASE WHEN toplevel THEN '' ELSE 'nested: ' END ||
                    left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
             FROM pg_stat_statements WHERE query NOT LIKE '%bench_waits%'
             AND query NOT LIKE 'SELECT pg_sleep%' ORDER BY total_exec_time + total_plan_time DESC
             LIMIT 16" >&2
        say "   all top-level statements: $(sql "SELECT sum(calls) || ' calls, ' ||
            round(sum(total_exec_time)) || ' ms executing, ' || round(sum(total_plan_time)) ||
            ' ms planning' FROM pg_stat_statements WHERE toplevel AND query NOT LIKE '%bench_waits%'
            AND query NOT LIKE 'SELECT pg_sleep%'")"
        say "   WAL: $(sql "SELECT 'records ' || wal_records || ', bytes ' || wal_bytes || ', syncs ' ||
                         wal_sync || ', sync ms ' || round(wal_sync_time) FROM pg_stat_wal")" \
            "(during the API load)"
    fi
    say "   alerts by rule kind and state: $(sql "SELECT coalesce(string_agg(kind || ' ' || state || ' ' || n,
        ', '), 'none') FROM (SELECT r.kind, a.state, count(*) AS n FROM alert a JOIN alert_rule r ON
        r.programme_id = a.programme_id AND r.id = a.rule_id GROUP BY 1, 2 ORDER BY 1, 2) k")"
    first=
    stop_daemon
done
errors=$(grep -c ' ERROR' "$work/scaleupd.log" || true)

say "== pgbench: $PGBENCH_CLIENTS clients, single-row upserts for $DURATION s"
pid=$(sql "SELECT id FROM programme WHERE slug = 'bench'")
read -r smin smax scount < <(sql "SELECT min(id), max(id), count(*) FROM series WHERE programme_id = $pid" | tr '|' ' ')
cat >"$work/upsert.sql" <<'SQL'
\set series random(:smin, :smax)
\set month random(0, 999)
\set value random(0, 100000)
INSERT INTO observation AS o (programme_id, series_id, period_start, value)
VALUES (:pid, :series, (date '1900-01-01' + :month::int * interval '1 month')::date, :value)
ON CONFLICT (programme_id, series_id, period_start)
DO UPDATE SET value = excluded.value, received_at = now();
SQL
# The API's round trips per 1-point POST (pg_stat_statements): token, programme, BEGIN,
# catalog, SAVEPOINT, store, RELEASE, COMMIT. The same eight around the same upsert, from as
# many clients as the daemon has workers, shows what the round trips cost on their own.
cat >"$work/roundtrips.sql" <<'SQL'
\set series random(:smin, :smax)
\set month random(0, 999)
\set value random(0, 100000)
SELECT id FROM token WHERE id = 1;
SELECT id FROM programme WHERE id = :pid;
BEGIN;
SELECT id FROM series WHERE programme_id = :pid AND id = :series;
SAVEPOINT s;
INSERT INTO observation AS o (programme_id, series_id, period_start, value)
VALUES (:pid, :series, (date '1900-01-01' + :month::int * interval '1 month')::date, :value)
ON CONFLICT (programme_id, series_id, period_start)
DO UPDATE SET value = excluded.value, received_at = now();
RELEASE SAVEPOINT s;
COMMIT;
SQL

run_pgbench() { # clients, script: prints "tps p50_ms p99_ms postgres_cpu pgbench_cpu failed"
    rm -f "$work"/pgbench_log.*
    sql "CHECKPOINT"
    pg_cpu "$work/pg.before"
    /usr/bin/time -f '%U %S' -o "$work/pgbench.cpu" \
        "$PGBIN/pgbench" -n -M prepared -c "$1" -j 2 -T "$DURATION" \
        -D pid="$pid" -D smin="$smin" -D smax="$smax" -f "$2" \
        -l --log-prefix="$work/pgbench_log" "$db" >"$work/pgbench.out" 2>"$work/pgbench.err" || {
        cat "$work/pgbench.err" "$work/pgbench.out" >&2
        exit 1
    }
    pg_cpu "$work/pg.after"
    local lat
    lat=$(cat "$work"/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -n | awk '
        { v[NR] = $1 } END { i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5);
        if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1;
        printf "%.2f %.2f\n", v[i50], v[i99] }')
    echo "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/pgbench.out") $lat" \
        "$(cpu_since "$work/pg.before" "$work/pg.after")" \
        "$(awk '{ print $1 + $2 }' "$work/pgbench.cpu")" \
        "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.out")"
}
pgbench_upsert=$(run_pgbench "$PGBENCH_CLIENTS" "$work/upsert.sql")
rt_clients=$([ "${WORKERS%% *}" = default ] && echo "$default_workers" || echo "${WORKERS%% *}")
say "== pgbench: $rt_clients clients, the API's 8 round trips around each upsert, $DURATION s"
pgbench_roundtrips=$(run_pgbench "$rt_clients" "$work/roundtrips.sql")

python3 - "$pgbench_upsert" "$pgbench_roundtrips" "$DURATION" "$PGBENCH_CLIENTS" "$rt_clients" \
    "$errors" "$scount" "$smax" "$smin" "$default_workers" "${results[@]}" <<'PY'
import json, sys
def pgb(text):
    tps, p50, p99, pg_cpu, own_cpu, *failed = text.split()
    return {"tps": float(tps), "p50": float(p50), "p99": float(p99), "pg_cpu": float(pg_cpu),
            "own_cpu": float(own_cpu), "failed": int(failed[0]) if failed else 0}
upsert, roundtrips = pgb(sys.argv[1]), pgb(sys.argv[2])
duration = float(sys.argv[3])
clients, rt_clients, errors, scount, smax, smin = (int(x) for x in sys.argv[4:10])
default_workers = sys.argv[10] or "4"
runs = [json.loads(a) for a in sys.argv[11:]]
tps = upsert["tps"]
print(f"{runs[0]['connections']} connections, 1-point POSTs, MODE={runs[0]['mode']}, "
      f"{duration:.0f} s each; pgbench: {clients} clients over {scount} series "
      f"(ids {smin}..{smax}), 1,000 months")
print(f"{'':40}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'vs pgbench':>11}"
      f"   CPU s (of {2 * duration:.0f}): postgres / daemon / client")
for label, r in ((f"pgbench, {clients} clients, 1-row upsert", upsert),
                 (f"pgbench, {rt_clients} clients, 8 round trips", roundtrips)):
    print(f"{label:40}{r['tps']:>8.0f}{r['p50']:>8.2f}{r['p99']:>8.2f}{'':>8}"
          f"{r['tps'] / tps * 100:>9.0f} %   {r['pg_cpu']:.1f} / - / {r['own_cpu']:.1f} (pgbench)")
    if r["failed"]:
        print(f"  !! pgbench: {r['failed']} failed transactions")
for r in runs:
    w = r["workers"] if r["workers"] != "default" else f"default ({default_workers})"
    label = f"API, {r['connections']} conns, workers = {w}"
    ratio = r["requests_per_second"] / tps
    print(f"{label:40}{r['requests_per_second']:>8.0f}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}"
          f"{r['max_ms']:>8.1f}{ratio * 100:>9.0f} %   {r['cpu']['postgres']:.1f} / "
          f"{r['cpu']['daemon']:.1f} / {r['client_cpu']:.1f}")
    if r["errors"] or r["rejected"]:
        print(f"  !! {r['errors']} failed requests, {r['rejected']} rejected rows")
    print(f"  {r['requests']} requests: imported {r['imported']}, updated {r['updated']}, "
          f"unchanged {r['unchanged']}")
ratio = runs[0]["requests_per_second"] / tps
print(f"target: API (default workers) >= pgbench: {'met' if ratio >= 1 else 'NOT met'} "
      f"({ratio:.2f} x pgbench)")
print(f"ERROR lines in the daemon's log: {errors}")
PY
