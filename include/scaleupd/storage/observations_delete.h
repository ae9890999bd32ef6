/* Deleting observations and asking which exist, for DHIS2's import strategies (DELETE,
 * CREATE, UPDATE; services/ingest.c). A delete is a change like any other: the value goes to
 * the revision history, and the batch's dirty marks and rollup mark are written (MARKS_SQL of
 * observations_write.c; docs/ARCHITECTURE.md, "Rollups"); the progress triggers mark it too. */
#ifndef SCALEUPD_OBSERVATIONS_DELETE_H
#define SCALEUPD_OBSERVATIONS_DELETE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/obs_parse.h"

/* Deletes the stored observations of the validated rows of batch that which[] selects (one
 * flag per row), by token token_id, in the caller's transaction: each deleted value becomes a
 * revision replaced now by the token; one dirty mark per 1,000 series and one rollup mark of
 * the (series, period) pairs deleted. *deleted counts the observations deleted (a selected
 * row with no stored value deletes nothing). False on a database error. */
bool observations_delete(PGconn *conn, int64_t programme_id, int64_t token_id,
                         const struct obs_batch *batch, const bool *which, long *deleted,
                         const char *request_id) __attribute__((warn_unused_result));

/* Sets exists[i] for each validated row of batch (the others false): whether its (indicator,
 * site, period) has a stored observation, read in the caller's transaction. False on a
 * database error. */
bool observations_exist(PGconn *conn, int64_t programme_id, const struct obs_batch *batch,
                        bool *exists, const char *request_id) __attribute__((warn_unused_result));

#endif
