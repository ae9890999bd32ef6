/* Deletes of observations and the existence check of DHIS2's import strategies
 * (observations_delete.h): one statement each, over the batch's rows as arrays. */
#include "scaleupd/storage/observations_delete.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/pgarray.h"

/* clang-format off */
/* The marks are the write path's (observations_write.c, MARKS_SQL): dirty_series in chunks of
 * 1,000 series, one rollup_dirty row of the (series, period) pairs, marked removed. Deleted in
 * key order, as the upsert writes, so that concurrent batches take shared keys in one order. */
static const char SQL_DELETE[] =
    "WITH input AS ("
    " SELECT * FROM unnest($2::int8[], $3::int8[], $4::int4[]) AS t(indicator_id, site_id, day)"
    "), keyed AS ("
    " SELECT DISTINCT s.id AS series_id, date '1970-01-01' + i.day AS period_start"
    " FROM input i JOIN series s ON s.programme_id = $1 AND s.indicator_id = i.indicator_id"
    "  AND s.site_id = i.site_id"
    "), locked AS ("
    " SELECT o.series_id, o.period_start FROM observation o JOIN keyed k"
    "  ON o.programme_id = $1 AND o.series_id = k.series_id AND o.period_start = k.period_start"
    " ORDER BY o.series_id, o.period_start FOR UPDATE OF o"
    "), gone AS ("
    " DELETE FROM observation o USING locked l WHERE o.programme_id = $1"
    "  AND o.series_id = l.series_id AND o.period_start = l.period_start RETURNING o.*"
    "), meta_gone AS ("
    " DELETE FROM dhis2_value_meta m USING locked l WHERE m.programme_id = $1"
    "  AND m.series_id = l.series_id AND m.period_start = l.period_start"
    "), revisions AS ("
    " INSERT INTO observation_revision (programme_id, series_id, period_start, value,"
    "  numerator, denominator, comment, token_id, received_at, replaced_at, replaced_by)"
    " SELECT $1, series_id, period_start, value, numerator, denominator, comment, token_id,"
    "  received_at, now(), $5 FROM gone"
    "), touched AS (SELECT series_id, period_start FROM gone"
    "), changed AS ("
    " SELECT series_id, min(period_start) AS since FROM touched GROUP BY series_id"
    "), marks AS ("
    " INSERT INTO dirty_series (programme_id, series_ids, since_periods)"
    " SELECT $1, array_agg(series_id ORDER BY series_id), array_agg(since ORDER BY series_id)"
    " FROM (SELECT series_id, since, (row_number() OVER (ORDER BY series_id) - 1) / 1000 AS chunk"
    "  FROM changed) c GROUP BY chunk"
    "), rollup_marks AS ("
    " INSERT INTO rollup_dirty (programme_id, series_ids, periods, removed)"
    " SELECT $1, array_agg(series_id ORDER BY series_id, period_start),"
    "  array_agg(period_start ORDER BY series_id, period_start), true FROM touched"
    "  HAVING count(*) > 0"
    ") SELECT count(*) FROM gone";

static const char SQL_EXIST[] =
    "SELECT t.n FROM unnest($2::int8[], $3::int8[], $4::int4[]) WITH ORDINALITY"
    "  AS t(indicator_id, site_id, day, n)"
    " JOIN series s ON s.programme_id = $1 AND s.indicator_id = t.indicator_id"
    "  AND s.site_id = t.site_id"
    " JOIN observation o ON o.programme_id = $1 AND o.series_id = s.id"
    "  AND o.period_start = date '1970-01-01' + t.day";
/* clang-format on */

struct key_arrays {
    struct pgarray indicator, site, day;
    size_t *row_of; /* the batch row of each element */
    size_t n;
};

/* The keys of the validated rows that which selects (every validated row when NULL). */
static bool key_arrays(const struct obs_batch *batch, const bool *which, struct key_arrays *k)
{
    pgarray_init(&k->indicator, PGARRAY_INT8);
    pgarray_init(&k->site, PGARRAY_INT8);
    pgarray_init(&k->day, PGARRAY_INT4);
    k->row_of = xcalloc(batch->n_rows + 1, sizeof(*k->row_of));
    k->n = 0;
    for (size_t i = 0; i < batch->n_rows; i++) {
        const struct obs_row *r = &batch->rows[i];
        if (r->rejected || (which != NULL && !which[i]))
            continue;
        pgarray_add_int8(&k->indicator, r->indicator_id);
        pgarray_add_int8(&k->site, r->site_id);
        pgarray_add_int4(&k->day, r->period_start);
        k->row_of[k->n++] = i;
    }
    pgarray_finish(&k->indicator);
    pgarray_finish(&k->site);
    pgarray_finish(&k->day);
    return pgarray_ok(&k->indicator) && pgarray_ok(&k->site) && pgarray_ok(&k->day);
}

static void key_arrays_free(struct key_arrays *k)
{
    pgarray_free(&k->indicator);
    pgarray_free(&k->site);
    pgarray_free(&k->day);
    free(k->row_of);
}

/* Runs sql with $1 the programme, $2..$4 the keys and, when n is 5, $5 the token (NULL: no
 * token). */
static PGresult *run_keys(PGconn *conn, const char *name, const char *sql, int n, const char *pid,
                          const struct key_arrays *k, const char *token)
{
    const char *values[] = {pid, k->indicator.data, k->site.data, k->day.data, token};
    int lengths[] = {0, (int)k->indicator.len, (int)k->site.len, (int)k->day.len, 0};
    int formats[] = {0, 1, 1, 1, 0};
    return db_exec_prepared(conn, name, sql, n, values, lengths, formats, 0);
}

bool observations_delete(PGconn *conn, int64_t programme_id, int64_t token_id,
                         const struct obs_batch *batch, const bool *which, long *deleted,
                         const char *request_id)
{
    char pid[24], tid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    *deleted = 0;
    struct key_arrays k;
    bool ok = key_arrays(batch, which, &k);
    if (ok && k.n > 0) {
        PGresult *res =
            run_keys(conn, "scaleupd_obs_delete", SQL_DELETE, 5, pid, &k, token_id ? tid : NULL);
        ok = db_ok(res, PGRES_TUPLES_OK, request_id, "delete observations");
        if (ok)
            *deleted = (long)db_int64(res, 0, 0);
        PQclear(res);
    } else if (!ok) {
        log_write(LOG_LEVEL_ERROR, request_id, "could not delete observations: over %u bytes",
                  PGARRAY_MAX_BYTES);
    }
    key_arrays_free(&k);
    return ok;
}

bool observations_exist(PGconn *conn, int64_t programme_id, const struct obs_batch *batch,
                        bool *exists, const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    memset(exists, 0, batch->n_rows * sizeof(*exists));
    struct key_arrays k;
    bool ok = key_arrays(batch, NULL, &k);
    if (ok && k.n > 0) {
        PGresult *res = run_keys(conn, "scaleupd_obs_exist", SQL_EXIST, 4, pid, &k, NULL);
        ok = db_ok(res, PGRES_TUPLES_OK, request_id, "look up stored observations");
        for (int r = 0; ok && r < PQntuples(res); r++) {
            int64_t n = db_int64(res, r, 0); /* 1-based ordinality */
            if (n >= 1 && (size_t)n <= k.n)
                exists[k.row_of[n - 1]] = true;
        }
        PQclear(res);
    }
    key_arrays_free(&k);
    return ok;
}
