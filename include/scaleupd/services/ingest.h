/* The ingest service: a request body becomes a validated batch, stored in the caller's
 * transaction, and an import report (ours or DHIS2's import summary). */
#ifndef SCALEUPD_INGEST_H
#define SCALEUPD_INGEST_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/obs_parse.h"
#include "scaleupd/storage/observations.h"

enum ingest_status {
    INGEST_OK,           /* parsed and validated: the batch has rows and maybe rejects */
    INGEST_BAD_DOCUMENT, /* the document as a whole is unusable: see perr */
    INGEST_DB_ERROR,
};

/* Parses body in format into batch, loads the programme's catalog and validates the rows.
 * Runs no write; may run outside a transaction. */
enum ingest_status ingest_prepare(PGconn *conn, int64_t programme_id, enum obs_format format,
                                  const char *body, size_t len, struct obs_batch *batch,
                                  struct obs_parse_error *perr) __attribute__((warn_unused_result));

/* The HTTP status of a document error (400, or 413 for too many rows / too large). */
int ingest_document_error_status(enum obs_parse_status status);

/* Our import report: {"status":"ok"|"partial"|"rejected","dry_run","atomic","rows",
 * "imported","updated","unchanged","rejected","rejections":[{"row","field","code",
 * "message"}]}. With atomic and rejections, nothing was stored: imported/updated/unchanged
 * are 0 and status "rejected". The caller owns the result. */
json_t *ingest_report(const struct obs_batch *batch, const struct observations_counts *counts,
                      bool stored, bool dry_run, bool atomic);

/* DHIS2's import summary of the same outcome (responseType ImportSummary, status SUCCESS,
 * WARNING or ERROR, importCount with imported/updated/ignored/deleted, conflicts). */
json_t *ingest_dhis2_summary(const struct obs_batch *batch,
                             const struct observations_counts *counts, bool stored, bool dry_run);

#endif
