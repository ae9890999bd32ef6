/* Progress snapshots over libpq (snapshot_store.h): the refresh lock, the state and dirty
 * marks a refresh starts from, the replacement of the recomputed months in one INSERT of
 * binary arrays, the record of each refresh, and the snapshots, regions and freshness the
 * progress API reads back. */
#include "scaleupd/storage/snapshot_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/pgarray.h"

/* ---- the lock and the transaction ---------------------------------------------------- */

bool snapshot_store_lock(PGconn *conn, int64_t programme_id, bool wait, bool *got,
                         const char *request_id)
{
    char cls[16], pid[24];
    snprintf(cls, sizeof(cls), "%d", SNAPSHOT_STORE_LOCK_CLASS);
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {cls, pid};
    PGresult *res = db_run(conn, NULL,
                           wait ? "SELECT pg_advisory_lock($1::int, $2::int), true"
                                : "SELECT true, pg_try_advisory_lock($1::int, $2::int)",
                           2, values, PGRES_TUPLES_OK, request_id, "lock a programme's snapshots");
    *got = res != NULL && db_bool(res, 0, 1);
    PQclear(res);
    return res != NULL;
}

void snapshot_store_unlock(PGconn *conn, int64_t programme_id, const char *request_id)
{
    char cls[16], pid[24];
    snprintf(cls, sizeof(cls), "%d", SNAPSHOT_STORE_LOCK_CLASS);
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {cls, pid};
    if (!db_command(conn, NULL, "SELECT pg_advisory_unlock($1::int, $2::int)", 2, values,
                    request_id, "unlock a programme's snapshots"))
        return; /* logged; a lost connection has released it */
}

bool snapshot_store_begin_refresh(PGconn *conn, const char *request_id)
{
    if (!db_begin(conn, request_id))
        return false;
    if (db_command(conn, NULL, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL,
                   request_id, "begin a progress refresh"))
        return true;
    db_rollback(conn, request_id);
    return false;
}

/* ---- state and marks ----------------------------------------------------------------- */

static const char SQL_STATE[] =
    "SELECT (to_timestamp($2::float8) AT TIME ZONE p.time_zone)::date - date '1970-01-01',"
    " (SELECT max(id) FROM progress_dirty d WHERE d.programme_id = p.id),"
    " (SELECT min(period_start) - date '1970-01-01' FROM progress_snapshot s"
    "  WHERE s.programme_id = p.id),"
    " (SELECT max(period_start) - date '1970-01-01' FROM progress_snapshot s"
    "  WHERE s.programme_id = p.id),"
    " r.programme_id IS NOT NULL, r.first_data - date '1970-01-01'"
    " FROM programme p LEFT JOIN progress_refresh r ON r.programme_id = p.id WHERE p.id = $1";

/* Reads an optional day into *day (0 when NULL); true when it was there. */
static bool day_opt(const PGresult *res, int row, int col, int32_t *day)
{
    int64_t v = 0;
    bool has = db_int64_opt(res, row, col, &v);
    *day = (int32_t)v;
    return has;
}

bool snapshot_store_read_state(PGconn *conn, int64_t programme_id, struct snapshot_store_state *out,
                               const char *request_id)
{
    char pid[24], now[40];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(now, sizeof(now), "%.6f", clock_now());
    const char *values[] = {pid, now};
    PGresult *res = db_run(conn, NULL, SQL_STATE, 2, values, PGRES_TUPLES_OK, request_id,
                           "read progress state");
    if (res == NULL || PQntuples(res) != 1) {
        PQclear(res);
        return false;
    }
    memset(out, 0, sizeof(*out));
    struct progress_plan_state *st = &out->plan;
    st->today = (int32_t)db_int64(res, 0, 0);
    out->dirty = db_int64_opt(res, 0, 1, &out->last_mark);
    st->has_snapshots = day_opt(res, 0, 2, &st->first_snapshot);
    if (!day_opt(res, 0, 3, &st->last_snapshot))
        st->has_snapshots = false;
    out->has_record = db_bool(res, 0, 4);
    st->has_first_data = day_opt(res, 0, 5, &st->first_data);
    PQclear(res);
    return true;
}

/* The distinct changes of the marks up to last_mark; data marks (not '-infinity', not
 * exact) also give the first period they touched. */
static const char SQL_MARKS[] =
    "SELECT CASE WHEN since_period = '-infinity' THEN NULL"
    " ELSE since_period - date '1970-01-01' END, until_period - date '1970-01-01', exact,"
    " score_since - date '1970-01-01'"
    " FROM progress_dirty WHERE programme_id = $1 AND id <= $2::bigint GROUP BY 1, 2, 3, 4";

static void read_change(const PGresult *res, int r, struct progress_change *c,
                        struct progress_plan_state *st)
{
    c->exact = db_bool(res, r, 2);
    c->has_until = day_opt(res, r, 1, &c->until);
    c->has_score_since = day_opt(res, r, 3, &c->score_since);
    if (!day_opt(res, r, 0, &c->since)) {
        c->since = INT32_MIN;
        return;
    }
    if (!c->exact && (!st->has_first_data || c->since < st->first_data)) {
        st->has_first_data = true;
        st->first_data = c->since;
    }
}

bool snapshot_store_read_marks(PGconn *conn, int64_t programme_id, int64_t last_mark,
                               struct snapshot_store_state *state, struct progress_change **out,
                               size_t *n, const char *request_id)
{
    char pid[24], mark[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(mark, sizeof(mark), "%lld", (long long)last_mark);
    const char *values[] = {pid, mark};
    PGresult *res = db_run(conn, NULL, SQL_MARKS, 2, values, PGRES_TUPLES_OK, request_id,
                           "read progress marks");
    *out = NULL;
    *n = 0;
    if (res == NULL)
        return false;
    size_t rows = (size_t)PQntuples(res);
    *out = xcalloc(rows ? rows : 1, sizeof(**out));
    for (size_t r = 0; r < rows; r++)
        read_change(res, (int)r, &(*out)[r], &state->plan);
    *n = rows;
    PQclear(res);
    return true;
}

/* The first observed period: the first of each series, through the observations' primary
 * key (one probe per series, never a scan of every observation). */
static const char SQL_FIRST_DATA[] =
    "SELECT min(f.period_start) - date '1970-01-01' FROM series se"
    " CROSS JOIN LATERAL (SELECT o.period_start FROM observation o"
    "  WHERE o.programme_id = se.programme_id AND o.series_id = se.id"
    "  ORDER BY o.period_start LIMIT 1) f WHERE se.programme_id = $1";

bool snapshot_store_first_data(PGconn *conn, int64_t programme_id, struct progress_plan_state *st,
                               const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {pid};
    PGresult *res = db_run(conn, NULL, SQL_FIRST_DATA, 1, values, PGRES_TUPLES_OK, request_id,
                           "read the first observed period");
    if (res == NULL)
        return false;
    st->has_first_data = day_opt(res, 0, 0, &st->first_data);
    PQclear(res);
    return true;
}

bool snapshot_store_clear_marks(PGconn *conn, int64_t programme_id, int64_t last_mark,
                                const char *request_id)
{
    char pid[24], mark[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(mark, sizeof(mark), "%lld", (long long)last_mark);
    const char *values[] = {pid, mark};
    return db_command(conn, NULL,
                      "DELETE FROM progress_dirty WHERE programme_id = $1 AND id <= $2::bigint", 2,
                      values, request_id, "clear a progress mark");
}

bool snapshot_store_mark_months(PGconn *conn, int64_t programme_id, int32_t from, int32_t to,
                                const char *request_id)
{
    char pid[24], a[16], b[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(a, sizeof(a), "%d", (int)from);
    snprintf(b, sizeof(b), "%d", (int)to);
    const char *values[] = {pid, a, b};
    return db_command(
        conn, NULL,
        "INSERT INTO progress_dirty (programme_id, since_period, until_period, exact)"
        " VALUES ($1, date '1970-01-01' + $2::int, date '1970-01-01' + $3::int, true)",
        3, values, request_id, "mark progress months left to compute");
}

bool snapshot_store_record(PGconn *conn, int64_t programme_id, int months_computed,
                           const struct progress_plan_state *st, const char *request_id)
{
    char pid[24], months[16], first[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(months, sizeof(months), "%d", months_computed);
    snprintf(first, sizeof(first), "%d", (int)st->first_data);
    const char *values[] = {pid, months, st->has_first_data ? first : NULL};
    return db_command(
        conn, NULL,
        "INSERT INTO progress_refresh (programme_id, data_as_of, refreshed_at, months_computed,"
        " first_data) VALUES ($1, now(), clock_timestamp(), $2, date '1970-01-01' + $3::int)"
        " ON CONFLICT (programme_id) DO UPDATE SET data_as_of = excluded.data_as_of,"
        " refreshed_at = excluded.refreshed_at, months_computed = excluded.months_computed,"
        " first_data = excluded.first_data",
        3, values, request_id, "record a progress refresh");
}

/* How fresh the snapshots are at $2 (seconds since the epoch): the refresh's data time (for
 * snapshots computed before sql/014, the start of the refresh that computed them), and
 * since when a refresh is due (the oldest mark, or the end of the month after the newest
 * snapshot once it has passed). */
static const char SQL_FRESHNESS[] =
    "WITH f AS (SELECT"
    " coalesce((SELECT data_as_of FROM progress_refresh r WHERE r.programme_id = p.id),"
    "  (SELECT max(computed_at) FROM progress_snapshot s WHERE s.programme_id = p.id)) AS as_of,"
    " (SELECT min(marked_at) FROM progress_dirty d WHERE d.programme_id = p.id) AS marked,"
    " (SELECT (max(period_start) + interval '2 months')::timestamp AT TIME ZONE p.time_zone"
    "  FROM progress_snapshot s WHERE s.programme_id = p.id) AS month_done"
    " FROM programme p WHERE p.id = $1),"
    " g AS (SELECT as_of, least(marked, CASE WHEN month_done <= to_timestamp($2::float8)"
    "  THEN month_done END) AS pending FROM f)"
    " SELECT to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " to_char(pending AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM g";

bool snapshot_store_freshness(PGconn *conn, int64_t programme_id, struct snapshot_freshness *out,
                              const char *request_id)
{
    char pid[24], now[40];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(now, sizeof(now), "%.6f", clock_now());
    const char *values[] = {pid, now};
    PGresult *res = db_run(conn, NULL, SQL_FRESHNESS, 2, values, PGRES_TUPLES_OK, request_id,
                           "read how fresh progress snapshots are");
    memset(out, 0, sizeof(*out));
    bool ok = res != NULL && PQntuples(res) == 1;
    if (ok && !db_is_null(res, 0, 0))
        snprintf(out->as_of, sizeof(out->as_of), "%s", db_text(res, 0, 0));
    if (ok && !db_is_null(res, 0, 1))
        snprintf(out->pending_since, sizeof(out->pending_since), "%s", db_text(res, 0, 1));
    PQclear(res);
    return ok;
}

bool snapshot_store_today(PGconn *conn, int64_t programme_id, int32_t *today)
{
    char pid[24], now[40];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(now, sizeof(now), "%.6f", clock_now());
    const char *values[] = {pid, now};
    PGresult *res = db_run(conn, NULL,
                           "SELECT (to_timestamp($2::float8) AT TIME ZONE time_zone)::date"
                           " - date '1970-01-01' FROM programme WHERE id = $1",
                           2, values, PGRES_TUPLES_OK, NULL, "read a programme's date");
    bool ok = res != NULL && PQntuples(res) == 1;
    if (ok)
        *today = (int32_t)db_int64(res, 0, 0);
    PQclear(res);
    return ok;
}

/* ---- replacing months ---------------------------------------------------------------- */

/* The snapshot rows of one refresh, as the array columns of one INSERT. */
struct columns {
    struct pgarray period, dimension, region, version, actual, planned, progress, gap, status,
        detail;
};

#define COLUMNS_EACH(c)                                                                            \
    struct pgarray *all[] = {&(c)->period, &(c)->dimension, &(c)->region,   &(c)->version,         \
                             &(c)->actual, &(c)->planned,   &(c)->progress, &(c)->gap,             \
                             &(c)->status, &(c)->detail}

static void columns_init(struct columns *c)
{
    pgarray_init(&c->period, PGARRAY_INT4);
    pgarray_init(&c->dimension, PGARRAY_TEXT);
    pgarray_init(&c->region, PGARRAY_INT8);
    pgarray_init(&c->version, PGARRAY_INT4);
    pgarray_init(&c->actual, PGARRAY_FLOAT8);
    pgarray_init(&c->planned, PGARRAY_FLOAT8);
    pgarray_init(&c->progress, PGARRAY_FLOAT8);
    pgarray_init(&c->gap, PGARRAY_FLOAT8);
    pgarray_init(&c->status, PGARRAY_TEXT);
    pgarray_init(&c->detail, PGARRAY_TEXT);
}

static void add_nullable(struct pgarray *a, bool has, double v)
{
    if (has && isfinite(v))
        pgarray_add_float8(a, v);
    else
        pgarray_add_null(a);
}

static void add_text(struct pgarray *a, const char *text)
{
    pgarray_add_text(a, text, strlen(text));
}

static void columns_add(struct columns *c, int32_t period_start,
                        const struct progress_month_row *row)
{
    const struct progress_measure *m = &row->measure;
    pgarray_add_int4(&c->period, period_start);
    add_text(&c->dimension, roadmap_dimension_name(row->dimension));
    pgarray_add_int8(&c->region, row->region_id);
    pgarray_add_int4(&c->version, row->roadmap_version);
    add_nullable(&c->actual, m->has_actual, m->actual);
    pgarray_add_float8(&c->planned, isfinite(m->planned) ? m->planned : 0.0);
    add_nullable(&c->progress, m->has_actual, m->progress);
    add_nullable(&c->gap, m->has_actual, m->gap);
    add_text(&c->status, progress_status_name(row->status));
    json_t *detail = progress_month_row_detail(row);
    char *text = json_dumps(detail, JSON_COMPACT);
    add_text(&c->detail, text ? text : "{}");
    free(text);
    json_decref(detail);
}

static const char SQL_DELETE[] = "DELETE FROM progress_snapshot WHERE programme_id = $1"
                                 " AND period_start >= date '1970-01-01' + $2::int"
                                 " AND period_start <= date '1970-01-01' + $3::int";

static const char SQL_INSERT[] =
    "INSERT INTO progress_snapshot (programme_id, period_start, dimension, region_id,"
    " roadmap_version, actual, planned, progress, gap, status, detail)"
    " SELECT $1, date '1970-01-01' + p, d, r, v, a, pl, pr, g, s, de::jsonb"
    " FROM unnest($2::int4[], $3::text[], $4::int8[], $5::int4[], $6::float8[], $7::float8[],"
    "  $8::float8[], $9::float8[], $10::text[], $11::text[]) AS t(p, d, r, v, a, pl, pr, g, s, de)";

static bool insert_columns(PGconn *conn, const char *pid, struct columns *c, const char *request_id)
{
    COLUMNS_EACH(c);
    const char *values[11] = {pid};
    int lengths[11] = {0}, formats[11] = {0};
    for (int i = 0; i < 10; i++) {
        pgarray_finish(all[i]);
        values[i + 1] = all[i]->data;
        lengths[i + 1] = (int)all[i]->len;
        formats[i + 1] = 1;
    }
    /* binary array parameters: db_exec_prepared, which db_run does not offer */
    PGresult *res = db_exec_prepared(conn, "snapshot_store_insert", SQL_INSERT, 11, values, lengths,
                                     formats, 0);
    bool ok = db_ok(res, PGRES_COMMAND_OK, request_id, "store progress snapshots");
    PQclear(res);
    return ok;
}

bool snapshot_store_replace(PGconn *conn, int64_t programme_id, const struct progress_month *months,
                            size_t n, const char *request_id)
{
    if (n == 0)
        return true;
    char pid[24], from[16], to[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(from, sizeof(from), "%d", (int)months[0].period_start);
    snprintf(to, sizeof(to), "%d", (int)months[n - 1].period_start);
    const char *values[] = {pid, from, to};
    if (!db_command(conn, NULL, SQL_DELETE, 3, values, request_id, "replace progress snapshots"))
        return false;
    struct columns c;
    columns_init(&c);
    size_t rows = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < months[i].n_rows; r++, rows++)
            columns_add(&c, months[i].period_start, &months[i].rows[r]);
    bool ok = rows == 0 || insert_columns(conn, pid, &c, request_id);
    COLUMNS_EACH(&c);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pgarray_free(all[i]);
    return ok;
}

bool snapshot_store_trim(PGconn *conn, int64_t programme_id, int32_t first, int32_t last,
                         const char *request_id)
{
    char pid[24], a[16], b[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(a, sizeof(a), "%d", (int)first);
    snprintf(b, sizeof(b), "%d", (int)last);
    const char *values[] = {pid, a, b};
    return db_command(conn, NULL,
                      "DELETE FROM progress_snapshot WHERE programme_id = $1"
                      " AND (period_start < date '1970-01-01' + $2::int"
                      " OR period_start > date '1970-01-01' + $3::int)",
                      3, values, request_id, "trim progress snapshots");
}

/* ---- reading back -------------------------------------------------------------------- */

static const char SQL_SNAPSHOTS[] =
    "SELECT period_start - date '1970-01-01', dimension, region_id, roadmap_version, actual,"
    " planned, progress, gap, status, detail::text FROM progress_snapshot"
    " WHERE programme_id = $1 AND period_start <= date '1970-01-01' + $2::int"
    " AND (region_id = 0 OR $3::bool) ORDER BY dimension, region_id, period_start";

static const char SQL_REGIONS[] =
    "SELECT id, code, name FROM site WHERE programme_id = $1 AND level = 'region' ORDER BY code";

static void read_row(const PGresult *res, int r, struct snapshot_row *s)
{
    s->period_start = (int32_t)db_int64(res, r, 0);
    snprintf(s->dimension, sizeof(s->dimension), "%s", db_text(res, r, 1));
    s->region_id = db_int64(res, r, 2);
    s->version = (int)db_int64(res, r, 3);
    s->has_actual = db_double_opt(res, r, 4, &s->actual);
    s->planned = db_double(res, r, 5);
    if (!db_double_opt(res, r, 6, &s->progress))
        s->progress = 0.0;
    if (!db_double_opt(res, r, 7, &s->gap))
        s->gap = 0.0;
    snprintf(s->status, sizeof(s->status), "%s", db_text(res, r, 8));
    s->detail = json_loads(db_text(res, r, 9), 0, NULL);
    if (s->detail == NULL)
        s->detail = json_object();
}

static bool load_regions(PGconn *conn, const char *pid, struct snapshot_set *out)
{
    const char *values[] = {pid};
    PGresult *res =
        db_run(conn, NULL, SQL_REGIONS, 1, values, PGRES_TUPLES_OK, NULL, "read regions");
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    out->regions = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*out->regions));
    for (int r = 0; r < n; r++) {
        struct snapshot_region *region = &out->regions[out->n_regions++];
        region->id = db_int64(res, r, 0);
        region->code = xstrdup(db_text(res, r, 1));
        region->name = xstrdup(db_text(res, r, 2));
    }
    PQclear(res);
    return true;
}

bool snapshot_store_load(PGconn *conn, int64_t programme_id, int32_t until, bool with_regions,
                         struct snapshot_set *out)
{
    char pid[24], to[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(to, sizeof(to), "%d", (int)until);
    memset(out, 0, sizeof(*out));
    const char *values[] = {pid, to, with_regions ? "true" : "false"};
    PGresult *res = db_run(conn, NULL, SQL_SNAPSHOTS, 3, values, PGRES_TUPLES_OK, NULL,
                           "read progress snapshots");
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    out->rows = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*out->rows));
    for (int r = 0; r < n; r++)
        read_row(res, r, &out->rows[out->n++]);
    PQclear(res);
    return !with_regions || load_regions(conn, pid, out);
}

void snapshot_set_release(struct snapshot_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        json_decref(set->rows[i].detail);
    free(set->rows);
    for (size_t i = 0; i < set->n_regions; i++) {
        free(set->regions[i].code);
        free(set->regions[i].name);
    }
    free(set->regions);
    memset(set, 0, sizeof(*set));
}
