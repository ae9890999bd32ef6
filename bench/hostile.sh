#!/usr/bin/env bash
# Hostile-input benchmark (issue "Hostile input and overload"): against a fresh cluster and
# the Release daemon, the time to answer 8 MB of nested brackets; the answer to a 17 MB body
# sent without Expect: 100-continue; a normal client's p50/p99 (GETs on new connections,
# 20 a second) while 2,000 slow connections trickle a header byte a second, against the same
# client unloaded; the daemon's peak RSS meanwhile. Targets: brackets answered in under 1 s,
# p99 under load within 2x of unloaded, RSS under 64 MB. A benchmark, not a test: run it by
# hand (about 2 minutes); the machine is shared, so read the ratios as orders of magnitude.
#
#   bench/hostile.sh                 SLOW=2000 MAX_CONNECTIONS=4096 PROBES=300 HOLD=40
#   MAX_CONNECTIONS=1024 bench/hostile.sh   the default cap: slow connections past it get 503
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
build=${BUILD_DIR:-$here/build-bench}
SLOW=${SLOW:-2000}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-4096}
PROBES=${PROBES:-300}
HOLD=${HOLD:-40}
work=$(mktemp -d /tmp/scaleupd-bench.XXXXXX)
daemon_pid=
slow_pid=

cleanup() {
    local rc=$?
    [ -n "$slow_pid" ] && kill "$slow_pid" 2>/dev/null
    if [ -n "$daemon_pid" ]; then # a worker still parsing brackets would hold a clean stop
        kill "$daemon_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    "$here/scripts/pgcluster" stop "$work/pg" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
# the slow clients and the daemon each need a descriptor per connection
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bench_build
bench_start_pg
psql -X -q -d "$base" -c "CREATE DATABASE bench"
db="$base dbname=bench"

say "== scaleupd (max_connections = $MAX_CONNECTIONS, other limits at their defaults)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/scaleupd.conf" <<CONF
[server]
listen_port = $port
max_connections = $MAX_CONNECTIONS
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
read=$("$build/scaleupctl" --database "$db" token create --read --name bench-read 2>/dev/null)
SCALEUPD_URL=$url SCALEUPD_TOKEN=$admin "$build/scaleupctl" programme apply \
    "$here/config/programme-icp-be.json" >/dev/null
slug=icp-t2d-htn-be
load() { python3 "$here/bench/hostile_load.py" "$@"; }

say "== a 17 MB body without Expect: 100-continue"
big=$(load big "$url" "$admin" $((17 * 1024 * 1024)))
say "== a normal client unloaded: $PROBES GETs of a programme, 20 a second"
unloaded=$(load probe "$url" "$read" "/api/v1/programmes/$slug" "$PROBES" 20)

say "== the same client while $SLOW slow connections trickle a header byte a second"
say "   (the slow clients run at nice 10: on one machine they would otherwise take the CPU"
say "   that clients on other machines would not)"
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$daemon_pid/status")
cpu_of "$daemon_pid" >"$work/d.before"
nice -n 10 python3 "$here/bench/hostile_load.py" slow "$url" "$SLOW" "$HOLD" >"$work/slow.json" &
slow_pid=$!
rss_peak=0
for _ in $(seq 50); do # let the slow connections open (5 s), sampling RSS
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$daemon_pid/status")
    [ "$rss" -gt "$rss_peak" ] && rss_peak=$rss
    sleep 0.1
done
(while kill -0 "$slow_pid" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$daemon_pid/status"
    sleep 0.2
done) >"$work/rss.txt" &
sampler=$!
loaded=$(load probe "$url" "$read" "/api/v1/programmes/$slug" "$PROBES" 20)
cpu_of "$daemon_pid" >"$work/d.after"
wait "$slow_pid" || true
slow_pid=
wait "$sampler" 2>/dev/null || true
daemon_cpu=$(cpu_since "$work/d.before" "$work/d.after")
say "== 8 MB of nested brackets POSTed as observations (answer awaited up to 60 s; last, since"
say "   a parser without a nesting bound keeps a worker and its memory for hours)"
brackets=$(load brackets "$url" "$admin" "$slug" 8000000 60)
rss_peak=$(sort -n "$work/rss.txt" | tail -1 | awk -v p="$rss_peak" '{print ($1 > p ? $1 : p)}')
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$daemon_pid/status")
errors=$(grep -c ' ERROR' "$work/scaleupd.log" || true)

python3 - "$brackets" "$big" "$unloaded" "$loaded" "$(cat "$work/slow.json")" "$rss_peak" \
    "$hwm" "$errors" "$rss_before" "$daemon_cpu" <<'PY'
import json, sys
brackets, big, unloaded, loaded, slow = (json.loads(a) for a in sys.argv[1:6])
rss_kb, hwm_kb, errors, rss_before_kb = (int(a) for a in sys.argv[6:10])
daemon_cpu = float(sys.argv[10])
print(f"8 MB of brackets: {brackets['status']} in {brackets['seconds']:.3f} s "
      f"({brackets['seconds'] / 1.0:.2f}x the 1 s target: "
      f"{'met' if brackets['status'] and brackets['seconds'] < 1 else 'NOT met'}); "
      f"{brackets['body'][:120]}")
print(f"17 MB body without Expect: {big['status']} {big.get('content_type')} "
      f"{big.get('body', big.get('error', ''))[:160]} (body bytes sent: {big['body_bytes_sent']})")
print(f"{'normal client':24}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  answers")
for name, r in (("unloaded", unloaded), (f"{slow['max_open']} slow connections", loaded)):
    print(f"{name:24}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}  {r['statuses']}")
ratio = loaded["p99_ms"] / unloaded["p99_ms"]
print(f"p99 under load / unloaded: {ratio:.2f}x (target within 2x: "
      f"{'met' if ratio <= 2 else 'NOT met'})")
print(f"slow connections: {slow['opened']} opened (at most {slow['max_open']} at once), "
      f"answers {slow['answers']}, connect errors {slow['connect_errors']}; "
      f"daemon CPU meanwhile {daemon_cpu:.1f} s")
print(f"daemon RSS: {rss_before_kb / 1024:.1f} MB before the slow connections, peak "
      f"{rss_kb / 1024:.1f} MB meanwhile, VmHWM at the end {hwm_kb / 1024:.1f} MB "
      f"({rss_kb / 1024 / 64:.2f}x the 64 MB target: {'met' if rss_kb < 64 * 1024 else 'NOT met'})"
      f"; ERROR lines in its log: {errors}")
PY
