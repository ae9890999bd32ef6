/* Notification: decides which alert groups are due (core/notify_timing), renders their
 * messages (core/notify_render) and queues one per address and URL in the outbox, a group
 * per transaction; also queues the receivers' test messages. Delivery sends them. */
#include "scaleupd/services/notify.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/notify_chart.h"
#include "scaleupd/core/notify_render.h"
#include "scaleupd/core/notify_timing.h"
#include "scaleupd/services/ack_link.h"
#include "scaleupd/services/charts.h"
#include "scaleupd/services/notify_endpoints.h"
#include "scaleupd/storage/alert_groups.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/digest_store.h"
#include "scaleupd/storage/outbox.h"
#include "scaleupd/storage/programmes.h"

/* One group's messages being queued. */
struct dispatch {
    PGconn *conn;
    const struct config *config;
    int64_t programme_id;
    const char *receiver;
    double now;
    bool is_test;
    char thread_id[200]; /* the group's thread; the first e-mail starts it when "" */
    char domain[128];    /* of Message-IDs */
    const char *reason;  /* the webhooks' notification_reason (notify_endpoints.h) */
};

static void dispatch_init(struct dispatch *d, PGconn *conn, const struct config *config,
                          int64_t programme_id, const char *receiver, double now)
{
    *d = (struct dispatch){.conn = conn,
                           .config = config,
                           .programme_id = programme_id,
                           .receiver = receiver,
                           .now = now};
    notify_mail_domain(config->smtp_from, d->domain, sizeof(d->domain));
}

/* Queues a row for target and returns its id, 0 on error. */
static int64_t queue_row(struct dispatch *d, bool webhook, const char *target)
{
    struct outbox_message m = {.programme_id = d->programme_id,
                               .receiver = d->receiver,
                               .webhook = webhook,
                               .target = target,
                               .is_test = d->is_test,
                               .created_at = d->now};
    return outbox_queue(d->conn, &m);
}

/* ---- what the e-mail adds to a group: units, charts, one-click links ------------------ */

#define EMAIL_CHARTS_MAX 12 /* charts one e-mail carries; later incidents link to theirs */
#define CHART_WIDTH 560
#define CHART_HEIGHT 170

/* A copy of the group's alerts with what only the e-mail shows, and what that points into. */
struct email_extras {
    struct notify_group group; /* the group, its alerts the copy */
    struct notify_alert *alerts;
    json_t *programme;             /* the programme document: the indicators' units */
    struct notify_png *charts;     /* per alert; data NULL when it draws none */
    char (*tokens)[ACK_TOKEN_MAX]; /* per alert, for the address being rendered */
    size_t *first;                 /* per alert, the first alert of its incident */
    size_t *next;                  /* per alert, the next member of its incident, or SIZE_MAX */
};

static const char *indicator_unit(const json_t *programme, const char *code)
{
    size_t i;
    json_t *indicator;
    json_array_foreach(json_object_get(programme, "indicators"), i, indicator)
    {
        const char *c = json_string_value(json_object_get(indicator, "code"));
        if (c != NULL && code != NULL && strcmp(c, code) == 0)
            return json_string_value(json_object_get(indicator, "unit"));
    }
    return NULL;
}

/* The variation the chart document names ("improvement", "concern", "neutral", "common"). */
static enum notify_chart_variation chart_variation(const char *name)
{
    static const char *const names[] = {"common", "improvement", "concern", "neutral"};
    for (size_t i = 0; name != NULL && i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return (enum notify_chart_variation)i;
    return NOTIFY_CHART_COMMON;
}

static void chart_point(const json_t *p, struct notify_chart_point *out)
{
    const json_t *value = json_object_get(p, "value");
    const char *variation = json_string_value(json_object_get(p, "variation"));
    *out = (struct notify_chart_point){
        .period = json_string_value(json_object_get(p, "period")),
        .has_value = json_is_number(value),
        .value = json_number_value(value),
        .has_limits = json_is_true(json_object_get(p, "has_limits")),
        .mean = json_number_value(json_object_get(p, "mean")),
        .lower_limit = json_number_value(json_object_get(p, "lower_limit")),
        .upper_limit = json_number_value(json_object_get(p, "upper_limit")),
        .variation = chart_variation(variation)};
}

/* Draws the chart of the alert's series as services/charts.h computes it for the dashboard
 * (its last NOTIFY_CHART_POINTS periods, the alert's marked) into *png; a series that cannot
 * be charted gets none. False on a database error. */
static bool email_chart(struct dispatch *d, const struct notify_alert *a, struct notify_png *png)
{
    /* inside the dispatch's transaction: the rollups as they stand, never a fold (which would
     * wait for the background one and hold the programme's fold lock until the commit) */
    struct charts_query q = {.programme_id = d->programme_id,
                             .indicator = a->indicator,
                             .site = a->site,
                             .as_they_stand = true};
    json_t *doc = NULL;
    enum spc_status why = SPC_OK;
    enum charts_status status = charts_xmr(d->conn, &q, &doc, &why);
    if (status != CHARTS_OK)
        return status != CHARTS_DB_ERROR;
    const json_t *points = json_object_get(doc, "points");
    size_t n = json_array_size(points);
    size_t skip = n > NOTIFY_CHART_POINTS ? n - NOTIFY_CHART_POINTS : 0;
    struct notify_chart_point *drawn = xcalloc(n - skip + 1, sizeof(*drawn));
    for (size_t i = skip; i < n; i++)
        chart_point(json_array_get(points, i), &drawn[i - skip]);
    struct notify_chart chart = {drawn, n - skip, a->period, a->unit, CHART_WIDTH, CHART_HEIGHT};
    unsigned char *data = NULL;
    size_t size = 0;
    if (notify_chart_png(&chart, &data, &size))
        *png = (struct notify_png){data, size, CHART_WIDTH, CHART_HEIGHT};
    free(drawn);
    json_decref(doc);
    return true;
}

static void email_extras_free(struct email_extras *x)
{
    for (size_t i = 0; x->charts != NULL && i < x->group.n_alerts; i++)
        free((unsigned char *)x->charts[i].data);
    free(x->charts);
    free(x->tokens);
    free(x->first);
    free(x->next);
    free(x->alerts);
    json_decref(x->programme);
    *x = (struct email_extras){0};
}

/* The member of incident first whose chart the e-mail shows: the region's aggregate when
 * it is a member (its name is the others' region), else the first. */
static size_t chart_member(const struct email_extras *x, size_t first)
{
    for (size_t j = first; j != SIZE_MAX; j = x->next[j])
        for (size_t k = first; x->alerts[j].site_name && k != SIZE_MAX; k = x->next[k])
            if (k != j && x->alerts[k].region_name &&
                strcmp(x->alerts[k].region_name, x->alerts[j].site_name) == 0)
                return j;
    return first;
}

/* The units and, for the first EMAIL_CHARTS_MAX signal incidents (not late feeds), the
 * chart of each (chart_member). False on a database error. */
static bool email_extras_build(struct dispatch *d, const struct notify_group *ng,
                               struct email_extras *x)
{
    size_t n = ng->n_alerts, drawn = 0;
    bool db_error = false;
    *x = (struct email_extras){.group = *ng};
    x->alerts = xcalloc(n + 1, sizeof(*x->alerts));
    x->charts = xcalloc(n + 1, sizeof(*x->charts));
    x->tokens = xcalloc(n + 1, sizeof(*x->tokens));
    x->first = xcalloc(n + 1, sizeof(*x->first));
    x->next = xcalloc(n + 1, sizeof(*x->next));
    if (n > 0) /* a test message has no alerts, and NULL for them */
        memcpy(x->alerts, ng->alerts, n * sizeof(*x->alerts));
    x->group.alerts = x->alerts;
    x->programme = n ? programme_get(d->conn, ng->programme, &db_error) : NULL;
    notify_incident_firsts(ng, x->first);
    size_t *last = xcalloc(n + 1, sizeof(*last)); /* per first: its last member so far */
    for (size_t i = 0; i < n; i++) {
        x->alerts[i].unit = indicator_unit(x->programme, x->alerts[i].indicator);
        x->next[i] = SIZE_MAX;
        if (x->first[i] != i)
            x->next[last[x->first[i]]] = i;
        last[x->first[i]] = i;
    }
    free(last);
    for (size_t i = 0; i < n && !db_error && drawn < EMAIL_CHARTS_MAX; i++) {
        const char *kind = x->alerts[i].kind;
        if (x->first[i] != i || (kind != NULL && strcmp(kind, "late_feed") == 0))
            continue;
        struct notify_alert *a = &x->alerts[chart_member(x, i)];
        if (a->indicator == NULL || a->site == NULL)
            continue;
        db_error = !email_chart(d, a, &x->charts[a - x->alerts]);
        a->chart = x->charts[a - x->alerts].data != NULL ? &x->charts[a - x->alerts] : NULL;
        drawn += a->chart != NULL;
    }
    return !db_error;
}

/* Signs each incident's one-click link for the address to (no link when links are off). */
static void email_tokens(struct dispatch *d, struct email_extras *x, const char *to)
{
    size_t n = x->group.n_alerts;
    long long *ids = xcalloc(n + 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++) {
        x->alerts[i].ack_token = NULL;
        size_t members = 0;
        if (x->first[i] != i)
            continue;
        for (size_t j = i; j != SIZE_MAX; j = x->next[j])
            if (!x->alerts[j].resolved)
                ids[members++] = x->alerts[j].id;
        if (members > 0 && ack_link_token(d->programme_id, ids, members, to, d->now,
                                          d->config->ack_ttl, x->tokens[i], sizeof(x->tokens[i])))
            x->alerts[i].ack_token = x->tokens[i];
    }
    for (size_t i = 0; i < n; i++)
        x->alerts[i].ack_token = x->alerts[x->first[i]].ack_token;
    free(ids);
}

/* Renders the group's e-mail for the address to and queues it. */
static bool queue_email(struct dispatch *d, struct email_extras *x, const char *to)
{
    email_tokens(d, x, to);
    const struct notify_group *ng = &x->group;
    char *subject = notify_subject(ng), *text = notify_text(ng), *html = notify_html(ng);
    bool ok = subject && text && html;
    if (!ok)
        log_warning("could not render the message of %s/%s: over %zu bytes", ng->programme,
                    d->receiver, NOTIFY_RENDER_MAX);
    int64_t id = ok ? queue_row(d, false, to) : 0;
    char *message = NULL;
    if (id != 0) {
        char message_id[200], date[64], boundary[64];
        notify_message_id((long long)id, ng->programme, d->domain, message_id, sizeof(message_id));
        if (d->thread_id[0] == '\0')
            snprintf(d->thread_id, sizeof(d->thread_id), "%s", message_id);
        notify_mail_date(d->now, date, sizeof(date));
        notify_boundary((long long)id, boundary, sizeof(boundary));
        message = notify_email_message_charts(d->config->smtp_from, to, subject, date, message_id,
                                              d->thread_id, text, html, boundary, ng);
    }
    ok = message != NULL && outbox_set_body(d->conn, id, subject, message, d->thread_id);
    free(message), free(subject), free(text), free(html);
    return ok;
}

/* Queues the group's message to every target of its receiver; the number queued or -1. */
static long queue_targets(struct dispatch *d, const struct notify_group *ng)
{
    struct alert_group_targets targets;
    if (!alert_groups_targets(d->conn, d->programme_id, d->receiver, &targets))
        return -1;
    bool email = false;
    for (size_t i = 0; i < targets.n; i++)
        email = email || !targets.targets[i].webhook;
    struct email_extras extras = {0};
    long n = email && !email_extras_build(d, ng, &extras) ? -1 : 0;
    for (size_t i = 0; i < targets.n && n >= 0; i++) {
        const struct alert_group_target *t = &targets.targets[i];
        if (t->webhook)
            continue; /* queue_group's, with each webhook's own options */
        n = queue_email(d, &extras, t->target) ? n + 1 : -1;
    }
    email_extras_free(&extras);
    alert_group_targets_clear(&targets);
    return n;
}

/* Queues the group to its webhooks and Alertmanagers (services/notify_endpoints.h), then,
 * without the resolved alerts unless [alerts] send_resolved, to its e-mail addresses; the
 * number queued or -1. */
static long queue_group(struct dispatch *d, const struct notify_group *ng)
{
    struct endpoint_dispatch ed = {d->conn,     d->config, d->programme_id,
                                   d->receiver, d->now,    d->reason};
    long hooks = notify_endpoints_queue(&ed, ng);
    struct notify_alert *kept = NULL;
    struct notify_group mail = notify_endpoints_select(ng, d->config->send_resolved, &kept);
    long mails = hooks >= 0 && (mail.n_alerts > 0 || mail.is_test) ? queue_targets(d, &mail) : 0;
    free(kept);
    return hooks < 0 || mails < 0 ? -1 : hooks + mails;
}

/* Queues the locked group's message (if it shows any alert) and records the dispatch; the
 * number queued or -1. */
static long dispatch_locked(struct dispatch *d)
{
    struct alert_group_alerts alerts;
    /* every resolution: each target takes them or not (queue_group) */
    if (!alert_groups_alerts(d->conn, d->programme_id, d->receiver, d->now, true, &alerts))
        return -1;
    long queued = 0;
    bool immediate = true; /* false: a receiver told by its digest only (services/digest.h) */
    if (!digest_store_immediate(d->conn, d->programme_id, d->receiver, &immediate))
        queued = -1;
    if (alerts.group.n_alerts > 0 && immediate && queued == 0) {
        alerts.group.receiver = d->receiver;
        alerts.group.base_url = d->config->base_url;
        queued = queue_group(d, &alerts.group);
    }
    bool firing = alerts.firing;
    alert_group_alerts_clear(&alerts);
    if (queued < 0 || !alert_groups_dispatched(d->conn, d->programme_id, d->receiver, d->now,
                                               queued > 0, firing, d->thread_id))
        return -1;
    return queued;
}

/* Dispatches one group in its own transaction; the messages queued or -1. */
static long dispatch_group(struct dispatch *d)
{
    if (!db_begin(d->conn, NULL))
        return -1;
    struct notify_timers timers = {.group_wait = d->config->group_wait,
                                   .group_interval = d->config->group_interval,
                                   .repeat_interval = d->config->repeat_interval};
    struct alert_group_state state;
    long queued = 0;
    switch (alert_groups_lock(d->conn, d->programme_id, d->receiver, &state)) {
    case ALERT_GROUP_ERROR:
        queued = -1;
        break;
    case ALERT_GROUP_BUSY:
        break;
    case ALERT_GROUP_LOCKED:
        if (!notify_group_due(&timers, &state.times, d->now))
            break;
        snprintf(d->thread_id, sizeof(d->thread_id), "%s", state.thread_id);
        d->reason = notify_endpoints_reason(&state.times);
        queued = dispatch_locked(d);
        break;
    }
    if (queued >= 0 && db_commit(d->conn, NULL))
        return queued;
    db_rollback(d->conn, NULL);
    return -1;
}

long notify_dispatch(PGconn *conn, const struct config *config, double now)
{
    struct alert_group_list list;
    if (!alert_groups_pending(conn, now, config->repeat_interval, &list))
        return -1;
    long total = 0;
    for (size_t i = 0; i < list.n; i++) {
        struct dispatch d;
        dispatch_init(&d, conn, config, list.groups[i].programme_id, list.groups[i].receiver, now);
        long n = dispatch_group(&d);
        if (n < 0 && db_connection_lost(conn)) {
            total = -1;
            break;
        }
        total += n > 0 ? n : 0;
    }
    alert_group_list_free(&list);
    return total;
}

struct queue_test {
    struct dispatch *dispatch;
    const struct notify_group *group;
    long queued;
};

static bool queue_test_targets(PGconn *conn, void *arg)
{
    (void)conn;
    struct queue_test *t = arg;
    t->queued = queue_group(t->dispatch, t->group);
    return t->queued >= 0;
}

long notify_queue_test(PGconn *conn, const struct config *config, int64_t programme_id,
                       const char *receiver, double now)
{
    struct alert_group_alerts found;
    long n = alert_groups_receiver(conn, programme_id, receiver, &found);
    if (n == 1) {
        struct dispatch d;
        dispatch_init(&d, conn, config, programme_id, receiver, now);
        d.is_test = true;
        found.group.receiver = receiver;
        found.group.base_url = config->base_url;
        found.group.is_test = true;
        /* rows and bodies in one transaction: the delivery thread never sees a row without
         * its body, and a failure part-way queues nothing */
        struct queue_test t = {&d, &found.group, -1};
        n = db_transaction(conn, NULL, queue_test_targets, &t) ? t.queued : -1;
    }
    alert_group_alerts_clear(&found);
    return n;
}
