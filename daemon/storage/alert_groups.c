/* Alert groups: the alert_group rows (which groups are pending, their lock and timers, the
 * record of a dispatch) and the reads a group's message needs (its alerts, the receiver's
 * targets). SQL only. */
#include "scaleupd/storage/alert_groups.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/silence_store.h"
#include "scaleupd/storage/db.h"

/* Text parameters of a group key and a time. */
struct group_params {
    char pid[24], now[32];
};

static void group_params(struct group_params *p, int64_t programme_id, double now)
{
    snprintf(p->pid, sizeof(p->pid), "%lld", (long long)programme_id);
    snprintf(p->now, sizeof(p->now), "%.6f", now);
}

bool alert_groups_pending(PGconn *conn, double now, int repeat_interval,
                          struct alert_group_list *list)
{
    char t[32], repeat[24];
    snprintf(t, sizeof(t), "%.6f", now);
    snprintf(repeat, sizeof(repeat), "%d", repeat_interval);
    const char *params[] = {t, repeat};
    *list = (struct alert_group_list){0};
    PGresult *res = db_run(conn, NULL,
                           "SELECT DISTINCT programme_id, receiver FROM alert_event WHERE"
                           " dispatched_at IS NULL UNION SELECT programme_id, receiver FROM"
                           " alert_group WHERE had_firing AND last_sent_at + make_interval(secs"
                           " => $2::int) <= to_timestamp($1)",
                           2, params, PGRES_TUPLES_OK, NULL, "find alert groups");
    if (res == NULL)
        return false;
    list->n = (size_t)PQntuples(res);
    list->groups = xcalloc(list->n, sizeof(*list->groups));
    for (size_t i = 0; i < list->n; i++) {
        list->groups[i].programme_id = db_int64(res, (int)i, 0);
        list->groups[i].receiver = xstrdup(db_text(res, (int)i, 1));
    }
    PQclear(res);
    return true;
}

void alert_group_list_free(struct alert_group_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->groups[i].receiver);
    free(list->groups);
    *list = (struct alert_group_list){0};
}

enum alert_group_lock alert_groups_lock(PGconn *conn, int64_t programme_id, const char *receiver,
                                        struct alert_group_state *state)
{
    struct group_params p;
    group_params(&p, programme_id, 0);
    const char *params[] = {p.pid, receiver};
    if (!db_command(conn, NULL,
                    "INSERT INTO alert_group (programme_id, receiver, thread_id) VALUES ($1, $2,"
                    " '') ON CONFLICT DO NOTHING",
                    2, params, NULL, "create an alert group"))
        return ALERT_GROUP_ERROR;
    PGresult *res = db_run(conn, NULL,
                           "SELECT extract(epoch FROM g.last_sent_at), g.had_firing, g.thread_id,"
                           " (SELECT extract(epoch FROM min(created_at)) FROM alert_event e"
                           " WHERE e.programme_id = $1 AND e.receiver = $2 AND"
                           " e.dispatched_at IS NULL) FROM alert_group g WHERE"
                           " g.programme_id = $1 AND g.receiver = $2 FOR UPDATE SKIP LOCKED",
                           2, params, PGRES_TUPLES_OK, NULL, "lock an alert group");
    if (res == NULL)
        return ALERT_GROUP_ERROR;
    enum alert_group_lock lock = PQntuples(res) == 1 ? ALERT_GROUP_LOCKED : ALERT_GROUP_BUSY;
    if (lock == ALERT_GROUP_LOCKED) {
        struct notify_group_times *t = &state->times;
        *t = (struct notify_group_times){0};
        t->has_last_sent = db_double_opt(res, 0, 0, &t->last_sent);
        t->had_firing = db_bool(res, 0, 1);
        snprintf(state->thread_id, sizeof(state->thread_id), "%s", db_text(res, 0, 2));
        t->has_news = db_double_opt(res, 0, 3, &t->first_event);
    }
    PQclear(res);
    return lock;
}

/* The alerts of a group (kept as written: clang-format breaks the SQL after the macro). */
/* clang-format off */
static const char group_alerts_sql[] =
    "WITH ev AS (SELECT alert_id, kind FROM alert_event WHERE programme_id = $1 AND receiver = $2"
    " AND dispatched_at IS NULL)"
    " SELECT a.id, a.state = 'resolved' OR a.state = 'inactive', r.name, r.kind, i.code, i.name,"
    " s.code, s.name, reg.name, a.summary, CASE i.period_type WHEN 'monthly' THEN"
    " to_char(a.period_start, 'YYYY-MM') ELSE to_char(a.period_start, 'YYYY-MM-DD') END,"
    " a.value, a.centre, a.lower_limit, a.upper_limit,"
    " to_char(a.active_since AT TIME ZONE rc.time_zone, 'YYYY-MM-DD HH24:MI') || ' ' ||"
    " rc.time_zone, to_char(a.active_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(a.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " p.slug, p.name, rc.time_zone, " SILENCE_REGIONS_SQL ", CASE WHEN n.kind <> 'alert' THEN"
    " n.id END, CASE WHEN n.kind <> 'alert' THEN n.title END,"
    " r.kind = 'spc' AND coalesce(r.document->>'method', 'detector') <> 'mdc'"
    " FROM alert a JOIN alert_rule r ON r.programme_id = a.programme_id AND r.id = a.rule_id"
    " JOIN receiver rc ON rc.programme_id = a.programme_id AND rc.name = $2"
    " JOIN programme p ON p.id = a.programme_id"
    " LEFT JOIN indicator i ON i.programme_id = a.programme_id AND i.id = a.indicator_id"
    " LEFT JOIN site s ON s.programme_id = a.programme_id AND s.id = a.site_id"
    " LEFT JOIN site reg ON reg.programme_id = s.programme_id AND reg.id = s.parent_id"
    " LEFT JOIN incident n ON n.id = a.incident_id"
    " WHERE a.programme_id = $1 AND (r.receivers IS NULL OR $2 = ANY (r.receivers))"
    " AND NOT (r.kind = 'self' AND a.subject = 'receiver:' || $2)"
    " AND ("
    "  (a.state = 'firing' AND (a.acked_at IS NULL OR a.id IN (SELECT alert_id FROM ev WHERE"
    "   kind = 'firing')))"
    "  OR ($3 AND a.state IN ('resolved', 'inactive') AND a.id IN (SELECT alert_id FROM ev"
    "   WHERE kind = 'resolved')))"
    " ORDER BY a.state = 'firing' DESC, i.code, s.code, a.id";
/* clang-format on */

/* A nullable number: NaN when missing, with *has set when present. */
static double number(const PGresult *res, int row, int col, bool *has)
{
    double v = NAN;
    if (db_double_opt(res, row, col, &v) && has != NULL)
        *has = true;
    return v;
}

static void read_alert(const PGresult *res, int row, struct notify_alert *a)
{
    memset(a, 0, sizeof(*a));
    a->id = (long long)db_int64(res, row, 0);
    a->resolved = db_bool(res, row, 1);
    a->rule = db_text(res, row, 2);
    a->kind = db_text(res, row, 3);
    a->indicator = db_text(res, row, 4);
    a->indicator_name = db_text(res, row, 5);
    a->site = db_text(res, row, 6);
    a->site_name = db_text(res, row, 7);
    a->region_name = db_text(res, row, 8);
    a->summary = db_text(res, row, 9);
    a->period = db_text(res, row, 10);
    a->value = number(res, row, 11, &a->has_value);
    a->centre = number(res, row, 12, NULL);
    a->lower_limit = number(res, row, 13, &a->has_limits);
    a->upper_limit = number(res, row, 14, &a->has_limits);
    a->since = db_text(res, row, 15);
    a->starts_at = db_text(res, row, 16);
    a->ends_at = a->resolved ? db_text(res, row, 17) : NULL;
    /* an alert alone in its incident (kind "alert") is its own incident: 0 */
    int64_t incident = 0;
    a->incident_id = db_int64_opt(res, row, 22, &incident) ? (long long)incident : 0;
    a->incident_title = db_text(res, row, 23);
    a->limits_before = db_bool(res, row, 24);
}

/* The columns of the labels silences match (silence_store.h). */
static const struct silence_columns label_columns = {
    .programme = 18, .indicator = 4, .site = 6, .rule = 2, .kind = 3, .regions = 21};

bool alert_groups_alerts(PGconn *conn, int64_t programme_id, const char *receiver, double now,
                         bool send_resolved, struct alert_group_alerts *out)
{
    struct group_params p;
    group_params(&p, programme_id, now);
    const char *params[] = {p.pid, receiver, send_resolved ? "t" : "f"};
    *out = (struct alert_group_alerts){0};
    struct silence_set silences;
    if (!alerts_silences_active(conn, now, programme_id, &silences))
        return false;
    out->rows = db_run(conn, NULL, group_alerts_sql, 3, params, PGRES_TUPLES_OK, NULL,
                       "read the alerts of a group");
    int n = out->rows ? PQntuples(out->rows) : 0, kept = 0;
    struct notify_alert *alerts = n > 0 ? xcalloc((size_t)n, sizeof(*alerts)) : NULL;
    for (int i = 0; i < n; i++) {
        if (silence_set_mutes_row(&silences, out->rows, i, &label_columns))
            continue;
        read_alert(out->rows, i, &alerts[kept]);
        out->firing = out->firing || !alerts[kept].resolved;
        kept++;
    }
    silence_set_free(&silences);
    if (kept == 0) {
        free(alerts);
        return out->rows != NULL;
    }
    out->group = (struct notify_group){.programme = db_text(out->rows, 0, 18),
                                       .programme_name = db_text(out->rows, 0, 19),
                                       .time_zone = db_text(out->rows, 0, 20),
                                       .alerts = alerts,
                                       .n_alerts = (size_t)kept};
    return true;
}

void alert_group_alerts_clear(struct alert_group_alerts *alerts)
{
    free((struct notify_alert *)alerts->group.alerts);
    PQclear(alerts->rows);
    *alerts = (struct alert_group_alerts){0};
}

int alert_groups_receiver(PGconn *conn, int64_t programme_id, const char *receiver,
                          struct alert_group_alerts *out)
{
    struct group_params p;
    group_params(&p, programme_id, 0);
    const char *params[] = {p.pid, receiver};
    *out = (struct alert_group_alerts){0};
    out->rows = db_run(conn, NULL,
                       "SELECT p.slug, p.name, r.time_zone FROM receiver r JOIN programme p"
                       " ON p.id = r.programme_id WHERE r.programme_id = $1 AND r.name = $2",
                       2, params, PGRES_TUPLES_OK, NULL, "read a receiver");
    if (out->rows == NULL)
        return -1;
    if (PQntuples(out->rows) != 1)
        return 0;
    out->group.programme = db_text(out->rows, 0, 0);
    out->group.programme_name = db_text(out->rows, 0, 1);
    out->group.time_zone = db_text(out->rows, 0, 2);
    return 1;
}

bool alert_groups_targets(PGconn *conn, int64_t programme_id, const char *receiver,
                          struct alert_group_targets *out)
{
    struct group_params p;
    group_params(&p, programme_id, 0);
    const char *params[] = {p.pid, receiver};
    *out = (struct alert_group_targets){0};
    out->rows = db_run(conn, NULL,
                       "SELECT false, e FROM receiver, unnest(email) e WHERE programme_id ="
                       " $1 AND name = $2 UNION ALL SELECT true, w FROM receiver,"
                       " unnest(webhook) w WHERE programme_id = $1 AND name = $2",
                       2, params, PGRES_TUPLES_OK, NULL, "read a receiver");
    if (out->rows == NULL)
        return false;
    out->n = (size_t)PQntuples(out->rows);
    out->targets = xcalloc(out->n, sizeof(*out->targets));
    for (size_t i = 0; i < out->n; i++)
        out->targets[i] = (struct alert_group_target){.webhook = db_bool(out->rows, (int)i, 0),
                                                      .target = db_text(out->rows, (int)i, 1)};
    return true;
}

void alert_group_targets_clear(struct alert_group_targets *targets)
{
    free(targets->targets);
    PQclear(targets->rows);
    *targets = (struct alert_group_targets){0};
}

bool alert_groups_dispatched(PGconn *conn, int64_t programme_id, const char *receiver, double now,
                             bool notified, bool firing, const char *thread_id)
{
    struct group_params p;
    group_params(&p, programme_id, now);
    const char *params[] = {p.pid,    receiver, p.now, notified ? "t" : "f", firing ? "t" : "f",
                            thread_id};
    return db_command(conn, NULL,
                      "UPDATE alert_group SET last_sent_at = CASE WHEN $4 THEN to_timestamp($3)"
                      " ELSE last_sent_at END, had_firing = $5::boolean, thread_id = $6 WHERE"
                      " programme_id = $1 AND receiver = $2",
                      6, params, NULL, "update an alert group") &&
           db_command(conn, NULL,
                      "UPDATE alert_event SET dispatched_at = to_timestamp($3), outcome = CASE"
                      " WHEN $4 THEN 'notified' ELSE 'dropped' END WHERE programme_id = $1 AND"
                      " receiver = $2 AND dispatched_at IS NULL",
                      4, params, NULL, "mark alert events dispatched");
}
