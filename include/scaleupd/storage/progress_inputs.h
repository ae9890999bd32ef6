/*
 * What a programme's progress months are evaluated from, read over libpq: the member sites
 * with their regions (the nearest ancestor of level region) and the periods each reported,
 * the coverage values of each (numerator, denominator) pair the roadmap versions plan, and
 * the institutionalisation scores, each range of months read alone so that memory stays
 * bounded at national scale (docs/ARCHITECTURE.md, the storage layer).
 */
#ifndef SCALEUPD_STORAGE_PROGRESS_INPUTS_H
#define SCALEUPD_STORAGE_PROGRESS_INPUTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/progress_month.h"
#include "scaleupd/core/progress_plan.h"
#include "scaleupd/core/roadmap_doc.h"

/*
 * Reads the member sites (with their regions), the periods each reported and the coverage
 * values of each (numerator, denominator) pair of the versions' coverage plans, all within
 * the period starts [from, until) (days), into *in, replacing what a previous range left
 * there (the scores stay). Borrows the pairs' codes from `versions`, which must outlive
 * *in. Release with progress_inputs_release, also after a failure. False on a database
 * error (logged with request_id).
 */
bool progress_inputs_read_range(PGconn *conn, int64_t programme_id,
                                const struct roadmap_versions *versions, int32_t from,
                                int32_t until, struct progress_month_inputs *in,
                                const char *request_id) __attribute__((warn_unused_result));

/* Reads every institutionalisation score of the programme into *in (in->scores must be
 * empty); false on a database error. */
bool progress_inputs_read_scores(PGconn *conn, int64_t programme_id,
                                 struct progress_month_inputs *in, const char *request_id)
    __attribute__((warn_unused_result));

/* What each version reads (reads[i] for versions->versions[i]): the period type of its
 * coverage numerator (monthly without coverage) and its expansion window; false on a
 * database error. */
bool progress_inputs_plan_reads(PGconn *conn, int64_t programme_id,
                                const struct roadmap_versions *versions,
                                struct progress_plan_reads *reads, const char *request_id)
    __attribute__((warn_unused_result));

/* Frees the sites, regions and coverage values of *in (not the scores) and empties them. */
void progress_inputs_release_range(struct progress_month_inputs *in);

/* Frees everything the reads allocated and zeroes *in. */
void progress_inputs_release(struct progress_month_inputs *in);

#endif /* SCALEUPD_STORAGE_PROGRESS_INPUTS_H */
