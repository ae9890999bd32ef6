/*
 * What a programme's progress months are evaluated from, read over libpq: the member sites
 * with their regions (the nearest ancestor of level region) and the periods each reported,
 * the coverage values of each (numerator, denominator) pair the roadmap versions plan, and
 * the institutionalisation scores (docs/ARCHITECTURE.md, the storage layer).
 */
#ifndef SCALEUPD_STORAGE_PROGRESS_INPUTS_H
#define SCALEUPD_STORAGE_PROGRESS_INPUTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/progress_month.h"
#include "scaleupd/core/roadmap_doc.h"

/*
 * Reads the inputs of programme_id into *out (arrays it allocates; release with
 * progress_inputs_release, also after a failure). One coverage pair per distinct
 * (numerator, denominator) of the versions' coverage plans, borrowing their codes from
 * `versions`, which must outlive *out. False on a database error (logged with request_id).
 */
bool progress_inputs_read(PGconn *conn, int64_t programme_id,
                          const struct roadmap_versions *versions,
                          struct progress_month_inputs *out, const char *request_id)
    __attribute__((warn_unused_result));

/* Frees what progress_inputs_read allocated and zeroes *in. */
void progress_inputs_release(struct progress_month_inputs *in);

#endif /* SCALEUPD_STORAGE_PROGRESS_INPUTS_H */
