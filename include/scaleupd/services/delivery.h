/* Delivery (docs/ARCHITECTURE.md, notification and delivery): one round dispatches the
 * groups that are due (services/notify.h), claims due messages from the outbox (committed,
 * with a lease), sends each through services/transport.h with no transaction open, and
 * marks it sent, retried after a backoff, or dead-lettered, the receiver's self alert
 * following in the same transaction. Delivery is at-least-once: a daemon killed between a
 * send and its mark sends the message again after the lease expires, with the same
 * Message-ID (or webhook Idempotency-Key). */
#ifndef SCALEUPD_SERVICES_DELIVERY_H
#define SCALEUPD_SERVICES_DELIVERY_H

#include <libpq-fe.h>
#include <stdbool.h>

struct config;
struct outbox_item;

/* One delivery round on conn; updates the delivery metrics. Runs on the delivery thread
 * (edge/delivery.h), never on a pool worker: a send may take [smtp] timeout seconds. */
void delivery_run_round(PGconn *conn, const struct config *config);

/* Records that a claimed message was sent at now and resolves its receiver's self alert,
 * in one transaction. */
bool delivery_record_sent(PGconn *conn, const struct outbox_item *item, double now)
    __attribute__((warn_unused_result));

/* Dead-letters a claimed message at now with error and fires its receiver's self alert
 * (alerts_delivery_failed, which tells the programme's other receivers), in one
 * transaction. */
bool delivery_record_dead(PGconn *conn, const struct outbox_item *item, double now,
                          const char *error) __attribute__((warn_unused_result));

/* Aborts transfers in progress and makes later rounds give their claimed messages back
 * unsent (at shutdown; any thread may call it). */
void delivery_cancel(void);

/* Declares the metric families of delivery; call once at start-up. */
void delivery_describe_metrics(void);

#endif
