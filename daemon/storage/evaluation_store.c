/* The SQL of the evaluation use case: claiming dirty series, the set-based reads of a claim
 * (three statements per group of series instead of three per series: the round trips, not
 * the work, were the cost), the set-aside evaluations (sql/011) and the reads of the timer
 * pass. Results are copied into typed arrays, so that services/evaluator.c composes them
 * without seeing a PGresult. */
#include "scaleupd/storage/evaluation_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/core/period.h"
#include "scaleupd/core/programme_doc.h"
#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/pgarray.h"
#include "scaleupd/storage/sql_numeric.h"

#define EVALUATION_TIMER_LOCK 7242005 /* advisory lock key of the timer pass */

static enum spc_direction direction_of(const char *name)
{
    return name == NULL                ? SPC_DIRECTION_NONE
           : strcmp(name, "up") == 0   ? SPC_DIRECTION_UP
           : strcmp(name, "down") == 0 ? SPC_DIRECTION_DOWN
                                       : SPC_DIRECTION_NONE;
}

static char *text_copy(const PGresult *res, int row, int col)
{
    const char *text = db_text(res, row, col);
    return text != NULL ? xstrdup(text) : NULL;
}

/* The rule in columns id, document, for_count, resolve_count from `col` on. */
static void read_rule(const PGresult *res, int row, int col, struct evaluation_rule *rule)
{
    rule->id = db_int64(res, row, col);
    rule->document = text_copy(res, row, col + 1);
    rule->for_count = (int)db_int64(res, row, col + 2);
    rule->resolve_count = (int)db_int64(res, row, col + 3);
}

/* Runs a query whose parameters are an optional first text one, the ids as a binary int8[]
 * and an optional third text one, prepared under name when it is not NULL (db_run takes
 * text parameters only; a claim's arrays travel in the binary format of pgarray.h). */
static PGresult *run_with_ids(PGconn *conn, const char *name, const char *sql, const char *first,
                              const int64_t *ids, size_t n_ids, const char *third, const char *what)
{
    struct pgarray array;
    pgarray_init(&array, PGARRAY_INT8);
    for (size_t i = 0; i < n_ids; i++)
        pgarray_add_int8(&array, ids[i]);
    pgarray_finish(&array);
    const char *values[3];
    int lengths[3] = {0, 0, 0}, formats[3] = {0, 0, 0}, n = 0;
    if (first != NULL)
        values[n++] = first;
    values[n] = array.data, lengths[n] = (int)array.len, formats[n] = 1, n++;
    if (third != NULL)
        values[n++] = third;
    PGresult *res = name != NULL ? db_exec_prepared(conn, name, sql, n, values, lengths, formats, 0)
                                 : PQexecParams(conn, sql, n, NULL, values, lengths, formats, 0);
    pgarray_free(&array);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, what)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* ---- dirty series ------------------------------------------------------------------- */

/* Marks are append-only (sql/007), one per ingest batch listing its series (sql/008): the
 * oldest rows are claimed, skipping those another evaluator holds, and each series they name
 * comes once; marks that ingest adds meanwhile are new rows, left for the next claim. Set-aside
 * evaluations whose retry is due (sql/011) join the claim through their series, locked so that
 * two evaluators do not retry the same. Each series says whether its own rules were set aside
 * (then a success clears that), and the earliest period its marks changed: NULL when a retry or
 * a mark that changed everything ('-infinity': a rule put on data already there) names it. */
/* The claim (evaluation_claim_dirty): one row per programme of the first $4 series (by
 * programme, then id) as comma-separated lists (ids, set aside 't'/'f', since and until in days,
 * empty when not known), with the marks and retries claimed and the marks put back. The series
 * past $4 go back as one mark per programme with their since and until, under ids counting
 * down from -1 (sql/035), so that the next claim takes them first: a claim of a national load
 * names 160,000 series, and each transaction then holds the locks and the memory of a slice.
 * When the oldest mark alone names $4 series or more (one put back), it is taken alone. */
static const char claim_sql[] =
    "WITH cand AS (SELECT id, cardinality(series_ids) AS c FROM dirty_series ORDER BY id"
    " LIMIT $1::int FOR UPDATE SKIP LOCKED),"
    " claimed AS (DELETE FROM dirty_series WHERE id IN (SELECT id FROM cand"
    " WHERE id = (SELECT min(id) FROM cand)"
    " OR (SELECT c FROM cand ORDER BY id LIMIT 1) < $4::int)"
    " RETURNING programme_id, series_ids, since_periods, until_periods, marked_at),"
    " due AS (SELECT programme_id, series_id FROM evaluation_set_aside"
    " WHERE retry_at <= to_timestamp($2::float8) ORDER BY retry_at LIMIT $3::int"
    " FOR UPDATE SKIP LOCKED),"
    " listed AS (SELECT c.programme_id, s.id, s.since, s.until FROM claimed c,"
    " unnest(c.series_ids, c.since_periods, c.until_periods) AS s(id, since, until)"
    " UNION ALL SELECT programme_id, series_id, NULL, NULL FROM due),"
    " each AS (SELECT programme_id, id, CASE WHEN bool_or(since IS NULL OR NOT isfinite(since))"
    " THEN NULL"
    " ELSE min(since) - date '1970-01-01' END AS since,"
    " CASE WHEN bool_or(until IS NULL OR NOT isfinite(until)) THEN NULL"
    " ELSE max(until) - date '1970-01-01' END AS until FROM listed GROUP BY 1, 2),"
    " ranked AS (SELECT *, row_number() OVER (ORDER BY programme_id, id) AS rn FROM each),"
    " back AS (INSERT INTO dirty_series (id, programme_id, series_ids, since_periods,"
    " until_periods, marked_at) SELECT nextval('dirty_series_head_seq'), programme_id,"
    " array_agg(id ORDER BY id), array_agg(date '1970-01-01' + since ORDER BY id),"
    " array_agg(date '1970-01-01' + until ORDER BY id),"
    " coalesce((SELECT min(marked_at) FROM claimed), now())"
    " FROM ranked WHERE rn > $4::int GROUP BY programme_id RETURNING 1),"
    " flagged AS (SELECT l.*, EXISTS (SELECT 1 FROM evaluation_set_aside x"
    " WHERE x.programme_id = l.programme_id AND x.series_id = l.id AND NOT x.aggregate) AS aside"
    " FROM ranked l WHERE rn <= $4::int)"
    " SELECT programme_id, count(*), (SELECT count(*) FROM claimed), (SELECT count(*) FROM due),"
    " string_agg(id::text, ',' ORDER BY id),"
    " string_agg(CASE WHEN aside THEN 't' ELSE 'f' END, '' ORDER BY id),"
    " string_agg(coalesce(since::text, ''), ',' ORDER BY id),"
    " string_agg(coalesce(until::text, ''), ',' ORDER BY id),"
    " (SELECT count(*) FROM back)"
    " FROM flagged GROUP BY programme_id ORDER BY programme_id";

/* The next number of a comma-separated list at *p (moved past it and its comma); `missing`
 * when the field is empty. */
static int64_t next_listed(const char **p, int64_t missing)
{
    const char *s = *p;
    int64_t v = missing;
    if (*s != ',' && *s != '\0') {
        char *end;
        v = strtoll(s, &end, 10);
        s = end;
    }
    *p = *s == ',' ? s + 1 : s;
    return v;
}

bool evaluation_claim_dirty(PGconn *conn, int marks, size_t slice, double now, int retries,
                            struct evaluation_claim *claim)
{
    *claim = (struct evaluation_claim){0};
    char limit[16], at[32], retry[16], per[24];
    snprintf(limit, sizeof(limit), "%d", marks);
    snprintf(at, sizeof(at), "%.6f", now);
    snprintf(retry, sizeof(retry), "%d", retries);
    snprintf(per, sizeof(per), "%zu", slice > 0 && slice < INT32_MAX ? slice : (size_t)INT32_MAX);
    const char *params[] = {limit, at, retry, per};
    PGresult *res = db_run(conn, "scaleupd_eval_claim", claim_sql, 4, params, PGRES_TUPLES_OK, NULL,
                           "claim dirty series");
    if (res == NULL)
        return false;
    size_t n = 0;
    for (int r = 0; r < PQntuples(res); r++)
        n += (size_t)db_int64(res, r, 1);
    claim->programme_ids = xcalloc(n + 1, sizeof(int64_t));
    claim->series_ids = xcalloc(n + 1, sizeof(int64_t));
    claim->set_aside = xcalloc(n + 1, sizeof(bool));
    claim->since = xcalloc(n + 1, sizeof(int32_t));
    claim->until = xcalloc(n + 1, sizeof(int32_t));
    size_t i = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t programme_id = db_int64(res, r, 0);
        size_t count = (size_t)db_int64(res, r, 1);
        const char *ids = db_text(res, r, 4), *aside = db_text(res, r, 5),
                   *since = db_text(res, r, 6), *until = db_text(res, r, 7);
        for (size_t k = 0; k < count && i < n; k++, i++) {
            claim->programme_ids[i] = programme_id;
            claim->series_ids[i] = next_listed(&ids, 0);
            claim->set_aside[i] = aside[k] == 't';
            claim->since[i] = (int32_t)next_listed(&since, INT32_MIN);
            claim->until[i] = (int32_t)next_listed(&until, INT32_MAX);
        }
    }
    claim->n = i;
    claim->marks = PQntuples(res) > 0 ? (long)db_int64(res, 0, 2) : 0;
    claim->retries = PQntuples(res) > 0 ? (long)db_int64(res, 0, 3) : 0;
    claim->put_back = PQntuples(res) > 0 && db_int64(res, 0, 8) > 0;
    PQclear(res);
    return true;
}

void evaluation_claim_free(struct evaluation_claim *claim)
{
    free(claim->programme_ids);
    free(claim->series_ids);
    free(claim->set_aside);
    free(claim->since);
    free(claim->until);
    *claim = (struct evaluation_claim){0};
}

/* From the claimed series to their alerts (alert_series: the site's, then the indicator's
 * alerts without a site), never from the open alerts to the series: open late-feed alerts
 * are not few at national scale (140,000 while a backfill loads, one per series), and that
 * way round each claim ran for minutes. */
#define DUE_ALERT_OF(site_condition)                                                               \
    "EXISTS (SELECT 1 FROM alert a JOIN alert_rule r ON r.programme_id = a.programme_id"           \
    " AND r.id = a.rule_id WHERE a.programme_id = s.programme_id"                                  \
    " AND a.indicator_id = s.indicator_id AND " site_condition                                     \
    " AND a.state IN ('pending', 'firing', 'no_data') AND r.kind IN ('late_feed', "                \
    "'completeness'))"
/* clang-format off */ /* it would fold the macros into the literals */
/* The series are found by their primary key (programme, id): `id = ANY (ids)` alone cannot use
 * it, and scanned every series of every programme, testing each against the claim's ids (at
 * 100,000 series, 0.85 s for a round of 1,000 given a month, 0.18 s now: bench/evaluate.sh). */
static const char due_alert_touched_sql[] =
    "SELECT EXISTS (SELECT 1 FROM unnest($1::int8[], $2::int8[]) AS c(programme_id, id)"
    " CROSS JOIN LATERAL (SELECT * FROM series s WHERE s.programme_id = c.programme_id"
    " AND s.id = c.id LIMIT 1) s WHERE "
    DUE_ALERT_OF("a.site_id = s.site_id") " OR " DUE_ALERT_OF("a.site_id IS NULL") ")";
/* clang-format on */

bool evaluation_due_alert_touched(PGconn *conn, const int64_t *programme_ids,
                                  const int64_t *series_ids, size_t n, bool *touched)
{
    *touched = false;
    if (n == 0)
        return true;
    struct pgarray programmes, series;
    pgarray_init(&programmes, PGARRAY_INT8);
    pgarray_init(&series, PGARRAY_INT8);
    for (size_t i = 0; i < n; i++) {
        pgarray_add_int8(&programmes, programme_ids[i]);
        pgarray_add_int8(&series, series_ids[i]);
    }
    pgarray_finish(&programmes);
    pgarray_finish(&series);
    const char *values[] = {programmes.data, series.data};
    int lengths[] = {(int)programmes.len, (int)series.len}, formats[] = {1, 1};
    PGresult *res = PQexecParams(conn, due_alert_touched_sql, 2, NULL, values, lengths, formats, 0);
    pgarray_free(&programmes);
    pgarray_free(&series);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "look for open late-feed alerts");
    if (ok)
        *touched = db_bool(res, 0, 0);
    PQclear(res);
    return ok;
}

/* ---- the set-based reads of a group ------------------------------------------------- */

/* Per-site rules of the series in $2: a rule applies when its indicator is the series' or
 * none, and its site is the series' site, an ancestor of it, or none. */
static const char group_rules_sql[] =
    "WITH RECURSIVE se AS (SELECT id, indicator_id, site_id FROM series WHERE"
    " programme_id = $1 AND id = ANY ($2::int8[])),"
    " up AS (SELECT se.id AS series_id, s.id AS site_id, s.parent_id FROM se JOIN site s ON"
    " s.programme_id = $1 AND s.id = se.site_id"
    " UNION ALL SELECT up.series_id, s.id, s.parent_id FROM up JOIN site s ON"
    " s.programme_id = $1 AND s.id = up.parent_id),"
    " anc AS (SELECT series_id, array_agg(site_id) AS sites FROM up GROUP BY series_id)"
    " SELECT se.id, r.id, r.document, r.for_count, r.resolve_count, se.indicator_id,"
    " se.site_id, i.direction, (extract(epoch FROM r.updated_at) * 1000000)::int8"
    " FROM se JOIN anc ON anc.series_id = se.id"
    " JOIN indicator i ON i.programme_id = $1 AND i.id = se.indicator_id"
    " JOIN alert_rule r ON r.programme_id = $1"
    " WHERE r.enabled AND r.kind IN ('spc', 'threshold')"
    " AND NOT coalesce((r.document ->> 'aggregate')::boolean, false)"
    " AND (r.indicator_id IS NULL OR r.indicator_id = se.indicator_id)"
    " AND (r.site_id IS NULL OR r.site_id = ANY (anc.sites))"
    " ORDER BY se.id, r.id";

/* The stored detector states (sql/013) of the (series $2, rule $3) of a group's applications,
 * with the updated_at of the rule each was fed under, by their primary key, in a statement
 * planned afresh at each call (detectors_of): the table grows while a first evaluation fills
 * it, and a plan cached while it was empty scanned it whole for every group and every probe
 * (8 to 20x the time of 100,000 first evaluations, bench/evaluate.sh). */
static const char group_detectors_sql[] =
    "SELECT d.series_id, d.rule_id, d.params, encode(d.state, 'hex'),"
    " (extract(epoch FROM d.rule_updated_at) * 1000000)::int8"
    " FROM detector_state d WHERE d.programme_id = $1 AND (d.series_id, d.rule_id) IN"
    " (SELECT * FROM unnest($2::int8[], $3::int8[])) ORDER BY 1, 2";

/* Reads the detector states of the group's applications (after read_applications). */
static PGresult *detectors_of(PGconn *conn, const char *pid, const struct evaluation_group *g)
{
    struct pgarray arrays[2];
    pgarray_init(&arrays[0], PGARRAY_INT8);
    pgarray_init(&arrays[1], PGARRAY_INT8);
    for (size_t i = 0; i < g->n_applications; i++) {
        pgarray_add_int8(&arrays[0], g->applications[i].series_id);
        pgarray_add_int8(&arrays[1], g->rules[g->applications[i].rule].id);
    }
    const char *values[3] = {pid};
    int lengths[3] = {0}, formats[3] = {0};
    for (int a = 0; a < 2; a++) {
        pgarray_finish(&arrays[a]);
        values[a + 1] = arrays[a].data, lengths[a + 1] = (int)arrays[a].len, formats[a + 1] = 1;
    }
    /* planned at each call, not prepared: a plan cached while the table was nearly empty (a
       scan) would stay until an ANALYZE; a fresh plan sees the table's current size */
    PGresult *res = PQexecParams(conn, group_detectors_sql, 3, NULL, values, lengths, formats, 0);
    for (int a = 0; a < 2; a++)
        pgarray_free(&arrays[a]);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "read the detector states of a claim")) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Per request ($2 series, $3 from day, $4 limit, $5 until day or NULL): the latest $4 values
 * on or after the from day and on or before the until day, oldest first; a NaN or infinity
 * that an older version stored is no value. The days bound the index scan, so a series' next
 * point costs the same whatever its history. */
/* clang-format off */ /* it would fold the macros into the literals */
static const char group_values_sql[] =
    "SELECT o.series_id, o.value, o.period_start - date '1970-01-01'"
    " FROM unnest($2::int8[], $3::int4[], $4::int4[], $5::int4[]) AS c(id, from_day, lim, until_day)"
    " CROSS JOIN LATERAL (SELECT series_id, value, period_start FROM observation"
    " WHERE programme_id = $1 AND series_id = c.id"
    " AND period_start >= date '1970-01-01' + c.from_day"
    " AND period_start <= coalesce(date '1970-01-01' + c.until_day, 'infinity')"
    " AND " SQL_FINITE("value") " IS NOT NULL"
    " ORDER BY period_start DESC LIMIT c.lim) o ORDER BY o.series_id, o.period_start";
/* clang-format on */

/* The alerts the series in $2 have, by rule (a rule with no alert on a series whose value is
 * fine has nothing to write). */
static const char group_alerts_sql[] =
    "SELECT s.id, a.rule_id FROM series s JOIN alert a ON a.programme_id = s.programme_id"
    " AND a.indicator_id = s.indicator_id AND a.site_id = s.site_id"
    " WHERE s.programme_id = $1 AND s.id = ANY ($2::int8[]) ORDER BY 1, 2";

/* The index of the rule of row `row` (columns 1..4) in the group, added when new: a claim's
 * series share a handful of rules. */
static size_t group_rule(struct evaluation_group *g, size_t *cap, const PGresult *res, int row)
{
    int64_t id = db_int64(res, row, 1);
    for (size_t i = g->n_rules; i > 0; i--)
        if (g->rules[i - 1].id == id)
            return i - 1;
    if (g->n_rules == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        g->rules = xrealloc(g->rules, *cap * sizeof(*g->rules));
    }
    read_rule(res, row, 1, &g->rules[g->n_rules]);
    g->rules[g->n_rules].updated_us = db_int64(res, row, 8);
    return g->n_rules++;
}

static void read_applications(struct evaluation_group *g, const PGresult *res)
{
    size_t n = (size_t)PQntuples(res), cap = 0;
    g->applications = xcalloc(n + 1, sizeof(*g->applications));
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        g->applications[i] = (struct evaluation_application){
            .series_id = db_int64(res, row, 0),
            .rule = group_rule(g, &cap, res, row),
            .indicator_id = db_int64(res, row, 5),
            .site_id = db_int64(res, row, 6),
            .direction = direction_of(db_text(res, row, 7)),
        };
    }
    g->n_applications = n;
}

static void read_values(struct evaluation_group *g, const PGresult *res)
{
    size_t n = (size_t)PQntuples(res);
    g->value_series = xcalloc(n + 1, sizeof(int64_t));
    g->values = xcalloc(n + 1, sizeof(double));
    g->days = xcalloc(n + 1, sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        g->value_series[i] = db_int64(res, (int)i, 0);
        g->values[i] = db_double(res, (int)i, 1);
        g->days[i] = (int32_t)db_int64(res, (int)i, 2);
    }
    g->n_values = n;
}

static void read_alert_keys(struct evaluation_group *g, const PGresult *res)
{
    size_t n = (size_t)PQntuples(res);
    g->alerts = xcalloc(n + 1, sizeof(*g->alerts));
    for (size_t i = 0; i < n; i++)
        g->alerts[i] =
            (struct evaluation_alert_key){db_int64(res, (int)i, 0), db_int64(res, (int)i, 1)};
    g->n_alerts = n;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hex digits to bytes: *len of them, NULL for text that is not hex (then len is 0). */
static unsigned char *hex_bytes(const char *hex, size_t *len)
{
    size_t n = hex != NULL ? strlen(hex) : 0;
    *len = 0;
    if (n % 2 != 0)
        return NULL;
    unsigned char *out = xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

/* One stored state from columns series_id, rule_id, params, hex state, rule_us and, when
 * with_prior, hex prior (NULL: none). */
static void read_detector_row(const PGresult *res, int row, bool with_prior,
                              struct evaluation_detector_row *d)
{
    d->series_id = db_int64(res, row, 0);
    d->rule_id = db_int64(res, row, 1);
    d->params = text_copy(res, row, 2);
    d->state = hex_bytes(db_text(res, row, 3), &d->state_len);
    d->rule_updated_us = db_int64(res, row, 4);
    if (with_prior && !db_is_null(res, row, 5))
        d->prior = hex_bytes(db_text(res, row, 5), &d->prior_len);
    d->gated_through = INT32_MIN;
    if (with_prior && !db_is_null(res, row, 6))
        d->gated_through = (int32_t)db_int64(res, row, 6);
}

static void read_detectors(struct evaluation_group *g, const PGresult *res)
{
    size_t n = (size_t)PQntuples(res);
    g->detectors = xcalloc(n + 1, sizeof(*g->detectors));
    for (size_t i = 0; i < n; i++)
        read_detector_row(res, (int)i, false, &g->detectors[i]);
    g->n_detectors = n;
}

bool evaluation_group_read(PGconn *conn, int64_t programme_id, const int64_t *series_ids, size_t n,
                           struct evaluation_group *group)
{
    *group = (struct evaluation_group){0};
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    PGresult *rules = run_with_ids(conn, "scaleupd_eval_rules", group_rules_sql, pid, series_ids, n,
                                   NULL, "read the rules of a claim");
    PGresult *alerts = rules == NULL
                           ? NULL
                           : run_with_ids(conn, "scaleupd_eval_alerts", group_alerts_sql, pid,
                                          series_ids, n, NULL, "read the alerts of a claim");
    if (alerts != NULL) {
        read_applications(group, rules);
        read_alert_keys(group, alerts);
    }
    PGresult *detectors = alerts == NULL ? NULL : detectors_of(conn, pid, group);
    bool ok = detectors != NULL;
    if (ok)
        read_detectors(group, detectors);
    else
        evaluation_group_free(group); /* nothing half-read is left to the caller */
    PQclear(rules);
    PQclear(detectors);
    PQclear(alerts);
    return ok;
}

bool evaluation_group_values(PGconn *conn, int64_t programme_id,
                             const struct evaluation_values_request *requests, size_t n,
                             struct evaluation_group *group)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    struct pgarray arrays[4];
    pgarray_init(&arrays[0], PGARRAY_INT8);
    pgarray_init(&arrays[1], PGARRAY_INT4);
    pgarray_init(&arrays[2], PGARRAY_INT4);
    pgarray_init(&arrays[3], PGARRAY_INT4);
    for (size_t i = 0; i < n; i++) {
        pgarray_add_int8(&arrays[0], requests[i].series_id);
        pgarray_add_int4(&arrays[1], requests[i].from_day);
        pgarray_add_int4(&arrays[2], requests[i].limit);
        if (requests[i].until_day == EVALUATION_TO_LAST)
            pgarray_add_null(&arrays[3]);
        else
            pgarray_add_int4(&arrays[3], requests[i].until_day);
    }
    const char *values[5] = {pid};
    int lengths[5] = {0}, formats[5] = {0};
    for (int a = 0; a < 4; a++) {
        pgarray_finish(&arrays[a]);
        values[a + 1] = arrays[a].data, lengths[a + 1] = (int)arrays[a].len, formats[a + 1] = 1;
    }
    PGresult *res = db_exec_prepared(conn, "scaleupd_eval_values", group_values_sql, 5, values,
                                     lengths, formats, 0);
    for (int a = 0; a < 4; a++)
        pgarray_free(&arrays[a]);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "read the values of a claim")) {
        PQclear(res);
        return false;
    }
    read_values(group, res);
    PQclear(res);
    return true;
}

/* Creates or replaces the state of each (rule $3, series $2) (sql/013) with the updated_at
 * of the rule it was fed under ($8, microseconds): a rule changed meanwhile is read as changed.
 * A rule deleted meanwhile has no state to keep. */
static const char detector_store_sql[] =
    "INSERT INTO detector_state AS d (programme_id, rule_id, series_id, params,"
    " rule_updated_at, state, last_period, holding, updated_at)"
    " SELECT $1, u.rule_id, u.series_id, u.params,"
    " timestamptz 'epoch' + u.rule_us * interval '1 microsecond', decode(u.state, 'hex'),"
    " date '1970-01-01' + u.last_day, u.holding, to_timestamp($9::float8)"
    " FROM unnest($2::int8[], $3::int8[], $4::text[], $5::text[], $6::int4[], $7::bool[],"
    " $8::int8[]) AS u(series_id, rule_id, params, state, last_day, holding, rule_us)"
    " WHERE EXISTS (SELECT 1 FROM alert_rule r WHERE r.programme_id = $1 AND r.id = u.rule_id)"
    " ON CONFLICT (programme_id, series_id, rule_id) DO UPDATE SET params = excluded.params,"
    " rule_updated_at = excluded.rule_updated_at, state = excluded.state,"
    " last_period = excluded.last_period, holding = excluded.holding,"
    " updated_at = excluded.updated_at";

/* The arrays of a detector store: the series ids (a series' states only), then rule id,
 * params, state, last day, holding and rule_us, then the prior states (an aggregate's only). */
#define DETECTOR_ARRAYS 8

/* Adds len bytes as hex text, or NULL when bytes is NULL. */
static void add_hex(struct pgarray *a, const void *bytes, size_t len)
{
    if (bytes == NULL) {
        pgarray_add_null(a);
        return;
    }
    char *hex = xmalloc(2 * len + 1);
    static const char digits[] = "0123456789abcdef"; /* snprintf per byte cost 1.5 s of
                                                         100,000 first evaluations */
    for (size_t b = 0; b < len; b++) {
        unsigned char byte = ((const unsigned char *)bytes)[b];
        hex[2 * b] = digits[byte >> 4];
        hex[2 * b + 1] = digits[byte & 15];
    }
    pgarray_add_text(a, hex, 2 * len);
    free(hex);
}

static void detector_arrays(struct pgarray a[DETECTOR_ARRAYS],
                            const struct evaluation_detector_save *rows, size_t n)
{
    static const uint32_t oids[DETECTOR_ARRAYS] = {PGARRAY_INT8, PGARRAY_INT8, PGARRAY_TEXT,
                                                   PGARRAY_TEXT, PGARRAY_INT4, PGARRAY_BOOL,
                                                   PGARRAY_INT8, PGARRAY_TEXT};
    for (int i = 0; i < DETECTOR_ARRAYS; i++)
        pgarray_init(&a[i], oids[i]);
    for (size_t i = 0; i < n; i++) {
        const struct evaluation_detector_save *r = &rows[i];
        pgarray_add_int8(&a[0], r->series_id);
        pgarray_add_int8(&a[1], r->rule_id);
        pgarray_add_text(&a[2], r->params, strlen(r->params));
        add_hex(&a[3], r->state, r->state_len);
        if (r->last_day == INT32_MIN)
            pgarray_add_null(&a[4]);
        else
            pgarray_add_int4(&a[4], r->last_day);
        pgarray_add_bool(&a[5], r->holding);
        pgarray_add_int8(&a[6], r->rule_updated_us);
        add_hex(&a[7], r->prior, r->prior_len);
    }
    for (int i = 0; i < DETECTOR_ARRAYS; i++)
        pgarray_finish(&a[i]);
}

/* Runs a detector store: the `first` leading text parameters, arrays [from, to) of rows, then
 * now (unix seconds) as the last parameter. */
static bool store_detectors(PGconn *conn, const char *name, const char *sql, const char **first,
                            int n_first, int from, int to,
                            const struct evaluation_detector_save *rows, size_t n, double now)
{
    if (n == 0)
        return true;
    char at[32];
    snprintf(at, sizeof(at), "%.6f", now);
    struct pgarray a[DETECTOR_ARRAYS];
    detector_arrays(a, rows, n);
    const char *values[DETECTOR_ARRAYS + 4] = {0};
    int lengths[DETECTOR_ARRAYS + 4] = {0}, formats[DETECTOR_ARRAYS + 4] = {0}, k = 0;
    for (int i = 0; i < n_first; i++)
        values[k++] = first[i];
    bool fits = true;
    for (int i = from; i < to; i++, k++) {
        fits = fits && pgarray_ok(&a[i]);
        values[k] = a[i].data, lengths[k] = (int)a[i].len, formats[k] = 1;
    }
    values[k++] = at;
    PGresult *res = fits ? db_exec_prepared(conn, name, sql, k, values, lengths, formats, 0) : NULL;
    for (int i = 0; i < DETECTOR_ARRAYS; i++)
        pgarray_free(&a[i]);
    bool ok = db_ok(res, PGRES_COMMAND_OK, NULL, "store detector states");
    PQclear(res);
    return ok;
}

bool evaluation_detector_store(PGconn *conn, int64_t programme_id,
                               const struct evaluation_detector_save *rows, size_t n, double now)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *first[] = {pid};
    return store_detectors(conn, "scaleupd_eval_detector_store", detector_store_sql, first, 1, 0, 7,
                           rows, n, now);
}

static const char budget_sql[] =
    "SELECT CASE WHEN jsonb_typeof(document -> 'alert_budget' -> $2) = 'number'"
    " THEN (document -> 'alert_budget' ->> $2)::float8 / 100 END FROM programme WHERE id = $1";

bool evaluation_programme_budget(PGconn *conn, int64_t programme_id, double *per_series_year)
{
    *per_series_year = NAN;
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid, PROGRAMME_BUDGET_KEY};
    PGresult *res = db_run(conn, "scaleupd_eval_budget", budget_sql, 2, params, PGRES_TUPLES_OK,
                           NULL, "read the alert budget");
    if (res == NULL)
        return false;
    double v;
    if (PQntuples(res) == 1 && db_double_opt(res, 0, 0, &v))
        *per_series_year = v;
    PQclear(res);
    return true;
}

void evaluation_group_free(struct evaluation_group *group)
{
    for (size_t i = 0; i < group->n_rules; i++)
        free(group->rules[i].document);
    evaluation_detector_rows_free(&group->detectors, group->n_detectors);
    free(group->rules);
    free(group->applications);
    free(group->value_series);
    free(group->values);
    free(group->days);
    free(group->alerts);
    *group = (struct evaluation_group){0};
}

/* The aggregate rules that the claimed series of one programme ($2, each changed from the day
 * in $3) feed, by subject (indicator, site) then rule, each saying whether its subject is set
 * aside and the earliest period its claimed series changed in. */
static const char aggregate_rules_sql[] =
    "WITH RECURSIVE se AS (SELECT s.indicator_id, s.site_id, min(c.since) AS since"
    " FROM unnest($2::int8[], $3::int4[]) AS c(id, since) JOIN series s ON"
    " s.programme_id = $1 AND s.id = c.id GROUP BY s.indicator_id, s.site_id),"
    " up AS (SELECT se.indicator_id, s.id AS site_id, s.parent_id, se.since FROM se JOIN site s"
    " ON s.programme_id = $1 AND s.id = se.site_id"
    " UNION SELECT up.indicator_id, s.id, s.parent_id, up.since FROM up JOIN site s ON"
    " s.programme_id = $1 AND s.id = up.parent_id),"
    " subject AS (SELECT indicator_id, site_id, parent_id, min(since) AS since FROM up"
    " GROUP BY indicator_id, site_id, parent_id)"
    " SELECT DISTINCT ON (up.indicator_id, up.site_id, r.id) r.id, r.document, r.for_count,"
    " r.resolve_count, up.indicator_id, up.site_id, i.direction, i.aggregate,"
    " i.value_type = 'percentage',"
    " EXISTS (SELECT 1 FROM evaluation_set_aside x WHERE x.programme_id = $1"
    " AND x.indicator_id = up.indicator_id AND x.site_id = up.site_id AND x.aggregate),"
    " up.since, (extract(epoch FROM r.updated_at) * 1000000)::int8"
    " FROM subject up JOIN indicator i ON i.programme_id = $1 AND i.id = up.indicator_id"
    " JOIN alert_rule r ON r.programme_id = $1 AND r.enabled AND r.kind IN ('spc', 'threshold')"
    " AND coalesce((r.document ->> 'aggregate')::boolean, false)"
    " AND (r.indicator_id IS NULL OR r.indicator_id = up.indicator_id)"
    " AND (r.site_id = up.site_id OR (r.site_id IS NULL AND up.parent_id IS NULL))"
    " WHERE EXISTS (SELECT 1 FROM site c WHERE c.programme_id = $1 AND c.parent_id = up.site_id)"
    " ORDER BY up.indicator_id, up.site_id, r.id";

/* Runs aggregate_rules_sql with the ids and their days as binary arrays. */
static PGresult *aggregate_rules_of(PGconn *conn, const char *pid, const int64_t *series_ids,
                                    const int32_t *since, size_t n)
{
    struct pgarray arrays[2];
    pgarray_init(&arrays[0], PGARRAY_INT8);
    pgarray_init(&arrays[1], PGARRAY_INT4);
    for (size_t i = 0; i < n; i++) {
        pgarray_add_int8(&arrays[0], series_ids[i]);
        pgarray_add_int4(&arrays[1], since != NULL ? since[i] : INT32_MIN);
    }
    const char *values[3] = {pid};
    int lengths[3] = {0}, formats[3] = {0};
    bool fits = true;
    for (int a = 0; a < 2; a++) {
        pgarray_finish(&arrays[a]);
        fits = fits && pgarray_ok(&arrays[a]);
        values[a + 1] = arrays[a].data, lengths[a + 1] = (int)arrays[a].len, formats[a + 1] = 1;
    }
    PGresult *res =
        fits ? PQexecParams(conn, aggregate_rules_sql, 3, NULL, values, lengths, formats, 0) : NULL;
    for (int a = 0; a < 2; a++)
        pgarray_free(&arrays[a]);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "read the aggregate rules of a claim")) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* The rows of aggregate_rules_sql or waiting_aggregates_sql (which adds the period type and
 * today as columns 12 and 13). */
static void read_aggregate_rules(const PGresult *res, struct evaluation_aggregate_rule **rules,
                                 size_t *n_rules)
{
    size_t rows = (size_t)PQntuples(res);
    bool waiting = PQnfields(res) > 13;
    *rules = xcalloc(rows + 1, sizeof(**rules));
    for (size_t i = 0; i < rows; i++) {
        struct evaluation_aggregate_rule *r = &(*rules)[i];
        read_rule(res, (int)i, 0, &r->rule);
        r->indicator_id = db_int64(res, (int)i, 4);
        r->site_id = db_int64(res, (int)i, 5);
        r->direction = direction_of(db_text(res, (int)i, 6));
        r->aggregate = text_copy(res, (int)i, 7);
        r->percentage = db_bool(res, (int)i, 8);
        r->set_aside = db_bool(res, (int)i, 9);
        r->since = (int32_t)db_int64(res, (int)i, 10);
        r->rule.updated_us = db_int64(res, (int)i, 11);
        r->period_type = PERIOD_MONTHLY;
        r->today = INT32_MIN;
        if (waiting && !db_is_null(res, (int)i, 12) &&
            !period_type_from_name(db_text(res, (int)i, 12), &r->period_type))
            r->period_type = PERIOD_MONTHLY;
        if (waiting && !db_is_null(res, (int)i, 13))
            r->today = (int32_t)db_int64(res, (int)i, 13);
    }
    *n_rules = rows;
}

bool evaluation_aggregate_rules(PGconn *conn, int64_t programme_id, const int64_t *series_ids,
                                const int32_t *since, size_t n,
                                struct evaluation_aggregate_rule **rules, size_t *n_rules)
{
    *rules = NULL, *n_rules = 0;
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    PGresult *res = aggregate_rules_of(conn, pid, series_ids, since, n);
    if (res == NULL)
        return false;
    read_aggregate_rules(res, rules, n_rules);
    PQclear(res);
    return true;
}

/* The states of the aggregate rules of subject (indicator $2, site $3), locked: two
 * evaluations of one subject (two daemons' claims of different practices) go one after the
 * other, the second reading what the first stored. */
static const char aggregate_states_sql[] =
    "SELECT 0, d.rule_id, d.params, encode(d.state, 'hex'),"
    " (extract(epoch FROM d.rule_updated_at) * 1000000)::int8, encode(d.prior, 'hex'),"
    " d.gated_through - DATE '1970-01-01'"
    " FROM aggregate_detector_state d WHERE d.programme_id = $1 AND d.indicator_id = $2"
    " AND d.site_id = $3 ORDER BY d.rule_id FOR UPDATE";

bool evaluation_aggregate_states(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                 int64_t site_id, struct evaluation_detector_row **rows, size_t *n)
{
    *rows = NULL, *n = 0;
    char pid[24], iid[24], sid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(iid, sizeof(iid), "%lld", (long long)indicator_id);
    snprintf(sid, sizeof(sid), "%lld", (long long)site_id);
    const char *params[] = {pid, iid, sid};
    PGresult *res = db_run(conn, NULL, aggregate_states_sql, 3, params, PGRES_TUPLES_OK, NULL,
                           "read the detector states of an aggregate");
    if (res == NULL)
        return false;
    *n = (size_t)PQntuples(res);
    *rows = xcalloc(*n + 1, sizeof(**rows));
    for (size_t i = 0; i < *n; i++)
        read_detector_row(res, (int)i, true, &(*rows)[i]);
    PQclear(res);
    return true;
}

void evaluation_detector_rows_free(struct evaluation_detector_row **rows, size_t n)
{
    for (size_t i = 0; *rows != NULL && i < n; i++) {
        free((*rows)[i].params);
        free((*rows)[i].state);
        free((*rows)[i].prior);
    }
    free(*rows);
    *rows = NULL;
}

/* Creates or replaces the state of each rule ($4) on subject (indicator $2, site $3), as
 * detector_store_sql does for series, with the state before its last point ($10). */
static const char aggregate_store_sql[] =
    "INSERT INTO aggregate_detector_state AS d (programme_id, indicator_id, site_id, rule_id,"
    " params, rule_updated_at, state, prior, last_period, holding, updated_at)"
    " SELECT $1, $2, $3, u.rule_id, u.params,"
    " timestamptz 'epoch' + u.rule_us * interval '1 microsecond', decode(u.state, 'hex'),"
    " decode(u.prior, 'hex'), date '1970-01-01' + u.last_day, u.holding, to_timestamp($11::float8)"
    " FROM unnest($4::int8[], $5::text[], $6::text[], $7::int4[], $8::bool[], $9::int8[],"
    " $10::text[]) AS u(rule_id, params, state, last_day, holding, rule_us, prior)"
    " WHERE EXISTS (SELECT 1 FROM alert_rule r WHERE r.programme_id = $1 AND r.id = u.rule_id)"
    " ON CONFLICT (programme_id, indicator_id, site_id, rule_id) DO UPDATE SET"
    " params = excluded.params, rule_updated_at = excluded.rule_updated_at,"
    " state = excluded.state, prior = excluded.prior, last_period = excluded.last_period,"
    " holding = excluded.holding, updated_at = excluded.updated_at";

bool evaluation_aggregate_state_store(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                      int64_t site_id, const struct evaluation_detector_save *rows,
                                      size_t n, double now)
{
    char pid[24], iid[24], sid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(iid, sizeof(iid), "%lld", (long long)indicator_id);
    snprintf(sid, sizeof(sid), "%lld", (long long)site_id);
    const char *first[] = {pid, iid, sid};
    return store_detectors(conn, "scaleupd_eval_aggregate_store", aggregate_store_sql, first, 3, 1,
                           DETECTOR_ARRAYS, rows, n, now);
}

/* gated_through of each rule ($4) of subject (indicator $2, site $3) set to its day ($5). */
static const char aggregate_gated_sql[] =
    "UPDATE aggregate_detector_state d SET gated_through = DATE '1970-01-01' + u.day"
    " FROM unnest($4::int8[], $5::int4[]) AS u(rule_id, day) WHERE d.programme_id = $1"
    " AND d.indicator_id = $2 AND d.site_id = $3 AND d.rule_id = u.rule_id";

bool evaluation_aggregate_gated_store(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                      int64_t site_id, const int64_t *rule_ids, const int32_t *days,
                                      size_t n)
{
    if (n == 0)
        return true;
    char pid[24], iid[24], sid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(iid, sizeof(iid), "%lld", (long long)indicator_id);
    snprintf(sid, sizeof(sid), "%lld", (long long)site_id);
    struct pgarray arrays[2];
    pgarray_init(&arrays[0], PGARRAY_INT8);
    pgarray_init(&arrays[1], PGARRAY_INT4);
    for (size_t i = 0; i < n; i++) {
        pgarray_add_int8(&arrays[0], rule_ids[i]);
        pgarray_add_int4(&arrays[1], days[i]);
    }
    const char *values[5] = {pid, iid, sid};
    int lengths[5] = {0}, formats[5] = {0};
    bool fits = true;
    for (int a = 0; a < 2; a++) {
        pgarray_finish(&arrays[a]);
        fits = fits && pgarray_ok(&arrays[a]);
        values[a + 3] = arrays[a].data, lengths[a + 3] = (int)arrays[a].len, formats[a + 3] = 1;
    }
    PGresult *res =
        fits ? PQexecParams(conn, aggregate_gated_sql, 5, NULL, values, lengths, formats, 0) : NULL;
    for (int a = 0; a < 2; a++)
        pgarray_free(&arrays[a]);
    bool ok = db_ok(res, PGRES_COMMAND_OK, NULL, "record the periods an aggregate gate decided");
    PQclear(res);
    return ok;
}

/* The sweep's subjects of programme $1: the first rollup point after what every stored state
 * of the subject decided (one probe of the rollup's key per state, whatever its history),
 * then its rules as aggregate_rules_sql gives them (not set aside),
 * with the indicator's period type and today at $2 in the programme's time zone. */
static const char waiting_aggregates_sql[] =
    "WITH w AS (SELECT d.indicator_id, d.site_id, min(u.period_start) AS waiting"
    " FROM aggregate_detector_state d CROSS JOIN LATERAL (SELECT u.period_start FROM rollup u"
    "  WHERE u.programme_id = $1 AND u.indicator_id = d.indicator_id AND u.site_id = d.site_id"
    "  AND u.period_start > coalesce(greatest(d.last_period, d.gated_through), '-infinity')"
    "  ORDER BY u.period_start LIMIT 1) u"
    " WHERE d.programme_id = $1 GROUP BY d.indicator_id, d.site_id)"
    " SELECT DISTINCT ON (w.indicator_id, w.site_id, r.id) r.id, r.document, r.for_count,"
    " r.resolve_count, w.indicator_id, w.site_id, i.direction, i.aggregate,"
    " i.value_type = 'percentage', false, w.waiting - DATE '1970-01-01',"
    " (extract(epoch FROM r.updated_at) * 1000000)::int8, i.period_type,"
    " (SELECT (to_timestamp($2::float8) AT TIME ZONE p.time_zone)::date - DATE '1970-01-01'"
    "  FROM programme p WHERE p.id = $1)"
    " FROM w JOIN site s ON s.programme_id = $1 AND s.id = w.site_id"
    " JOIN indicator i ON i.programme_id = $1 AND i.id = w.indicator_id"
    " JOIN alert_rule r ON r.programme_id = $1 AND r.enabled AND r.kind IN ('spc', 'threshold')"
    " AND coalesce((r.document ->> 'aggregate')::boolean, false)"
    " AND (r.indicator_id IS NULL OR r.indicator_id = w.indicator_id)"
    " AND (r.site_id = w.site_id OR (r.site_id IS NULL AND s.parent_id IS NULL))"
    " WHERE NOT EXISTS (SELECT 1 FROM evaluation_set_aside x WHERE x.programme_id = $1"
    " AND x.indicator_id = w.indicator_id AND x.site_id = w.site_id AND x.aggregate)"
    " ORDER BY w.indicator_id, w.site_id, r.id";

bool evaluation_waiting_aggregates(PGconn *conn, int64_t programme_id, double now,
                                   struct evaluation_aggregate_rule **rules, size_t *n_rules)
{
    *rules = NULL, *n_rules = 0;
    char pid[24], at[32];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(at, sizeof(at), "%.6f", now);
    const char *params[] = {pid, at};
    PGresult *res = db_run(conn, NULL, waiting_aggregates_sql, 2, params, PGRES_TUPLES_OK, NULL,
                           "read the aggregate months waiting for their due date");
    if (res == NULL)
        return false;
    read_aggregate_rules(res, rules, n_rules);
    PQclear(res);
    return true;
}

void evaluation_aggregate_rules_free(struct evaluation_aggregate_rule **rules, size_t n)
{
    for (size_t i = 0; *rules != NULL && i < n; i++) {
        free((*rules)[i].rule.document);
        free((*rules)[i].aggregate);
    }
    free(*rules);
    *rules = NULL;
}

/* ---- set-aside evaluations (sql/011) ----------------------------------------------- */

/* Records a failure of the evaluation of series $2's own rules (no $3, $4), or of the
 * aggregate of indicator $3 at site $4, to be retried through the first series of a
 * descendant site: retry in 1 minute after the first failure, then after twice the last
 * wait, at most an hour. */
static const char set_aside_sql[] =
    "WITH RECURSIVE down AS (SELECT id FROM site WHERE programme_id = $1 AND parent_id = $4::bigint"
    " UNION ALL SELECT s.id FROM site s JOIN down d ON s.programme_id = $1 AND s.parent_id = d.id),"
    " target AS (SELECT se.id, se.indicator_id, se.site_id, false AS aggregate FROM series se"
    " WHERE $3::bigint IS NULL AND se.programme_id = $1 AND se.id = $2::bigint"
    " UNION ALL SELECT (SELECT min(se.id) FROM series se WHERE se.programme_id = $1"
    " AND se.indicator_id = $3::bigint AND se.site_id IN (SELECT id FROM down)), $3::bigint,"
    " $4::bigint, true WHERE $3::bigint IS NOT NULL)"
    " INSERT INTO evaluation_set_aside AS x (programme_id, indicator_id, site_id, aggregate,"
    " series_id, reason, failures, set_aside_at, failed_at, retry_at)"
    " SELECT $1, t.indicator_id, t.site_id, t.aggregate, t.id, $5, 1, n, n, n + interval '1 minute'"
    " FROM target t, to_timestamp($6::float8) n WHERE t.id IS NOT NULL"
    " ON CONFLICT (programme_id, indicator_id, site_id, aggregate) DO UPDATE SET"
    " series_id = excluded.series_id, reason = excluded.reason, failures = x.failures + 1,"
    " failed_at = excluded.failed_at, retry_at = excluded.failed_at"
    " + least(3600, 60 * 2 ^ least(x.failures, 6)) * interval '1 second'"
    " RETURNING failures, extract(epoch FROM retry_at), series_id,"
    " (SELECT i.code FROM indicator i WHERE i.programme_id = $1 AND i.id = x.indicator_id),"
    " (SELECT s.code FROM site s WHERE s.programme_id = $1 AND s.id = x.site_id)";

bool evaluation_set_aside(PGconn *conn, const struct evaluation_failure *f,
                          struct evaluation_set_aside_row *row)
{
    *row = (struct evaluation_set_aside_row){0};
    char pid[24], sid[24], ind[24], site[24], at[32];
    snprintf(pid, sizeof(pid), "%lld", (long long)f->programme_id);
    snprintf(sid, sizeof(sid), "%lld", (long long)f->series_id);
    snprintf(ind, sizeof(ind), "%lld", (long long)f->indicator_id);
    snprintf(site, sizeof(site), "%lld", (long long)f->site_id);
    snprintf(at, sizeof(at), "%.6f", f->now);
    const char *params[] = {pid,       sid, f->aggregate ? ind : NULL, f->aggregate ? site : NULL,
                            f->reason, at};
    PGresult *res = db_run(conn, "scaleupd_eval_set_aside", set_aside_sql, 6, params,
                           PGRES_TUPLES_OK, NULL, "set aside a series");
    if (res == NULL)
        return false;
    if (PQntuples(res) == 1) { /* else the series is gone: nothing to retry */
        row->failures = (int)db_int64(res, 0, 0);
        row->retry_at = db_double(res, 0, 1);
        row->series_id = db_int64(res, 0, 2);
        snprintf(row->indicator, sizeof(row->indicator), "%s", db_text(res, 0, 3));
        snprintf(row->site, sizeof(row->site), "%s", db_text(res, 0, 4));
    }
    PQclear(res);
    return true;
}

static const char clear_series_sql[] =
    "DELETE FROM evaluation_set_aside WHERE programme_id = $1 AND series_id = ANY ($2::int8[])"
    " AND NOT aggregate";

static const char clear_aggregate_sql[] =
    "DELETE FROM evaluation_set_aside WHERE programme_id = $1 AND indicator_id = $2"
    " AND site_id = $3 AND aggregate";

bool evaluation_set_aside_clear_series(PGconn *conn, int64_t programme_id,
                                       const int64_t *series_ids, size_t n)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    struct pgarray array;
    pgarray_init(&array, PGARRAY_INT8);
    for (size_t i = 0; i < n; i++)
        pgarray_add_int8(&array, series_ids[i]);
    pgarray_finish(&array);
    const char *values[] = {pid, array.data};
    int lengths[] = {0, (int)array.len}, formats[] = {0, 1};
    /* a binary array parameter: db_exec_prepared, which db_run does not offer */
    PGresult *res = db_exec_prepared(conn, "scaleupd_eval_clear_series", clear_series_sql, 2,
                                     values, lengths, formats, 0);
    pgarray_free(&array);
    bool ok = db_ok(res, PGRES_COMMAND_OK, NULL, "clear set-aside series");
    PQclear(res);
    return ok;
}

bool evaluation_set_aside_clear_aggregate(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                          int64_t site_id)
{
    char pid[24], ind[24], site[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(ind, sizeof(ind), "%lld", (long long)indicator_id);
    snprintf(site, sizeof(site), "%lld", (long long)site_id);
    const char *params[] = {pid, ind, site};
    return db_command(conn, "scaleupd_eval_clear_aggregate", clear_aggregate_sql, 3, params, NULL,
                      "clear a set-aside aggregate");
}

bool evaluation_set_aside_count(PGconn *conn, long *n)
{
    *n = 0;
    PGresult *res = db_run(conn, NULL, "SELECT count(*) FROM evaluation_set_aside", 0, NULL,
                           PGRES_TUPLES_OK, NULL, "count set-aside series");
    if (res == NULL)
        return false;
    *n = (long)db_int64(res, 0, 0);
    PQclear(res);
    return true;
}

void evaluation_failure_reason(PGconn *conn, char *buf, size_t size)
{
    const char *message = PQerrorMessage(conn), *state = db_last_sqlstate();
    if (strncmp(message, "ERROR:", 6) == 0)
        message += 6;
    message += strspn(message, " ");
    size_t len = strcspn(message, "\n");
    if (len == 0)
        snprintf(buf, size, "its evaluation failed (see the log)");
    else if (state[0] != '\0')
        snprintf(buf, size, "%.*s (SQLSTATE %s)", (int)len, message, state);
    else
        snprintf(buf, size, "%.*s", (int)len, message);
    /* the cut may split a character (a translated message, a long name), and the reason is
     * stored as text: a byte PostgreSQL refuses would fail the very write that sets it aside */
    utf8_make_valid(buf);
}

/* ---- the timer pass ------------------------------------------------------------------ */

bool evaluation_timer_lock(PGconn *conn, bool *mine)
{
    char key[16];
    snprintf(key, sizeof(key), "%d", EVALUATION_TIMER_LOCK);
    const char *params[] = {key};
    PGresult *res = db_run(conn, NULL, "SELECT pg_try_advisory_lock($1::int8)", 1, params,
                           PGRES_TUPLES_OK, NULL, "take the evaluation lock");
    *mine = res != NULL && db_bool(res, 0, 0);
    PQclear(res);
    return res != NULL;
}

bool evaluation_timer_unlock(PGconn *conn)
{
    char key[16];
    snprintf(key, sizeof(key), "%d", EVALUATION_TIMER_LOCK);
    const char *params[] = {key};
    return db_command(conn, NULL, "SELECT pg_advisory_unlock($1::int8)", 1, params, NULL,
                      "release the evaluation lock");
}

bool evaluation_programme_ids(PGconn *conn, int64_t **ids, size_t *n)
{
    *ids = NULL, *n = 0;
    PGresult *res = db_run(conn, NULL, "SELECT id FROM programme ORDER BY id", 0, NULL,
                           PGRES_TUPLES_OK, NULL, "list programmes");
    if (res == NULL)
        return false;
    size_t rows = (size_t)PQntuples(res);
    *ids = xcalloc(rows + 1, sizeof(int64_t));
    for (size_t i = 0; i < rows; i++)
        (*ids)[i] = db_int64(res, (int)i, 0);
    *n = rows;
    PQclear(res);
    return true;
}

static const char due_rules_sql[] =
    "SELECT r.id, r.document, r.for_count, r.resolve_count, r.programme_id, i.id, i.period_type,"
    " (to_timestamp($1) AT TIME ZONE p.time_zone)::date - date '1970-01-01', r.site_id"
    " FROM alert_rule r JOIN programme p ON p.id = r.programme_id JOIN indicator i ON"
    " i.programme_id = r.programme_id AND (r.indicator_id IS NULL OR i.id = r.indicator_id)"
    " WHERE r.enabled AND r.kind IN ('late_feed', 'completeness') ORDER BY r.programme_id, r.id,"
    " i.id";

bool evaluation_due_rules(PGconn *conn, double now, struct evaluation_due_rule **rules, size_t *n)
{
    *rules = NULL, *n = 0;
    char t[32];
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {t};
    PGresult *res =
        db_run(conn, NULL, due_rules_sql, 1, params, PGRES_TUPLES_OK, NULL, "read late-feed rules");
    if (res == NULL)
        return false;
    size_t rows = (size_t)PQntuples(res);
    *rules = xcalloc(rows + 1, sizeof(**rules));
    for (size_t i = 0; i < rows; i++) {
        struct evaluation_due_rule *d = &(*rules)[i];
        int row = (int)i;
        read_rule(res, row, 0, &d->rule);
        d->programme_id = db_int64(res, row, 4);
        d->indicator_id = db_int64(res, row, 5);
        d->period_type = text_copy(res, row, 6);
        d->today = (int32_t)db_int64(res, row, 7);
        d->scoped = db_int64_opt(res, row, 8, &d->site_scope);
    }
    *n = rows;
    PQclear(res);
    return true;
}

void evaluation_due_rules_free(struct evaluation_due_rule **rules, size_t n)
{
    for (size_t i = 0; *rules != NULL && i < n; i++) {
        free((*rules)[i].rule.document);
        free((*rules)[i].period_type);
    }
    free(*rules);
    *rules = NULL;
}

/* The sites due, each with the stored late-feed alert of rule $6 on it (subject
 * "i<indicator>:s<site>") and whether a series alert of it is open (to park in no_data). */
static const char due_sites_sql[] =
    "WITH RECURSIVE down AS (SELECT id FROM site WHERE programme_id = $1 AND id = $5::bigint"
    " UNION ALL SELECT s.id FROM site s JOIN down ON s.programme_id = $1 AND s.parent_id ="
    " down.id)"
    " SELECT m.site_id, EXISTS (SELECT 1 FROM series se JOIN observation o ON o.programme_id ="
    " se.programme_id AND o.series_id = se.id WHERE se.programme_id = $1 AND se.indicator_id ="
    " $2 AND se.site_id = m.site_id AND o.period_start = $3::date),"
    " EXISTS (SELECT 1 FROM series se WHERE se.programme_id = $1 AND se.indicator_id = $2 AND"
    " se.site_id = m.site_id),"
    " EXISTS (SELECT 1 FROM alert o JOIN alert_rule r ON r.programme_id = o.programme_id AND"
    " r.id = o.rule_id WHERE o.programme_id = $1 AND o.indicator_id = $2 AND o.site_id ="
    " m.site_id AND r.kind IN ('spc', 'threshold') AND o.state IN ('pending', 'firing') AND NOT"
    " coalesce((r.document ->> 'aggregate')::boolean, false)), " ALERT_STORED_COLUMNS
    " FROM membership m LEFT JOIN alert a ON a.programme_id = $1 AND a.rule_id = $6::bigint"
    " AND a.subject = 'i' || $2::bigint || ':s' || m.site_id"
    " WHERE m.programme_id = $1 AND m.status = 'active' AND (m.adopted_on IS"
    " NULL OR m.adopted_on <= $4::date) AND ($5::bigint IS NULL OR m.site_id IN (SELECT id FROM"
    " down)) ORDER BY m.site_id";

bool evaluation_due_sites(PGconn *conn, int64_t programme_id, int64_t indicator_id, int64_t rule_id,
                          int32_t period_start, int32_t period_end, const int64_t *site_scope,
                          struct evaluation_due_site **sites, size_t *n)
{
    *sites = NULL, *n = 0;
    char pid[24], ind[24], rid[24], start[DATE_FORMAT_MAX], end[DATE_FORMAT_MAX], scope[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(ind, sizeof(ind), "%lld", (long long)indicator_id);
    snprintf(rid, sizeof(rid), "%lld", (long long)rule_id);
    if (site_scope != NULL)
        snprintf(scope, sizeof(scope), "%lld", (long long)*site_scope);
    if (!date_format(period_start, start, sizeof(start)) ||
        !date_format(period_end, end, sizeof(end)))
        return false;
    const char *params[] = {pid, ind, start, end, site_scope != NULL ? scope : NULL, rid};
    PGresult *res = db_run(conn, NULL, due_sites_sql, 6, params, PGRES_TUPLES_OK, NULL,
                           "read the sites due to report");
    if (res == NULL)
        return false;
    size_t rows = (size_t)PQntuples(res);
    *sites = xcalloc(rows + 1, sizeof(**sites));
    bool ok = true;
    for (size_t i = 0; ok && i < rows; i++) {
        struct evaluation_due_site *site = &(*sites)[i];
        *site = (struct evaluation_due_site){.site_id = db_int64(res, (int)i, 0),
                                             .reported = db_bool(res, (int)i, 1),
                                             .has_feed = db_bool(res, (int)i, 2),
                                             .series_alerts_open = db_bool(res, (int)i, 3)};
        ok = alerts_stored_parse(res, (int)i, 4, &site->alert);
    }
    PQclear(res);
    if (!ok) {
        free(*sites);
        *sites = NULL;
        return false;
    }
    *n = rows;
    return true;
}

static const char open_alerts_sql[] =
    "SELECT a.rule_id, a.subject, r.for_count, r.resolve_count FROM alert"
    " a JOIN alert_rule r ON r.programme_id = a.programme_id AND r.id ="
    " a.rule_id WHERE a.programme_id = $1 AND a.indicator_id = $2 AND"
    " a.site_id = $3 AND r.kind IN ('spc', 'threshold') AND a.state IN"
    " ('pending', 'firing') AND NOT coalesce((r.document ->>"
    " 'aggregate')::boolean, false)";

bool evaluation_open_alerts(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                            int64_t site_id, struct evaluation_open_alert **alerts, size_t *n)
{
    *alerts = NULL, *n = 0;
    char pid[24], ind[24], site[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(ind, sizeof(ind), "%lld", (long long)indicator_id);
    snprintf(site, sizeof(site), "%lld", (long long)site_id);
    const char *params[] = {pid, ind, site};
    PGresult *res = db_run(conn, NULL, open_alerts_sql, 3, params, PGRES_TUPLES_OK, NULL,
                           "read the alerts of a late series");
    if (res == NULL)
        return false;
    size_t rows = (size_t)PQntuples(res);
    *alerts = xcalloc(rows + 1, sizeof(**alerts));
    for (size_t i = 0; i < rows; i++) {
        struct evaluation_open_alert *a = &(*alerts)[i];
        a->rule.id = db_int64(res, (int)i, 0);
        a->subject = text_copy(res, (int)i, 1);
        a->rule.for_count = (int)db_int64(res, (int)i, 2);
        a->rule.resolve_count = (int)db_int64(res, (int)i, 3);
    }
    *n = rows;
    PQclear(res);
    return true;
}

void evaluation_open_alerts_free(struct evaluation_open_alert **alerts, size_t n)
{
    for (size_t i = 0; *alerts != NULL && i < n; i++)
        free((*alerts)[i].subject);
    free(*alerts);
    *alerts = NULL;
}

static const char trajectory_rules_sql[] =
    "SELECT r.id, r.document, r.for_count, r.resolve_count, r.programme_id, r.dimension"
    " FROM alert_rule r WHERE r.enabled AND r.kind = 'trajectory' ORDER BY r.programme_id, r.id";

bool evaluation_trajectory_rules(PGconn *conn, struct evaluation_trajectory_rule **rules, size_t *n)
{
    *rules = NULL, *n = 0;
    PGresult *res = db_run(conn, NULL, trajectory_rules_sql, 0, NULL, PGRES_TUPLES_OK, NULL,
                           "read trajectory rules");
    if (res == NULL)
        return false;
    size_t rows = (size_t)PQntuples(res);
    *rules = xcalloc(rows + 1, sizeof(**rules));
    for (size_t i = 0; i < rows; i++) {
        struct evaluation_trajectory_rule *t = &(*rules)[i];
        read_rule(res, (int)i, 0, &t->rule);
        t->programme_id = db_int64(res, (int)i, 4);
        t->dimension = text_copy(res, (int)i, 5);
    }
    *n = rows;
    PQclear(res);
    return true;
}

void evaluation_trajectory_rules_free(struct evaluation_trajectory_rule **rules, size_t n)
{
    for (size_t i = 0; *rules != NULL && i < n; i++) {
        free((*rules)[i].rule.document);
        free((*rules)[i].dimension);
    }
    free(*rules);
    *rules = NULL;
}
