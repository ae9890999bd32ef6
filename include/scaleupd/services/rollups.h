/* The rollup service: folds the rollup marks ingest leaves (storage/rollup_store.h) in the
 * background, soon after each batch (the ingest route kicks it), so that reads of an
 * aggregate, which fold what is left themselves, seldom have anything to fold. */
#ifndef SCALEUPD_SERVICES_ROLLUPS_H
#define SCALEUPD_SERVICES_ROLLUPS_H

#include <libpq-fe.h>
#include <stdbool.h>

/* marks (batches) one fold claims: claims of 256 marks of 1,000 rows were tried and cost more
 * per mark (bench/ingest.sh, 2026-12-02: their sorts no longer fit in memory) */
#define ROLLUPS_MARKS_PER_FOLD 64
#define ROLLUPS_PILE 64       /* marks folded at once, even while requests are served */
#define ROLLUPS_MAX_WAIT 2.0  /* seconds a mark waits at most while requests are served */
#define ROLLUPS_PROGRAMMES 64 /* programmes looked at per run */

/* Folds the marks of every programme that has some: one fold each, then more while marks are
 * left and yield(arg) (may be NULL) says nothing else waits. While yield says other work is
 * on the pool (a bulk load), a programme's marks wait until ROLLUPS_PILE of them do or the
 * oldest has waited ROLLUPS_MAX_WAIT seconds (then one fold goes ahead): a region's rollup is
 * then recomputed once for many batches (docs/ARCHITECTURE.md, "Rollups"). A programme
 * another daemon folds now is left to it. Returns true when marks may be left (run again
 * soon); false when none are, or on a database error (logged; the marks stay for the next
 * run). */
bool rollups_run(PGconn *conn, bool (*yield)(void *arg), void *arg);

/* Registers the service's metrics (once). */
void rollups_describe_metrics(void);

#endif
