/* Storage of acknowledgements: who acknowledged an alert, when, why, and through which
 * credential, which stops its repeat notifications until it resolves (resolving clears it,
 * see alert_store.c). Any route that acknowledges (an alert, an incident's alerts, an
 * e-mail's one-click link) calls one of these two functions inside its own transaction or
 * on its own (each is one statement). */
#ifndef SCALEUPD_STORAGE_ACK_STORE_H
#define SCALEUPD_STORAGE_ACK_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/storage/alerts_result.h"

/* Who acknowledges. The strings are the caller's and are only read during the call. */
struct ack_by {
    const char *person;  /* non-empty: the API body's "by" (core/ack_doc.h checks it), the
                          * CLI's user, the receiver's e-mail address of a one-click link */
    const char *comment; /* NULL (or "") for none */
    const char *token;   /* the credential's name (the API token's), NULL when none (a signed
                          * e-mail link); kept next to the person, never shown as who */
};

/* Acknowledges alert alert_id as by at now: ALERTS_OK, ALERTS_NOT_FOUND (no such alert),
 * ALERTS_CONFLICT (the alert is not open: resolved or inactive; nothing is written) or
 * ALERTS_DB_ERROR. Acknowledging again with a comment replaces the time, person, comment and
 * token; without one it keeps them (the first acknowledgement's reason stands). Only an
 * open alert (pending, firing, no_data) is acknowledged: an acknowledgement says someone took
 * on what is going on, and closing (resolved, inactive) clears it. */
enum alerts_result alerts_ack(PGconn *conn, int64_t alert_id, const struct ack_by *by, double now)
    __attribute__((warn_unused_result));

/* Acknowledges each of alert_ids[0..n) that exists and is open, in one statement, as
 * alerts_ack does one (an e-mail's alerts): ALERTS_OK with *acked the number acknowledged (0
 * when none of the ids exists and is open, or n is 0), or ALERTS_DB_ERROR. n is at most ACK_IDS_MAX
 * (past it, ALERTS_INVALID and nothing is done). */
#define ACK_IDS_MAX 10000
enum alerts_result alerts_ack_ids(PGconn *conn, const int64_t *alert_ids, size_t n,
                                  const struct ack_by *by, double now, size_t *acked)
    __attribute__((warn_unused_result));

#endif
