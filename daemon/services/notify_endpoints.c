/* Webhooks and Alertmanagers of a group's dispatch (notify_endpoints.h): each endpoint's own
 * send_resolved and max_alerts, the API v2 bodies with their end times, the schedule of
 * re-posts while alerts fire, all queued in the caller's outbox transaction. */
#include "scaleupd/services/notify_endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/am_webhook.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/alert_groups.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/endpoint_store.h"
#include "scaleupd/storage/outbox.h"

/* How many re-post intervals an Alertmanager holds a firing alert without news of it (as
 * Prometheus, which posts its alerts with endsAt 4 resend delays ahead). */
#define RESEND_HOLD 4

/* Re-posts claimed per round. */
#define RESEND_BATCH 64

struct notify_group notify_endpoints_select(const struct notify_group *group, bool send_resolved,
                                            struct notify_alert **kept)
{
    *kept = NULL;
    struct notify_group g = *group;
    if (send_resolved)
        return g;
    size_t firing = 0;
    for (size_t i = 0; i < group->n_alerts; i++)
        firing += !group->alerts[i].resolved;
    if (firing == group->n_alerts)
        return g;
    *kept = xcalloc(firing > 0 ? firing : 1, sizeof(**kept));
    g.n_alerts = 0;
    for (size_t i = 0; i < group->n_alerts; i++)
        if (!group->alerts[i].resolved)
            (*kept)[g.n_alerts++] = group->alerts[i];
    g.alerts = *kept;
    return g;
}

const char *notify_endpoints_reason(const struct notify_group_times *times)
{
    if (!times->has_last_sent)
        return "first notification";
    if (!times->has_news)
        return "repeat interval elapsed";
    return NULL;
}

/* Queues body to target on channel; false on error. */
static bool queue_body(const struct endpoint_dispatch *d, bool alertmanager, const char *target,
                       bool is_test, const char *body)
{
    struct outbox_message m = {.programme_id = d->programme_id,
                               .receiver = d->receiver,
                               .webhook = true,
                               .alertmanager = alertmanager,
                               .target = target,
                               .is_test = is_test,
                               .created_at = d->now};
    int64_t id = body != NULL ? outbox_queue(d->conn, &m) : 0;
    return id != 0 && outbox_set_body(d->conn, id, "", body, NULL);
}

static bool any_firing(const struct notify_group *g)
{
    for (size_t i = 0; i < g->n_alerts; i++)
        if (!g->alerts[i].resolved)
            return true;
    return false;
}

/* One webhook: 1 queued, 0 nothing to send it, -1 on error. */
static long queue_webhook(const struct endpoint_dispatch *d, const struct notify_group *ng,
                          const struct endpoint *e)
{
    bool send_resolved = e->send_resolved < 0 ? d->config->send_resolved : e->send_resolved == 1;
    struct notify_alert *kept = NULL;
    struct notify_group g = notify_endpoints_select(ng, send_resolved, &kept);
    long queued = 0;
    if (g.n_alerts > 0 || g.is_test) {
        char key[200];
        am_webhook_group_key(&g, key, sizeof(key));
        const char *reason = d->reason;
        if (reason == NULL && g.n_alerts > 0 && !any_firing(&g))
            reason = "all alerts resolved";
        struct am_webhook_options options = {key, e->max_alerts, reason};
        char *body = am_webhook_body(&g, &options);
        if (body == NULL)
            log_warning("could not render the webhook payload of %s/%s: over %zu bytes",
                        g.programme, d->receiver, NOTIFY_RENDER_MAX);
        queued = queue_body(d, false, e->post_url, g.is_test, body) ? 1 : -1;
        free(body);
    }
    free(kept);
    return queued;
}

/* RFC 3339 UTC of t (seconds since 1970). */
static void rfc3339(double t, char *buf, size_t size)
{
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One Alertmanager: the posts queued (one per AM_WEBHOOK_MAX_ALERTS alerts), 0 nothing to
 * send it, -1 on error. Every alert goes (its resolution is how Alertmanager learns of it),
 * in posts of at most AM_WEBHOOK_MAX_ALERTS: a national group of 161,700 alerts in one body
 * was over NOTIFY_RENDER_MAX, and never posted. The next re-post is due one interval on while
 * anything fires. */
static long queue_alertmanager(const struct endpoint_dispatch *d, const struct notify_group *g,
                               const struct endpoint *e)
{
    if (g->n_alerts == 0 && !g->is_test)
        return 0;
    char ends_at[32];
    rfc3339(d->now + (double)RESEND_HOLD * e->resend_interval, ends_at, sizeof(ends_at));
    /* the endpoint's row first, as a re-post claims it (endpoint_store_claim_due), so two
     * daemons lock in the same order; then the posts still waiting are given up, the latest
     * ones carrying the whole state */
    bool ok = g->is_test || (endpoint_store_next_post(d->conn, d->programme_id, d->receiver, e->url,
                                                      any_firing(g), d->now + e->resend_interval) &&
                             outbox_supersede(d->conn, d->programme_id, d->receiver, "alertmanager",
                                              e->post_url, d->now) >= 0);
    long queued = 0;
    size_t off = 0;
    do {
        struct notify_group part = *g;
        part.alerts = g->alerts + off;
        part.n_alerts =
            g->n_alerts - off < AM_WEBHOOK_MAX_ALERTS ? g->n_alerts - off : AM_WEBHOOK_MAX_ALERTS;
        char *body = ok ? am_api_alerts_body(&part, ends_at) : NULL;
        if (ok && body == NULL)
            log_warning("could not render the Alertmanager alerts of %s/%s: over %zu bytes",
                        g->programme, d->receiver, NOTIFY_RENDER_MAX);
        ok = ok && queue_body(d, true, e->post_url, g->is_test, body);
        free(body);
        queued++;
        off += part.n_alerts;
    } while (ok && off < g->n_alerts);
    return ok ? queued : -1;
}

long notify_endpoints_queue(const struct endpoint_dispatch *d, const struct notify_group *group)
{
    struct endpoint_list list;
    if (!endpoint_store_list(d->conn, d->programme_id, d->receiver, &list)) {
        endpoint_list_clear(&list);
        return -1;
    }
    long total = 0;
    for (size_t i = 0; i < list.n && total >= 0; i++) {
        const struct endpoint *e = &list.endpoints[i];
        long n = e->alertmanager ? queue_alertmanager(d, group, e) : queue_webhook(d, group, e);
        total = n < 0 ? -1 : total + n;
    }
    endpoint_list_clear(&list);
    return total;
}

/* The re-post of one claimed Alertmanager: its receiver's firing alerts (those its group
 * would show: not silenced, not acknowledged), or the end of re-posts when none fires. */
static long resend_one(PGconn *conn, const struct config *config, const struct endpoint_due *due,
                       double now)
{
    struct alert_group_alerts alerts;
    if (!alert_groups_alerts(conn, due->programme_id, due->receiver, now, false, &alerts)) {
        alert_group_alerts_clear(&alerts);
        return -1;
    }
    long n = 0;
    if (!alerts.firing) {
        n = endpoint_store_next_post(conn, due->programme_id, due->receiver, due->url, false, 0)
                ? 0
                : -1;
    } else {
        alerts.group.receiver = due->receiver;
        alerts.group.base_url = config->base_url;
        struct endpoint_dispatch d = {conn, config, due->programme_id, due->receiver, now, NULL};
        struct endpoint e = {.alertmanager = true,
                             .url = due->url,
                             .post_url = due->post_url,
                             .resend_interval = due->resend_interval};
        n = queue_alertmanager(&d, &alerts.group, &e);
    }
    alert_group_alerts_clear(&alerts);
    return n;
}

struct resend {
    const struct config *config;
    double now;
    long queued;
};

static bool resend_body(PGconn *conn, void *arg)
{
    struct resend *r = arg;
    struct endpoint_due_list due;
    bool ok = endpoint_store_claim_due(conn, r->now, RESEND_BATCH, &due);
    for (size_t i = 0; ok && i < due.n; i++) {
        long n = resend_one(conn, r->config, &due.due[i], r->now);
        ok = n >= 0;
        r->queued += n > 0 ? n : 0;
    }
    endpoint_due_list_clear(&due);
    return ok;
}

long notify_endpoints_resend(PGconn *conn, const struct config *config, double now)
{
    struct resend r = {config, now, 0};
    return db_transaction(conn, NULL, resend_body, &r) ? r.queued : -1;
}
