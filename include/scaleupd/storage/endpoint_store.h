/* Storage of receivers' webhooks and Alertmanagers (sql/019_receiver_endpoints.sql): their
 * options and credentials, written with the receivers (storage/receiver_store.h), read by
 * notification (which endpoints, with which options) and, for Alertmanagers, the schedule
 * of re-posting firing alerts. Secrets are read only by delivery (storage/outbox.h), never
 * answered by GET receivers. */
#ifndef SCALEUPD_STORAGE_ENDPOINT_STORE_H
#define SCALEUPD_STORAGE_ENDPOINT_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In the caller's transaction: replaces the programme's endpoints with those of receivers
 * (a list receiver_doc_parse accepted), keeping an Alertmanager's re-post schedule when it
 * stays. False on error. */
bool endpoint_store_put(PGconn *conn, int64_t programme_id, const json_t *receivers)
    __attribute__((warn_unused_result));

/* Shows the programme's endpoints in receivers, the list GET receivers answers
 * (receiver_endpoints_show: secrets redacted). False on error. */
bool endpoint_store_show(PGconn *conn, int64_t programme_id, json_t *receivers)
    __attribute__((warn_unused_result));

/* One endpoint of a receiver; strings are owned by the list's rows. */
struct endpoint {
    bool alertmanager;    /* false: a webhook */
    const char *url;      /* as given */
    const char *post_url; /* where delivery posts (an Alertmanager's …/api/v2/alerts) */
    int send_resolved;    /* 1, 0, or -1: the daemon's [alerts] send_resolved */
    long max_alerts;      /* 0: every alert */
    int resend_interval;  /* seconds (Alertmanagers) */
};

struct endpoint_list {
    struct endpoint *endpoints;
    size_t n;
    PGresult *rows;
};

/* The webhooks, then the Alertmanagers, of a receiver in the order given. False on error;
 * clear the list with endpoint_list_clear in every case. */
bool endpoint_store_list(PGconn *conn, int64_t programme_id, const char *receiver,
                         struct endpoint_list *out) __attribute__((warn_unused_result));

void endpoint_list_clear(struct endpoint_list *list);

/* Sets when an Alertmanager's firing alerts are posted again: at next_at (seconds since
 * 1970), or never while has_next is false (nothing is firing). False on error. */
bool endpoint_store_next_post(PGconn *conn, int64_t programme_id, const char *receiver,
                              const char *url, bool has_next, double next_at)
    __attribute__((warn_unused_result));

/* An Alertmanager whose re-post is due; strings owned by the list's rows. */
struct endpoint_due {
    int64_t programme_id;
    const char *receiver, *url, *post_url;
    int resend_interval;
};

struct endpoint_due_list {
    struct endpoint_due *due;
    size_t n;
    PGresult *rows;
};

/* In the caller's transaction: claims up to max Alertmanagers whose re-post is due at now
 * (locked, SKIP LOCKED, so two daemons never post the same one) and moves each one's next
 * re-post one interval on. False on error; clear with endpoint_due_list_clear. */
bool endpoint_store_claim_due(PGconn *conn, double now, size_t max, struct endpoint_due_list *out)
    __attribute__((warn_unused_result));

void endpoint_due_list_clear(struct endpoint_due_list *list);

#endif
