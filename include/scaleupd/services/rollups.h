/* The rollup service: folds the rollup marks ingest leaves (storage/rollup_store.h) in the
 * background, soon after each batch (the ingest route kicks it), so that reads of an
 * aggregate, which fold what is left themselves, seldom have anything to fold. */
#ifndef SCALEUPD_SERVICES_ROLLUPS_H
#define SCALEUPD_SERVICES_ROLLUPS_H

#include <libpq-fe.h>
#include <stdbool.h>

#define ROLLUPS_MARKS_PER_FOLD 64 /* marks (batches) one fold claims */
#define ROLLUPS_PROGRAMMES 64     /* programmes looked at per run */

/* Folds the marks of every programme that has some: at least one fold each, then more while
 * marks are left and yield(arg) (may be NULL) says nothing else waits. A programme another
 * daemon folds now is left to it. Returns true when marks may be left (run again soon);
 * false when none are, or on a database error (logged; the marks stay for the next run). */
bool rollups_run(PGconn *conn, bool (*yield)(void *arg), void *arg);

/* Registers the service's metrics (once). */
void rollups_describe_metrics(void);

#endif
