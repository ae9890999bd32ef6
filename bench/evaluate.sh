#!/usr/bin/env bash
# Evaluation benchmark (the evaluation use case of docs/ARCHITECTURE.md: "re-evaluating all
# rules after a batch costs work proportional to the series the batch touched, not to the
# size of the history; 100,000 series evaluate in seconds"). On a fresh PostgreSQL with
# fsync and synchronous_commit on:
#   - a programme of SITES (10,000) practices × INDICATORS (10) monthly indicators, applied
#     through the API (its apply time is printed), with one series each (100,000) and MONTHS
#     (24) months of history, loaded with SQL; three small programmes of 100 practices × 10
#     indicators (1,000 series each) with 12, 60 and 600 months of history. Every indicator
#     has direction "up", so each series has one rule: its default spc rule. The values are a
#     noisy level (80..120) with no spc signal, so no alert is written: the cheapest outcome.
#   - series are marked dirty the way ingest marks them (sql/008, MARKS_SQL in
#     daemon/storage/observations_write.c): rows of dirty_series listing up to 1,000 series
#     each, with the period each changed in; then a 1-point POST kicks the evaluator (as every
#     ingest commit does), and the time until dirty_series is empty again (every claiming
#     transaction committed) is measured from the database, less the 200 ms that a kick waits
#     before the evaluation starts.
#   - cases: all 100,000 series at once (their first evaluation: the latest month marked, each
#     series' detector state built from its history), then REPEATS (3) rounds in which 1,000
#     series of each history length and 1,000 of the 100,000 get their next month (a value
#     inserted with SQL, marked as ingest marks a new period): the detector state of each goes
#     on with the new point without reading the history (sql/013). Medians are printed, and
#     the time per series of each case; the target is that 600 months cost at most 1.3× what
#     12 months cost.
#   - aggregates: each small programme has two aggregate spc rules (detector), one on its
#     country and one on its region, so 2 × 10 subjects (indicator × ancestor site) with
#     12, 60 and 600 months of rollups (built by a rollup rebuild after the load; each new
#     month is marked for the rollups as ingest marks it). The rounds above evaluate them
#     too; then REPEATS rounds give one practice's 10 series a new month: 10 series and the
#     20 subjects they feed, whose detector states (sql/025) go on with the new rollup point.
#     Besides the time, the work is counted from the daemon's metrics: rollup points read per
#     aggregate evaluation and states rebuilt (the machine may be noisy; the counts are not).
# [alerts] evaluate_interval is set to an hour so that only the kicks start evaluations and
# the late-feed/completeness pass (which runs on that interval, not after a batch) stays out
# of the figures. Not a ctest test: run it by hand, a few minutes.
#
#   bench/evaluate.sh                 SITES=10000 INDICATORS=10 MONTHS=24 REPEATS=3
#   STATS=1 bench/evaluate.sh         also print the statements that took the database's
#                                     time during the first 100,000-series pass, and during
#                                     the rounds
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
build=${BUILD_DIR:-$here/build-bench}
SITES=${SITES:-10000}
INDICATORS=${INDICATORS:-10}
MONTHS=${MONTHS:-24}
REPEATS=${REPEATS:-3}
PROBE_SITES=100
PROBE_MONTHS="12 60 600"
work=$(mktemp -d /tmp/scaleupd-bench.XXXXXX)
daemon_pid=

cleanup() {
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
          WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers')")"

say "== scaleupd (default worker_threads, evaluate_interval = 1h)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/scaleupd.conf" <<CONF
[server]
listen_port = $port
rate_limit = 0
max_body_bytes = 67108864
[log]
level = ${LOG_LEVEL:-warning}
[alerts]
evaluate_interval = 1h
CONF
SCALEUPD_DATABASE="$db" "$build/scaleupd" -c "$work/scaleupd.conf" 2>"$work/scaleupd.log" &
daemon_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 100); do
    curl -sf "$url/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
sleep 2 # the evaluator's first run (1 s after start) passes while there is no programme
admin=$("$build/scaleupctl" --database "$db" token create --admin --name bench 2>/dev/null)
export SCALEUPD_URL=$url SCALEUPD_TOKEN=$admin

programme() { # slug, site code prefix, sites
    python3 - "$1" "$2" "$3" "$INDICATORS" <<'PY'
import json, sys
slug, prefix, n_sites, n_ind = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
regions = max(1, n_sites // 1000)
sites = [{"code": prefix, "name": f"{prefix} country", "level": "country"}]
sites += [{"code": f"{prefix}-R{r}", "name": f"Region {r}", "level": "region", "parent": prefix}
          for r in range(regions)]
sites += [{"code": f"{prefix}-R{s % regions}-P{s:05d}", "name": f"Practice {s}",
           "level": "practice", "parent": f"{prefix}-R{s % regions}", "adopted": "2000-01-01"}
          for s in range(n_sites)]
indicators = [{"code": f"ind{i:02d}", "name": f"Indicator {i}", "value_type": "count",
               "period_type": "monthly", "direction": "up", "aggregate": "sum"}
              for i in range(n_ind)]
json.dump({"slug": slug, "name": slug, "time_zone": "UTC", "sites": sites,
           "indicators": indicators}, sys.stdout)
PY
}

t0=$(now)
programme eval EV "$SITES" >"$work/eval.json"
"$build/scaleupctl" programme apply "$work/eval.json" >/dev/null
apply_seconds=$(elapsed "$t0" "$(now)")
say "   programme apply of $SITES sites × $INDICATORS indicators: $apply_seconds s"
for months in $PROBE_MONTHS; do
    programme "hist$months" "H$months" "$PROBE_SITES" >"$work/hist$months.json"
    "$build/scaleupctl" programme apply "$work/hist$months.json" >/dev/null
    # the aggregate rules: the country (a rule without a site) and the region, every indicator
    echo '{"name":"agg-country","kind":"spc","aggregate":true}' >"$work/agg-country.json"
    echo "{\"name\":\"agg-region\",\"kind\":\"spc\",\"site\":\"H$months-R0\",\"aggregate\":true}" \
        >"$work/agg-region.json"
    "$build/scaleupctl" rule apply "$work/agg-country.json" --programme "hist$months" >/dev/null
    "$build/scaleupctl" rule apply "$work/agg-region.json" --programme "hist$months" >/dev/null
done

say "== series and their history (SQL): $SITES × $INDICATORS series × $MONTHS months," \
    "and 3 × $PROBE_SITES × $INDICATORS series × $PROBE_MONTHS months"
t0=$(now)
latest=$(sql "SELECT (date_trunc('month', now()) - interval '1 month')::date")
sql "CREATE TABLE bench_history (programme_id bigint PRIMARY KEY, months int NOT NULL)"
sql "INSERT INTO bench_history SELECT id, CASE WHEN slug = 'eval' THEN $MONTHS
     ELSE substr(slug, 5)::int END FROM programme"
sql "INSERT INTO series (programme_id, indicator_id, site_id)
     SELECT p.id, i.id, s.id FROM programme p
     JOIN site s ON s.programme_id = p.id AND s.level = 'practice'
     JOIN indicator i ON i.programme_id = p.id ORDER BY p.id, s.id, i.id"
# a level with noise, as a count feed would have it: 80..120
sql "INSERT INTO observation (programme_id, series_id, period_start, value)
     SELECT se.programme_id, se.id, (date '$latest' - m * interval '1 month')::date,
            100 + (se.id * 7919 + m * 104729) % 41 - 20
     FROM series se JOIN bench_history h ON h.programme_id = se.programme_id,
          generate_series(0, h.months - 1) AS m"
# the load's progress marks would make the progress task recompute snapshots meanwhile
sql "DELETE FROM progress_dirty"
# the small programmes' rollups, rebuilt by the rollup task (the big one has no aggregate rule)
sql "INSERT INTO rollup_dirty (programme_id) SELECT id FROM programme WHERE slug LIKE 'hist%'"
sql "VACUUM ANALYZE"
sql "CHECKPOINT"
say "   $(sql "SELECT count(*) FROM series") series, $(sql "SELECT count(*) FROM observation")" \
    "observations, loaded in $(elapsed "$t0" "$(now)") s; database $(sql "SELECT
    pg_size_pretty(pg_database_size(current_database()))")"

# Marks like MARKS_SQL: one dirty_series row per 1,000 series (in id order), since and until
# (sql/031) = the month given; $1 = programme slug, $2 = how many of its series (in id order),
# $3 = the month
sql "CREATE FUNCTION bench_mark(slug text, n int, since date) RETURNS int LANGUAGE sql AS \$\$
     WITH m AS (INSERT INTO dirty_series (programme_id, series_ids, since_periods, until_periods)
       SELECT programme_id, array_agg(id ORDER BY id), array_agg(since ORDER BY id),
              array_agg(since ORDER BY id)
       FROM (SELECT programme_id, id, \$3 AS since,
                    (row_number() OVER (ORDER BY id) - 1) / 1000 AS chunk
             FROM (SELECT se.programme_id, se.id FROM series se JOIN programme p ON
                   p.id = se.programme_id WHERE p.slug = \$1 ORDER BY se.id LIMIT \$2) s) c
       GROUP BY programme_id, chunk RETURNING 1)
     SELECT count(*)::int FROM m \$\$"
# A feed's next month: the first $2 series of programme $1 get a value for the month $3 (the
# load's noisy level, continued: no signal, so no alert is written), and are marked as ingest marks them (since = that month); the progress
# marks the insert leaves are dropped, as after the load
sql "CREATE FUNCTION bench_next_month(slug text, n int, month date) RETURNS int LANGUAGE sql AS \$\$
     INSERT INTO observation (programme_id, series_id, period_start, value)
       SELECT se.programme_id, se.id, \$3, 100 + ((se.id * 7919 - (extract(year FROM
              age(\$3, date '$latest')) * 12 + extract(month FROM age(\$3, date '$latest')))::int
              * 104729) % 41 + 41) % 41 - 20
       FROM series se JOIN programme p ON p.id = se.programme_id WHERE p.slug = \$1
       ORDER BY se.id LIMIT \$2;
     INSERT INTO rollup_dirty (programme_id, series_ids, periods, removed) -- as ingest marks a batch
       SELECT programme_id, array_agg(id ORDER BY id), array_agg(\$3 ORDER BY id), false
       FROM (SELECT se.programme_id, se.id FROM series se JOIN programme p ON
             p.id = se.programme_id WHERE p.slug = \$1 ORDER BY se.id LIMIT \$2) s
       GROUP BY programme_id;
     DELETE FROM progress_dirty; -- the progress task would recompute snapshots meanwhile
     SELECT bench_mark(\$1, \$2, \$3) \$\$"
# Waits until no mark is left (each statement of the loop sees what has committed); returns
# the time it saw the table empty, as epoch seconds
sql "CREATE FUNCTION bench_wait_marks(timeout float8) RETURNS float8 LANGUAGE plpgsql AS \$\$
     DECLARE deadline timestamptz := clock_timestamp() + timeout * interval '1 second';
     BEGIN
       WHILE EXISTS (SELECT 1 FROM dirty_series) LOOP
         IF clock_timestamp() > deadline THEN
           RAISE EXCEPTION '% marks left after % s', (SELECT count(*) FROM dirty_series), timeout;
         END IF;
         PERFORM pg_sleep(0.002);
       END LOOP;
       RETURN extract(epoch FROM clock_timestamp());
     END \$\$"

# The kick: a 1-point POST that revises the latest value of one series (alternating between
# two values) makes the daemon kick its evaluator, as every ingest commit that changes
# something does (a POST that changes nothing kicks nothing). Its own mark is one series,
# consumed by the same run.
feed=$("$build/scaleupctl" token create --feed eval --name bench-feed 2>/dev/null)
kick_point=$(sql "SELECT i.code || ' ' || s.code || ' ' || to_char(o.period_start, 'YYYY-MM')
    || ' ' || o.value
    FROM observation o JOIN series se ON se.programme_id = o.programme_id AND se.id = o.series_id
    JOIN indicator i ON i.programme_id = se.programme_id AND i.id = se.indicator_id
    JOIN site s ON s.programme_id = se.programme_id AND s.id = se.site_id
    JOIN programme p ON p.id = o.programme_id WHERE p.slug = 'eval'
    ORDER BY o.series_id, o.period_start DESC LIMIT 1")
read -r kick_indicator kick_site kick_period kick_value <<<"$kick_point"
kicks_file=$work/kicks # kick runs in $(...) subshells: its count lives in a file
echo 0 >"$kicks_file"
kick() {
    local kicks value
    kicks=$(($(cat "$kicks_file") + 1))
    echo "$kicks" >"$kicks_file"
    value=$(python3 -c "import sys; v = float(sys.argv[1]) + (1 if int(sys.argv[2]) % 2 else 0); print(int(v) if v.is_integer() else v)" \
        "$kick_value" "$kicks")
    curl -sf -o /dev/null -X POST -H "Authorization: Bearer $feed" -H 'Content-Type: application/json' \
        --data "{\"observations\":[{\"indicator\":\"$kick_indicator\",\"site\":\"$kick_site\",\"period\":\"$kick_period\",\"value\":$value}]}" \
        "$url/api/v1/programmes/eval/observations"
}
# Waits until no rollup mark is left, as bench_wait_marks
sql "CREATE FUNCTION bench_wait_rollups(timeout float8) RETURNS void LANGUAGE plpgsql AS \$\$
     DECLARE deadline timestamptz := clock_timestamp() + timeout * interval '1 second';
     BEGIN
       WHILE EXISTS (SELECT 1 FROM rollup_dirty) LOOP
         IF clock_timestamp() > deadline THEN
           RAISE EXCEPTION '% rollup marks left after % s', (SELECT count(*) FROM rollup_dirty),
             timeout;
         END IF;
         PERFORM pg_sleep(0.01);
       END LOOP;
     END \$\$"
kick
sql "SELECT bench_wait_marks(60)" >/dev/null
t0=$(now)
sql "SELECT bench_wait_rollups(900)" >/dev/null
say "   rollups of the small programmes rebuilt in $(elapsed "$t0" "$(now)") s:" \
    "$(sql "SELECT count(*) FROM rollup") rollups"

# The aggregate work counters of the daemon (sum of the samples): evaluations, points read,
# rebuilds, as one line
agg_counters() {
    curl -sf "$url/metrics" | awk '
        /^scaleupd_aggregate_evaluations_total/ { e += $2 }
        /^scaleupd_aggregate_points_read_total/ { p += $2 }
        /^scaleupd_aggregate_detector_rebuilds_total/ { r += $2 }
        END { printf "%d %d %d\n", e, p, r }'
}

# Marks $2 series of programme $1 (with a new month for each when $3 is a number of months
# after the latest: a feed's next period; else the latest month again, which nothing has
# evaluated yet the first time), kicks, prints the seconds until every mark is consumed, not
# counting the 200 ms a kick waits on purpose to gather the batches of a feed
# (daemon/edge/background_tasks.c): the evaluation's own time.
KICK_DELAY=0.2
measure() {
    sleep 0.5 # a run that an earlier kick asked for has passed: it cannot take these marks
    if [ -n "${3:-}" ]; then
        sql "SELECT bench_next_month('$1', $2, (date '$latest' + $3 * interval '1 month')::date)" \
            >/dev/null
    else
        sql "SELECT bench_mark('$1', $2, date '$latest')" >/dev/null
    fi
    local t0 t1 before after
    before=$(agg_counters)
    t0=$(now)
    kick
    t1=$(sql "SELECT bench_wait_marks(900)")
    after=$(agg_counters)
    echo "$1 $before $after" >>"$work/aggwork.${4:-first}"
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]) - $KICK_DELAY:.3f}')" "$t0" "$t1"
}

say "== all $((SITES * INDICATORS)) series of programme eval at once"
if [ -n "${STATS:-}" ]; then
    sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    sql "ALTER SYSTEM SET pg_stat_statements.track = 'all'"
    sql "ALTER SYSTEM SET pg_stat_statements.track_planning = on"
    sql "SELECT pg_reload_conf()" >/dev/null
    sql "SELECT pg_stat_statements_reset()" >/dev/null
fi
pg_cpu "$work/pg.before"
cpu_of "$daemon_pid" >"$work/d.before"
all_first=$(measure eval $((SITES * INDICATORS)))
pg_cpu "$work/pg.after"
cpu_of "$daemon_pid" >"$work/d.after"
cpu_pg=$(cpu_since "$work/pg.before" "$work/pg.after")
cpu_daemon=$(cpu_since "$work/d.before" "$work/d.after")
say "   $all_first s (CPU: postgres $cpu_pg s, scaleupd $cpu_daemon s)"
if [ -n "${STATS:-}" ]; then
    say "   statements by total time (ms executing + ms planning, calls, ms mean, rows; 'nested'"
    say "   ones run inside a function and count in their caller's time too):"
    sql "SELECT round(total_exec_time)::text || ' + ' || round(total_plan_time) || ' | ' ||
                calls || ' | ' || round(mean_exec_time::numeric, 3) || ' | ' || rows || ' | ' ||
                CASE WHEN toplevel THEN '' ELSE 'nested: ' END ||
                left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
         FROM pg_stat_statements WHERE query NOT LIKE '%bench_wait_marks%'
         AND query NOT LIKE '%pg_sleep%' AND query NOT LIKE '%dirty_series)%'
         AND query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time + total_plan_time DESC
         LIMIT 12" >&2
    sql "SELECT 'all top-level statements: ' || sum(calls) || ' calls, ' ||
         round(sum(total_exec_time)) || ' ms executing, ' || round(sum(total_plan_time)) ||
         ' ms planning' FROM pg_stat_statements WHERE toplevel
         AND query NOT LIKE '%bench_wait_marks%'" >&2
fi
alerts=$(sql "SELECT coalesce(string_agg(state || ' ' || n, ', '), 'none') FROM (SELECT state, count(*) AS n
              FROM alert GROUP BY state ORDER BY state) a")
say "   alerts after it: $alerts"

say "== $REPEATS rounds of 1,000 series: history of $PROBE_MONTHS months, and 1,000 of programme eval"
for months in $PROBE_MONTHS; do
    measure "hist$months" 1000 >/dev/null # first pass: default rules, the detector states built
done
[ -n "${STATS:-}" ] && sql "SELECT pg_stat_statements_reset()" >/dev/null
: >"$work/rounds"
for round in $(seq "$REPEATS"); do # each round, the next month of 1,000 series of each
    for months in $PROBE_MONTHS; do
        echo "hist$months $(measure "hist$months" 1000 "$round" rounds)" >>"$work/rounds"
    done
    echo "eval $(measure eval 1000 "$round")" >>"$work/rounds"
    say "   round $round: $(tail -4 "$work/rounds" | tr '\n' ' ')"
done
if [ -n "${STATS:-}" ]; then
    say "   statements of the rounds by total time (as above):"
    sql "SELECT round(total_exec_time)::text || ' + ' || round(total_plan_time) || ' | ' ||
                calls || ' | ' || round(mean_exec_time::numeric, 3) || ' | ' || rows || ' | ' ||
                left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
         FROM pg_stat_statements WHERE toplevel AND query NOT LIKE '%bench_wait_marks%'
         AND query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time + total_plan_time DESC
         LIMIT 10" >&2
fi
say "== $REPEATS rounds of one practice's 10 series and the 20 aggregate subjects they feed:" \
    "history of $PROBE_MONTHS months"
: >"$work/aggrounds"
for round in $(seq "$REPEATS"); do # months after those of the rounds above
    for months in $PROBE_MONTHS; do
        echo "agg$months $(measure "hist$months" 10 $((REPEATS + round)) agg)" >>"$work/aggrounds"
    done
    say "   round $round: $(tail -3 "$work/aggrounds" | tr '\n' ' ')"
done
say "   alerts after the rounds: $(sql "SELECT coalesce(string_agg(slug || ' ' || n, ', '), 'none')
    FROM (SELECT p.slug, count(*) AS n FROM alert a JOIN programme p ON p.id = a.programme_id
    GROUP BY p.slug ORDER BY p.slug) x")"
errors=$(grep -c ' ERROR' "$work/scaleupd.log" || true)

python3 - "$SITES" "$INDICATORS" "$MONTHS" "$all_first" "$apply_seconds" "$errors" \
    "$work/rounds" "$PROBE_MONTHS" "$cpu_pg" "$cpu_daemon" "$work" <<'PY'
import os, statistics, sys
sites, indicators, months = (int(x) for x in sys.argv[1:4])
first, apply_s = float(sys.argv[4]), float(sys.argv[5])
errors, rounds_file, probe_months = int(sys.argv[6]), sys.argv[7], sys.argv[8].split()
cpu_pg, cpu_daemon = float(sys.argv[9]), float(sys.argv[10])
n = sites * indicators
rounds = {}
with open(rounds_file) as f:
    for line in f:
        name, secs = line.split()
        rounds.setdefault(name, []).append(float(secs))
print(f"programme eval: {sites} sites × {indicators} indicators = {n} series, {months} months "
      f"each ({n * months} observations); programme apply of its sites took {apply_s:.1f} s")
print(f"{'case':52}{'series':>8}{'months':>8}{'seconds':>9}{'µs/series':>11}")
print(f"{'all series of eval at once':52}{n:>8}{months:>8}{first:>9.2f}{1e6 * first / n:>11.0f}")
print(f"  CPU meanwhile: PostgreSQL {cpu_pg:.1f} s, scaleupd {cpu_daemon:.1f} s")
for name, runs in rounds.items():
    m = months if name == "eval" else int(name[4:])
    label = (f"1,000 of eval, a new month" if name == "eval" else
             f"1,000 series, {m} months, a new month")
    med = statistics.median(runs)
    print(f"{label + f', median of {len(runs)}':52}{1000:>8}{m:>8}{med:>9.3f}{1e6 * med / 1000:>11.0f}")
short = statistics.median(rounds[f"hist{probe_months[0]}"])
for m in probe_months[1:]:
    r = statistics.median(rounds[f"hist{m}"]) / short
    print(f"history {m} vs {probe_months[0]} months ({int(m) / int(probe_months[0]):.0f}× the "
          f"history): {r:.2f}× the time per series (target: at most 1.3×)")
ratio_1k = statistics.median(rounds["eval"]) * n / 1000 / first
print(f"proportional to the series touched: 1,000 series of eval cost {ratio_1k:.2f}× the "
      f"per-series time of all {n}")
print(f"target: {n} series evaluate in seconds (read as < 10 s): "
      f"{'met' if first < 10 else 'NOT met'} ({first:.1f} s)")
agg = {}
with open(os.path.join(sys.argv[11], "aggrounds")) as f:
    for line in f:
        name, secs = line.split()
        agg.setdefault(name, []).append(float(secs))
for m in probe_months:
    runs = agg["agg" + m]
    label = f"10 series + 20 aggregate subjects, {m} months, median of {len(runs)}"
    med = statistics.median(runs)
    print(f"{label:52}{10:>8}{m:>8}{med:>9.3f}{1e6 * med / 30:>11.0f}  (µs per series or subject)")
agg_short = statistics.median(agg[f"agg{probe_months[0]}"])
for m in probe_months[1:]:
    r = statistics.median(agg[f"agg{m}"]) / agg_short
    print(f"aggregates: history {m} vs {probe_months[0]} months: {r:.2f}× the time (target: at "
          f"most 1.3×)")
print("work of the aggregate evaluations (daemon counters; not noisy): per history, the rounds'"
      " and the aggregate rounds' evaluations of a subject, rollup points read per evaluation,"
      " states rebuilt")
for kind in ("rounds", "agg"):
    work = {}
    with open(os.path.join(sys.argv[11], f"aggwork.{kind}")) as f:
        for line in f:
            name, e0, p0, r0, e1, p1, r1 = line.split()
            w = work.setdefault(name, [0, 0, 0])
            w[0] += int(e1) - int(e0)
            w[1] += int(p1) - int(p0)
            w[2] += int(r1) - int(r0)
    for name, (e, p, r) in work.items():
        per = f"{p / e:.2f}" if e else "-"
        print(f"  {kind:7}{name:10} {e:>5} evaluations, {per:>6} points read each, {r} rebuilt")
print(f"ERROR lines in the daemon's log: {errors}")
PY
