/* Notification (docs/ARCHITECTURE.md, notification and delivery): the use case that turns
 * pending alert events into grouped messages, one per e-mail address and webhook URL of a
 * receiver, under group_wait / group_interval / repeat_interval (core/notify_timing.h),
 * rendered by core/notify_render.h and queued in the outbox for delivery
 * (services/delivery.h); and the receivers' test messages, through the same path. */
#ifndef SCALEUPD_SERVICES_NOTIFY_H
#define SCALEUPD_SERVICES_NOTIFY_H

#include <libpq-fe.h>
#include <stdint.h>

struct config;

/* Queues the messages of every group that is due at now, each group in its own transaction
 * with its events, honouring silences, acknowledgements and send_resolved; a group another
 * daemon holds is left to it. Returns the number of messages queued, -1 when the connection
 * was lost (a group that failed otherwise is logged, rolled back and tried next round). */
long notify_dispatch(PGconn *conn, const struct config *config, double now);

/* Queues a marked test message to every address and URL of a receiver through the same
 * path, rows and bodies in one transaction of its own (call it outside a transaction).
 * Returns the messages queued, 0 for an unknown receiver (or one with no target), -1 on
 * error (nothing queued). */
long notify_queue_test(PGconn *conn, const struct config *config, int64_t programme_id,
                       const char *receiver, double now);

#endif
