/* The notification outbox (docs/ARCHITECTURE.md, notification and delivery): one row per
 * message to one e-mail address or webhook URL, queued by the notification service, claimed
 * by delivery with a lease (FOR UPDATE SKIP LOCKED, committed before sending) and marked
 * afterwards. SQL only: what a message says is rendered above this layer. */
#ifndef SCALEUPD_OUTBOX_H
#define SCALEUPD_OUTBOX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A message to queue; the strings are borrowed. */
struct outbox_message {
    int64_t programme_id;
    const char *receiver;
    bool webhook;       /* false: e-mail */
    bool alertmanager;  /* with webhook: an Alertmanager's API v2 (channel "alertmanager") */
    const char *target; /* the address or URL */
    bool is_test;       /* a receiver test message */
    double created_at;  /* also when it is first due */
};

/* Inserts a message with an empty body and returns its id (which its Message-ID and MIME
 * boundary carry), 0 on error. The caller fills the body with outbox_set_body in the same
 * transaction. */
int64_t outbox_queue(PGconn *conn, const struct outbox_message *message)
    __attribute__((warn_unused_result));

/* Stores the rendered subject ("" for a webhook), body and thread (the Message-ID that
 * starts the group's thread; NULL for a webhook) of message id. */
bool outbox_set_body(PGconn *conn, int64_t id, const char *subject, const char *body,
                     const char *thread_id) __attribute__((warn_unused_result));

/* One message claimed for delivery. Strings are owned by the item (outbox_item_clear). */
struct outbox_item {
    int64_t id;
    int64_t programme_id; /* 0: none */
    char *receiver;
    bool webhook;      /* false: e-mail */
    bool alertmanager; /* with webhook: an Alertmanager's API v2 */
    char *target;
    char *body;
    /* the endpoint's credentials as stored now (storage/endpoint_store.h), NULL when none:
     * auth_type "bearer" or "basic", auth_username for basic, auth_secret */
    char *auth_type, *auth_username, *auth_secret;
    double created_at;
    int attempts; /* including this one */
};

/* Frees the strings of item and zeroes it. */
void outbox_item_clear(struct outbox_item *item);

/* Claims up to max due messages for lease seconds (the statement commits on its own: the
 * caller sends with no transaction open). Returns the number claimed into items, -1 on
 * error. */
long outbox_claim(PGconn *conn, double now, double lease, struct outbox_item *items, size_t max);

/* Extends the lease of a claimed message to until, if it is still this claim's (same
 * attempt, not sent, not dead): 1 renewed, 0 when the claim was lost (its lease ran out and
 * another claim took it: do not send), -1 on a database error. */
int outbox_renew_lease(PGconn *conn, const struct outbox_item *item, double until);

/* After a send: sent at now; a retry due at next_at with the error; or dead (given up) at
 * now with the error. Each releases the lease. The receiver's self alert is not touched
 * here: delivery (services/delivery.h) runs these in one transaction with it. */
bool outbox_mark_sent(PGconn *conn, int64_t id, double now) __attribute__((warn_unused_result));
bool outbox_mark_retry(PGconn *conn, int64_t id, double next_at, const char *error)
    __attribute__((warn_unused_result));
bool outbox_mark_dead(PGconn *conn, int64_t id, double now, const char *error)
    __attribute__((warn_unused_result));

/* Gives up, at now, the messages of the programme's receiver to target on channel that wait
 * (not sent, not dead, no lease held), with last_error saying a later message supersedes
 * them: for an Alertmanager, whose latest post carries the whole state, so that an
 * unreachable one does not pile up a re-post per interval. Returns how many, -1 on error. */
long outbox_supersede(PGconn *conn, int64_t programme_id, const char *receiver, const char *channel,
                      const char *target, double now);

/* Messages waiting (not sent, not dead) and the age in seconds of the oldest (0 if none). */
bool outbox_stats(PGconn *conn, double now, long *depth, double *oldest_age)
    __attribute__((warn_unused_result));

#endif
