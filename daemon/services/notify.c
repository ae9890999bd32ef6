/* Notification: decides which alert groups are due (core/notify_timing), renders their
 * messages (core/notify_render) and queues one per address and URL in the outbox, a group
 * per transaction; also queues the receivers' test messages. Delivery sends them. */
#include "scaleupd/services/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/config.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/notify_render.h"
#include "scaleupd/core/notify_timing.h"
#include "scaleupd/services/notify_endpoints.h"
#include "scaleupd/storage/alert_groups.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/digest_store.h"
#include "scaleupd/storage/outbox.h"

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

/* The rendered parts of one group's e-mail, shared by all its addresses. */
struct email_parts {
    char *subject, *text, *html;
};

static bool queue_email(struct dispatch *d, const struct notify_group *ng, const char *to,
                        const struct email_parts *parts)
{
    int64_t id = queue_row(d, false, to);
    if (id == 0)
        return false;
    char message_id[200], date[64], boundary[64];
    notify_message_id((long long)id, ng->programme, d->domain, message_id, sizeof(message_id));
    if (d->thread_id[0] == '\0')
        snprintf(d->thread_id, sizeof(d->thread_id), "%s", message_id);
    notify_mail_date(d->now, date, sizeof(date));
    notify_boundary((long long)id, boundary, sizeof(boundary));
    char *message = notify_email_message(d->config->smtp_from, to, parts->subject, date, message_id,
                                         d->thread_id, parts->text, parts->html, boundary);
    bool ok =
        message != NULL && outbox_set_body(d->conn, id, parts->subject, message, d->thread_id);
    free(message);
    return ok;
}

/* Queues the group's message to every target of its receiver; the number queued or -1. */
static long queue_targets(struct dispatch *d, const struct notify_group *ng)
{
    struct alert_group_targets targets;
    if (!alert_groups_targets(d->conn, d->programme_id, d->receiver, &targets))
        return -1;
    struct email_parts parts = {notify_subject(ng), notify_text(ng), notify_html(ng)};
    bool rendered = parts.subject && parts.text && parts.html;
    if (!rendered)
        log_warning("could not render the message of %s/%s: over %zu bytes", ng->programme,
                    d->receiver, NOTIFY_RENDER_MAX);
    long n = 0;
    for (size_t i = 0; i < targets.n && n >= 0; i++) {
        const struct alert_group_target *t = &targets.targets[i];
        if (t->webhook)
            continue; /* queue_group's, with each webhook's own options */
        n = rendered && queue_email(d, ng, t->target, &parts) ? n + 1 : -1;
    }
    free(parts.subject), free(parts.text), free(parts.html);
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
