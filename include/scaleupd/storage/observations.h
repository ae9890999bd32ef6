/* Observation storage, the write path (observations_write.c): the programme catalog the
 * validator needs, and the set-based store of a batch with its revision history and
 * dirty-series marks. Series reads are observations_read.h. */
#ifndef SCALEUPD_OBSERVATIONS_H
#define SCALEUPD_OBSERVATIONS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/catalog.h"
#include "scaleupd/core/obs_parse.h"

/* Loads the indicators of a programme and those of its sites that the batch names into a
 * new catalog (caller frees), and the programme's current date in its time zone into *today.
 * With name_other_programmes (an admin's write), site codes of the batch that belong only to
 * other programmes are added as non-members, so that the validator can say
 * site_not_in_programme rather than unknown_site; without it (a feed token's) they are left
 * out, so that such a code reads exactly like one that no programme has. False on a database
 * error. */
bool observations_load_catalog(PGconn *conn, int64_t programme_id, const struct obs_batch *batch,
                               bool name_other_programmes, struct catalog **out, int32_t *today)
    __attribute__((warn_unused_result));

struct observations_counts {
    long imported;  /* new (indicator, site, period) keys */
    long updated;   /* existing keys whose value changed: the old value went to revisions */
    long unchanged; /* existing keys sent again with the same value */
};

/* Stores the accepted rows of a validated batch, inside the caller's transaction, with
 * set-based SQL: series are created as needed; rows whose key is new are inserted, rows whose
 * value changed are updated and their old values kept in observation_revision (with the token
 * that replaced them), unchanged rows are left alone; the touched series are marked dirty from
 * their earliest changed period (a new row in dirty_series per series, which the alert
 * evaluator consumes). A concurrent batch storing the same
 * new keys is waited for, never an error: the batch is then upserted (inside a savepoint).
 * False on a database error. */
bool observations_store(PGconn *conn, int64_t programme_id, int64_t token_id,
                        const struct obs_batch *batch, struct observations_counts *counts,
                        const char *request_id) __attribute__((warn_unused_result));

/* What observations_store learnt about the batch's series (ids, latest periods) reaches the
 * ingest path's series hint (series_cache.h) only when its transaction commits: call
 * observations_committed() on the same thread after COMMIT succeeded, and
 * observations_rolled_back() after a rollback (a dry run) or a failed COMMIT. */
void observations_committed(void);
void observations_rolled_back(void);

/* Turns the fast path for new keys on (the default) or off, for every thread: off, every
 * batch goes through the one-statement upsert. For tests that compare the two paths. */
void observations_set_fast_path(bool enabled);

/* Sets how many fresh rows a batch needs for them to go in by COPY (default 64; fewer go
 * through the lookup statement, which costs fewer round trips). Tests set 1 to drive small
 * batches through COPY. */
void observations_set_copy_min_rows(size_t rows);

/* How many batches fell back from the fast path to the upsert because a concurrent batch
 * inserted one of their new keys first, since the process started. */
unsigned long observations_fast_path_fallbacks(void);

#endif
