/* The evaluator: claims series that ingest marked dirty (SKIP LOCKED, so two daemons never
 * take the same) and runs their spc and threshold rules; on a timer, under an advisory lock,
 * runs late-feed and completeness rules against due dates in each programme's time zone. */
#include "scaleupd/services/evaluator.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/storage/alerts.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/observations_read.h"
#include "scaleupd/core/period.h"
#include "scaleupd/storage/pgarray.h"
#include "scaleupd/services/progress_service.h"
#include "scaleupd/core/rules.h"

#define EVALUATOR_BATCH 16     /* marks per transaction; a mark lists up to 1,000 series */
#define EVALUATOR_BATCH_BUSY 4 /* marks of the one claim made while requests are served */
#define EVALUATOR_MAX_WAIT 1.0 /* seconds dirty series wait at most for ingest to pause */
#define EVALUATOR_HISTORY 500  /* points of a series an spc rule looks at */
#define EVALUATOR_GROUP 250    /* series whose values are read at once (≤ 125,000 points) */
#define EVALUATOR_TIMER_LOCK 7242005

static bool exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok =
        db_ok(res, PQresultStatus(res) == PGRES_TUPLES_OK ? PGRES_TUPLES_OK : PGRES_COMMAND_OK,
              NULL, sql);
    PQclear(res);
    return ok;
}

/* Parses a stored rule document (valid when stored; a bad one is skipped with a warning). */
static bool stored_rule(const char *text, struct rule *rule)
{
    json_t *doc = json_loads(text, 0, NULL);
    json_t *problems = rule_parse(doc, rule);
    bool ok = doc != NULL && json_array_size(problems) == 0;
    if (!ok)
        log_warning("could not use a stored rule: its document is not valid");
    json_decref(problems);
    json_decref(doc);
    return ok;
}

/* The evaluation of a claim's series is set-based: one statement reads the spc and
 * threshold rules of all of them, one their latest EVALUATOR_HISTORY values, one the alerts
 * they already have; then each series is evaluated in memory and only alerts that exist or
 * start to hold are written. Three statements per claim instead of three per series (the
 * round trips, not the work, were the cost). */

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
    " se.site_id, i.direction FROM se JOIN anc ON anc.series_id = se.id"
    " JOIN indicator i ON i.programme_id = $1 AND i.id = se.indicator_id"
    " JOIN alert_rule r ON r.programme_id = $1"
    " WHERE r.enabled AND r.kind IN ('spc', 'threshold')"
    " AND NOT coalesce((r.document ->> 'aggregate')::boolean, false)"
    " AND (r.indicator_id IS NULL OR r.indicator_id = se.indicator_id)"
    " AND (r.site_id IS NULL OR r.site_id = ANY (anc.sites))"
    " ORDER BY se.id, r.id";

/* The latest $3 values of each series in $2, oldest first. */
static const char group_values_sql[] =
    "SELECT o.series_id, o.value, o.period_start - date '1970-01-01'"
    " FROM unnest($2::int8[]) AS c(id) CROSS JOIN LATERAL (SELECT series_id, value,"
    " period_start FROM observation WHERE programme_id = $1 AND series_id = c.id"
    " ORDER BY period_start DESC LIMIT $3::int) o ORDER BY o.series_id, o.period_start";

/* The alerts the series in $2 have, by rule (a rule with no alert on a series whose value is
 * fine has nothing to write). */
static const char group_alerts_sql[] =
    "SELECT s.id, a.rule_id FROM series s JOIN alert a ON a.programme_id = s.programme_id"
    " AND a.indicator_id = s.indicator_id AND a.site_id = s.site_id"
    " WHERE s.programme_id = $1 AND s.id = ANY ($2::int8[]) ORDER BY 1, 2";

static enum spc_direction direction_of(const char *name)
{
    return strcmp(name, "up") == 0     ? SPC_DIRECTION_UP
           : strcmp(name, "down") == 0 ? SPC_DIRECTION_DOWN
                                       : SPC_DIRECTION_NONE;
}

/* The rules of one claim, each parsed once. */
struct parsed_rule {
    int64_t id;
    bool ok;
    struct rule rule;
};

struct rule_cache {
    struct parsed_rule *rules;
    size_t n, cap;
};

static const struct rule *cached_rule(struct rule_cache *c, int64_t id, const char *document)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->rules[i].id == id)
            return c->rules[i].ok ? &c->rules[i].rule : NULL;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct parsed_rule *r = realloc(c->rules, cap * sizeof(*r));
        if (r == NULL)
            return NULL;
        c->rules = r, c->cap = cap;
    }
    struct parsed_rule *p = &c->rules[c->n++];
    p->id = id;
    p->ok = stored_rule(document, &p->rule);
    return p->ok ? &p->rule : NULL;
}

/* One series' values, pointing into the group's arrays. */
struct series_values {
    const double *values;
    const int32_t *days;
    size_t n;
};

/* Evaluates rule row `row` of group_rules_sql on the series' values; `exists` says whether
 * the rule has an alert on the series. */
static bool evaluate_rule_row(PGconn *conn, const PGresult *res, int row, int64_t programme_id,
                              const struct series_values *sv, struct rule_cache *rules, bool exists,
                              double now)
{
    const struct rule *rule = cached_rule(rules, db_int64(res, row, 1), PQgetvalue(res, row, 2));
    if (rule == NULL)
        return true;
    struct rule_eval eval;
    if (rule->kind == RULE_THRESHOLD)
        rule_eval_threshold(rule, sv->values[sv->n - 1], &eval);
    else if (!rule_eval_spc(rule, sv->values, sv->days, sv->n,
                            direction_of(PQgetvalue(res, row, 7)), &eval))
        return true;
    if (!eval.holds && !exists)
        return true; /* a quiet subject: nothing to remember */
    char subject[64];
    snprintf(subject, sizeof(subject), "i%s:s%s", PQgetvalue(res, row, 5), PQgetvalue(res, row, 6));
    struct alert_update u = {.programme_id = programme_id,
                             .rule_id = db_int64(res, row, 1),
                             .subject = subject,
                             .indicator_id = db_int64(res, row, 5),
                             .site_id = db_int64(res, row, 6),
                             .for_count = (int)db_int64(res, row, 3),
                             .resolve_count = (int)db_int64(res, row, 4),
                             .obs = eval.holds ? ALERT_OBS_HOLDS : ALERT_OBS_OK,
                             .eval = &eval,
                             .period_start = sv->days[sv->n - 1],
                             .now = now};
    return alerts_apply(conn, &u);
}

/* Runs one of the group statements with the programme, the series ids and an optional third
 * text parameter. */
static PGresult *group_query(PGconn *conn, const char *name, const char *sql, const char *pid,
                             const struct pgarray *ids, const char *third)
{
    const char *values[] = {pid, ids->data, third};
    int lengths[] = {0, (int)ids->len, 0};
    int formats[] = {0, 1, 0};
    return db_exec_prepared(conn, name, sql, third ? 3 : 2, values, lengths, formats, 0);
}

/* Evaluates the spc and threshold rules of the claimed series in rows [from, to) of a claim
 * (one programme's, in series id order). */
static bool evaluate_group(PGconn *conn, const PGresult *claimed, int from, int to, double now)
{
    int64_t programme_id = db_int64(claimed, from, 0);
    char pid[24], limit[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(limit, sizeof(limit), "%d", EVALUATOR_HISTORY);
    struct pgarray ids;
    pgarray_init(&ids, PGARRAY_INT8);
    for (int i = from; i < to; i++)
        pgarray_add_int8(&ids, db_int64(claimed, i, 1));
    pgarray_finish(&ids);
    PGresult *rules = group_query(conn, "scaleupd_eval_rules", group_rules_sql, pid, &ids, NULL);
    PGresult *vals = group_query(conn, "scaleupd_eval_values", group_values_sql, pid, &ids, limit);
    PGresult *alerts = group_query(conn, "scaleupd_eval_alerts", group_alerts_sql, pid, &ids, NULL);
    pgarray_free(&ids);
    bool ok = db_ok(rules, PGRES_TUPLES_OK, NULL, "read the rules of a claim") &&
              db_ok(vals, PGRES_TUPLES_OK, NULL, "read the values of a claim") &&
              db_ok(alerts, PGRES_TUPLES_OK, NULL, "read the alerts of a claim");
    int n_vals = ok ? PQntuples(vals) : 0;
    double *values = calloc((size_t)n_vals + 1, sizeof(double));
    int32_t *days = calloc((size_t)n_vals + 1, sizeof(int32_t));
    ok = ok && values != NULL && days != NULL;
    for (int i = 0; ok && i < n_vals; i++) {
        values[i] = db_double(vals, i, 1);
        days[i] = (int32_t)db_int64(vals, i, 2);
    }
    struct rule_cache cache = {0};
    int v = 0, r = 0, a = 0, n_rules = ok ? PQntuples(rules) : 0,
        n_alerts = ok ? PQntuples(alerts) : 0;
    for (int i = from; ok && i < to; i++) {
        int64_t sid = db_int64(claimed, i, 1);
        while (v < n_vals && db_int64(vals, v, 0) < sid)
            v++;
        struct series_values sv = {values + v, days + v, 0};
        while (v < n_vals && db_int64(vals, v, 0) == sid)
            v++, sv.n++;
        while (r < n_rules && db_int64(rules, r, 0) < sid)
            r++;
        while (a < n_alerts && db_int64(alerts, a, 0) < sid)
            a++;
        for (; ok && r < n_rules && db_int64(rules, r, 0) == sid; r++) {
            if (sv.n == 0)
                continue; /* no value yet: nothing to evaluate */
            int64_t rule_id = db_int64(rules, r, 1);
            while (a < n_alerts && db_int64(alerts, a, 0) == sid &&
                   db_int64(alerts, a, 1) < rule_id)
                a++;
            bool exists =
                a < n_alerts && db_int64(alerts, a, 0) == sid && db_int64(alerts, a, 1) == rule_id;
            ok = evaluate_rule_row(conn, rules, r, programme_id, &sv, &cache, exists, now);
        }
    }
    free(cache.rules);
    free(values);
    free(days);
    PQclear(rules);
    PQclear(vals);
    PQclear(alerts);
    return ok;
}

/* The aggregate rules that the claimed series of one programme ($2) feed: each rule with the
 * site whose descendants it aggregates (its scope site, or each top-level site when it has
 * none) for each indicator, when that site has descendants and one of them is a claimed
 * series' site. */
static const char aggregate_rules_sql[] =
    "WITH RECURSIVE se AS (SELECT DISTINCT indicator_id, site_id FROM series WHERE"
    " programme_id = $1 AND id = ANY ($2::int8[])),"
    " up AS (SELECT se.indicator_id, s.id AS site_id, s.parent_id FROM se JOIN site s ON"
    " s.programme_id = $1 AND s.id = se.site_id"
    " UNION SELECT up.indicator_id, s.id, s.parent_id FROM up JOIN site s ON"
    " s.programme_id = $1 AND s.id = up.parent_id)"
    " SELECT DISTINCT ON (r.id, up.indicator_id, up.site_id) r.id, r.document, r.for_count,"
    " r.resolve_count, up.indicator_id, up.site_id, i.direction, i.aggregate,"
    " i.value_type = 'percentage'"
    " FROM up JOIN indicator i ON i.programme_id = $1 AND i.id = up.indicator_id"
    " JOIN alert_rule r ON r.programme_id = $1 AND r.enabled AND r.kind IN ('spc', 'threshold')"
    " AND coalesce((r.document ->> 'aggregate')::boolean, false)"
    " AND (r.indicator_id IS NULL OR r.indicator_id = up.indicator_id)"
    " AND (r.site_id = up.site_id OR (r.site_id IS NULL AND up.parent_id IS NULL))"
    " WHERE EXISTS (SELECT 1 FROM site c WHERE c.programme_id = $1 AND c.parent_id = up.site_id)"
    " ORDER BY r.id, up.indicator_id, up.site_id";

/* Evaluates one row of aggregate_rules_sql on the aggregate's points; the summary says how
 * many of the sites expected the latest point covers (a missing report is never a zero). */
static bool evaluate_aggregate_row(PGconn *conn, const PGresult *res, int row, int64_t programme_id,
                                   double now)
{
    struct rule rule;
    if (!stored_rule(PQgetvalue(res, row, 1), &rule))
        return true;
    int64_t indicator_id = db_int64(res, row, 4), site_id = db_int64(res, row, 5);
    struct aggregate_points ap;
    if (!observations_aggregate(conn, programme_id, indicator_id, site_id, PQgetvalue(res, row, 7),
                                strcmp(PQgetvalue(res, row, 8), "t") == 0, EVALUATOR_HISTORY, &ap))
        return false;
    bool ok = true;
    struct rule_eval eval;
    bool have = ap.n > 0;
    if (have && rule.kind == RULE_THRESHOLD)
        rule_eval_threshold(&rule, ap.values[ap.n - 1], &eval);
    else if (have)
        have = rule_eval_spc(&rule, ap.values, ap.days, ap.n, direction_of(PQgetvalue(res, row, 6)),
                             &eval);
    if (have) {
        size_t len = strlen(eval.summary);
        snprintf(eval.summary + len, sizeof(eval.summary) - len, " (%ld of %ld sites)",
                 ap.sites[ap.n - 1], ap.expected);
        char subject[64];
        snprintf(subject, sizeof(subject), "i%lld:a%lld", (long long)indicator_id,
                 (long long)site_id);
        struct alert_update u = {.programme_id = programme_id,
                                 .rule_id = db_int64(res, row, 0),
                                 .subject = subject,
                                 .indicator_id = indicator_id,
                                 .site_id = site_id,
                                 .for_count = (int)db_int64(res, row, 2),
                                 .resolve_count = (int)db_int64(res, row, 3),
                                 .obs = eval.holds ? ALERT_OBS_HOLDS : ALERT_OBS_OK,
                                 .eval = &eval,
                                 .period_start = ap.days[ap.n - 1],
                                 .now = now};
        ok = alerts_apply(conn, &u);
    }
    aggregate_points_free(&ap);
    return ok;
}

/* The aggregate rules fed by rows [from, to) of a claim (one programme's series). */
static bool evaluate_aggregates(PGconn *conn, const PGresult *claimed, int from, int to, double now)
{
    int64_t programme_id = db_int64(claimed, from, 0);
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    struct pgarray ids;
    pgarray_init(&ids, PGARRAY_INT8);
    for (int i = from; i < to; i++)
        pgarray_add_int8(&ids, db_int64(claimed, i, 1));
    pgarray_finish(&ids);
    const char *values[] = {pid, ids.data};
    int lengths[] = {0, (int)ids.len};
    int formats[] = {0, 1};
    PGresult *res = PQexecParams(conn, aggregate_rules_sql, 2, NULL, values, lengths, formats, 0);
    pgarray_free(&ids);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "read the aggregate rules of a claim");
    for (int i = 0; ok && i < PQntuples(res); i++)
        ok = evaluate_aggregate_row(conn, res, i, programme_id, now);
    PQclear(res);
    return ok;
}

/* Whether new data in the claimed series can change an open late-feed or completeness alert
 * (a late site that reported, an indicator whose completeness was low): then the due rules
 * are evaluated now rather than at their next interval. Open alerts are few (a partial
 * index), so this costs little however large the batch. */
static bool touches_open_due_alert(PGconn *conn, const PGresult *claimed)
{
    int n = PQntuples(claimed);
    if (n == 0)
        return false;
    struct pgarray ids;
    pgarray_init(&ids, PGARRAY_INT8);
    for (int i = 0; i < n; i++)
        pgarray_add_int8(&ids, db_int64(claimed, i, 1));
    pgarray_finish(&ids);
    const char *values[] = {ids.data};
    int lengths[] = {(int)ids.len};
    int formats[] = {1};
    PGresult *res = PQexecParams(
        conn,
        "SELECT EXISTS (SELECT 1 FROM alert a JOIN alert_rule r ON r.programme_id ="
        " a.programme_id AND r.id = a.rule_id WHERE a.state IN ('pending', 'firing', 'no_data')"
        " AND r.kind IN ('late_feed', 'completeness') AND EXISTS (SELECT 1 FROM series s WHERE"
        " s.programme_id = a.programme_id AND s.indicator_id = a.indicator_id AND (a.site_id IS"
        " NULL OR s.site_id = a.site_id) AND s.id = ANY ($1::int8[])))",
        1, NULL, values, lengths, formats, 0);
    pgarray_free(&ids);
    bool touched = db_ok(res, PGRES_TUPLES_OK, NULL, "look for open late-feed alerts") &&
                   strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return touched;
}

/* One batch of marks in one transaction: the series they name are evaluated once each.
 * Returns the number of marks claimed (the caller stops below a full batch), -1 on error;
 * *due_touched is set when the series may change an open late-feed or completeness alert. */
static long evaluate_dirty_batch(PGconn *conn, double now, int marks, bool *due_touched)
{
    if (!exec_ok(conn, "BEGIN"))
        return -1;
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", marks);
    const char *params[] = {limit};
    /* marks are append-only (sql/007), one per batch listing its series (sql/008): claim
     * the oldest rows, skipping those another evaluator holds, and evaluate each series they
     * name once; marks that ingest adds meanwhile are new rows, left for the next batch */
    PGresult *res = db_query(conn,
                             "WITH claimed AS (DELETE FROM dirty_series WHERE id IN (SELECT id FROM"
                             " dirty_series ORDER BY id LIMIT $1::int FOR UPDATE SKIP LOCKED)"
                             " RETURNING programme_id, series_ids)"
                             " SELECT c.programme_id, s.id, (SELECT count(*) FROM claimed)"
                             " FROM claimed c, unnest(c.series_ids) AS s(id)"
                             " GROUP BY c.programme_id, s.id ORDER BY 1, 2",
                             1, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "claim dirty series");
    long n = ok ? PQntuples(res) : -1;
    long claimed = ok && n > 0 ? (long)db_int64(res, 0, 2) : 0;
    if (ok && !*due_touched)
        *due_touched = touches_open_due_alert(conn, res);
    int64_t last_programme = 0;
    int first_of_programme = 0;
    for (long i = 0; ok && i < n; i++) {
        int64_t programme_id = db_int64(res, (int)i, 0);
        if (programme_id != last_programme)
            ok = alerts_ensure_defaults(conn, programme_id), first_of_programme = (int)i;
        last_programme = programme_id;
        bool programme_ends = i + 1 == n || db_int64(res, (int)i + 1, 0) != programme_id;
        /* groups of EVALUATOR_GROUP series keep what one read of values holds bounded */
        int end = (int)i + 1;
        for (int g = first_of_programme; ok && programme_ends && g < end; g += EVALUATOR_GROUP)
            ok = evaluate_group(conn, res, g, end - g > EVALUATOR_GROUP ? g + EVALUATOR_GROUP : end,
                                now);
        if (ok && programme_ends)
            ok = evaluate_aggregates(conn, res, first_of_programme, end, now);
    }
    PQclear(res);
    if (!ok || !exec_ok(conn, "COMMIT")) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }
    return claimed;
}

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* When this daemon last claimed dirty series (monotonic; only the evaluate task, which never
 * runs twice at once, touches it), and how long dirty series may wait for requests. */
static double last_claim_mono;
static _Atomic double max_wait = EVALUATOR_MAX_WAIT;

void evaluator_set_max_wait(double seconds)
{
    atomic_store(&max_wait, seconds < 0 ? EVALUATOR_MAX_WAIT : seconds);
}

long evaluator_run_dirty(PGconn *conn, double now, bool *due_touched, evaluator_yield_fn yield,
                         void *yield_arg, bool *more)
{
    long total = 0;
    *due_touched = false;
    *more = false;
    for (int round = 0; round < 50; round++) {
        /* while requests are served, dirty series wait up to EVALUATOR_MAX_WAIT, then one
         * small claim goes ahead; the run stops as soon as requests come */
        bool busy = yield != NULL && yield(yield_arg);
        if (busy && (round > 0 || monotonic_now() - last_claim_mono < atomic_load(&max_wait))) {
            *more = true;
            break;
        }
        last_claim_mono = monotonic_now();
        int marks = busy ? EVALUATOR_BATCH_BUSY : EVALUATOR_BATCH;
        long n = evaluate_dirty_batch(conn, now, marks, due_touched);
        if (n < 0)
            return -1;
        total += n;
        *more = n == marks; /* a full claim: more may be waiting */
        if (!*more)
            break;
    }
    return total;
}

static const char due_sites_sql[] =
    "WITH RECURSIVE down AS (SELECT id FROM site WHERE programme_id = $1 AND id = $5::bigint"
    " UNION ALL SELECT s.id FROM site s JOIN down ON s.programme_id = $1 AND s.parent_id ="
    " down.id)"
    " SELECT m.site_id, EXISTS (SELECT 1 FROM series se JOIN observation o ON o.programme_id ="
    " se.programme_id AND o.series_id = se.id WHERE se.programme_id = $1 AND se.indicator_id ="
    " $2 AND se.site_id = m.site_id AND o.period_start = $3::date),"
    " EXISTS (SELECT 1 FROM series se WHERE se.programme_id = $1 AND se.indicator_id = $2 AND"
    " se.site_id = m.site_id)"
    " FROM membership m WHERE m.programme_id = $1 AND m.status = 'active' AND (m.adopted_on IS"
    " NULL OR m.adopted_on <= $4::date) AND ($5::bigint IS NULL OR m.site_id IN (SELECT id FROM"
    " down)) ORDER BY m.site_id";

/* Parks the firing spc and threshold alerts of a late series in no_data (not those of an
 * aggregate rule on that site: its region's other sites may well have reported). */
static bool mark_no_data(PGconn *conn, const char *pid, const char *ind, const char *site,
                         double now)
{
    const char *params[] = {pid, ind, site};
    PGresult *res = db_query(conn,
                             "SELECT a.rule_id, a.subject, r.for_count, r.resolve_count FROM alert"
                             " a JOIN alert_rule r ON r.programme_id = a.programme_id AND r.id ="
                             " a.rule_id WHERE a.programme_id = $1 AND a.indicator_id = $2 AND"
                             " a.site_id = $3 AND r.kind IN ('spc', 'threshold') AND a.state IN"
                             " ('pending', 'firing') AND NOT coalesce((r.document ->>"
                             " 'aggregate')::boolean, false)",
                             3, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "read the alerts of a late series");
    for (int i = 0; ok && i < PQntuples(res); i++) {
        struct alert_update u = {.programme_id = strtoll(pid, NULL, 10),
                                 .rule_id = db_int64(res, i, 0),
                                 .subject = PQgetvalue(res, i, 1),
                                 .indicator_id = strtoll(ind, NULL, 10),
                                 .site_id = strtoll(site, NULL, 10),
                                 .for_count = (int)db_int64(res, i, 2),
                                 .resolve_count = (int)db_int64(res, i, 3),
                                 .obs = ALERT_OBS_NO_DATA,
                                 .period_start = -1,
                                 .now = now};
        ok = alerts_apply(conn, &u);
    }
    PQclear(res);
    return ok;
}

struct due_rule {
    int64_t programme_id, rule_id, indicator_id;
    const char *pid, *ind, *site_scope; /* site_scope NULL: the whole programme */
    int for_count, resolve_count;
    struct rule rule;
    struct period due;
    double now;
};

static bool apply_due(PGconn *conn, const struct due_rule *d, const char *subject, int64_t site,
                      bool holds, const struct rule_eval *eval)
{
    struct alert_update u = {.programme_id = d->programme_id,
                             .rule_id = d->rule_id,
                             .subject = subject,
                             .indicator_id = d->indicator_id,
                             .site_id = site,
                             .for_count = d->for_count,
                             .resolve_count = d->resolve_count,
                             .obs = holds ? ALERT_OBS_HOLDS : ALERT_OBS_OK,
                             .eval = eval,
                             .period_start = period_start(d->due),
                             .now = d->now};
    return alerts_apply(conn, &u);
}

/* A late-feed or completeness rule for one indicator at its latest due period. */
static bool evaluate_due_rule(PGconn *conn, const struct due_rule *d)
{
    char start[DATE_FORMAT_MAX], end[DATE_FORMAT_MAX], deadline[DATE_FORMAT_MAX],
        period[PERIOD_FORMAT_MAX];
    if (!date_format(period_start(d->due), start, sizeof(start)) ||
        !date_format(period_end(d->due), end, sizeof(end)) ||
        !date_format(rule_deadline(&d->rule, d->due), deadline, sizeof(deadline)) ||
        !period_format(d->due, period, sizeof(period)))
        return true;
    const char *params[] = {d->pid, d->ind, start, end, d->site_scope};
    PGresult *res = db_query(conn, due_sites_sql, 5, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "read the sites due to report");
    long reported = 0, active = ok ? PQntuples(res) : 0;
    for (int i = 0; ok && i < PQntuples(res); i++) {
        bool has = strcmp(PQgetvalue(res, i, 1), "t") == 0;
        reported += has;
        /* a feed is a site that sends this indicator: one that never has (a practice, for an
         * indicator reported nationally) is not late, and completeness still counts it */
        if (d->rule.kind != RULE_LATE_FEED || strcmp(PQgetvalue(res, i, 2), "t") != 0)
            continue;
        struct rule_eval eval = {.holds = !has};
        snprintf(eval.summary, sizeof(eval.summary), "no value for %s by %s", period, deadline);
        char subject[64];
        snprintf(subject, sizeof(subject), "i%s:s%s", d->ind, PQgetvalue(res, i, 0));
        ok = apply_due(conn, d, subject, db_int64(res, i, 0), !has, &eval);
        if (ok && !has)
            ok = mark_no_data(conn, d->pid, d->ind, PQgetvalue(res, i, 0), d->now);
    }
    PQclear(res);
    if (ok && d->rule.kind == RULE_COMPLETENESS) {
        struct rule_eval eval;
        rule_eval_completeness(&d->rule, reported, active, &eval);
        char subject[64];
        snprintf(subject, sizeof(subject), "i%s", d->ind);
        ok = apply_due(conn, d, subject, 0, eval.holds, &eval);
    }
    return ok;
}

static const char due_rules_sql[] =
    "SELECT r.programme_id, r.id, r.document, r.for_count, r.resolve_count, i.id, i.period_type,"
    " (to_timestamp($1) AT TIME ZONE p.time_zone)::date - date '1970-01-01', r.site_id"
    " FROM alert_rule r JOIN programme p ON p.id = r.programme_id JOIN indicator i ON"
    " i.programme_id = r.programme_id AND (r.indicator_id IS NULL OR i.id = r.indicator_id)"
    " WHERE r.enabled AND r.kind IN ('late_feed', 'completeness') ORDER BY r.programme_id, r.id, "
    "i.id";

static bool evaluate_due_rules(PGconn *conn, double now)
{
    char t[32];
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {t};
    PGresult *res = db_query(conn, due_rules_sql, 1, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "read late-feed rules");
    for (int i = 0; ok && i < PQntuples(res); i++) {
        struct due_rule d = {.programme_id = db_int64(res, i, 0),
                             .rule_id = db_int64(res, i, 1),
                             .indicator_id = db_int64(res, i, 5),
                             .pid = PQgetvalue(res, i, 0),
                             .ind = PQgetvalue(res, i, 5),
                             .site_scope = PQgetisnull(res, i, 8) ? NULL : PQgetvalue(res, i, 8),
                             .for_count = (int)db_int64(res, i, 3),
                             .resolve_count = (int)db_int64(res, i, 4),
                             .now = now};
        enum period_type type;
        if (!stored_rule(PQgetvalue(res, i, 2), &d.rule) ||
            !period_type_from_name(PQgetvalue(res, i, 6), &type))
            continue;
        d.due = rule_latest_due_period(&d.rule, type, (int32_t)db_int64(res, i, 7));
        ok = evaluate_due_rule(conn, &d);
    }
    PQclear(res);
    return ok;
}

static const char trajectory_rules_sql[] =
    "SELECT r.programme_id, r.id, r.document, r.for_count, r.resolve_count, r.dimension"
    " FROM alert_rule r WHERE r.enabled AND r.kind = 'trajectory' ORDER BY r.programme_id, r.id";

/* One trajectory rule against the progress document of its programme. */
static bool evaluate_trajectory_rule(PGconn *conn, const PGresult *res, int row,
                                     const json_t *progress, double now)
{
    struct rule rule;
    if (!stored_rule(PQgetvalue(res, row, 2), &rule))
        return true;
    const char *dimension = PQgetvalue(res, row, 5);
    const json_t *dim = json_object_get(json_object_get(progress, "dimensions"), dimension);
    const char *status = json_string_value(json_object_get(dim, "status"));
    char subject[48];
    snprintf(subject, sizeof(subject), "d%s", dimension);
    struct rule_eval eval;
    rule_eval_trajectory(&rule, status, &eval);
    const json_t *actual = json_object_get(dim, "actual"),
                 *planned = json_object_get(dim, "planned");
    if (json_is_number(actual) && json_is_number(planned)) {
        eval.value = json_number_value(actual);
        eval.centre = json_number_value(planned); /* the plan is the line to compare with */
        eval.has_limits = true;                   /* (with no limits: they stay NaN) */
        const char *how = strcmp(status, "at_risk") == 0  ? "is at risk against"
                          : strcmp(status, "behind") == 0 ? "is behind"
                                                          : "is on track with";
        snprintf(eval.summary, sizeof(eval.summary), "%s %s the roadmap: %.3g actual, %.3g planned",
                 dimension, how, eval.value, eval.centre);
    }
    bool no_data = status == NULL || strcmp(status, "no_data") == 0;
    struct alert_update u = {.programme_id = db_int64(res, row, 0),
                             .rule_id = db_int64(res, row, 1),
                             .subject = subject,
                             .for_count = (int)db_int64(res, row, 3),
                             .resolve_count = (int)db_int64(res, row, 4),
                             .obs = no_data      ? ALERT_OBS_NO_DATA
                                    : eval.holds ? ALERT_OBS_HOLDS
                                                 : ALERT_OBS_OK,
                             .eval = no_data ? NULL : &eval,
                             .period_start = -1,
                             .now = now};
    return alerts_apply(conn, &u);
}

/* Trajectory rules read each programme's progress from its snapshots (the progress task
 * keeps them current); a programme without a roadmap has nothing to fall behind. */
static bool evaluate_trajectory_rules(PGconn *conn, double now)
{
    PGresult *res = PQexec(conn, trajectory_rules_sql);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "read trajectory rules");
    int64_t current = 0;
    json_t *progress = NULL;
    bool have = false;
    for (int i = 0; ok && i < PQntuples(res); i++) {
        int64_t pid = db_int64(res, i, 0);
        if (pid != current) {
            json_decref(progress);
            progress = NULL;
            current = pid;
            int32_t today;
            enum progress_service_result r = PROGRESS_SERVICE_DB_ERROR;
            if (progress_service_today(conn, pid, &today))
                r = progress_service_get(conn, pid, today, false, &progress);
            ok = r != PROGRESS_SERVICE_DB_ERROR;
            have = r == PROGRESS_SERVICE_OK;
        }
        if (ok && have)
            ok = evaluate_trajectory_rule(conn, res, i, progress, now);
    }
    json_decref(progress);
    PQclear(res);
    return ok;
}

/* The timer pass; *ran says whether this daemon did it (false: another holds the lock). */
static bool run_timer(PGconn *conn, double now, bool *ran)
{
    if (!exec_ok(conn, "BEGIN"))
        return false;
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_xact_lock(%d)", EVALUATOR_TIMER_LOCK);
    PGresult *res = PQexec(conn, sql);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "take the evaluation lock");
    bool mine = ok && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    *ran = mine;
    PQclear(res);
    if (mine) {
        res = PQexec(conn, "SELECT id FROM programme ORDER BY id");
        ok = db_ok(res, PGRES_TUPLES_OK, NULL, "list programmes");
        for (int i = 0; ok && i < PQntuples(res); i++)
            ok = alerts_ensure_defaults(conn, db_int64(res, i, 0));
        PQclear(res);
        ok = ok && evaluate_due_rules(conn, now) && evaluate_trajectory_rules(conn, now);
    }
    if (!ok || !exec_ok(conn, "COMMIT")) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return false;
    }
    return true;
}

bool evaluator_run_timer(PGconn *conn, double now)
{
    bool ran;
    return run_timer(conn, now, &ran);
}

/* When the due rules last ran, by the daemon's clock (which tests move) and by the
 * monotonic one. Only the evaluate task touches them, and it never runs twice at once. */
static double last_timer_clock, last_timer_mono;

bool evaluator_run(PGconn *conn, int interval, evaluator_yield_fn yield, void *yield_arg)
{
    double now = clock_now(), mono = monotonic_now();
    bool due_touched = false, more = false;
    long n = evaluator_run_dirty(conn, now, &due_touched, yield, yield_arg, &more);
    if (n < 0)
        log_warning("could not evaluate the series changed by ingest");
    else if (n > 0)
        log_debug("evaluated the series of %ld dirty marks", n);
    /* the due rules cost work in proportion to the programmes' sites: they run on their
     * interval (by either clock: a test that moves time forward makes them due), not after
     * every batch, unless the batch may close one of their alerts */
    double due_after = 0.9 * (interval > 0 ? interval : 1);
    bool due = last_timer_mono == 0 || now - last_timer_clock >= due_after ||
               mono - last_timer_mono >= due_after || now < last_timer_clock;
    if (!due && !due_touched)
        return more;
    bool ran = false;
    if (!run_timer(conn, now, &ran)) {
        log_warning("could not evaluate late-feed and completeness rules");
        return more;
    }
    if (ran) { /* else another daemon's pass, which may not have seen the latest data: ours
                  stays due */
        last_timer_clock = now;
        last_timer_mono = mono;
    }
    return more;
}
