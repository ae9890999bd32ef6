/* Alert state rows (alert_store.h): stepping the state machine of one subject, storing the
 * alert with its history and outbox events in one statement, the self alerts of receivers,
 * and the list the API shows. */
#include "scaleupd/storage/alert_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/incident_store.h"
#include "scaleupd/storage/page_rows.h"
#include "scaleupd/storage/receiver_store.h"
#include "scaleupd/storage/silence_store.h"

static void fmt_double(char *buf, size_t size, bool has, double v, const char **param)
{
    if (!has || !isfinite(v)) {
        *param = NULL;
        return;
    }
    snprintf(buf, size, "%.17g", v);
    *param = buf;
}

bool alerts_stored_parse(const PGresult *res, int row, int col, struct alert_stored *stored)
{
    *stored = (struct alert_stored){.period_start = -1, .due_day = -1};
    stored->status = (struct alert_status){.state = ALERT_INACTIVE};
    if (PQgetisnull(res, row, col))
        return true;
    stored->id = db_int64(res, row, col);
    if (!alert_state_from_name(db_text(res, row, col + 1), &stored->status.state))
        return false;
    stored->status.streak = (int)db_int64(res, row, col + 2);
    stored->status.fired = db_bool(res, row, col + 3);
    stored->period_start = (int32_t)db_int64(res, row, col + 4);
    int64_t incident = 0;
    stored->incident_id = db_int64_opt(res, row, col + 5, &incident) ? incident : 0;
    snprintf(stored->summary, sizeof(stored->summary), "%s", db_text(res, row, col + 6));
    for (int i = 0; i < 4; i++) {
        stored->has[i] = !PQgetisnull(res, row, col + 7 + i);
        stored->values[i] = stored->has[i] ? strtod(PQgetvalue(res, row, col + 7 + i), NULL) : NAN;
    }
    stored->due_day = (int32_t)db_int64(res, row, col + 11);
    return true;
}

/* clang-format off */
#define STATUS_SQL "SELECT " ALERT_STORED_COLUMNS " FROM alert a WHERE a.programme_id = $1" \
    " AND a.rule_id = $2 AND a.subject = $3"
/* clang-format on */

/* Reads the stored alert (locked when lock), or none. */
static bool load_status(PGconn *conn, const struct alert_update *u, bool lock,
                        struct alert_stored *stored)
{
    char pid[24], rid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)u->programme_id);
    snprintf(rid, sizeof(rid), "%lld", (long long)u->rule_id);
    const char *params[] = {pid, rid, u->subject};
    PGresult *res = lock ? db_run(conn, "scaleupd_alert_status_lock", STATUS_SQL " FOR UPDATE OF a",
                                  3, params, PGRES_TUPLES_OK, NULL, "read an alert")
                         : db_run(conn, "scaleupd_alert_status", STATUS_SQL, 3, params,
                                  PGRES_TUPLES_OK, NULL, "read an alert");
    *stored = (struct alert_stored){.period_start = -1, .due_day = -1};
    if (res == NULL)
        return false;
    bool ok = PQntuples(res) != 1 || alerts_stored_parse(res, 0, 0, stored);
    PQclear(res);
    return ok;
}

static const char store_sql[] =
    "WITH up AS (INSERT INTO alert AS a (programme_id, rule_id, subject, indicator_id, site_id,"
    " state, streak, fired, value, centre, lower_limit, upper_limit, period_start, summary,"
    " active_since, updated_at, due_date)"
    " VALUES ($1, $2, $3, nullif($4, '0')::bigint, nullif($5, '0')::bigint, $6, $7, $8, $9, $10,"
    " $11, $12, $13::date, $14, CASE WHEN $6 IN ('pending', 'firing') THEN to_timestamp($15)"
    " END, to_timestamp($15), $18::date)"
    " ON CONFLICT (programme_id, rule_id, subject) DO UPDATE SET state = excluded.state,"
    " streak = excluded.streak, fired = excluded.fired,"
    " value = coalesce(excluded.value, a.value), centre = coalesce(excluded.centre, a.centre),"
    " lower_limit = coalesce(excluded.lower_limit, a.lower_limit),"
    " upper_limit = coalesce(excluded.upper_limit, a.upper_limit),"
    " period_start = coalesce(excluded.period_start, a.period_start),"
    " due_date = coalesce(excluded.due_date, a.due_date),"
    " summary = CASE WHEN excluded.summary = '' THEN a.summary ELSE excluded.summary END,"
    " active_since = CASE WHEN excluded.state IN ('pending', 'firing') AND a.state NOT IN"
    " ('pending', 'firing', 'no_data') THEN excluded.active_since WHEN excluded.state IN"
    " ('inactive', 'resolved') THEN a.active_since ELSE a.active_since END,"
    " acked_at = CASE WHEN excluded.state IN ('resolved', 'inactive') THEN NULL ELSE a.acked_at"
    " END, acked_by = CASE WHEN excluded.state IN ('resolved', 'inactive') THEN NULL ELSE"
    " a.acked_by END, ack_comment = CASE WHEN excluded.state IN ('resolved', 'inactive') THEN"
    " NULL ELSE a.ack_comment END, ack_token = CASE WHEN excluded.state IN ('resolved',"
    " 'inactive') THEN NULL ELSE a.ack_token END,"
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

/* Stores the alert; *id is its id. */
static bool store_alert(PGconn *conn, const struct alert_update *u, const struct alert_status *st,
                        enum alert_state from, enum alert_event event, int64_t *id)
{
    char pid[24], rid[24], ind[24], site[24], streak[16], now[32], day[DATE_FORMAT_MAX],
        due[DATE_FORMAT_MAX];
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
    const char *due_date = NULL;
    if (u->has_due && date_format(u->due_day, due, sizeof(due)))
        due_date = due;
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
        kind,       due_date};
    /* an event goes to the receivers there are: a programme's receivers being replaced hold
     * its receivers lock (RECEIVERS_LOCK_CLASS, storage/receiver_store.c), so this waits for
     * them, and the statement below, snapshotted after, names a receiver just added; a
     * replacement that locks after this sees the alert committed and tells its new receivers
     * itself. Shared: alerts do not wait for each other. */
    if (event != ALERT_EVENT_NONE &&
        !db_command(conn, "scaleupd_alert_receivers_lock",
                    "SELECT pg_advisory_xact_lock_shared(" RECEIVERS_LOCK_CLASS
                    ", hashint8($1::bigint))",
                    1, params, NULL, "lock the programme's receivers"))
        return false;
    PGresult *res = db_run(conn, "scaleupd_alert_store", store_sql, 18, params, PGRES_TUPLES_OK,
                           NULL, "store an alert");
    if (res == NULL)
        return false;
    *id = db_int64(res, 0, 0);
    PQclear(res);
    return true;
}

static bool is_open(enum alert_state state)
{
    return state == ALERT_PENDING || state == ALERT_FIRING || state == ALERT_NO_DATA;
}

/* An alert that starts firing (or fires without an incident, as alerts stored before
 * incidents do) joins its incident; one that closes may resolve the one it was in. Pending
 * alerts join none: an incident is what receivers are told of. */
static bool follow_incident(PGconn *conn, const struct alert_update *u,
                            const struct alert_stored *stored, enum alert_state from,
                            enum alert_state to, int64_t id)
{
    bool was_firing = from == ALERT_FIRING || from == ALERT_NO_DATA;
    if (to == ALERT_FIRING && (!was_firing || stored->incident_id == 0))
        return incidents_attach(conn, u->programme_id, id, u->now);
    if (stored->incident_id != 0 && is_open(from) && !is_open(to))
        return incidents_release(conn, stored->incident_id, u->now);
    return true;
}

/* One step of the stored status by u: the status after it, the event, whether the status
 * changed. */
struct step {
    struct alert_status st;
    enum alert_state from;
    enum alert_event event;
    bool changed;
};

static struct step step_of(const struct alert_update *u, struct alert_status st,
                           const struct alert_stored *stored)
{
    /* `for` and resolve count periods, not evaluations: evaluating the period already counted
     * again (a timer run of a late-feed rule, a revision of the latest value) steps from the
     * count before that period, so it counts once; the step still runs, so the alert's values
     * are refreshed, a count the rule's new (lower) `for` or resolve already meets fires or
     * resolves, and a change of what the period shows (a revision that clears a pending
     * alert) still counts */
    bool repeat = u->period_start >= 0 && u->period_start == stored->period_start;
    bool resolving = st.state == ALERT_FIRING || (st.state == ALERT_NO_DATA && st.fired);
    bool counting = (st.state == ALERT_PENDING && u->obs == ALERT_OBS_HOLDS) ||
                    (resolving && st.streak > 0 && u->obs == ALERT_OBS_OK);
    struct step s = {.st = st, .from = st.state};
    if (repeat && counting)
        s.st.streak--;
    s.event = alert_step(&s.st, u->obs, u->for_count, u->resolve_count);
    s.changed = s.st.state != st.state || s.st.streak != st.streak || s.st.fired != st.fired;
    return s;
}

/* Whether a stored number is what storing v would leave (a missing v keeps it). */
static bool same_number(const struct alert_stored *stored, int i, bool has, double v)
{
    if (!has || !isfinite(v))
        return true;
    return stored->has[i] && stored->values[i] == v;
}

/* Whether storing the step would write what is stored already: the same state, period,
 * summary, values and due date, with its incident joined. */
static bool step_rewrites_nothing(const struct alert_update *u, const struct step *s,
                                  const struct alert_stored *stored)
{
    if (s->changed || s->event != ALERT_EVENT_NONE)
        return false;
    if (stored->id == 0)
        return s->st.state == ALERT_INACTIVE;
    if (s->st.state != ALERT_FIRING && s->st.state != ALERT_PENDING)
        return true; /* values of a quiet alert are not worth a write */
    if (u->period_start < 0 || u->period_start != stored->period_start ||
        (s->st.state == ALERT_FIRING && stored->incident_id == 0))
        return false;
    const struct rule_eval *e = u->eval;
    const char *summary = e ? e->summary : (u->obs == ALERT_OBS_NO_DATA ? "no data" : "");
    if (summary[0] != '\0' && strcmp(summary, stored->summary) != 0)
        return false;
    if (u->has_due && u->due_day != stored->due_day)
        return false;
    return same_number(stored, 0, e != NULL, e ? e->value : 0) &&
           same_number(stored, 1, e && e->has_limits, e ? e->centre : 0) &&
           same_number(stored, 2, e && e->has_limits, e ? e->lower_limit : 0) &&
           same_number(stored, 3, e && e->has_limits, e ? e->upper_limit : 0);
}

bool alerts_rewrites_nothing(const struct alert_update *u, const struct alert_stored *stored)
{
    struct step s = step_of(u, stored->status, stored);
    return step_rewrites_nothing(u, &s, stored);
}

bool alerts_apply(PGconn *conn, const struct alert_update *u)
{
    struct alert_stored stored;
    /* most evaluations of a timer pass change nothing (a practice still late for the same
     * month, 140,000 of them at national scale each pass): read without a lock and stop
     * there when storing would rewrite the same row; else read again, locked, and step */
    if (!load_status(conn, u, false, &stored))
        return false;
    if (alerts_rewrites_nothing(u, &stored))
        return true;
    if (!load_status(conn, u, true, &stored))
        return false;
    struct step s = step_of(u, stored.status, &stored);
    if (stored.id == 0 && s.st.state == ALERT_INACTIVE)
        return true; /* nothing to remember about a quiet subject */
    if (!s.changed && s.st.state != ALERT_FIRING && s.st.state != ALERT_PENDING)
        return true; /* values of a quiet alert are not worth a write */
    int64_t id = 0;
    return store_alert(conn, u, &s.st, s.from, s.event, &id) &&
           follow_incident(conn, u, &stored, s.from, s.st.state, id);
}

/* Steps the self alert of receiver with obs when the programme has an enabled self rule. */
static bool apply_self(PGconn *conn, int64_t programme_id, const char *receiver,
                       enum alert_observation obs, double now)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    PGresult *res = db_run(conn, NULL,
                           "SELECT id, for_count, resolve_count FROM alert_rule WHERE"
                           " programme_id = $1 AND kind = 'self' AND enabled",
                           1, params, PGRES_TUPLES_OK, NULL, "read the self rule");
    if (res == NULL)
        return false;
    bool ok = true;
    if (PQntuples(res) == 1) {
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
    PGresult *res = db_run(conn, NULL,
                           "SELECT 1 FROM alert a JOIN alert_rule r ON r.programme_id ="
                           " a.programme_id AND r.id = a.rule_id WHERE a.programme_id = $1"
                           " AND r.kind = 'self' AND a.subject = $2 AND a.state IN"
                           " ('pending', 'firing', 'no_data')",
                           2, params, PGRES_TUPLES_OK, NULL, "read a self alert");
    if (res == NULL)
        return false;
    bool open = PQntuples(res) > 0;
    PQclear(res);
    return !open || apply_self(conn, programme_id, receiver, ALERT_OBS_OK, now);
}

/* A page of the alerts that are not inactive, newest first: (id DESC), id being unique and
 * never reused. Filters: $1 programme slug, $2 state, $3 indicator code, $4 site code (NULL:
 * any), $5 the id of the previous page's last row (NULL: from the newest), $6 the page's
 * limit + 1, $7 a programme id (NULL: any; a feed token's list). The inner query walks alert_listed
 * or alert_listed_programme (sql/016_list_pages.sql) from the cursor down; the joins name only the
 * page's rows. */
#define ALERT_JSON_SQL                                                                             \
    "json_build_object('id', a.id, 'programme', p.slug, 'rule', r.name,"                           \
    " 'kind', r.kind, 'indicator', i.code, 'site', s.code, 'state', a.state, 'value', a.value,"    \
    " 'centre', a.centre, 'lower_limit', a.lower_limit, 'upper_limit', a.upper_limit, 'period',"   \
    " a.period_start, 'summary', a.summary, 'active_since', a.active_since, 'updated_at',"         \
    " a.updated_at, 'acked_at', a.acked_at, 'acked_by', a.acked_by, 'ack_comment', a.ack_comment," \
    " 'ack_token', a.ack_token, 'due', a.due_date, 'incident_id', a.incident_id, 'dimension',"     \
    " r.dimension)::text"
#define ALERT_JOINS_SQL                                                                            \
    " JOIN programme p ON p.id = a.programme_id JOIN alert_rule r ON"                              \
    " r.programme_id = a.programme_id AND r.id = a.rule_id LEFT JOIN indicator i ON"               \
    " i.programme_id = a.programme_id AND i.id = a.indicator_id LEFT JOIN site s ON"               \
    " s.programme_id = a.programme_id AND s.id = a.site_id"

static const char list_sql[] =
    "SELECT " ALERT_JSON_SQL ", a.id::text"
    " FROM (SELECT * FROM alert a WHERE a.state <> 'inactive'"
    "  AND ($1::text IS NULL OR a.programme_id = (SELECT id FROM programme WHERE slug = $1))"
    "  AND ($2::text IS NULL OR a.state = $2)"
    "  AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM indicator fi WHERE fi.programme_id ="
    "   a.programme_id AND fi.id = a.indicator_id AND fi.code = $3))"
    "  AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM site fs WHERE fs.programme_id ="
    "   a.programme_id AND fs.id = a.site_id AND fs.code = $4))"
    "  AND ($5::int8 IS NULL OR a.id < $5::int8)"
    "  AND ($7::int8 IS NULL OR a.programme_id = $7::int8)"
    "  ORDER BY a.id DESC LIMIT $6::int) a" ALERT_JOINS_SQL " ORDER BY a.id DESC";

enum page_rows_status alerts_list_page(PGconn *conn, const struct alerts_filter *filter,
                                       const struct page_request *request, struct page_rows *page)
{
    if (request->has_after && !page_rows_cursor_valid(&request->after, "i"))
        return PAGE_ROWS_BAD_CURSOR;
    const char *after_id = request->has_after ? request->after.fields[0] : NULL;
    int limit = request->limit;
    char fetch[16], scope[24];
    snprintf(scope, sizeof(scope), "%lld", (long long)filter->programme_id);
    const char *params[] = {filter->programme,
                            filter->state,
                            filter->indicator,
                            filter->site,
                            after_id,
                            page_rows_fetch_limit(limit, fetch, sizeof(fetch)),
                            filter->programme_id != 0 ? scope : NULL};
    PGresult *res = db_run(conn, NULL, list_sql, 7, params, PGRES_TUPLES_OK, NULL, "list alerts");
    bool ok = res != NULL && page_rows_collect(res, limit, 1, page);
    PQclear(res);
    if (ok && !alerts_silenced_by(conn, filter->now, page->items)) {
        page_rows_free(page);
        ok = false;
    }
    return ok ? PAGE_ROWS_OK : PAGE_ROWS_DB_ERROR;
}

enum alerts_result alerts_get(PGconn *conn, int64_t alert_id, double now, json_t **alert)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)alert_id);
    const char *params[] = {id};
    *alert = NULL;
    PGresult *res =
        db_run(conn, NULL,
               "SELECT " ALERT_JSON_SQL " FROM alert a" ALERT_JOINS_SQL " WHERE a.id = $1::int8", 1,
               params, PGRES_TUPLES_OK, NULL, "read an alert");
    if (res == NULL)
        return ALERTS_DB_ERROR;
    json_t *list = json_array();
    if (PQntuples(res) == 1)
        json_array_append_new(list, json_loads(db_text(res, 0, 0), 0, NULL));
    PQclear(res);
    enum alerts_result r = json_array_size(list) == 1 ? ALERTS_OK : ALERTS_NOT_FOUND;
    if (r == ALERTS_OK && !alerts_silenced_by(conn, now, list))
        r = ALERTS_DB_ERROR;
    if (r == ALERTS_OK)
        *alert = json_incref(json_array_get(list, 0));
    json_decref(list);
    return r;
}
