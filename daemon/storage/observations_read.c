/* The read path of observations: a series as GET …/series and the chart show it (a site's own
 * values, or its descendants aggregated by the indicator's rule), and the aggregate points the
 * evaluator reads. The write path is observations_write.c. */
#include "scaleupd/storage/observations_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/period.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/member_owes.h"
#include "scaleupd/storage/rollup_store.h"
#include "scaleupd/storage/sql_numeric.h"

/* The indicator and site of a series read, and the site's own series of the indicator when it
 * holds values and no site below it that counts in its aggregate (storage/member_owes.h: not
 * planned) reports the indicator (then the series is the site's own:
 * a national score; else the aggregate of the sites below, which one row sent at a region's
 * code must not replace: that row counts in the parent's rollup, as DHIS2 counts a parent
 * organisation unit's own values). */
/* clang-format off */ /* it would fold the macro into the literals */
static const char SQL_SERIES_META[] =
    "SELECT i.id, json_build_object('code', i.code, 'name', i.name, 'unit', i.unit,"
    " 'value_type', i.value_type, 'period_type', i.period_type, 'direction', i.direction,"
    " 'aggregate', i.aggregate, 'target', i.target)::text,"
    " s.id, json_build_object('code', s.code, 'name', s.name, 'level', s.level)::text,"
    " (SELECT se.id FROM series se WHERE se.programme_id = $1 AND se.indicator_id = i.id"
    "  AND se.site_id = s.id AND EXISTS (SELECT 1 FROM observation o WHERE"
    "  o.programme_id = $1 AND o.series_id = se.id) AND NOT EXISTS (SELECT 1 FROM site_tree t"
    "  JOIN series b ON b.programme_id = $1 AND b.indicator_id = i.id AND b.site_id = t.site_id"
    "  WHERE t.programme_id = $1 AND t.ancestor_id = s.id AND" SITE_SQL_COUNTS("t.site_id") ")),"
    " i.period_type, i.aggregate, i.value_type"
    " FROM (SELECT 1) one"
    " LEFT JOIN indicator i ON i.programme_id = $1 AND i.code = $2"
    " LEFT JOIN site s ON s.programme_id = $1 AND s.code = $3";
/* clang-format on */

/* The fields of a point that hold a stored or aggregated value beyond double's range (or
 * NaN, ±Infinity stored by an older version): the point says so and shows them as missing. */
#define OUT_OF_RANGE(value, numerator, denominator)                                                \
    "nullif(array_remove(ARRAY[CASE WHEN " value " THEN 'value' END, CASE WHEN " numerator         \
    " THEN 'numerator' END, CASE WHEN " denominator " THEN 'denominator' END], NULL), '{}')"

#define NOT_FINITE(x)                                                                              \
    "(" x " IS NOT NULL AND NOT " x " BETWEEN -" SQL_DBL_MAX " AND " SQL_DBL_MAX ")"

/* clang-format off */ /* it would fold the macros into the literals */
static const char SQL_SERIES_OWN[] =
    "SELECT coalesce(json_agg(json_strip_nulls(json_build_object("
    " 'period_start', o.period_start, 'value', " SQL_FINITE("o.value") ","
    " 'numerator', " SQL_FINITE("o.numerator") ", 'denominator', " SQL_FINITE("o.denominator") ","
    " 'out_of_range', " OUT_OF_RANGE(NOT_FINITE("o.value"), NOT_FINITE("o.numerator"),
                                     NOT_FINITE("o.denominator")) ","
    " 'comment', o.comment, 'sites_reporting', 1, 'received_at', o.received_at,"
    " 'stored_by', m.stored_by, 'followup', m.followup,"
    " 'revisions', CASE WHEN $3 THEN (SELECT json_agg(json_build_object("
    "   'value', " SQL_FINITE("r.value") ", 'numerator', " SQL_FINITE("r.numerator") ","
    "   'denominator', " SQL_FINITE("r.denominator") ", 'comment', r.comment,"
    "   'received_at', r.received_at, 'replaced_at', r.replaced_at,"
    "   'token', (SELECT t.name FROM token t WHERE t.id = r.token_id),"
    "   'replaced_by', (SELECT t.name FROM token t WHERE t.id = r.replaced_by))"
    "   ORDER BY r.replaced_at DESC) FROM observation_revision r WHERE r.programme_id = $1"
    "   AND r.series_id = o.series_id AND r.period_start = o.period_start) END))"
    " ORDER BY o.period_start), '[]')::text"
    " FROM observation o LEFT JOIN dhis2_value_meta m ON m.programme_id = o.programme_id"
    "  AND m.series_id = o.series_id AND m.period_start = o.period_start"
    "  AND m.updated_at >= o.received_at" /* they describe the value stored, not an older */
    " WHERE o.programme_id = $1 AND o.series_id = $2"
    " AND o.period_start >= coalesce($4::date, '-infinity')"
    " AND o.period_start <= coalesce($5::date, 'infinity')";
/* clang-format on */

/* The aggregate of indicator $2 over the descendants of site $3 from its rollups
 * (rollup_store.h); $4 the rule, $5 the scale of a weighted ratio (100 for percentages),
 * $6..$7 the periods. A missing report is never a zero: each point says how many sites it
 * covers (of a weighted ratio, those that sent both a numerator and a denominator: a value
 * alone is not in Σ numerators ÷ Σ denominators). The arithmetic is exact (numeric,
 * sql_numeric.h): the mean is the exact sum over the number covered, as avg() computes it; a
 * result beyond double's range is a point without that field, which says so in
 * "out_of_range". */
/* clang-format off */ /* it would fold the macros into the literals */
#define SQL_AGG_EXACT                                                                              \
    "WITH exact AS ("                                                                              \
    " SELECT period_start, CASE WHEN $4 = 'weighted' THEN coalesce(weighted_sites, sites)"         \
    "  ELSE sites END AS sites, CASE $4 WHEN 'sum' THEN total WHEN 'mean' THEN total / sites"     \
    "  WHEN 'last' THEN " SQL_EXACT("latest_value") " ELSE CASE WHEN denominator > 0"              \
    "  THEN numerator * $5::numeric / denominator END END AS v,"                                   \
    "  CASE WHEN $4 = 'weighted' THEN numerator END AS n,"                                         \
    "  CASE WHEN $4 = 'weighted' THEN denominator END AS d"                                        \
    " FROM rollup WHERE programme_id = $1 AND indicator_id = $2 AND site_id = $3"                  \
    "  AND period_start >= coalesce($6::date, '-infinity')"                                        \
    "  AND period_start <= coalesce($7::date, 'infinity')"                                         \
    "), shown AS ("                                                                                \
    " SELECT *, " SQL_FLOAT8_OF("v") " AS value, " SQL_FLOAT8_OF("n") " AS numerator,"             \
    "  " SQL_FLOAT8_OF("d") " AS denominator FROM exact"                                           \
    ")"

/* The sites under site $3 expected to report indicator $2: its members that are not planned,
 * and the sites without a membership that have sent the indicator (a district's own rows, a
 * hierarchy listed without statuses). The rollups aggregate those (storage/member_owes.h), so
 * a point's sites_reporting is at most this. */
#define SQL_AGG_EXPECTED                                                                           \
    "(SELECT count(*) FROM site_tree t LEFT JOIN membership m ON m.programme_id = $1"              \
    "  AND m.site_id = t.site_id WHERE t.programme_id = $1 AND t.ancestor_id = $3"                 \
    "  AND CASE WHEN m.site_id IS NOT NULL THEN m.status <> 'planned' ELSE EXISTS (SELECT 1"      \
    "  FROM series se WHERE se.programme_id = $1 AND se.indicator_id = $2"                         \
    "  AND se.site_id = t.site_id) END)"

static const char SQL_SERIES_AGG[] = SQL_AGG_EXACT
    " SELECT coalesce(json_agg(json_strip_nulls(json_build_object('period_start', period_start,"
    "  'value', value, 'numerator', numerator, 'denominator', denominator,"
    "  'out_of_range', " OUT_OF_RANGE("value IS NULL", "n IS NOT NULL AND numerator IS NULL",
                                      "d IS NOT NULL AND denominator IS NULL") ","
    "  'sites_reporting', sites)) ORDER BY period_start) FILTER (WHERE v IS NOT NULL), '[]')::text,"
    " " SQL_AGG_EXPECTED
    " FROM shown";

/* The same points for the evaluator, one row each, oldest first (day since 1970, value, NULL
 * beyond double's range), with what gates an aggregate rule
 * (core/rules.h, rule_aggregate_gate): of the member sites under $3 that owe the point's
 * period (storage/member_owes.h, as the feeds status counts them) those that sent it (of a
 * weighted ratio, with its numerator and denominator) and all
 * of them (the rollup's own count of sites would count a site without a membership, or one
 * sending baseline months before its adoption, as covering the period), the indicator's period
 * type and today in the programme's time zone at $8 (unix seconds; NULL: not known). */
static const char SQL_EVAL_AGG[] = SQL_AGG_EXACT
    ", ind AS (SELECT period_type FROM indicator WHERE programme_id = $1 AND id = $2"
    "), w AS ("
    " SELECT s.period_start, s.value, s.sites, CASE (SELECT period_type FROM ind)"
    "  WHEN 'weekly' THEN s.period_start + 6"
    "  WHEN 'monthly' THEN (s.period_start + interval '1 month')::date - 1"
    "  WHEN 'quarterly' THEN (s.period_start + interval '3 months')::date - 1"
    "  ELSE (s.period_start + interval '1 year')::date - 1 END AS period_end"
    " FROM shown s WHERE s.v IS NOT NULL"
    ")"
    " SELECT w.period_start - DATE '1970-01-01', w.value,"
    " (SELECT count(*) FROM site_tree t JOIN membership m ON m.programme_id = $1"
    "  AND m.site_id = t.site_id WHERE t.programme_id = $1 AND t.ancestor_id = $3"
    "  AND" MEMBER_SQL_OWES("m", "w") " AND EXISTS (SELECT 1 FROM series se JOIN observation o"
    "  ON o.programme_id = $1 AND o.series_id = se.id AND o.period_start = w.period_start"
    "  AND ($4 <> 'weighted' OR (o.numerator IS NOT NULL AND o.denominator IS NOT NULL))"
    "  WHERE se.programme_id = $1 AND se.indicator_id = $2 AND se.site_id = m.site_id)),"
    " (SELECT count(*) FROM site_tree t JOIN membership m ON m.programme_id = $1"
    "  AND m.site_id = t.site_id WHERE t.programme_id = $1 AND t.ancestor_id = $3"
    "  AND" MEMBER_SQL_OWES("m", "w") "),"
    " " SQL_AGG_EXPECTED ", (SELECT period_type FROM ind),"
    " (SELECT (to_timestamp($8::float8) AT TIME ZONE p.time_zone)::date - DATE '1970-01-01'"
    "  FROM programme p WHERE p.id = $1)"
    " FROM w ORDER BY w.period_start";
/* clang-format on */

/* Brings the programme's rollups up to date with what ingest committed before this read
 * when marks wait. A read on its own (a request) folds once, at most OBSERVATIONS_FOLD_MARKS
 * marks; while a fold of the programme is running it tries again every
 * OBSERVATIONS_BUSY_WAIT_MS, up to OBSERVATIONS_BUSY_TRIES times (a fold of a few batches
 * takes milliseconds: the read then shows what the running fold brought in, and folds what
 * is left), then answers from the rollups as they stand; a rebuild is left to the background
 * (it can take minutes). A read inside a transaction (the evaluator's) waits for a running
 * fold and folds until the marks it could have been told of are folded (at most
 * OBSERVATIONS_FOLD_ROUNDS folds), once per transaction: when its transaction holds the fold
 * lock it has folded, and what commits later is for a later evaluation. */
static bool rollups_current(PGconn *conn, int64_t programme_id, const char *request_id)
{
    bool in_transaction = PQtransactionStatus(conn) == PQTRANS_INTRANS;
    struct rollup_marked m;
    if (!rollup_store_marked(conn, programme_id, &m, request_id))
        return false;
    if (!m.marked || m.folding_here || (!in_transaction && m.rebuild))
        return true;
    for (int round = 0, busy = 0; round < (in_transaction ? OBSERVATIONS_FOLD_ROUNDS : 1);) {
        struct rollup_stats stats = {0};
        enum rollup_fold r = rollup_store_fold(conn, programme_id, OBSERVATIONS_FOLD_MARKS,
                                               in_transaction, &stats, request_id);
        if (r == ROLLUP_ERROR)
            return false;
        if (r == ROLLUP_BUSY && ++busy < OBSERVATIONS_BUSY_TRIES) {
            struct timespec pause = {0, OBSERVATIONS_BUSY_WAIT_MS * 1000000L};
            nanosleep(&pause, NULL);
            continue;
        }
        if (r == ROLLUP_BUSY || stats.marks < OBSERVATIONS_FOLD_MARKS)
            break;
        round++;
    }
    return true;
}

/* The JSON document in a cell, within OBSERVATIONS_DOC_MAX_BYTES; NULL (logged) when it is
 * larger, or not JSON. */
static json_t *load_document(const PGresult *res, int col, const char *request_id)
{
    if ((size_t)PQgetlength(res, 0, col) >= OBSERVATIONS_DOC_MAX_BYTES) {
        log_write(LOG_LEVEL_ERROR, request_id, "could not read a series: it exceeds %u bytes",
                  OBSERVATIONS_DOC_MAX_BYTES);
        return NULL;
    }
    json_t *doc = json_loads(db_text(res, 0, col), 0, NULL);
    if (doc == NULL)
        log_write(LOG_LEVEL_ERROR, request_id, "could not read a series: it is not JSON");
    return doc;
}

void aggregate_points_free(struct aggregate_points *a)
{
    free(a->values);
    free(a->days);
    free(a->sites);
    free(a->owed);
    memset(a, 0, sizeof(*a));
}

bool observations_aggregates_current(PGconn *conn, int64_t programme_id)
{
    return rollups_current(conn, programme_id, NULL);
}

bool observations_aggregate(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                            int64_t site_id, const char *aggregate, bool percentage,
                            size_t max_points, struct aggregate_points *out)
{
    return observations_aggregate_from(conn, programme_id, indicator_id, site_id, aggregate,
                                       percentage, INT32_MIN, NAN, max_points, out);
}

/* Fills out from the rows of SQL_EVAL_AGG, the latest max_points of them. */
static void aggregate_rows(const PGresult *res, size_t max_points, struct aggregate_points *out)
{
    size_t total = (size_t)PQntuples(res);
    size_t first = total > max_points ? total - max_points : 0;
    out->today = INT32_MIN;
    out->period_type = PERIOD_MONTHLY;
    if (total > 0) {
        out->expected = (long)db_int64(res, 0, 4);
        if (!db_is_null(res, 0, 5) && !period_type_from_name(db_text(res, 0, 5), &out->period_type))
            out->period_type = PERIOD_MONTHLY;
        if (!db_is_null(res, 0, 6))
            out->today = (int32_t)db_int64(res, 0, 6);
    }
    size_t n = total - first;
    out->values = xcalloc(n + 1, sizeof(double));
    out->days = xcalloc(n + 1, sizeof(int32_t));
    out->sites = xcalloc(n + 1, sizeof(long));
    out->owed = xcalloc(n + 1, sizeof(long));
    for (size_t i = first; i < total; i++) {
        if (!db_double_opt(res, (int)i, 1, &out->values[out->n]))
            continue; /* out of double's range: a missing point, never a zero */
        out->days[out->n] = (int32_t)db_int64(res, (int)i, 0);
        out->sites[out->n] = (long)db_int64(res, (int)i, 2);
        out->owed[out->n] = (long)db_int64(res, (int)i, 3);
        out->n++;
    }
}

bool observations_aggregate_from(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                 int64_t site_id, const char *aggregate, bool percentage,
                                 int32_t from_day, double now, size_t max_points,
                                 struct aggregate_points *out)
{
    memset(out, 0, sizeof(*out));
    char pid[24], iid[24], sid[24], from[DATE_FORMAT_MAX], at[32];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(iid, sizeof(iid), "%lld", (long long)indicator_id);
    snprintf(sid, sizeof(sid), "%lld", (long long)site_id);
    snprintf(at, sizeof(at), "%.6f", now);
    bool bounded = from_day != INT32_MIN && date_format(from_day, from, sizeof(from));
    const char *v[] = {pid,
                       iid,
                       sid,
                       aggregate,
                       percentage ? "100" : "1",
                       bounded ? from : NULL,
                       NULL,
                       isfinite(now) ? at : NULL};
    if (!rollups_current(conn, programme_id, NULL))
        return false;
    PGresult *res =
        db_run(conn, NULL, SQL_EVAL_AGG, 8, v, PGRES_TUPLES_OK, NULL, "read an aggregate");
    if (res == NULL)
        return false;
    aggregate_rows(res, max_points, out);
    PQclear(res);
    return true;
}

/* Adds the canonical period label ("2025-03") to each point. */
static void label_points(json_t *points, enum period_type type)
{
    size_t i;
    json_t *p;
    json_array_foreach(points, i, p)
    {
        const char *start = json_string_value(json_object_get(p, "period_start"));
        int32_t day;
        char label[PERIOD_FORMAT_MAX];
        if (start && date_parse(start, strlen(start), &day) &&
            period_format(period_containing(type, day), label, sizeof(label)))
            json_object_set_new(p, "period", json_string(label));
    }
}

/* The points of the series that meta (a row of SQL_SERIES_META) names: its own values, or its
 * descendants' aggregate. NULL on a database error (logged). */
static PGresult *series_points(PGconn *conn, const struct series_query *q, const char *pid,
                               const PGresult *meta, bool own)
{
    if (own) {
        const char *v[] = {pid, db_text(meta, 0, 4), q->revisions ? "true" : "false", q->from,
                           q->to};
        return db_run(conn, NULL, SQL_SERIES_OWN, 5, v, PGRES_TUPLES_OK, q->request_id,
                      "read a series");
    }
    if (!q->as_they_stand && !rollups_current(conn, q->programme_id, q->request_id))
        return NULL;
    const char *scale = strcmp(db_text(meta, 0, 7), "percentage") == 0 ? "100" : "1";
    const char *v[] = {
        pid, db_text(meta, 0, 0), db_text(meta, 0, 2), db_text(meta, 0, 6), scale, q->from, q->to};
    return db_run(conn, NULL, SQL_SERIES_AGG, 7, v, PGRES_TUPLES_OK, q->request_id,
                  "read an aggregate series");
}

enum series_result observations_series(PGconn *conn, const struct series_query *q, json_t **out)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)q->programme_id);
    const char *mv[] = {pid, q->indicator, q->site};
    PGresult *meta = db_run(conn, NULL, SQL_SERIES_META, 3, mv, PGRES_TUPLES_OK, q->request_id,
                            "read a series' indicator and site");
    if (meta == NULL)
        return SERIES_DB_ERROR;
    enum series_result result = db_is_null(meta, 0, 0)   ? SERIES_UNKNOWN_INDICATOR
                                : db_is_null(meta, 0, 2) ? SERIES_UNKNOWN_SITE
                                                         : SERIES_OK;
    if (result != SERIES_OK) {
        PQclear(meta);
        return result;
    }
    bool own = !db_is_null(meta, 0, 4);
    enum period_type ptype = PERIOD_MONTHLY;
    if (!period_type_from_name(db_text(meta, 0, 5), &ptype))
        ptype = PERIOD_MONTHLY;
    PGresult *res = series_points(conn, q, pid, meta, own);
    if (res == NULL) {
        PQclear(meta);
        return SERIES_DB_ERROR;
    }
    json_t *points = load_document(res, 0, q->request_id);
    if (points == NULL) {
        PQclear(res);
        PQclear(meta);
        return SERIES_DB_ERROR;
    }
    label_points(points, ptype);
    json_t *doc = json_pack(
        "{s:o,s:o,s:b,s:o}", "indicator", json_loads(db_text(meta, 0, 1), 0, NULL), "site",
        json_loads(db_text(meta, 0, 3), 0, NULL), "aggregated", !own, "points", points);
    if (!own)
        json_object_set_new(doc, "sites_expected", json_integer(db_int64(res, 0, 1)));
    PQclear(res);
    PQclear(meta);
    *out = doc;
    return SERIES_OK;
}
