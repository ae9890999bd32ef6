/* Digests (README, "Digests"; docs/ARCHITECTURE.md, "Where to add things: a background
 * task"): the receivers' notify mode and schedule, stored with the receivers, and the
 * background task that, at each receiver's schedule, claims its due digest, renders it
 * (core/digest_render.h) and queues it in the outbox in one transaction with the record of
 * the digest sent: a crash never sends one twice nor skips one; two daemons never both
 * send it (the claim locks with SKIP LOCKED). */
#ifndef SCALEUPD_SERVICES_DIGEST_H
#define SCALEUPD_SERVICES_DIGEST_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "scaleupd/core/config.h"
#include "scaleupd/storage/alerts_result.h"

/* The most digests one run sends (the rest wait for the next run, which is kicked). */
#define DIGEST_RUN_MAX 20

/*
 * PUT …/receivers: receivers is a list receiver_doc_parse and digest_doc_check accepted.
 * Stores the receivers (alerts_receivers_put) and their notify modes and schedules in one
 * transaction; the receivers' next digests are scheduled by the next run of the task. On
 * ALERTS_OK *stored is the list as digest_receivers_get gives it; ALERTS_INVALID with
 * *problems (the caller owns them) for a time zone the database does not know.
 */
enum alerts_result digest_receivers_put(PGconn *conn, int64_t programme_id, const json_t *receivers,
                                        double now, json_t **problems, json_t **stored)
    __attribute__((warn_unused_result));

/* The programme's receivers (alerts_receivers_get) each with "notify" and, when set,
 * "digest" and "next_digest_at"; NULL on error. The caller owns it. */
json_t *digest_receivers_get(PGconn *conn, int64_t programme_id)
    __attribute__((warn_unused_result));

/* The background task's body at now (clock_now() in the daemon): schedules the receivers
 * whose next digest is unknown and sends the digests due, each in its own transaction, at
 * most DIGEST_RUN_MAX. Returns the digests queued, -1 on a database error; *more (may be
 * NULL) is set when the run stopped at its cap. */
long digest_run(PGconn *conn, const struct config *config, double now, bool *more);

#endif
