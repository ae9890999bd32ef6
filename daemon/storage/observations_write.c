/* The write path of observations: the catalog a batch is validated against, then the batch
 * stored as arrays (new rows of known series by binary COPY, the others by one lookup-and-upsert
 * statement, the upsert of the whole batch as the fallback), its revisions and dirty marks, and
 * the series hint learnt on the way (series_cache.h). Reads are observations_read.c. */
#include "scaleupd/storage/observations.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/period.h"
#include "scaleupd/storage/pgarray.h"
#include "scaleupd/storage/series_cache.h"

/* The batch's catalog: the programme's indicators (a handful), the sites of the batch's
 * codes only (a feed of one practice must not read a programme of thousands), when $4 (an
 * admin's write) those codes that belong to other programmes only, and the programme's
 * today. Each code is looked up by its key (LATERAL … LIMIT 1): a small write's generic plan
 * (db_begin_keyed) hashed the codes and read every site of the programme. */
static const char SQL_CATALOG[] =
    "SELECT 'i', i.id, i.code, i.value_type, i.period_type, true FROM indicator i "
    "WHERE i.programme_id = $1 "
    "UNION ALL SELECT 's', s.id, s.code, NULL, NULL, true FROM (SELECT DISTINCT unnest($2::text[]))"
    " c(code) CROSS JOIN LATERAL (SELECT s.id, s.code FROM site s WHERE s.programme_id = $1"
    " AND s.code = c.code LIMIT 1) s "
    "UNION ALL SELECT DISTINCT ON (o.code) 's', 0, o.code, NULL, NULL, false FROM site o "
    "WHERE $4::boolean AND o.programme_id <> $1 AND o.code = ANY($2::text[]) AND NOT EXISTS "
    "(SELECT 1 FROM site m WHERE m.programme_id = $1 AND m.code = o.code) "
    "UNION ALL SELECT 't', (to_timestamp($3::float8) AT TIME ZONE p.time_zone)::date"
    " - date '1970-01-01', NULL, NULL, NULL, NULL FROM programme p WHERE p.id = $1";

/* The statements of the ingest path are prepared once per session (ingest_statement, around
 * db_exec_prepared): parsing and planning the upsert on every batch cost about a fifth of the
 * database's CPU under load. A new session (a reconnect: the database may have been restarted or
 * restored under us) also starts the series hint over rather than trust ids learnt from the old
 * one. */
static __thread unsigned long hint_session;

static PGresult *ingest_statement(PGconn *conn, const char *name, const char *sql, int n,
                                  const char *const *values, const int *lengths, const int *formats)
{
    unsigned long session = db_session(conn);
    if (hint_session != 0 && hint_session != session)
        series_cache_clear();
    hint_session = session;
    return db_exec_prepared(conn, name, sql, n, values, lengths, formats, 0);
}

/* A text[] of the site codes of the batch's rows; a run of rows of one site (the usual
 * order of a feed) sends its code once, other repeats do no harm. */
static void batch_site_codes(const struct obs_batch *batch, struct pgarray *codes)
{
    pgarray_init(codes, PGARRAY_TEXT);
    const char *last = "";
    for (size_t i = 0; batch != NULL && i < batch->n_rows; i++) {
        const char *site = batch->rows[i].site;
        if (site[0] != '\0' && strcmp(site, last) != 0)
            pgarray_add_text(codes, site, strlen(site));
        last = site;
    }
    pgarray_finish(codes);
}

static bool add_catalog_row(struct catalog *cat, const PGresult *res, int r)
{
    const char *kind = PQgetvalue(res, r, 0);
    const char *code = PQgetvalue(res, r, 2);
    int64_t id = db_int64(res, r, 1);
    if (kind[0] == 's')
        return catalog_add_site(cat, code, id, strcmp(PQgetvalue(res, r, 5), "t") == 0);
    enum value_type vt;
    enum period_type pt;
    if (!value_type_from_name(PQgetvalue(res, r, 3), &vt) ||
        !period_type_from_name(PQgetvalue(res, r, 4), &pt))
        return false;
    return catalog_add_indicator(cat, code, id, vt, pt);
}

bool observations_load_catalog(PGconn *conn, int64_t programme_id, const struct obs_batch *batch,
                               bool name_other_programmes, struct catalog **out, int32_t *today)
{
    char idtext[24], now[32];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)programme_id);
    snprintf(now, sizeof(now), "%.3f", clock_now()); /* the one clock: tests may move it */
    struct pgarray codes;
    batch_site_codes(batch, &codes);
    if (!pgarray_ok(&codes)) {
        log_write(LOG_LEVEL_ERROR, NULL,
                  "could not load the catalog: the batch's site codes exceed %u bytes",
                  PGARRAY_MAX_BYTES);
        pgarray_free(&codes);
        return false;
    }
    const char *values[] = {idtext, codes.data, now, name_other_programmes ? "true" : "false"};
    int lengths[] = {0, (int)codes.len, 0, 0};
    int formats[] = {0, 1, 0, 0};
    PGresult *res =
        ingest_statement(conn, "scaleupd_obs_catalog", SQL_CATALOG, 4, values, lengths, formats);
    pgarray_free(&codes);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "load the catalog")) {
        PQclear(res);
        return false;
    }
    struct catalog *cat = catalog_new();
    bool ok = cat != NULL;
    for (int r = 0; ok && r < PQntuples(res); r++) {
        if (PQgetvalue(res, r, 0)[0] == 't')
            *today = (int32_t)db_int64(res, r, 1);
        else
            ok = add_catalog_row(cat, res, r);
    }
    PQclear(res);
    if (!ok) {
        catalog_free(&cat);
        return false;
    }
    *out = cat;
    return true;
}

/* Creates the series of the batch that do not exist yet: the NOT EXISTS spares existing
 * series a speculative insertion (and a sequence value) each; the order keeps concurrent
 * batches from deadlocking on the same new series. Only of an indicator and a site that exist:
 * series has no foreign keys to them, whose row locks concurrent batches shared through
 * multixacts (sql/037 says what replaces them). */
static const char SQL_ENSURE_SERIES[] =
    "INSERT INTO series (programme_id, indicator_id, site_id)"
    " SELECT $1::bigint, i, s FROM (SELECT DISTINCT i, s FROM unnest($2::int8[], $3::int8[])"
    "  AS t(i, s)) t"
    " WHERE NOT EXISTS (SELECT 1 FROM series x WHERE x.programme_id = $1 AND x.indicator_id = i"
    "  AND x.site_id = s)"
    " AND EXISTS (SELECT 1 FROM indicator x WHERE x.programme_id = $1 AND x.id = i)"
    " AND EXISTS (SELECT 1 FROM site x WHERE x.programme_id = $1 AND x.id = s)"
    " ORDER BY i, s ON CONFLICT DO NOTHING";

/* The dirty marks of the series in `changed` (series_id, since, until: the earliest and latest
 * period written, sql/031): one new row in dirty_series per 1,000 series of the batch, listing
 * them (sql/008), append-only, so that ingest never waits on an evaluation that has claimed a
 * mark; the evaluator evaluates each series once however many marks name it. And one row in
 * rollup_dirty listing the (series, period) pairs of `touched`, for the rollup service
 * (services/rollups.c): each holds a value now (removed false). */
#define MARKS_SQL                                                                                  \
    ", marks AS ("                                                                                 \
    " INSERT INTO dirty_series (programme_id, series_ids, since_periods, until_periods)"           \
    " SELECT $1, array_agg(series_id ORDER BY series_id), array_agg(since ORDER BY series_id),"    \
    "  array_agg(until ORDER BY series_id)"                                                        \
    " FROM (SELECT series_id, since, until,"                                                       \
    "  (row_number() OVER (ORDER BY series_id) - 1) / 1000 AS chunk FROM changed) c"               \
    " GROUP BY chunk"                                                                              \
    "), rollup_marks AS ("                                                                         \
    " INSERT INTO rollup_dirty (programme_id, series_ids, periods, removed)"                       \
    " SELECT $1, array_agg(series_id ORDER BY series_id, period_start),"                           \
    "  array_agg(period_start ORDER BY series_id, period_start), false FROM touched"               \
    "  HAVING count(*) > 0"                                                                        \
    ")"

/* The upsert of the rows of `keyed` that `rows` selects (a WHERE clause, or ""), in key order:
 * a changed value replaces the stored one, an unchanged one is left alone; it returns each row
 * written and whether it was new. Shared by SQL_UPSERT and SQL_STORE. */
#define UPSERT_SQL(rows)                                                                           \
    ", upsert AS ("                                                                                \
    " INSERT INTO observation AS o (programme_id, series_id, period_start, value, numerator,"      \
    "  denominator, comment, token_id, received_at)"                                               \
    " SELECT $1, series_id, period_start, value, numerator, denominator, comment, $9, now()"       \
    " FROM keyed" rows " ORDER BY series_id, period_start"                                         \
    " ON CONFLICT (programme_id, series_id, period_start) DO UPDATE SET value = excluded.value,"   \
    "  numerator = excluded.numerator, denominator = excluded.denominator,"                        \
    "  comment = excluded.comment, token_id = excluded.token_id,"                                  \
    "  received_at = excluded.received_at"                                                         \
    " WHERE (o.value, o.numerator, o.denominator, o.comment) IS DISTINCT FROM"                     \
    "  (excluded.value, excluded.numerator, excluded.denominator, excluded.comment)"               \
    " RETURNING series_id, period_start, (xmax = 0) AS inserted"

/* The revisions the batch makes: the replaced values (`old_columns`: value, numerator,
 * denominator, comment, token and received_at of the stored row) of the rows of `source`,
 * replaced now by token $9. The one place a revision is written (sql/ has the table). */
#define REVISIONS_SQL(old_columns, source)                                                         \
    "), revisions AS ("                                                                            \
    " INSERT INTO observation_revision (programme_id, series_id, period_start, value,"             \
    "  numerator, denominator, comment, token_id, received_at, replaced_at, replaced_by)"          \
    " SELECT $1, series_id, period_start, " old_columns ", now(), $9 FROM " source

/* The fallback for a batch: one statement that upserts every row. `old` holds the stored rows that
 * this batch changes (the same test as the upsert's WHERE, on the statement's snapshot), found
 * through the primary key from the batch side: revisions come from it without joining the upsert's
 * RETURNING rows, a join the planner can only estimate at one row and so made quadratic. Rows are
 * written in key order, so concurrent batches lock shared keys and series in the same order and
 * cannot deadlock. */
/* clang-format off */ /* it would fold the macros of shared CTEs into the literals */
static const char SQL_UPSERT[] =
    "WITH input AS ("
    " SELECT * FROM unnest($2::int8[], $3::int8[], $4::int4[], $5::float8[], $6::float8[],"
    "  $7::float8[], $8::text[]) AS t(indicator_id, site_id, day, value, numerator,"
    "  denominator, comment)"
    "), keyed AS ("
    " SELECT s.id AS series_id, date '1970-01-01' + i.day AS period_start, i.value,"
    "  i.numerator, i.denominator, i.comment"
    " FROM input i JOIN series s ON s.programme_id = $1 AND s.indicator_id = i.indicator_id"
    "  AND s.site_id = i.site_id"
    "), old AS ("
    " SELECT o.* FROM keyed k JOIN observation o ON o.programme_id = $1"
    "  AND o.series_id = k.series_id AND o.period_start = k.period_start"
    " WHERE (o.value, o.numerator, o.denominator, o.comment) IS DISTINCT FROM"
    "  (k.value, k.numerator, k.denominator, k.comment)"
    ")" UPSERT_SQL("")
    REVISIONS_SQL("value, numerator, denominator, comment, token_id, received_at", "old")
    "), touched AS (SELECT series_id, period_start FROM upsert"
    "), changed AS ("
    " SELECT series_id, min(period_start) AS since, max(period_start) AS until FROM touched"
    "  GROUP BY series_id"
    ")" MARKS_SQL
    " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upsert";
/* clang-format on */

/* Rows the series hint (series_cache.h) calls new, those after the latest period known to be
 * stored in a known series, go in by binary COPY straight into the table (SQL_COPY): no lookup,
 * no SQL per row, the store's own limit. The marks of their series follow (SQL_MARK_COPIED).
 *
 * The other rows of the fast path take one statement, SQL_STORE. They are looked up by index
 * (LATERAL … LIMIT 1 keeps the plan to index probes however stale the statistics): their
 * series unless the hint knows it, and their stored value; rows whose key is new are
 * inserted, which costs about half of a speculative ON CONFLICT insertion; only rows whose
 * stored value differs are upserted, with their old values kept as revisions; unchanged rows
 * cost the lookup only. Rows whose series does not exist yet are left out and counted (the
 * caller creates the series and runs it again).
 *
 * A concurrent batch that inserts one of our new keys first, or a hint that was wrong, makes
 * the COPY or the plain INSERT fail with unique_violation: the caller then rolls back to a
 * savepoint and runs SQL_UPSERT. Each phase writes in key order, but new keys go in before
 * existing ones are updated, so a batch mixing both can deadlock with a concurrent SQL_UPSERT
 * of the same keys (which takes them all in one key order): PostgreSQL then aborts one of
 * them (40P01), and if it is this batch the caller upserts after the savepoint too.
 *
 * SQL_STORE's first result row has the counts; each row also names one series the hint did
 * not know (NULLs when there is none) with the latest period stored in it before this
 * statement, for the caller to teach the hint. */
static const char SQL_COPY[] =
    "COPY observation (programme_id, series_id, period_start, value, numerator, denominator,"
    " comment, token_id) FROM STDIN (FORMAT binary)";
#define COPY_FIELDS 8
#define COPY_MIN_ROWS 64 /* fewer fresh rows go through SQL_STORE: COPY costs round trips */
static atomic_size_t copy_min_rows = COPY_MIN_ROWS;

void observations_set_copy_min_rows(size_t rows)
{
    atomic_store(&copy_min_rows, rows);
}

/* One mark of up to MARK_SERIES series (sql/008), built here: the rows are sorted already,
 * each series with its earliest and latest period (sql/031); and the rollup mark of the same
 * rows, each (series, period) pair. */
static const char SQL_MARK_COPIED[] =
    "WITH rollup_marks AS (INSERT INTO rollup_dirty (programme_id, series_ids, periods, removed)"
    " VALUES ($1, $4::int8[], $5::date[], false))"
    " INSERT INTO dirty_series (programme_id, series_ids, since_periods, until_periods)"
    " VALUES ($1, $2::int8[], $3::date[], $6::date[])";
#define MARK_SERIES 1000

/* clang-format off */ /* it would fold the macros of shared CTEs into the literals */
static const char SQL_STORE[] =
    "WITH input AS ("
    " SELECT * FROM unnest($2::int8[], $3::int8[], $4::int4[], $5::float8[], $6::float8[],"
    "  $7::float8[], $8::text[], $10::int8[]) AS t(indicator_id, site_id, day, value,"
    "  numerator, denominator, comment, known_series)"
    "), looked AS ("
    " SELECT coalesce(i.known_series, s.id) AS series_id, i.known_series IS NULL AS learnt,"
    "  i.indicator_id, i.site_id, date '1970-01-01' + i.day AS period_start, i.value,"
    "  i.numerator, i.denominator, i.comment, coalesce(i.known_series, s.id) IS NULL AS missing,"
    "  o.series_id IS NULL AS new, o.value AS old_value, o.numerator AS old_numerator,"
    "  o.denominator AS old_denominator, o.comment AS old_comment, o.token_id AS old_token_id,"
    "  o.received_at AS old_received_at"
    " FROM input i"
    " LEFT JOIN LATERAL (SELECT s.id FROM series s WHERE i.known_series IS NULL"
    "  AND s.programme_id = $1 AND s.indicator_id = i.indicator_id AND s.site_id = i.site_id"
    "  LIMIT 1) s ON true"
    " LEFT JOIN LATERAL (SELECT * FROM observation o WHERE o.programme_id = $1"
    "  AND o.series_id = coalesce(i.known_series, s.id)"
    "  AND o.period_start = date '1970-01-01' + i.day LIMIT 1) o ON true"
    "), keyed AS ("
    " SELECT * FROM looked WHERE new OR (old_value, old_numerator, old_denominator, old_comment)"
    "  IS DISTINCT FROM (value, numerator, denominator, comment)"
    "), inserted AS ("
    " INSERT INTO observation (programme_id, series_id, period_start, value, numerator,"
    "  denominator, comment, token_id, received_at)"
    " SELECT $1, series_id, period_start, value, numerator, denominator, comment, $9, now()"
    " FROM keyed WHERE new AND NOT missing ORDER BY series_id, period_start"
    " RETURNING series_id, period_start"
    ")" UPSERT_SQL(" WHERE NOT new")
    REVISIONS_SQL("old_value, old_numerator, old_denominator, old_comment, old_token_id,"
                  " old_received_at", "keyed WHERE NOT new")
    "), touched AS ("
    " SELECT series_id, period_start FROM inserted UNION ALL SELECT series_id, period_start"
    "  FROM upsert"
    "), changed AS ("
    " SELECT series_id, min(period_start) AS since, max(period_start) AS until FROM touched"
    "  GROUP BY series_id"
    ")" MARKS_SQL
    ", counts AS (SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM upsert WHERE"
    "  inserted) AS imported, (SELECT count(*) FROM upsert WHERE NOT inserted) AS updated,"
    "  (SELECT count(*) FROM looked WHERE missing) AS missing"
    "), learnt AS ("
    " SELECT l.series_id, l.indicator_id, l.site_id, (SELECT o.period_start - date '1970-01-01'"
    "  FROM observation o WHERE o.programme_id = $1 AND o.series_id = l.series_id"
    "  ORDER BY o.period_start DESC LIMIT 1) AS last_day"
    " FROM (SELECT DISTINCT series_id, indicator_id, site_id FROM looked"
    "  WHERE learnt AND NOT missing) l"
    ") SELECT c.imported, c.updated, c.missing, l.series_id, l.indicator_id, l.site_id,"
    " l.last_day FROM counts c LEFT JOIN learnt l ON true";
/* clang-format on */

static atomic_bool fast_path_off;
static atomic_ulong fast_path_fallbacks;

void observations_set_fast_path(bool enabled)
{
    atomic_store(&fast_path_off, !enabled);
}

unsigned long observations_fast_path_fallbacks(void)
{
    return atomic_load(&fast_path_fallbacks);
}

struct batch_arrays {
    struct pgarray indicator, site, day, value, numerator, denominator, comment;
    struct pgarray known; /* the series hint: the row's series id, or NULL */
};

static struct series_key row_key(int64_t programme_id, const struct obs_row *r)
{
    return (struct series_key){programme_id, r->indicator_id, r->site_id};
}

/* What the series hint says of each row of a batch: its series (0: not known) and whether the
 * row is after the latest period stored in it (then it goes in by COPY). */
struct hints {
    int64_t *series;
    bool *fresh;
    size_t n_fresh;
};

static void hints_lookup(const struct obs_batch *batch, int64_t programme_id, struct hints *h)
{
    h->series = xcalloc(batch->n_rows + 1, sizeof(*h->series));
    h->fresh = xcalloc(batch->n_rows + 1, sizeof(*h->fresh));
    h->n_fresh = 0;
    for (size_t i = 0; i < batch->n_rows; i++) {
        const struct obs_row *r = &batch->rows[i];
        if (r->rejected)
            continue;
        struct series_key key = row_key(programme_id, r);
        int32_t last_day;
        if (series_cache_get(&key, &h->series[i], &last_day) && r->period_start > last_day)
            h->fresh[i] = true, h->n_fresh++;
    }
}

static void hints_free(struct hints *h)
{
    free(h->series);
    free(h->fresh);
    memset(h, 0, sizeof(*h));
}

/* The arrays of the batch's accepted rows, those h calls fresh left out (h NULL: all of them,
 * none with a known series). */
static void build_arrays(const struct obs_batch *batch, const struct hints *h,
                         struct batch_arrays *a)
{
    pgarray_init(&a->indicator, PGARRAY_INT8);
    pgarray_init(&a->site, PGARRAY_INT8);
    pgarray_init(&a->day, PGARRAY_INT4);
    pgarray_init(&a->value, PGARRAY_FLOAT8);
    pgarray_init(&a->numerator, PGARRAY_FLOAT8);
    pgarray_init(&a->denominator, PGARRAY_FLOAT8);
    pgarray_init(&a->comment, PGARRAY_TEXT);
    pgarray_init(&a->known, PGARRAY_INT8);
    for (size_t i = 0; i < batch->n_rows; i++) {
        const struct obs_row *r = &batch->rows[i];
        if (r->rejected || (h != NULL && h->fresh[i]))
            continue;
        pgarray_add_int8(&a->indicator, r->indicator_id);
        pgarray_add_int8(&a->site, r->site_id);
        pgarray_add_int4(&a->day, r->period_start);
        pgarray_add_float8(&a->value, r->value);
        if (r->has_numerator)
            pgarray_add_float8(&a->numerator, r->numerator);
        else
            pgarray_add_null(&a->numerator);
        if (r->has_denominator)
            pgarray_add_float8(&a->denominator, r->denominator);
        else
            pgarray_add_null(&a->denominator);
        if (r->comment)
            pgarray_add_text(&a->comment, r->comment, strlen(r->comment));
        else
            pgarray_add_null(&a->comment);
        if (h != NULL && h->series[i] != 0)
            pgarray_add_int8(&a->known, h->series[i]);
        else
            pgarray_add_null(&a->known);
    }
    struct pgarray *all[] = {&a->indicator, &a->site,        &a->day,     &a->value,
                             &a->numerator, &a->denominator, &a->comment, &a->known};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pgarray_finish(all[i]);
}

/* False (logged) when an array of the batch went past its cap (pgarray.h). */
static bool arrays_ok(const struct batch_arrays *a, const char *request_id)
{
    const struct pgarray *all[] = {&a->indicator, &a->site,        &a->day,     &a->value,
                                   &a->numerator, &a->denominator, &a->comment, &a->known};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (!pgarray_ok(all[i])) {
            log_write(LOG_LEVEL_ERROR, request_id,
                      "could not store observations: the batch's arrays exceed %u bytes",
                      PGARRAY_MAX_BYTES);
            return false;
        }
    return true;
}

static void free_arrays(struct batch_arrays *a)
{
    struct pgarray *all[] = {&a->indicator, &a->site,        &a->day,     &a->value,
                             &a->numerator, &a->denominator, &a->comment, &a->known};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pgarray_free(all[i]);
}

/* The parameters of SQL_STORE: programme, the seven arrays, token, the known series
 * (SQL_UPSERT takes the first nine). */
struct store_params {
    const char *values[10];
    int lengths[10];
    int formats[10];
};

static void set_array(struct store_params *p, int i, const struct pgarray *a)
{
    p->values[i] = a->data;
    p->lengths[i] = (int)a->len;
    p->formats[i] = 1;
}

static void store_params_init(struct store_params *p, const char *pid, const char *tid,
                              const struct batch_arrays *a)
{
    const struct pgarray *arrays[] = {&a->indicator, &a->site,        &a->day,    &a->value,
                                      &a->numerator, &a->denominator, &a->comment};
    memset(p, 0, sizeof(*p));
    p->values[0] = pid;
    for (int i = 0; i < 7; i++)
        set_array(p, i + 1, arrays[i]);
    p->values[8] = tid;
    set_array(p, 9, &a->known);
}

static bool create_series(PGconn *conn, const struct store_params *p, const char *request_id)
{
    PGresult *res = ingest_statement(conn, "scaleupd_obs_ensure_series", SQL_ENSURE_SERIES, 3,
                                     p->values, p->lengths, p->formats);
    bool ok = db_ok(res, PGRES_COMMAND_OK, request_id, "create series");
    PQclear(res);
    return ok;
}

enum fast_result { FAST_OK, FAST_RACE, FAST_ERROR };

/* The whole batch through SQL_UPSERT: imported and updated are added to *counts. FAST_RACE:
 * it deadlocked with a concurrent batch (40P01) and retry says the caller tries again, so it
 * is not logged as a problem. */
static enum fast_result store_upsert(PGconn *conn, const struct store_params *p,
                                     struct observations_counts *counts, bool retry,
                                     const char *request_id)
{
    if (!create_series(conn, p, request_id))
        return FAST_ERROR;
    PGresult *res = ingest_statement(conn, "scaleupd_obs_upsert", SQL_UPSERT, 9, p->values,
                                     p->lengths, p->formats);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    enum fast_result result = FAST_OK;
    if (retry && PQresultStatus(res) != PGRES_TUPLES_OK && state != NULL &&
        strcmp(state, "40P01") == 0) {
        log_write(LOG_LEVEL_DEBUG, request_id,
                  "a concurrent batch holds some of the same keys:"
                  " upserting the batch again");
        result = FAST_RACE;
    } else if (!db_ok(res, PGRES_TUPLES_OK, request_id, "store observations")) {
        result = FAST_ERROR;
    } else {
        counts->imported += (long)db_int64(res, 0, 0);
        counts->updated += (long)db_int64(res, 0, 1);
    }
    PQclear(res);
    return result;
}

/* What the series hint learns from a batch waits for its transaction (observations_committed):
 * a series created by a transaction that rolls back (a dry run, a failed commit) must never be
 * hinted, or the next batch would store its rows under an id that does not exist. One list
 * per thread: a pool worker runs a request's store and commit on the same thread. */
struct pending_hint {
    struct series_key key;
    int64_t series_id; /* 0: raise the latest day of a known series to day */
    int32_t day;
};

static __thread struct pending_hint *pending;
static __thread size_t n_pending, pending_cap;

static void defer_hint(const struct series_key *key, int64_t series_id, int32_t day)
{
    if (n_pending == pending_cap) {
        pending_cap = pending_cap ? pending_cap * 2 : 256;
        pending = xrealloc(pending, pending_cap * sizeof(*pending));
    }
    pending[n_pending++] = (struct pending_hint){*key, series_id, day};
}

/* Frees the list too: a thread-local buffer kept between requests would outlive its thread
 * (LeakSanitizer says so), and one allocation per batch costs nothing beside the database. */
static void drop_pending(void)
{
    free(pending);
    pending = NULL;
    n_pending = pending_cap = 0;
}

void observations_committed(void)
{
    for (size_t i = 0; i < n_pending; i++) {
        const struct pending_hint *h = &pending[i];
        if (h->series_id != 0)
            series_cache_note(&h->key, h->series_id, h->day);
        else
            series_cache_raise(&h->key, h->day);
    }
    drop_pending();
}

void observations_rolled_back(void)
{
    drop_pending();
}

/* Teaches the series hint (at commit) the series SQL_STORE looked up, with the latest period
 * stored in each before the statement (the batch's own rows are added by the caller). */
static void learn_series(const PGresult *res, int64_t programme_id)
{
    for (int r = 0; r < PQntuples(res); r++) {
        if (PQgetisnull(res, r, 3))
            continue;
        struct series_key key = {programme_id, db_int64(res, r, 4), db_int64(res, r, 5)};
        int32_t last_day = PQgetisnull(res, r, 6) ? INT32_MIN : (int32_t)db_int64(res, r, 6);
        defer_hint(&key, db_int64(res, r, 3), last_day);
    }
}

/* A unique violation (one of the new keys is stored already: a concurrent batch inserted it
 * first, or the hint was wrong) or a deadlock with a concurrent upsert (40P01) is expected:
 * the caller upserts the batch after its savepoint, and it is not logged as a problem. */
static bool is_race(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state != NULL && (strcmp(state, "23505") == 0 || strcmp(state, "40P01") == 0);
}

static void log_race(const PGresult *res, const char *request_id)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    log_write(LOG_LEVEL_DEBUG, request_id, "%s: upserting the batch",
              state[0] == '2' ? "some of the batch's new keys are stored already"
                              : "a concurrent batch holds some of the same keys");
}

/* One run of SQL_STORE; *missing is the number of rows left out for want of a series. */
static enum fast_result store_fast(PGconn *conn, const struct store_params *p, int64_t programme_id,
                                   struct observations_counts *counts, long *missing,
                                   const char *request_id)
{
    PGresult *res = ingest_statement(conn, "scaleupd_obs_store", SQL_STORE, 10, p->values,
                                     p->lengths, p->formats);
    enum fast_result result = FAST_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK && is_race(res)) {
        log_race(res, request_id);
        result = FAST_RACE;
    } else if (!db_ok(res, PGRES_TUPLES_OK, request_id, "store observations")) {
        result = FAST_ERROR;
    } else {
        counts->imported += (long)db_int64(res, 0, 0);
        counts->updated += (long)db_int64(res, 0, 1);
        *missing = (long)db_int64(res, 0, 2);
        learn_series(res, programme_id);
    }
    PQclear(res);
    return result;
}

/* A fresh row of a batch: its series, its period, its index in the batch. */
struct fresh_row {
    int64_t series_id;
    int32_t day;
    uint32_t row;
};

static int fresh_row_order(const void *a, const void *b)
{
    const struct fresh_row *x = a, *y = b;
    if (x->series_id != y->series_id)
        return x->series_id < y->series_id ? -1 : 1;
    return (x->day > y->day) - (x->day < y->day);
}

/* The COPY data of the fresh rows, in key order (concurrent batches take shared new keys in
 * one order; those whose hints split the same keys differently between COPY and SQL_STORE can
 * still deadlock, and the loser upserts after its savepoint); fresh is left sorted. */
static size_t copy_data(const struct obs_batch *batch, const struct hints *h, int64_t programme_id,
                        int64_t token_id, struct fresh_row *fresh, struct pgarray *data)
{
    size_t n = 0;
    for (size_t i = 0; i < batch->n_rows; i++)
        if (h->fresh[i])
            fresh[n++] = (struct fresh_row){h->series[i], batch->rows[i].period_start, (uint32_t)i};
    qsort(fresh, n, sizeof(*fresh), fresh_row_order);
    pgcopy_init(data);
    for (size_t k = 0; k < n; k++) {
        const struct obs_row *r = &batch->rows[fresh[k].row];
        pgcopy_row(data, COPY_FIELDS);
        pgarray_add_int8(data, programme_id);
        pgarray_add_int8(data, fresh[k].series_id);
        pgarray_add_int4(data, pgcopy_date(r->period_start));
        pgarray_add_float8(data, r->value);
        if (r->has_numerator)
            pgarray_add_float8(data, r->numerator);
        else
            pgarray_add_null(data);
        if (r->has_denominator)
            pgarray_add_float8(data, r->denominator);
        else
            pgarray_add_null(data);
        if (r->comment)
            pgarray_add_text(data, r->comment, strlen(r->comment));
        else
            pgarray_add_null(data);
        if (token_id != 0)
            pgarray_add_int8(data, token_id);
        else
            pgarray_add_null(data);
    }
    pgcopy_finish(data);
    return n;
}

/* The marks of the fresh rows' series (sorted by series, then period): each series once with
 * its earliest and latest period, MARK_SERIES per mark. */
static bool mark_fresh(PGconn *conn, const struct fresh_row *fresh, size_t n, const char *pid,
                       const char *request_id)
{
    bool ok = true;
    size_t k = 0;
    while (ok && k < n) {
        struct pgarray series, since, until, pair_series, pair_periods;
        pgarray_init(&series, PGARRAY_INT8);
        pgarray_init(&since, PGARRAY_DATE);
        pgarray_init(&until, PGARRAY_DATE);
        pgarray_init(&pair_series, PGARRAY_INT8);
        pgarray_init(&pair_periods, PGARRAY_DATE);
        for (;
             k < n && (series.count < MARK_SERIES || fresh[k - 1].series_id == fresh[k].series_id);
             k++) {
            pgarray_add_int8(&pair_series, fresh[k].series_id);
            pgarray_add_int4(&pair_periods, pgcopy_date(fresh[k].day));
            if (k + 1 == n || fresh[k + 1].series_id != fresh[k].series_id)
                pgarray_add_int4(&until, pgcopy_date(fresh[k].day)); /* the series' last row */
            if (k > 0 && fresh[k - 1].series_id == fresh[k].series_id)
                continue;
            pgarray_add_int8(&series, fresh[k].series_id);
            pgarray_add_int4(&since, pgcopy_date(fresh[k].day));
        }
        struct pgarray *arrays[] = {&series, &since, &pair_series, &pair_periods, &until};
        for (size_t a = 0; a < 5; a++)
            pgarray_finish(arrays[a]);
        const char *values[] = {
            pid, series.data, since.data, pair_series.data, pair_periods.data, until.data};
        int lengths[] = {0,
                         (int)series.len,
                         (int)since.len,
                         (int)pair_series.len,
                         (int)pair_periods.len,
                         (int)until.len};
        int formats[] = {0, 1, 1, 1, 1, 1};
        PGresult *res = ingest_statement(conn, "scaleupd_obs_mark_copied", SQL_MARK_COPIED, 6,
                                         values, lengths, formats);
        ok = db_ok(res, PGRES_COMMAND_OK, request_id, "mark the copied series");
        PQclear(res);
        for (size_t a = 0; a < 5; a++)
            pgarray_free(arrays[a]);
    }
    return ok;
}

/* Sends COPY data and reads the outcome (a COPY cannot be prepared; its statement is short). */
static PGresult *run_copy(PGconn *conn, const struct pgarray *data)
{
    PGresult *res = PQexec(conn, SQL_COPY);
    if (PQresultStatus(res) != PGRES_COPY_IN)
        return res;
    PQclear(res);
    if (PQputCopyData(conn, data->data, (int)data->len) != 1)
        PQputCopyEnd(conn, "could not send the COPY data");
    else
        PQputCopyEnd(conn, NULL);
    PGresult *last = NULL;
    while ((res = PQgetResult(conn)) != NULL) {
        PQclear(last);
        last = res;
        if (PQresultStatus(res) == PGRES_COPY_IN || PQresultStatus(res) == PGRES_COPY_OUT)
            break; /* the end could not be sent: still copying, and never done */
    }
    return last;
}

/* The fresh rows of the batch by COPY, then their marks; *copied is their number. */
static enum fast_result store_fresh(PGconn *conn, const struct obs_batch *batch,
                                    const struct hints *h, int64_t programme_id, int64_t token_id,
                                    long *copied, const char *request_id)
{
    struct fresh_row *fresh = xmalloc(h->n_fresh * sizeof(*fresh));
    struct pgarray data;
    size_t n = copy_data(batch, h, programme_id, token_id, fresh, &data);
    if (!pgarray_ok(&data)) {
        log_write(LOG_LEVEL_ERROR, request_id,
                  "could not copy observations: the COPY data exceed %u bytes", PGARRAY_MAX_BYTES);
        pgarray_free(&data);
        free(fresh);
        return FAST_ERROR;
    }
    PGresult *res = run_copy(conn, &data);
    pgarray_free(&data);
    enum fast_result result = FAST_OK;
    if (res != NULL && PQresultStatus(res) != PGRES_COMMAND_OK && is_race(res)) {
        log_race(res, request_id);
        result = FAST_RACE;
    } else if (!db_ok(res, PGRES_COMMAND_OK, request_id, "copy observations")) {
        result = FAST_ERROR;
    } else {
        *copied = strtol(PQcmdTuples(res), NULL, 10);
    }
    PQclear(res);
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    if (result == FAST_OK && !mark_fresh(conn, fresh, n, pid, request_id))
        result = FAST_ERROR;
    free(fresh);
    return result;
}

/* After a stored batch, the hint knows (once committed) that its series hold data up to the
 * batch's periods; after a fallback it forgets them at once, so that their next batch learns
 * them again. */
static void update_hints(const struct obs_batch *batch, int64_t programme_id, bool stored_fast)
{
    for (size_t i = 0; i < batch->n_rows; i++) {
        const struct obs_row *r = &batch->rows[i];
        if (r->rejected)
            continue;
        struct series_key key = row_key(programme_id, r);
        if (stored_fast)
            defer_hint(&key, 0, r->period_start);
        else
            series_cache_forget(&key);
    }
}

/* The rows of the fast path that are not fresh, through SQL_STORE. Rows of series that do not
 * exist yet: the series are created and the statement runs again for those rows without
 * hints (rows the first run stored are then looked up and found unchanged). */
static enum fast_result store_looked_up(PGconn *conn, const struct obs_batch *batch,
                                        const struct hints *h, const char *pid, const char *tid,
                                        int64_t programme_id, struct observations_counts *counts,
                                        const char *request_id)
{
    struct batch_arrays a;
    build_arrays(batch, h, &a);
    if (!arrays_ok(&a, request_id)) {
        free_arrays(&a);
        return FAST_ERROR;
    }
    struct store_params p;
    store_params_init(&p, pid, tid, &a);
    long missing = 0;
    enum fast_result r = store_fast(conn, &p, programme_id, counts, &missing, request_id);
    if (r == FAST_OK && missing > 0) {
        pgarray_free(&a.known);
        pgarray_init(&a.known, PGARRAY_INT8);
        for (int32_t i = 0; i < a.indicator.count; i++)
            pgarray_add_null(&a.known);
        pgarray_finish(&a.known);
        set_array(&p, 9, &a.known);
        r = create_series(conn, &p, request_id)
                ? store_fast(conn, &p, programme_id, counts, &missing, request_id)
                : FAST_ERROR;
    }
    free_arrays(&a);
    return r;
}

/* The whole batch through SQL_UPSERT, no hint used: the fallback, and the path when the fast
 * one is off. */
static enum fast_result store_all_upsert(PGconn *conn, const struct obs_batch *batch,
                                         const char *pid, const char *tid,
                                         struct observations_counts *counts, bool retry,
                                         const char *request_id)
{
    struct batch_arrays a;
    build_arrays(batch, NULL, &a);
    if (!arrays_ok(&a, request_id)) {
        free_arrays(&a);
        return FAST_ERROR;
    }
    struct store_params p;
    store_params_init(&p, pid, tid, &a);
    enum fast_result r = store_upsert(conn, &p, counts, retry, request_id);
    free_arrays(&a);
    return r;
}

/* The savepoint the fast path runs in: the fallback upsert starts again from it. */
#define OBS_SAVEPOINT "scaleupd_obs_fast"

/* Times the fallback upsert runs when it keeps losing deadlocks to concurrent batches. */
#define UPSERT_ATTEMPTS 5

/* The fast path inside a savepoint: fresh rows by COPY, the others through SQL_STORE, falling
 * back to SQL_UPSERT of the whole batch when one of the new keys was stored already. */
static bool store_batch(PGconn *conn, const struct obs_batch *batch, int64_t programme_id,
                        int64_t token_id, struct observations_counts *counts,
                        const char *request_id)
{
    char pid[24], tid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *tidp = token_id ? tid : NULL;
    if (atomic_load(&fast_path_off))
        return store_all_upsert(conn, batch, pid, tidp, counts, false, request_id) == FAST_OK;
    if (!db_savepoint(conn, OBS_SAVEPOINT, request_id))
        return false;
    struct hints h;
    hints_lookup(batch, programme_id, &h);
    /* a few fresh rows go with the others: one statement beats COPY's three round trips */
    if (h.n_fresh < atomic_load(&copy_min_rows)) {
        memset(h.fresh, 0, batch->n_rows * sizeof(*h.fresh));
        h.n_fresh = 0;
    }
    enum fast_result r = FAST_OK;
    if (h.n_fresh > 0) {
        long copied = 0;
        r = store_fresh(conn, batch, &h, programme_id, token_id, &copied, request_id);
        counts->imported += copied;
    }
    if (r == FAST_OK && h.n_fresh < obs_batch_accepted(batch))
        r = store_looked_up(conn, batch, &h, pid, tidp, programme_id, counts, request_id);
    hints_free(&h);
    if (r == FAST_OK) {
        update_hints(batch, programme_id, true);
        return db_release(conn, OBS_SAVEPOINT, request_id);
    }
    if (r == FAST_ERROR)
        return false;
    atomic_fetch_add(&fast_path_fallbacks, 1);
    drop_pending(); /* the rollback undoes the series the fast path may have created */
    update_hints(batch, programme_id, false);
    /* the upsert takes all its keys in one order, but a concurrent batch still in its fast
     * path may hold some of them and want one of ours: when PostgreSQL aborts this side of
     * that deadlock, the batch goes back to the savepoint (letting go of its keys, so the other
     * finishes) and upserts again */
    for (int attempt = 1;; attempt++) {
        counts->imported = counts->updated = 0;
        if (!db_rollback_to(conn, OBS_SAVEPOINT, request_id))
            return false;
        r = store_all_upsert(conn, batch, pid, tidp, counts, attempt < UPSERT_ATTEMPTS, request_id);
        if (r != FAST_RACE)
            return r == FAST_OK;
    }
}

bool observations_store(PGconn *conn, int64_t programme_id, int64_t token_id,
                        const struct obs_batch *batch, struct observations_counts *counts,
                        const char *request_id)
{
    drop_pending(); /* what an earlier transaction left untold was not committed */
    counts->imported = counts->updated = 0;
    bool ok = store_batch(conn, batch, programme_id, token_id, counts, request_id);
    counts->unchanged = (long)obs_batch_accepted(batch) - counts->imported - counts->updated;
    return ok;
}
