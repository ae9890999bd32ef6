/* Storage of acknowledgements: who acknowledged an alert and when, which stops its repeat
 * notifications until it resolves (resolving clears it, see alert_store.c). */
#ifndef SCALEUPD_STORAGE_ACK_STORE_H
#define SCALEUPD_STORAGE_ACK_STORE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "scaleupd/storage/alerts_result.h"

/* Acknowledges alert alert_id as who at now: ALERTS_OK, ALERTS_NOT_FOUND (no such alert) or
 * ALERTS_DB_ERROR. Acknowledging again moves the time and the name. */
enum alerts_result alerts_ack(PGconn *conn, int64_t alert_id, const char *who, double now)
    __attribute__((warn_unused_result));

#endif
