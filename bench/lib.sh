# Shared by the benchmarks in bench/ (sourced, not run): messages, the Release build, a fresh
# PostgreSQL with the durability of production, and CPU accounting of processes. The caller
# sets $here (the source tree), $build (the build directory) and $work (a scratch directory
# whose pg/ holds the cluster) before calling these.

say() { printf '%s\n' "$*" >&2; }

# Epoch seconds now, and the seconds from $1 to $2 (both epoch seconds).
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

# Builds scaleupd and scaleupctl in $build as Release.
bench_build() {
    say "== building Release in $build"
    cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target scaleupd scaleupctl >/dev/null
}

# Starts a throwaway cluster in $work/pg with fsync, synchronous_commit and full_page_writes
# on (STATS=1 also loads pg_stat_statements and times WAL I/O); sets $base, its conninfo,
# and $postmaster, its pid.
bench_start_pg() {
    say "== fresh PostgreSQL with fsync = on, synchronous_commit = on"
    "$here/scripts/pgcluster" start-test "$work/pg" >/dev/null
    base=$(cat "$work/pg/conninfo")
    psql -X -q -d "$base" -c "ALTER SYSTEM SET fsync = on" \
        -c "ALTER SYSTEM SET synchronous_commit = on" \
        -c "ALTER SYSTEM SET full_page_writes = on" -c "ALTER SYSTEM SET max_wal_size = '4GB'"
    if [ -n "${STATS:-}" ]; then
        psql -X -q -d "$base" \
            -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" \
            -c "ALTER SYSTEM SET track_wal_io_timing = on"
    fi
    "$here/scripts/pgcluster" restart "$work/pg" >/dev/null
    postmaster=$(head -1 "$(cat "$work/pg/root")/data/postmaster.pid")
}

# CPU seconds (user + system, with that of exited children: the postmaster's include the
# backends that have gone) used so far by each of the processes $@: "pid seconds" lines.
cpu_of() {
    local pid
    for pid in "$@"; do
        awk -v pid="$pid" '{ sub(/^.*\) /, ""); printf "%s %.2f\n", pid, ($12 + $13 + $14 + $15) / 100 }' \
            "/proc/$pid/stat" 2>/dev/null || true
    done
}

# CPU seconds the processes of snapshot $2 (cpu_of) used since snapshot $1.
cpu_since() {
    awk 'NR == FNR { before[$1] = $2; next } { total += $2 - before[$1] } END { printf "%.1f\n", total }' \
        "$1" "$2"
}

# cpu_of the postmaster and its backends, into file $1.
pg_cpu() {
    local procs
    read -r -a procs <<<"$postmaster $(pgrep -P "$postmaster" | tr '\n' ' ')"
    cpu_of "${procs[@]}" >"$1"
}
