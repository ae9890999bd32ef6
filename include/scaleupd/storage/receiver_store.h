/* Storage of receivers (the teams alerts are told to): each programme's named receivers with
 * their e-mail addresses, webhook URLs and time zone. The receivers document is checked by
 * core/receiver_doc.h before it comes here; only the time zone needs the database. */
#ifndef SCALEUPD_STORAGE_RECEIVER_STORE_H
#define SCALEUPD_STORAGE_RECEIVER_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "scaleupd/storage/alerts_result.h"

/* Advisory lock class of a programme's receivers: held while they are replaced, shared while
 * an alert's event is stored for them (storage/alert_store.c), so that an alert firing while
 * a receiver is added reaches it. */
#define RECEIVERS_LOCK_CLASS "7242019"

/* Replaces the programme's receivers with receivers, a list receiver_doc_parse accepted
 * (names unique). A time zone the database does not know gives ALERTS_INVALID with
 * *problems (owned by the caller) and stores nothing. On ALERTS_OK *stored receives the
 * receivers as alerts_receivers_get lists them (owned by the caller). */
enum alerts_result alerts_receivers_put(PGconn *conn, int64_t programme_id, const json_t *receivers,
                                        json_t **problems, json_t **stored)
    __attribute__((warn_unused_result));

/* The programme's receivers as a JSON array (name, email, webhook, time_zone) ordered by
 * name; NULL on error. The caller owns the array. */
json_t *alerts_receivers_get(PGconn *conn, int64_t programme_id)
    __attribute__((warn_unused_result));

#endif
