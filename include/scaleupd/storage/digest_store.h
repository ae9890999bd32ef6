/* Storage of digests (sql/022_digests.sql; README, "Digests"): each receiver's notify mode
 * and schedule, the claim of a due digest (FOR UPDATE SKIP LOCKED, so two daemons never
 * send one twice), the alerts a digest lists, the record of a digest sent, and a time
 * zone's UTC offset as PostgreSQL knows it. SQL only. */
#ifndef SCALEUPD_STORAGE_DIGEST_STORE_H
#define SCALEUPD_STORAGE_DIGEST_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/digest_render.h"

/* The most alerts one section of a digest lists (the rest are counted). */
#define DIGEST_STORE_MAX_LISTED 100
#define DIGEST_STORE_LISTED_TEXT "100" /* the same, for SQL text */

/* Replaces the programme's digest settings with settings, a JSON array of {"name",
 * "notify", "digest" (canonical schedule or null)}, one per receiver: receivers no longer
 * listed lose theirs; every listed one gets its next due time recomputed by the digest task
 * (from its last digest, or from now for a new one or one that had "immediate"). */
bool digest_store_put(PGconn *conn, int64_t programme_id, const json_t *settings, double now)
    __attribute__((warn_unused_result));

/* The programme's settings as an object name → {"notify","digest"}; NULL on error. Owned by
 * the caller. */
json_t *digest_store_get(PGconn *conn, int64_t programme_id) __attribute__((warn_unused_result));

/* Whether the receiver is told of alerts at once (notify "immediate" or "both", or no
 * settings). False on error, with *immediate untouched. */
bool digest_store_immediate(PGconn *conn, int64_t programme_id, const char *receiver,
                            bool *immediate) __attribute__((warn_unused_result));

/* A claimed receiver digest, locked until the transaction ends. Strings are owned by rows. */
struct digest_claim {
    PGresult *rows;
    int64_t programme_id;
    const char *receiver, *schedule, *time_zone, *programme, *programme_name;
    const char *previous_progress; /* JSON text of the last digest's progress, or NULL */
    bool has_next_due;             /* false: a next due time to compute first */
    double next_due, covers_from;  /* covers_from: the last digest's due time, or `since` */
};

/* In the open transaction, locks one receiver digest whose next due time is unknown or at
 * or before now, skipping those another session holds and those named in skip (a
 * PostgreSQL text array literal of "programme_id/receiver" keys, "{}" for none): 1 with
 * *claim, 0 none, -1 error. */
int digest_store_claim(PGconn *conn, double now, const char *skip, struct digest_claim *claim)
    __attribute__((warn_unused_result));

void digest_claim_clear(struct digest_claim *claim);

/* Sets the claimed receiver's next due time. */
bool digest_store_set_next(PGconn *conn, const struct digest_claim *claim, double next_due)
    __attribute__((warn_unused_result));

/* Records the digest of the claim as sent (queued): its due time, the outbox messages, the
 * progress it showed (JSON text) and the next due time. False on error, also when a digest
 * of that due time was recorded already (nothing is then written). */
bool digest_store_record(PGconn *conn, const struct digest_claim *claim, double queued_at,
                         const int64_t *messages, size_t n_messages, const char *progress,
                         double next_due) __attribute__((warn_unused_result));

/* The alerts of a digest's sections, read for the claim's receiver over (from, to]. */
struct digest_alert_list {
    PGresult *rows[3];
    struct digest_alert *alerts[3]; /* opened, resolved, still open */
    size_t n[3], total[3];
};

bool digest_store_alerts(PGconn *conn, const struct digest_claim *claim, double from, double to,
                         struct digest_alert_list *out) __attribute__((warn_unused_result));

void digest_alert_list_clear(struct digest_alert_list *list);

/* The offset east of UTC, in seconds, of zone at utc: the digest_zone callback (ctx is the
 * connection and the zone name, struct digest_store_zone). */
struct digest_store_zone {
    PGconn *conn;
    const char *zone;
};

bool digest_store_zone_offset(void *ctx, double utc, int *seconds);

/* Formats utc as "YYYY-MM-DD HH:MM" in zone into buf; false on error. */
bool digest_store_local_time(PGconn *conn, const char *zone, double utc, char *buf, size_t size)
    __attribute__((warn_unused_result));

#endif
