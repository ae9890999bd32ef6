/* Alerting storage: rules and their defaults, receivers, alert state with history and
 * outbox events, acknowledgements and silences. JSON answers are built in SQL. */
#include "scaleupd/storage/alerts.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/storage/db.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/period.h"

static void problem(json_t **problems, const char *path, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(json_t **problems, const char *path, const char *code, const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (*problems == NULL)
        *problems = json_array();
    json_array_append_new(
        *problems, json_pack("{s:s,s:s,s:s}", "path", path, "code", code, "message", message));
}

/* Runs a query returning one JSON text cell and parses it; NULL on error. */
static json_t *json_query(PGconn *conn, const char *sql, int n, const char *const *params,
                          const char *what)
{
    PGresult *res = db_query(conn, sql, n, params);
    json_t *out = NULL;
    if (db_ok(res, PGRES_TUPLES_OK, NULL, what) && PQntuples(res) == 1)
        out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return out;
}

/* Runs a command; the number of rows it touched, or -1 on error. */
static long exec_count(PGconn *conn, const char *sql, int n, const char *const *params,
                       const char *what)
{
    PGresult *res = db_query(conn, sql, n, params);
    long count = -1;
    if (db_ok(res, PQresultStatus(res) == PGRES_TUPLES_OK ? PGRES_TUPLES_OK : PGRES_COMMAND_OK,
              NULL, what))
        count = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return count;
}

static const char rule_put_sql[] =
    "WITH scope AS (SELECT (SELECT id FROM indicator WHERE programme_id = $1 AND code = $4)"
    " AS indicator_id, (SELECT id FROM site WHERE programme_id = $1 AND code = $5) AS site_id)"
    ", up AS (INSERT INTO alert_rule AS r (programme_id, name, kind, indicator_id, site_id,"
    " dimension, for_count, resolve_count, receivers, document)"
    " SELECT $1, $2, $3, indicator_id, site_id, nullif($6, ''), $7::int, $8::int,"
    " CASE WHEN $9::text IS NULL THEN NULL ELSE $9::text[] END, $10::jsonb FROM scope"
    " WHERE ($4 = '' OR indicator_id IS NOT NULL) AND ($5 = '' OR site_id IS NOT NULL)"
    " ON CONFLICT (programme_id, name) DO UPDATE SET kind = excluded.kind,"
    " indicator_id = excluded.indicator_id, site_id = excluded.site_id,"
    " dimension = excluded.dimension, for_count = excluded.for_count,"
    " resolve_count = excluded.resolve_count, receivers = excluded.receivers,"
    " document = excluded.document, is_default = false, enabled = true, updated_at = now()"
    " RETURNING (xmax = 0) AS created)"
    ", old AS (SELECT enabled FROM alert_rule WHERE programme_id = $1 AND name = $2)"
    " SELECT (SELECT indicator_id IS NOT NULL FROM scope), (SELECT site_id IS NOT NULL FROM scope),"
    " (SELECT created OR NOT coalesce((SELECT enabled FROM old), true) FROM up)";

/* The receivers of a rule as a PostgreSQL array literal, or NULL for all. */
static char *receivers_literal(const struct rule *rule)
{
    if (rule->n_receivers == 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < rule->n_receivers; i++)
        json_array_append_new(arr, json_string(rule->receivers[i]));
    char *text = json_dumps(arr, 0);
    json_decref(arr);
    if (text != NULL) { /* ["a","b"] → {"a","b"}: names are JSON-escaped strings */
        text[0] = '{';
        text[strlen(text) - 1] = '}';
    }
    return text;
}

/* Marks the series a stored spc or threshold rule ($2) watches dirty, so that it is evaluated
 * on the data already there rather than first at the next push: the series of its indicator
 * (or all) at its site and below (or everywhere), 1,000 to a mark, changed "since always". */
static const char rule_marks_sql[] =
    "WITH RECURSIVE r AS (SELECT indicator_id, site_id FROM alert_rule WHERE programme_id = $1"
    " AND name = $2 AND kind IN ('spc', 'threshold')),"
    " down AS (SELECT s.id FROM site s JOIN r ON s.programme_id = $1 AND s.id = r.site_id"
    " UNION ALL SELECT s.id FROM site s JOIN down d ON s.programme_id = $1 AND"
    " s.parent_id = d.id),"
    " se AS (SELECT s.id, (row_number() OVER (ORDER BY s.id) - 1) / 1000 AS chunk FROM series s,"
    " r WHERE s.programme_id = $1 AND (r.indicator_id IS NULL OR s.indicator_id ="
    " r.indicator_id) AND (r.site_id IS NULL OR s.site_id IN (SELECT id FROM down)))"
    " INSERT INTO dirty_series (programme_id, series_ids, since_periods)"
    " SELECT $1, array_agg(id ORDER BY id), array_agg(date '-infinity') FROM se GROUP BY chunk";

enum alerts_result alerts_rule_put(PGconn *conn, int64_t programme_id, const json_t *doc,
                                   const struct rule *rule, json_t **problems)
{
    char pid[24], for_count[16], resolve_count[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(for_count, sizeof(for_count), "%d", rule->for_count);
    snprintf(resolve_count, sizeof(resolve_count), "%d", rule->resolve_count);
    char *receivers = receivers_literal(rule);
    char *document = json_dumps(doc, JSON_COMPACT);
    const char *params[] = {pid,
                            rule->name,
                            rule_kind_name(rule->kind),
                            rule->indicator,
                            rule->site,
                            rule->dimension,
                            for_count,
                            resolve_count,
                            receivers,
                            document};
    PGresult *res = db_query(conn, rule_put_sql, 10, params);
    enum alerts_result result = ALERTS_DB_ERROR;
    if (db_ok(res, PGRES_TUPLES_OK, NULL, "store a rule")) {
        if (strcmp(PQgetvalue(res, 0, 0), "t") != 0 && rule->indicator[0])
            problem(problems, "$.indicator", "unknown_indicator",
                    "no indicator \"%s\" in this programme", rule->indicator);
        if (strcmp(PQgetvalue(res, 0, 1), "t") != 0 && rule->site[0])
            problem(problems, "$.site", "unknown_site", "no site \"%s\" in this programme",
                    rule->site);
        result = *problems                                 ? ALERTS_INVALID
                 : strcmp(PQgetvalue(res, 0, 2), "t") == 0 ? ALERTS_CREATED
                                                           : ALERTS_OK;
    }
    PQclear(res);
    if (result == ALERTS_OK || result == ALERTS_CREATED) {
        const char *mark_params[] = {pid, rule->name};
        res = db_query(conn, rule_marks_sql, 2, mark_params);
        if (!db_ok(res, PGRES_COMMAND_OK, NULL, "mark the series of a rule"))
            log_warning("rule %s is stored; it watches its data from the next push", rule->name);
        PQclear(res);
    }
    free(receivers);
    free(document);
    return result;
}

json_t *alerts_rule_list(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    return json_query(conn,
                      "SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'kind',"
                      " kind, 'default', is_default, 'for', for_count, 'resolve', resolve_count,"
                      " 'document', document) ORDER BY name), '[]') FROM alert_rule"
                      " WHERE programme_id = $1 AND enabled",
                      1, params, "list rules");
}

/* A default rule stays as a disabled tombstone (its alerts go), so that the default set does
 * not bring it back; any other rule is deleted with its alerts. */
static const char delete_rule_sql[] =
    "WITH r AS (SELECT id, is_default FROM alert_rule WHERE programme_id = $1 AND name = $2"
    " AND enabled FOR UPDATE)"
    ", gone AS (DELETE FROM alert WHERE programme_id = $1 AND rule_id IN (SELECT id FROM r))"
    ", off AS (UPDATE alert_rule SET enabled = false, updated_at = now() WHERE programme_id = $1"
    " AND id IN (SELECT id FROM r WHERE is_default) RETURNING id)"
    ", del AS (DELETE FROM alert_rule WHERE programme_id = $1 AND id IN (SELECT id FROM r"
    " WHERE NOT is_default) RETURNING id)"
    " SELECT id FROM off UNION ALL SELECT id FROM del";

enum alerts_result alerts_rule_delete(PGconn *conn, int64_t programme_id, const char *name)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid, name};
    long n = exec_count(conn, delete_rule_sql, 2, params, "delete a rule");
    return n < 0 ? ALERTS_DB_ERROR : n == 0 ? ALERTS_NOT_FOUND : ALERTS_OK;
}

static const char defaults_sql[] =
    "INSERT INTO alert_rule (programme_id, name, kind, indicator_id, dimension, is_default,"
    " document)"
    " SELECT $1, d.name, d.kind, d.indicator_id, d.dimension, true, d.document FROM ("
    "  SELECT 'spc-' || code AS name, 'spc' AS kind, id AS indicator_id, NULL AS dimension,"
    "   jsonb_build_object('name', 'spc-' || code, 'kind', 'spc', 'indicator', code) AS document"
    "  FROM indicator WHERE programme_id = $1 AND direction <> 'none'"
    "  UNION ALL"
    "  SELECT 'late-feed-' || code, 'late_feed', id, NULL,"
    "   jsonb_build_object('name', 'late-feed-' || code, 'kind', 'late_feed', 'indicator', code)"
    "  FROM indicator WHERE programme_id = $1"
    "  UNION ALL"
    "  SELECT 'trajectory-' || dim, 'trajectory', NULL, dim,"
    "   jsonb_build_object('name', 'trajectory-' || dim, 'kind', 'trajectory', 'dimension', dim)"
    "  FROM unnest(ARRAY['coverage', 'expansion', 'institutionalisation']) AS dim"
    "  UNION ALL"
    "  SELECT '" ALERTS_SELF_RULE "', 'self', NULL, NULL,"
    "   jsonb_build_object('name', '" ALERTS_SELF_RULE "', 'kind', 'self')"
    " ) d ON CONFLICT (programme_id, name) DO NOTHING";

bool alerts_ensure_defaults(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    return exec_count(conn, defaults_sql, 1, params, "create default rules") >= 0;
}

/* Checks one receiver object; appends problems under $.receivers[i]. */
static void check_receiver(const json_t *r, size_t i, json_t **problems)
{
    char path[96];
    const json_t *name = json_object_get(r, "name");
    snprintf(path, sizeof(path), "$.receivers[%zu].name", i);
    if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 63)
        problem(problems, path, "invalid_type", "name must be a string of 1 to 63 characters");
    const char *lists[] = {"email", "webhook"};
    for (int l = 0; l < 2; l++) {
        const json_t *arr = json_object_get(r, lists[l]);
        snprintf(path, sizeof(path), "$.receivers[%zu].%s", i, lists[l]);
        if (arr != NULL && !json_is_array(arr)) {
            problem(problems, path, "invalid_type", "%s must be an array of strings", lists[l]);
            continue;
        }
        size_t j;
        const json_t *v;
        json_array_foreach(arr, j, v)
        {
            const char *s = json_string_value(v);
            snprintf(path, sizeof(path), "$.receivers[%zu].%s[%zu]", i, lists[l], j);
            bool ok = s != NULL && strlen(s) < 512 && strpbrk(s, "\r\n<> ,") == NULL;
            if (ok && l == 0)
                ok = strchr(s, '@') != NULL && strchr(s, '@') != s && strchr(s, '@')[1] != '\0';
            if (ok && l == 1)
                ok = strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
            if (!ok)
                problem(problems, path, l == 0 ? "invalid_email" : "invalid_url",
                        l == 0 ? "an e-mail address is name@domain"
                               : "a webhook URL must start with http:// or https://");
        }
    }
    const json_t *tz = json_object_get(r, "time_zone");
    snprintf(path, sizeof(path), "$.receivers[%zu].time_zone", i);
    if (tz != NULL && !json_is_string(tz))
        problem(problems, path, "invalid_type", "time_zone must be a string");
}

static const char receivers_put_sql[] =
    "WITH doc AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(name text, email text[],"
    " webhook text[], time_zone text)), bad AS (SELECT name FROM doc WHERE time_zone IS NOT NULL"
    " AND time_zone NOT IN (SELECT name FROM pg_timezone_names)), del AS (DELETE FROM receiver"
    " WHERE programme_id = $1 AND NOT EXISTS (SELECT 1 FROM bad)), ins AS (INSERT INTO receiver"
    " (programme_id, name, email, webhook, time_zone) SELECT $1, name, coalesce(email, '{}'),"
    " coalesce(webhook, '{}'), coalesce(time_zone, (SELECT time_zone FROM programme WHERE id ="
    " $1)) FROM doc WHERE NOT EXISTS (SELECT 1 FROM bad) ON CONFLICT (programme_id, name) DO"
    " UPDATE SET email = excluded.email, webhook = excluded.webhook, time_zone ="
    " excluded.time_zone, updated_at = now()) SELECT (SELECT min(name) FROM bad)";

enum alerts_result alerts_receivers_put(PGconn *conn, int64_t programme_id, const json_t *doc,
                                        json_t **problems)
{
    const json_t *list = json_object_get(doc, "receivers");
    if (!json_is_array(list)) {
        problem(problems, "$.receivers", "invalid_type", "receivers must be an array");
        return ALERTS_INVALID;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(list, i, r)
    {
        char path[64];
        snprintf(path, sizeof(path), "$.receivers[%zu]", i);
        if (!json_is_object(r))
            problem(problems, path, "invalid_type", "a receiver is an object");
        else
            check_receiver(r, i, problems);
    }
    if (*problems)
        return ALERTS_INVALID;
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    char *text = json_dumps(list, JSON_COMPACT);
    const char *params[] = {pid, text};
    PGresult *res = db_query(conn, receivers_put_sql, 2, params);
    free(text);
    enum alerts_result result = ALERTS_DB_ERROR;
    if (db_ok(res, PGRES_TUPLES_OK, NULL, "store receivers")) {
        result = ALERTS_OK;
        if (!PQgetisnull(res, 0, 0)) {
            problem(problems, "$.receivers", "unknown_time_zone",
                    "receiver \"%s\" has a time zone the database does not know",
                    PQgetvalue(res, 0, 0));
            result = ALERTS_INVALID;
        }
    } else if (strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE)
                          ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                          : "",
                      "21000") == 0) {
        problem(problems, "$.receivers", "duplicate_name", "receiver names must be unique");
        result = ALERTS_INVALID;
    }
    PQclear(res);
    return result;
}

json_t *alerts_receivers_get(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    return json_query(conn,
                      "SELECT coalesce(json_agg(json_build_object('name', name, 'email', email,"
                      " 'webhook', webhook, 'time_zone', time_zone) ORDER BY name), '[]')"
                      " FROM receiver WHERE programme_id = $1",
                      1, params, "list receivers");
}

static void fmt_double(char *buf, size_t size, bool has, double v, const char **param)
{
    if (!has || !isfinite(v)) {
        *param = NULL;
        return;
    }
    snprintf(buf, size, "%.17g", v);
    *param = buf;
}

/* Reads the stored status of an alert (locked), or the inactive default when absent. */
static bool load_status(PGconn *conn, const struct alert_update *u, struct alert_status *st,
                        int64_t *id, int32_t *period_start)
{
    char pid[24], rid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)u->programme_id);
    snprintf(rid, sizeof(rid), "%lld", (long long)u->rule_id);
    const char *params[] = {pid, rid, u->subject};
    PGresult *res =
        db_query_prepared(conn, "scaleupd_alert_status",
                          "SELECT id, state, streak, fired, coalesce(period_start - date"
                          " '1970-01-01', -1) FROM alert WHERE programme_id = $1"
                          " AND rule_id = $2 AND subject = $3 FOR UPDATE",
                          3, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "read an alert");
    *id = 0;
    *period_start = -1;
    st->state = ALERT_INACTIVE, st->streak = 0, st->fired = false;
    if (ok && PQntuples(res) == 1) {
        *id = db_int64(res, 0, 0);
        ok = alert_state_from_name(PQgetvalue(res, 0, 1), &st->state);
        st->streak = (int)db_int64(res, 0, 2);
        st->fired = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        *period_start = (int32_t)db_int64(res, 0, 4);
    }
    PQclear(res);
    return ok;
}

static const char store_sql[] =
    "WITH up AS (INSERT INTO alert AS a (programme_id, rule_id, subject, indicator_id, site_id,"
    " state, streak, fired, value, centre, lower_limit, upper_limit, period_start, summary,"
    " active_since, updated_at)"
    " VALUES ($1, $2, $3, nullif($4, '0')::bigint, nullif($5, '0')::bigint, $6, $7, $8, $9, $10,"
    " $11, $12, $13::date, $14, CASE WHEN $6 IN ('pending', 'firing') THEN to_timestamp($15)"
    " END, to_timestamp($15))"
    " ON CONFLICT (programme_id, rule_id, subject) DO UPDATE SET state = excluded.state,"
    " streak = excluded.streak, fired = excluded.fired,"
    " value = coalesce(excluded.value, a.value), centre = coalesce(excluded.centre, a.centre),"
    " lower_limit = coalesce(excluded.lower_limit, a.lower_limit),"
    " upper_limit = coalesce(excluded.upper_limit, a.upper_limit),"
    " period_start = coalesce(excluded.period_start, a.period_start),"
    " summary = CASE WHEN excluded.summary = '' THEN a.summary ELSE excluded.summary END,"
    " active_since = CASE WHEN excluded.state IN ('pending', 'firing') AND a.state NOT IN"
    " ('pending', 'firing', 'no_data') THEN excluded.active_since WHEN excluded.state IN"
    " ('inactive', 'resolved') THEN a.active_since ELSE a.active_since END,"
    " acked_at = CASE WHEN excluded.state = 'resolved' THEN NULL ELSE a.acked_at END,"
    " acked_by = CASE WHEN excluded.state = 'resolved' THEN NULL ELSE a.acked_by END,"
    " updated_at = excluded.updated_at RETURNING id, rule_id, value, centre, lower_limit,"
    " upper_limit, period_start, summary)"
    ", hist AS (INSERT INTO alert_history (programme_id, alert_id, rule_id, at, from_state,"
    " to_state, value, centre, lower_limit, upper_limit, period_start, summary)"
    " SELECT $1, id, rule_id, to_timestamp($15), $16, $6, value, centre, lower_limit,"
    " upper_limit, period_start, summary FROM up WHERE $16 <> $6)"
    ", ev AS (INSERT INTO alert_event (programme_id, receiver, alert_id, kind, created_at)"
    " SELECT $1, r.name, up.id, $17, to_timestamp($15) FROM up JOIN alert_rule ar ON"
    " ar.programme_id = $1 AND ar.id = $2 JOIN receiver r ON r.programme_id = $1"
    " AND (ar.receivers IS NULL OR r.name = ANY (ar.receivers))"
    " AND NOT (ar.kind = 'self' AND $3 = 'receiver:' || r.name) WHERE $17 <> '')"
    " SELECT id FROM up";

static bool store_alert(PGconn *conn, const struct alert_update *u, const struct alert_status *st,
                        enum alert_state from, enum alert_event event)
{
    char pid[24], rid[24], ind[24], site[24], streak[16], now[32], day[DATE_FORMAT_MAX];
    char v[4][32];
    const char *nums[4];
    const struct rule_eval *e = u->eval;
    snprintf(pid, sizeof(pid), "%lld", (long long)u->programme_id);
    snprintf(rid, sizeof(rid), "%lld", (long long)u->rule_id);
    snprintf(ind, sizeof(ind), "%lld", (long long)u->indicator_id);
    snprintf(site, sizeof(site), "%lld", (long long)u->site_id);
    snprintf(streak, sizeof(streak), "%d", st->streak);
    snprintf(now, sizeof(now), "%.6f", u->now);
    fmt_double(v[0], sizeof(v[0]), e != NULL, e ? e->value : 0, &nums[0]);
    fmt_double(v[1], sizeof(v[1]), e && e->has_limits, e ? e->centre : 0, &nums[1]);
    fmt_double(v[2], sizeof(v[2]), e && e->has_limits, e ? e->lower_limit : 0, &nums[2]);
    fmt_double(v[3], sizeof(v[3]), e && e->has_limits, e ? e->upper_limit : 0, &nums[3]);
    const char *period = NULL;
    if (u->period_start >= 0 && date_format(u->period_start, day, sizeof(day)))
        period = day;
    const char *kind = event == ALERT_EVENT_FIRING     ? "firing"
                       : event == ALERT_EVENT_RESOLVED ? "resolved"
                                                       : "";
    const char *params[] = {
        pid,        rid,
        u->subject, ind,
        site,       alert_state_name(st->state),
        streak,     st->fired ? "t" : "f",
        nums[0],    nums[1],
        nums[2],    nums[3],
        period,     e ? e->summary : (u->obs == ALERT_OBS_NO_DATA ? "no data" : ""),
        now,        alert_state_name(from),
        kind};
    PGresult *res = db_query_prepared(conn, "scaleupd_alert_store", store_sql, 17, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "store an alert");
    PQclear(res);
    return ok;
}

bool alerts_apply(PGconn *conn, const struct alert_update *u)
{
    struct alert_status st;
    int64_t id;
    int32_t counted_period;
    if (!load_status(conn, u, &st, &id, &counted_period))
        return false;
    /* `for` and resolve count periods, not evaluations: evaluating the period already counted
     * again (a timer run of a late-feed rule, a revision of the latest value) steps from the
     * count before that period, so it counts once; the step still runs, so the alert's values
     * are refreshed, a count the rule's new (lower) `for` or resolve already meets fires or
     * resolves, and a change of what the period shows (a revision that clears a pending
     * alert) still counts */
    bool repeat = u->period_start >= 0 && u->period_start == counted_period;
    bool resolving = st.state == ALERT_FIRING || (st.state == ALERT_NO_DATA && st.fired);
    bool counting = (st.state == ALERT_PENDING && u->obs == ALERT_OBS_HOLDS) ||
                    (resolving && st.streak > 0 && u->obs == ALERT_OBS_OK);
    enum alert_state from = st.state;
    int streak = st.streak;
    bool fired = st.fired;
    if (repeat && counting)
        st.streak--;
    enum alert_event event = alert_step(&st, u->obs, u->for_count, u->resolve_count);
    bool changed = st.state != from || st.streak != streak || st.fired != fired;
    if (id == 0 && st.state == ALERT_INACTIVE)
        return true; /* nothing to remember about a quiet subject */
    if (!changed && st.state != ALERT_FIRING && st.state != ALERT_PENDING)
        return true; /* values of a quiet alert are not worth a write */
    return store_alert(conn, u, &st, from, event);
}

/* Steps the self alert of receiver with obs when the programme has an enabled self rule. */
static bool apply_self(PGconn *conn, int64_t programme_id, const char *receiver,
                       enum alert_observation obs, double now)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    PGresult *res = db_query(conn,
                             "SELECT id, for_count, resolve_count FROM alert_rule WHERE"
                             " programme_id = $1 AND kind = 'self' AND enabled",
                             1, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "read the self rule");
    if (ok && PQntuples(res) == 1) {
        char subject[128];
        snprintf(subject, sizeof(subject), "receiver:%s", receiver);
        struct rule_eval eval = {.holds = obs == ALERT_OBS_HOLDS, .value = NAN};
        snprintf(eval.summary, sizeof(eval.summary), "could not deliver to %s", receiver);
        struct alert_update u = {.programme_id = programme_id,
                                 .rule_id = db_int64(res, 0, 0),
                                 .subject = subject,
                                 .for_count = (int)db_int64(res, 0, 1),
                                 .resolve_count = (int)db_int64(res, 0, 2),
                                 .obs = obs,
                                 .eval = &eval,
                                 .period_start = -1,
                                 .now = now};
        ok = alerts_apply(conn, &u);
    }
    PQclear(res);
    return ok;
}

bool alerts_delivery_failed(PGconn *conn, int64_t programme_id, const char *receiver, double now)
{
    return apply_self(conn, programme_id, receiver, ALERT_OBS_HOLDS, now);
}

bool alerts_delivery_recovered(PGconn *conn, int64_t programme_id, const char *receiver, double now)
{
    char pid[24], subject[128];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(subject, sizeof(subject), "receiver:%s", receiver);
    const char *params[] = {pid, subject};
    PGresult *res = db_query(conn,
                             "SELECT 1 FROM alert a JOIN alert_rule r ON r.programme_id ="
                             " a.programme_id AND r.id = a.rule_id WHERE a.programme_id = $1"
                             " AND r.kind = 'self' AND a.subject = $2 AND a.state IN"
                             " ('pending', 'firing', 'no_data')",
                             2, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "read a self alert");
    bool open = ok && PQntuples(res) > 0;
    PQclear(res);
    return ok && (!open || apply_self(conn, programme_id, receiver, ALERT_OBS_OK, now));
}

static const char list_sql[] =
    "SELECT coalesce(json_agg(json_build_object('id', a.id, 'programme', p.slug, 'rule', r.name,"
    " 'kind', r.kind, 'indicator', i.code, 'site', s.code, 'state', a.state, 'value', a.value,"
    " 'centre', a.centre, 'lower_limit', a.lower_limit, 'upper_limit', a.upper_limit, 'period',"
    " a.period_start, 'summary', a.summary, 'active_since', a.active_since, 'updated_at',"
    " a.updated_at, 'acked_at', a.acked_at, 'acked_by', a.acked_by) ORDER BY a.id), '[]')"
    " FROM alert a JOIN programme p ON p.id = a.programme_id JOIN alert_rule r ON"
    " r.programme_id = a.programme_id AND r.id = a.rule_id LEFT JOIN indicator i ON"
    " i.programme_id = a.programme_id AND i.id = a.indicator_id LEFT JOIN site s ON"
    " s.programme_id = a.programme_id AND s.id = a.site_id"
    " WHERE a.state <> 'inactive' AND ($1::text IS NULL OR p.slug = $1)"
    " AND ($2::text IS NULL OR a.state = $2) AND ($3::text IS NULL OR i.code = $3)"
    " AND ($4::text IS NULL OR s.code = $4)";

json_t *alerts_list(PGconn *conn, const char *programme, const char *state, const char *indicator,
                    const char *site)
{
    const char *params[] = {programme, state, indicator, site};
    return json_query(conn, list_sql, 4, params, "list alerts");
}

enum alerts_result alerts_ack(PGconn *conn, int64_t alert_id, const char *who, double now)
{
    char id[24], t[32];
    snprintf(id, sizeof(id), "%lld", (long long)alert_id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {id, who, t};
    long n = exec_count(conn,
                        "UPDATE alert SET acked_at = to_timestamp($3), acked_by = $2"
                        " WHERE id = $1",
                        3, params, "acknowledge an alert");
    return n < 0 ? ALERTS_DB_ERROR : n == 0 ? ALERTS_NOT_FOUND : ALERTS_OK;
}

/* Parses an RFC 3339 time in SQL terms: the caller's string goes to the database as is. */
static bool check_time(PGconn *conn, const json_t *doc, const char *key, json_t **problems,
                       bool *db_error, double *out)
{
    const json_t *v = json_object_get(doc, key);
    char path[32];
    snprintf(path, sizeof(path), "$.%s", key);
    if (!json_is_string(v)) {
        problem(problems, path, v ? "invalid_type" : "missing_field", "%s must be an RFC 3339 time",
                key);
        return false;
    }
    const char *params[] = {json_string_value(v)};
    PGresult *res = db_query(conn,
                             "SELECT extract(epoch FROM t) FROM (SELECT CASE WHEN $1 ~"
                             " '^\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?"
                             "(Z|[+-]\\d\\d(:?\\d\\d)?)$' THEN $1::timestamptz END AS t) x",
                             1, params);
    bool ok = false;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && !PQgetisnull(res, 0, 0)) {
        *out = strtod(PQgetvalue(res, 0, 0), NULL);
        ok = true;
    } else if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        problem(problems, path, "invalid_time", "%s must be an RFC 3339 time with a zone", key);
    } else if (strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE)
                          ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                          : "",
                      "22008") == 0 ||
               strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE)
                          ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                          : "",
                      "22007") == 0) {
        problem(problems, path, "invalid_time", "%s is not a real time", key);
    } else {
        *db_error = true;
    }
    PQclear(res);
    return ok;
}

static void check_matchers(const json_t *doc, json_t **problems)
{
    const json_t *m = json_object_get(doc, "matchers");
    if (!json_is_object(m) || json_object_size(m) == 0) {
        problem(problems, "$.matchers", m ? "invalid_type" : "missing_field",
                "matchers is a non-empty object of indicator, site and rule");
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)m, key, v)
    {
        char path[96];
        snprintf(path, sizeof(path), "$.matchers.%.60s", key);
        if (strcmp(key, "indicator") != 0 && strcmp(key, "site") != 0 && strcmp(key, "rule") != 0)
            problem(problems, path, "unknown_matcher", "a matcher is indicator, site or rule");
        else if (!json_is_string(v) || json_string_length(v) == 0)
            problem(problems, path, "invalid_type", "a matcher value is a non-empty string");
    }
}

static void check_silence_strings(const json_t *doc, json_t **problems)
{
    const json_t *author = json_object_get(doc, "author");
    if (!json_is_string(author) || json_string_length(author) == 0)
        problem(problems, "$.author", author ? "invalid_type" : "missing_field",
                "author is a non-empty string");
    const json_t *reason = json_object_get(doc, "reason");
    if (reason != NULL && !json_is_string(reason))
        problem(problems, "$.reason", "invalid_type", "reason is a string");
    const json_t *programme = json_object_get(doc, "programme");
    if (programme != NULL && !json_is_string(programme))
        problem(problems, "$.programme", "invalid_type", "programme is a slug");
}

static enum alerts_result insert_silence(PGconn *conn, const json_t *doc, double starts,
                                         double ends, int64_t *id, json_t **problems)
{
    char s[32], e[32];
    snprintf(s, sizeof(s), "%.6f", starts);
    snprintf(e, sizeof(e), "%.6f", ends);
    char *matchers = json_dumps(json_object_get(doc, "matchers"), JSON_COMPACT);
    const json_t *reason = json_object_get(doc, "reason");
    const char *params[] = {json_string_value(json_object_get(doc, "programme")),
                            matchers,
                            s,
                            e,
                            json_string_value(json_object_get(doc, "author")),
                            reason ? json_string_value(reason) : ""};
    PGresult *res = db_query(conn,
                             "INSERT INTO silence (programme_id, matchers, starts_at, ends_at,"
                             " author, reason) SELECT p.id, $2::jsonb, to_timestamp($3),"
                             " to_timestamp($4), $5, $6 FROM (SELECT NULL) x LEFT JOIN programme p"
                             " ON p.slug = $1 WHERE $1::text IS NULL OR p.id IS NOT NULL"
                             " RETURNING id",
                             6, params);
    free(matchers);
    enum alerts_result result = ALERTS_DB_ERROR;
    if (db_ok(res, PGRES_TUPLES_OK, NULL, "store a silence")) {
        if (PQntuples(res) == 1) {
            *id = db_int64(res, 0, 0);
            result = ALERTS_CREATED;
        } else {
            problem(problems, "$.programme", "unknown_programme", "no such programme");
            result = ALERTS_INVALID;
        }
    }
    PQclear(res);
    return result;
}

enum alerts_result alerts_silence_create(PGconn *conn, const json_t *doc, double now, int64_t *id,
                                         json_t **problems)
{
    if (!json_is_object(doc)) {
        problem(problems, "$", "invalid_type", "a silence is a JSON object");
        return ALERTS_INVALID;
    }
    check_matchers(doc, problems);
    check_silence_strings(doc, problems);
    bool db_error = false;
    double starts = now, ends = 0;
    if (json_object_get(doc, "starts_at") != NULL)
        (void)check_time(conn, doc, "starts_at", problems, &db_error, &starts);
    bool has_end = check_time(conn, doc, "ends_at", problems, &db_error, &ends);
    if (db_error)
        return ALERTS_DB_ERROR;
    if (has_end && ends <= starts)
        problem(problems, "$.ends_at", "end_before_start", "ends_at must be after starts_at");
    if (*problems)
        return ALERTS_INVALID;
    return insert_silence(conn, doc, starts, ends, id, problems);
}

json_t *alerts_silence_list(PGconn *conn, double now)
{
    char t[32];
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {t};
    return json_query(conn,
                      "SELECT coalesce(json_agg(json_build_object('id', s.id, 'programme', p.slug,"
                      " 'matchers', s.matchers, 'starts_at', s.starts_at, 'ends_at', s.ends_at,"
                      " 'author', s.author, 'reason', s.reason) ORDER BY s.id), '[]')"
                      " FROM silence s LEFT JOIN programme p ON p.id = s.programme_id"
                      " WHERE s.ends_at > to_timestamp($1) AND (s.expired_at IS NULL OR"
                      " s.expired_at > to_timestamp($1))",
                      1, params, "list silences");
}

enum alerts_result alerts_silence_expire(PGconn *conn, int64_t id, double now)
{
    char sid[24], t[32];
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {sid, t};
    long n = exec_count(conn,
                        "UPDATE silence SET expired_at = to_timestamp($2) WHERE id = $1"
                        " AND (expired_at IS NULL OR expired_at > to_timestamp($2))",
                        2, params, "expire a silence");
    return n < 0 ? ALERTS_DB_ERROR : n == 0 ? ALERTS_NOT_FOUND : ALERTS_OK;
}
