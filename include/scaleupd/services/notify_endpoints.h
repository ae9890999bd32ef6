/* Notification to webhooks and Alertmanagers (docs/ARCHITECTURE.md, notification and
 * delivery; README, "Webhooks" and "Connecting an Alertmanager"): the part of a group's
 * dispatch that queues Alertmanager's webhook payload (core/am_webhook.h) to each webhook
 * with its own send_resolved and max_alerts, and POST /api/v2/alerts bodies to each
 * Alertmanager; and the re-posts that keep an Alertmanager's copy of firing alerts alive.
 * Everything goes through the outbox (storage/outbox.h); services/notify.h calls it. */
#ifndef SCALEUPD_SERVICES_NOTIFY_ENDPOINTS_H
#define SCALEUPD_SERVICES_NOTIFY_ENDPOINTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/notify_render.h"
#include "scaleupd/core/notify_timing.h"

struct config;

/* One group's dispatch as the endpoints see it; strings borrowed. */
struct endpoint_dispatch {
    PGconn *conn;
    const struct config *config;
    int64_t programme_id;
    const char *receiver;
    double now;
    const char *reason; /* the webhook's notification_reason; NULL: worked out or "unknown" */
};

/* In the caller's transaction: queues the group (all its alerts, resolved ones included)
 * to every webhook and Alertmanager of the receiver: a webhook without send_resolved (its
 * own, else [alerts] send_resolved) gets no resolved alert, and nothing when none is left;
 * an Alertmanager gets every alert, a firing one ending 4 re-post intervals from now, and
 * its next re-post is scheduled. A test group (is_test) sends a webhook its empty payload
 * and an Alertmanager an empty list. Returns the messages queued, -1 on error. */
long notify_endpoints_queue(const struct endpoint_dispatch *dispatch,
                            const struct notify_group *group);

/* The alerts of group a target takes: all with send_resolved, else the firing ones (in
 * *kept, which the caller frees; NULL when none was dropped). The result borrows group's
 * strings. */
struct notify_group notify_endpoints_select(const struct notify_group *group, bool send_resolved,
                                            struct notify_alert **kept);

/* Alertmanager's notification_reason for a group about to be dispatched: "first
 * notification" (never told before), "repeat interval elapsed" (no news), else NULL. */
const char *notify_endpoints_reason(const struct notify_group_times *times);

/* Re-posts the firing alerts of every Alertmanager whose re-post is due at now (in a
 * transaction of its own; call it outside one), and stops re-posting to one whose receiver
 * has nothing firing. Returns the messages queued, -1 on error. */
long notify_endpoints_resend(PGconn *conn, const struct config *config, double now);

#endif
