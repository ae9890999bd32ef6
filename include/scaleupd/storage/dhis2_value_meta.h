/* What DHIS2 says of a data value besides its value and comment — storedBy and followup —
 * kept per observation (sql/020_dhis2.sql, dhis2_value_meta) as the last import that gave
 * them, and shown only while the value they came with is the one stored. */
#ifndef SCALEUPD_DHIS2_VALUE_META_H
#define SCALEUPD_DHIS2_VALUE_META_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/obs_parse.h"

/* Stores storedBy and followup of the validated rows of batch that give either and that hold
 * (NULL: none) does not hold back, after observations_store stored them, in the caller's
 * transaction. False on a database error. */
bool dhis2_value_meta_store(PGconn *conn, int64_t programme_id, const struct obs_batch *batch,
                            const bool *hold, const char *request_id)
    __attribute__((warn_unused_result));

#endif
