/* The notification outbox: alert events grouped by programme and receiver into rendered
 * messages under group_wait / group_interval / repeat_interval, then claimed by delivery
 * with a lease (FOR UPDATE SKIP LOCKED, committed before sending) and marked afterwards. */
#ifndef SCALEUPD_OUTBOX_H
#define SCALEUPD_OUTBOX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

/* Renders the groups that are due at now into outbox rows (one per e-mail address and
 * webhook URL), each group in its own transaction with its events, honouring silences,
 * acknowledgements and send_resolved. Returns the number of messages queued, -1 on error. */
long outbox_dispatch(PGconn *conn, const struct config *config, double now);

/* One message claimed for delivery. Strings are owned by the item (outbox_item_clear). */
struct outbox_item {
    int64_t id;
    int64_t programme_id; /* 0: none */
    char *receiver;
    bool webhook; /* false: e-mail */
    char *target;
    char *body;
    double created_at;
    int attempts; /* including this one */
};

void outbox_item_clear(struct outbox_item *item);

/* Claims up to max due messages for lease seconds and commits: the caller sends with no
 * transaction open. Returns the number claimed, -1 on error. */
long outbox_claim(PGconn *conn, double now, double lease, struct outbox_item *items, size_t max);

/* Extends the lease of a claimed message to until, if it is still this claim's (same
 * attempt, not sent, not dead): 1 renewed, 0 when the claim was lost (its lease ran out and
 * another claim took it: do not send), -1 on a database error. */
int outbox_renew_lease(PGconn *conn, const struct outbox_item *item, double until);

/* After a send: sent (which resolves the receiver's self alert); a retry at next_at with the
 * error; or dead (dead-lettered), which fires the receiver's self alert in the same
 * transaction (alerts_delivery_failed). */
bool outbox_mark_sent(PGconn *conn, const struct outbox_item *item, double now)
    __attribute__((warn_unused_result));
bool outbox_mark_retry(PGconn *conn, int64_t id, double next_at, const char *error)
    __attribute__((warn_unused_result));
bool outbox_mark_dead(PGconn *conn, const struct outbox_item *item, double now, const char *error)
    __attribute__((warn_unused_result));

/* Messages waiting (not sent, not dead) and the age in seconds of the oldest (0 if none). */
bool outbox_stats(PGconn *conn, double now, long *depth, double *oldest_age)
    __attribute__((warn_unused_result));

/* Queues a marked test message to every address and URL of a receiver through the same
 * path. Returns the messages queued, 0 for an unknown receiver, -1 on error. */
long outbox_enqueue_test(PGconn *conn, const struct config *config, int64_t programme_id,
                         const char *receiver, double now);

/* Seconds before retry number attempts (1, 2, …): 30 s doubling to at most an hour, times a
 * jitter factor in [0.5, 1.5) from jitter01 in [0, 1). Pure. */
double outbox_backoff(int attempts, double jitter01);

#endif
