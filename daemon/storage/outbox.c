/* The outbox: grouping of alert events into rendered messages (one transaction per group)
 * and the claim / mark cycle of delivery. */
#include "scaleupd/storage/outbox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/silence_store.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/core/config.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/notify_render.h"

double outbox_backoff(int attempts, double jitter01)
{
    double base = 30.0;
    for (int i = 1; i < attempts && base < 3600; i++)
        base *= 2;
    if (base > 3600)
        base = 3600;
    return base * (0.5 + jitter01);
}

static bool exec_ok(PGconn *conn, const char *sql, int n, const char *const *params,
                    const char *what)
{
    PGresult *res = db_query(conn, sql, n, params);
    bool ok =
        db_ok(res, PQresultStatus(res) == PGRES_TUPLES_OK ? PGRES_TUPLES_OK : PGRES_COMMAND_OK,
              NULL, what);
    PQclear(res);
    return ok;
}

/* The group key, the receiver's details and what a message needs. */
struct group_ctx {
    const struct config *config;
    const char *pid, *receiver, *now;
    double now_epoch;
    char thread_id[200];
    char domain[128];
    bool is_test;
};

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
    " p.slug, p.name, rc.time_zone"
    " FROM alert a JOIN alert_rule r ON r.programme_id = a.programme_id AND r.id = a.rule_id"
    " JOIN receiver rc ON rc.programme_id = a.programme_id AND rc.name = $2"
    " JOIN programme p ON p.id = a.programme_id"
    " LEFT JOIN indicator i ON i.programme_id = a.programme_id AND i.id = a.indicator_id"
    " LEFT JOIN site s ON s.programme_id = a.programme_id AND s.id = a.site_id"
    " LEFT JOIN site reg ON reg.programme_id = s.programme_id AND reg.id = s.parent_id"
    " WHERE a.programme_id = $1 AND (r.receivers IS NULL OR $2 = ANY (r.receivers))"
    " AND NOT (r.kind = 'self' AND a.subject = 'receiver:' || $2)"
    " AND NOT " ALERTS_SILENCED_SQL("$3") " AND ("
                                          "  (a.state = 'firing' AND (a.acked_at IS NULL OR a.id "
                                          "IN (SELECT alert_id FROM ev WHERE"
                                          "   kind = 'firing')))"
                                          "  OR ($4 AND a.state IN ('resolved', 'inactive') AND "
                                          "a.id IN (SELECT alert_id FROM ev"
                                          "   WHERE kind = 'resolved')))"
                                          " ORDER BY a.state = 'firing' DESC, i.code, s.code, a.id";

static const char *cell(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static double number_cell(const PGresult *res, int row, int col, bool *has)
{
    if (PQgetisnull(res, row, col))
        return NAN;
    if (has)
        *has = true;
    return strtod(PQgetvalue(res, row, col), NULL);
}

static void fill_alert(const PGresult *res, int row, struct notify_alert *a)
{
    memset(a, 0, sizeof(*a));
    a->id = (long long)db_int64(res, row, 0);
    a->resolved = strcmp(PQgetvalue(res, row, 1), "t") == 0;
    a->rule = cell(res, row, 2);
    a->kind = cell(res, row, 3);
    a->indicator = cell(res, row, 4);
    a->indicator_name = cell(res, row, 5);
    a->site = cell(res, row, 6);
    a->site_name = cell(res, row, 7);
    a->region_name = cell(res, row, 8);
    a->summary = cell(res, row, 9);
    a->period = cell(res, row, 10);
    a->value = number_cell(res, row, 11, &a->has_value);
    bool limits = false;
    a->centre = number_cell(res, row, 12, NULL);
    a->lower_limit = number_cell(res, row, 13, &limits);
    a->upper_limit = number_cell(res, row, 14, &limits);
    a->has_limits = limits;
    a->since = cell(res, row, 15);
    a->starts_at = cell(res, row, 16);
    a->ends_at = a->resolved ? cell(res, row, 17) : NULL;
}

/* Inserts one message row and returns its id (0 on error). */
static int64_t insert_row(PGconn *conn, const struct group_ctx *g, bool webhook, const char *target)
{
    const char *params[] = {g->pid, g->receiver, webhook ? "webhook" : "email",
                            target, g->now,      g->is_test ? "t" : "f"};
    PGresult *res = db_query(conn,
                             "INSERT INTO outbox (programme_id, receiver, channel, target, body,"
                             " is_test, created_at, next_at) VALUES ($1, $2, $3, $4, '', $6,"
                             " to_timestamp($5), to_timestamp($5)) RETURNING id",
                             6, params);
    int64_t id = 0;
    if (db_ok(res, PGRES_TUPLES_OK, NULL, "queue a message"))
        id = db_int64(res, 0, 0);
    PQclear(res);
    return id;
}

static bool set_body(PGconn *conn, int64_t id, const char *subject, const char *body,
                     const char *thread)
{
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    const char *params[] = {sid, subject, body, thread};
    return exec_ok(conn, "UPDATE outbox SET subject = $2, body = $3, thread_id = $4 WHERE id = $1",
                   4, params, "store a message");
}

static bool queue_email(PGconn *conn, struct group_ctx *g, const struct notify_group *ng,
                        const char *to, const char *subject, const char *text, const char *html)
{
    int64_t id = insert_row(conn, g, false, to);
    if (id == 0)
        return false;
    char message_id[200], date[64];
    snprintf(message_id, sizeof(message_id), "<scaleupd.%lld.%s@%s>", (long long)id, ng->programme,
             g->domain);
    if (g->thread_id[0] == '\0')
        snprintf(g->thread_id, sizeof(g->thread_id), "%s", message_id);
    time_t t = (time_t)g->now_epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    char boundary[64];
    snprintf(boundary, sizeof(boundary), "=_scaleupd_%lld", (long long)id);
    char *msg = notify_email_message(g->config->smtp_from, to, subject, date, message_id,
                                     g->thread_id, text, html, boundary);
    bool ok = msg != NULL && set_body(conn, id, subject, msg, g->thread_id);
    free(msg);
    return ok;
}

static bool queue_webhook(PGconn *conn, struct group_ctx *g, const struct notify_group *ng,
                          const char *url)
{
    int64_t id = insert_row(conn, g, true, url);
    char key[200];
    snprintf(key, sizeof(key), "%s/%s", ng->programme, ng->receiver);
    json_t *payload = notify_webhook_payload(ng, key);
    char *body = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    bool ok = id != 0 && body != NULL && set_body(conn, id, "", body, NULL);
    free(body);
    return ok;
}

/* Queues the rendered group to every target of the receiver; the number queued or -1. */
static long queue_targets(PGconn *conn, struct group_ctx *g, const struct notify_group *ng)
{
    const char *params[] = {g->pid, g->receiver};
    PGresult *res = db_query(conn,
                             "SELECT false, e FROM receiver, unnest(email) e WHERE programme_id ="
                             " $1 AND name = $2 UNION ALL SELECT true, w FROM receiver,"
                             " unnest(webhook) w WHERE programme_id = $1 AND name = $2",
                             2, params);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "read a receiver")) {
        PQclear(res);
        return -1;
    }
    char *subject = notify_subject(ng), *text = notify_text(ng), *html = notify_html(ng);
    long n = 0;
    for (int i = 0; i < PQntuples(res) && n >= 0; i++) {
        bool webhook = strcmp(PQgetvalue(res, i, 0), "t") == 0;
        bool ok = webhook
                      ? queue_webhook(conn, g, ng, PQgetvalue(res, i, 1))
                      : subject && text && html &&
                            queue_email(conn, g, ng, PQgetvalue(res, i, 1), subject, text, html);
        n = ok ? n + 1 : -1;
    }
    free(subject), free(text), free(html);
    PQclear(res);
    return n;
}

/* Renders the group's alerts; *firing tells whether any is firing. -1 on error. */
static long render_group(PGconn *conn, struct group_ctx *g, bool *firing)
{
    const char *params[] = {g->pid, g->receiver, g->now, g->config->send_resolved ? "t" : "f"};
    PGresult *res = db_query(conn, group_alerts_sql, 4, params);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "read the alerts of a group")) {
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    *firing = false;
    long queued = 0;
    if (n > 0) {
        struct notify_alert *alerts = calloc((size_t)n, sizeof(*alerts));
        for (int i = 0; alerts && i < n; i++) {
            fill_alert(res, i, &alerts[i]);
            *firing = *firing || !alerts[i].resolved;
        }
        struct notify_group ng = {.programme = cell(res, 0, 18),
                                  .programme_name = cell(res, 0, 19),
                                  .receiver = g->receiver,
                                  .time_zone = cell(res, 0, 20),
                                  .base_url = g->config->base_url,
                                  .alerts = alerts,
                                  .n_alerts = (size_t)n};
        queued = alerts ? queue_targets(conn, g, &ng) : -1;
        free(alerts);
    }
    PQclear(res);
    return queued;
}

/* Locks the group row (created when new); false when another daemon holds it or on error. */
static bool lock_group(PGconn *conn, struct group_ctx *g, double *last_sent, bool *had_firing,
                       double *first_event, bool *error)
{
    const char *params[] = {g->pid, g->receiver};
    *error = !exec_ok(conn,
                      "INSERT INTO alert_group (programme_id, receiver, thread_id) VALUES ($1, $2,"
                      " '') ON CONFLICT DO NOTHING",
                      2, params, "create an alert group");
    if (*error)
        return false;
    PGresult *res = db_query(conn,
                             "SELECT extract(epoch FROM g.last_sent_at), g.had_firing, g.thread_id,"
                             " (SELECT extract(epoch FROM min(created_at)) FROM alert_event e"
                             " WHERE e.programme_id = $1 AND e.receiver = $2 AND"
                             " e.dispatched_at IS NULL) FROM alert_group g WHERE"
                             " g.programme_id = $1 AND g.receiver = $2 FOR UPDATE SKIP LOCKED",
                             2, params);
    bool got = db_ok(res, PGRES_TUPLES_OK, NULL, "lock an alert group") && PQntuples(res) == 1;
    *error = PQresultStatus(res) != PGRES_TUPLES_OK;
    if (got) {
        *last_sent = number_cell(res, 0, 0, NULL);
        *had_firing = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        snprintf(g->thread_id, sizeof(g->thread_id), "%s", PQgetvalue(res, 0, 2));
        *first_event = number_cell(res, 0, 3, NULL);
    }
    PQclear(res);
    return got;
}

static bool group_due(const struct config *c, double now, double last_sent, bool had_firing,
                      double first_event)
{
    bool news = !isnan(first_event);
    if (news && (isnan(last_sent) || !had_firing))
        return now >= first_event + c->group_wait;
    if (news)
        return now >= last_sent + c->group_interval;
    return had_firing && !isnan(last_sent) && now >= last_sent + c->repeat_interval;
}

/* Dispatches one group in its own transaction; the messages queued or -1. */
static long dispatch_group(PGconn *conn, struct group_ctx *g)
{
    if (!exec_ok(conn, "BEGIN", 0, NULL, "begin a dispatch"))
        return -1;
    double last_sent = NAN, first_event = NAN;
    bool had_firing = false, error = false, firing = false;
    long queued = 0;
    if (!lock_group(conn, g, &last_sent, &had_firing, &first_event, &error) ||
        !group_due(g->config, g->now_epoch, last_sent, had_firing, first_event))
        goto out;
    queued = render_group(conn, g, &firing);
    if (queued < 0)
        goto out;
    const char *params[] = {
        g->pid, g->receiver, g->now, queued > 0 ? "t" : "f", firing ? "t" : "f", g->thread_id};
    if (!exec_ok(conn,
                 "UPDATE alert_group SET last_sent_at = CASE WHEN $4 THEN to_timestamp($3) ELSE"
                 " last_sent_at END, had_firing = $5::boolean, thread_id = $6 WHERE programme_id"
                 " = $1 AND receiver = $2",
                 6, params, "update an alert group") ||
        !exec_ok(conn,
                 "UPDATE alert_event SET dispatched_at = to_timestamp($3), outcome = CASE WHEN $4"
                 " THEN 'notified' ELSE 'dropped' END WHERE programme_id = $1 AND receiver = $2"
                 " AND dispatched_at IS NULL",
                 4, params, "mark alert events dispatched"))
        queued = -1;
out:
    if (queued < 0 || error || !exec_ok(conn, "COMMIT", 0, NULL, "commit a dispatch")) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }
    return queued;
}

static void mail_domain(const struct config *config, char *buf, size_t size)
{
    const char *at = strrchr(config->smtp_from, '@');
    snprintf(buf, size, "%s", at && at[1] ? at + 1 : "scaleupd");
    char *end = strpbrk(buf, "> ");
    if (end)
        *end = '\0';
}

long outbox_dispatch(PGconn *conn, const struct config *config, double now)
{
    char t[32], repeat[24];
    snprintf(t, sizeof(t), "%.6f", now);
    snprintf(repeat, sizeof(repeat), "%d", config->repeat_interval);
    const char *params[] = {t, repeat};
    PGresult *res = db_query(conn,
                             "SELECT DISTINCT programme_id, receiver FROM alert_event WHERE"
                             " dispatched_at IS NULL UNION SELECT programme_id, receiver FROM"
                             " alert_group WHERE had_firing AND last_sent_at + make_interval(secs"
                             " => $2::int) <= to_timestamp($1)",
                             2, params);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "find alert groups")) {
        PQclear(res);
        return -1;
    }
    long total = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        struct group_ctx g = {.config = config,
                              .pid = PQgetvalue(res, i, 0),
                              .receiver = PQgetvalue(res, i, 1),
                              .now = t,
                              .now_epoch = now};
        mail_domain(config, g.domain, sizeof(g.domain));
        long n = dispatch_group(conn, &g);
        if (n < 0 && db_connection_lost(conn)) {
            total = -1;
            break;
        }
        total += n > 0 ? n : 0;
    }
    PQclear(res);
    return total;
}

long outbox_enqueue_test(PGconn *conn, const struct config *config, int64_t programme_id,
                         const char *receiver, double now)
{
    char pid[24], t[32];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {pid, receiver};
    PGresult *res = db_query(conn,
                             "SELECT p.slug, p.name, r.time_zone FROM receiver r JOIN programme p"
                             " ON p.id = r.programme_id WHERE r.programme_id = $1 AND r.name = $2",
                             2, params);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "read a receiver")) {
        PQclear(res);
        return -1;
    }
    long n = 0;
    if (PQntuples(res) == 1) {
        struct group_ctx g = {.config = config,
                              .pid = pid,
                              .receiver = receiver,
                              .now = t,
                              .now_epoch = now,
                              .is_test = true};
        mail_domain(config, g.domain, sizeof(g.domain));
        struct notify_group ng = {.programme = PQgetvalue(res, 0, 0),
                                  .programme_name = PQgetvalue(res, 0, 1),
                                  .receiver = receiver,
                                  .time_zone = PQgetvalue(res, 0, 2),
                                  .base_url = config->base_url,
                                  .is_test = true};
        n = queue_targets(conn, &g, &ng);
    }
    PQclear(res);
    return n;
}

void outbox_item_clear(struct outbox_item *item)
{
    free(item->receiver);
    free(item->target);
    free(item->body);
    memset(item, 0, sizeof(*item));
}

int outbox_renew_lease(PGconn *conn, const struct outbox_item *item, double until)
{
    char id[24], attempts[16], u[32];
    snprintf(id, sizeof(id), "%lld", (long long)item->id);
    snprintf(attempts, sizeof(attempts), "%d", item->attempts);
    snprintf(u, sizeof(u), "%.6f", until);
    const char *params[] = {id, attempts, u};
    PGresult *res = db_query(conn,
                             "UPDATE outbox SET lease_until = to_timestamp($3) WHERE id = $1"
                             " AND attempts = $2 AND sent_at IS NULL AND dead_at IS NULL",
                             3, params);
    int r = -1;
    if (db_ok(res, PGRES_COMMAND_OK, NULL, "renew a delivery lease"))
        r = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return r;
}

long outbox_claim(PGconn *conn, double now, double lease, struct outbox_item *items, size_t max)
{
    char t[32], l[32], m[16];
    snprintf(t, sizeof(t), "%.6f", now);
    snprintf(l, sizeof(l), "%.6f", now + lease);
    snprintf(m, sizeof(m), "%zu", max);
    const char *params[] = {t, l, m};
    PGresult *res = db_query(
        conn,
        "UPDATE outbox o SET lease_until = to_timestamp($2), attempts = o.attempts + 1"
        " WHERE o.id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL AND"
        " next_at <= to_timestamp($1) AND (lease_until IS NULL OR lease_until <= to_timestamp($1))"
        " ORDER BY next_at, id LIMIT $3::int FOR UPDATE SKIP LOCKED)"
        " RETURNING o.id, o.channel = 'webhook', o.target, o.body, extract(epoch FROM"
        " o.created_at), o.attempts, coalesce(o.programme_id, 0), o.receiver",
        3, params);
    long n = -1;
    if (db_ok(res, PGRES_TUPLES_OK, NULL, "claim messages")) {
        n = PQntuples(res);
        for (long i = 0; i < n; i++) {
            struct outbox_item *it = &items[i];
            it->id = db_int64(res, (int)i, 0);
            it->webhook = strcmp(PQgetvalue(res, (int)i, 1), "t") == 0;
            it->target = strdup(PQgetvalue(res, (int)i, 2));
            it->body = strdup(PQgetvalue(res, (int)i, 3));
            it->created_at = strtod(PQgetvalue(res, (int)i, 4), NULL);
            it->attempts = (int)db_int64(res, (int)i, 5);
            it->programme_id = db_int64(res, (int)i, 6);
            it->receiver = strdup(PQgetvalue(res, (int)i, 7));
        }
    }
    PQclear(res);
    return n;
}

/* Runs the marking statement and the self-alert step of item in one transaction. */
static bool mark_with_self_alert(PGconn *conn, const struct outbox_item *item, const char *sql,
                                 const char *const *params, bool dead, double now)
{
    if (!exec_ok(conn, "BEGIN", 0, NULL, "begin marking a message"))
        return false;
    bool ok = exec_ok(conn, sql, 3, params, dead ? "dead-letter a message" : "mark a message sent");
    if (ok && item->programme_id != 0 && item->receiver != NULL)
        ok = dead ? alerts_delivery_failed(conn, item->programme_id, item->receiver, now)
                  : alerts_delivery_recovered(conn, item->programme_id, item->receiver, now);
    if (ok && exec_ok(conn, "COMMIT", 0, NULL, "commit marking a message"))
        return true;
    PQclear(PQexec(conn, "ROLLBACK"));
    return false;
}

bool outbox_mark_sent(PGconn *conn, const struct outbox_item *item, double now)
{
    char sid[24], t[32];
    snprintf(sid, sizeof(sid), "%lld", (long long)item->id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {sid, t, NULL};
    return mark_with_self_alert(conn, item,
                                "UPDATE outbox SET sent_at = to_timestamp($2), lease_until = NULL,"
                                " last_error = $3 WHERE id = $1",
                                params, false, now);
}

bool outbox_mark_retry(PGconn *conn, int64_t id, double next_at, const char *error)
{
    char sid[24], t[32];
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    snprintf(t, sizeof(t), "%.6f", next_at);
    const char *params[] = {sid, t, error};
    return exec_ok(conn,
                   "UPDATE outbox SET next_at = to_timestamp($2), lease_until = NULL,"
                   " last_error = $3 WHERE id = $1",
                   3, params, "schedule a retry");
}

bool outbox_mark_dead(PGconn *conn, const struct outbox_item *item, double now, const char *error)
{
    char sid[24], t[32];
    snprintf(sid, sizeof(sid), "%lld", (long long)item->id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {sid, t, error};
    return mark_with_self_alert(conn, item,
                                "UPDATE outbox SET dead_at = to_timestamp($2), lease_until = NULL,"
                                " last_error = $3 WHERE id = $1",
                                params, true, now);
}

bool outbox_stats(PGconn *conn, double now, long *depth, double *oldest_age)
{
    char t[32];
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {t};
    PGresult *res = db_query(conn,
                             "SELECT count(*), coalesce(extract(epoch FROM to_timestamp($1) -"
                             " min(created_at)), 0) FROM outbox WHERE sent_at IS NULL AND"
                             " dead_at IS NULL",
                             1, params);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "count the outbox");
    if (ok) {
        *depth = (long)db_int64(res, 0, 0);
        *oldest_age = db_double(res, 0, 1);
    }
    PQclear(res);
    return ok;
}
