/* The rollup service (rollups.h): a background pass over the programmes with rollup marks,
 * one bounded fold at a time, giving way to requests between folds. */
#include "scaleupd/services/rollups.h"

#include <pthread.h>
#include <stdlib.h>

#include "scaleupd/core/metrics.h"
#include "scaleupd/storage/rollup_store.h"

static void describe_metrics(void)
{
    metrics_describe("scaleupd_rollup_marks_total", METRIC_COUNTER,
                     "Rollup marks (one per ingested batch) folded into the rollups.");
    metrics_describe("scaleupd_rollup_keys_total", METRIC_COUNTER,
                     "Rollups (indicator, site, period) recomputed from their children.");
    metrics_describe("scaleupd_rollup_parts_total", METRIC_COUNTER,
                     "Observations and child rollups read to recompute rollups.");
}

void rollups_describe_metrics(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, describe_metrics);
}

static void export_stats(const struct rollup_stats *s)
{
    metrics_add("scaleupd_rollup_marks_total", "", (double)s->marks);
    metrics_add("scaleupd_rollup_keys_total", "", (double)s->keys);
    metrics_add("scaleupd_rollup_parts_total", "", (double)s->parts);
}

/* Whether a programme's marks wait for requests to pass: while other work is on the pool,
 * marks pile up (one fold then recomputes a region's rollup once for many batches, and the
 * load keeps the database's CPU) until ROLLUPS_PILE wait or the oldest has waited
 * ROLLUPS_MAX_WAIT seconds. */
static bool waits(const struct rollup_backlog *b, bool (*yield)(void *), void *arg)
{
    return b->marks < ROLLUPS_PILE && b->oldest_age < ROLLUPS_MAX_WAIT && yield != NULL &&
           yield(arg);
}

/* Folds one programme: once (unless its marks wait), then again while full folds come and
 * nothing else waits. *left: marks are left. False on a database error. */
static bool fold_programme(PGconn *conn, const struct rollup_backlog *b, bool (*yield)(void *),
                           void *arg, bool *left)
{
    *left = waits(b, yield, arg);
    if (*left)
        return true;
    for (bool first = true; first || !(yield && yield(arg)); first = false) {
        struct rollup_stats stats = {0};
        enum rollup_fold r =
            rollup_store_fold(conn, b->programme_id, ROLLUPS_MARKS_PER_FOLD, false, &stats, NULL);
        if (r == ROLLUP_ERROR)
            return false;
        export_stats(&stats);
        *left = r == ROLLUP_FOLDED && stats.marks >= ROLLUPS_MARKS_PER_FOLD;
        if (!*left)
            break;
    }
    return true;
}

bool rollups_run(PGconn *conn, bool (*yield)(void *arg), void *arg)
{
    rollups_describe_metrics();
    struct rollup_backlog *pending = NULL;
    size_t n = 0;
    if (!rollup_store_pending(conn, ROLLUPS_PROGRAMMES, &pending, &n))
        return false;
    bool any_left = n >= ROLLUPS_PROGRAMMES, ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        bool left = false;
        ok = fold_programme(conn, &pending[i], yield, arg, &left);
        any_left = any_left || left;
    }
    free(pending);
    return ok && any_left;
}
