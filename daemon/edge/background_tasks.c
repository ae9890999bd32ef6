/* The list of the daemon's background tasks. Each feature adds its task here. */
#include <stdatomic.h>
#include <stddef.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/heap.h"
#include "scaleupd/services/digest.h"
#include "scaleupd/services/evaluator.h"
#include "scaleupd/services/feeds.h"
#include "scaleupd/storage/dhis2_import_job.h"
#include "scaleupd/storage/idempotency.h"
#include "scaleupd/core/log.h"
#include "scaleupd/edge/pool.h"
#include "scaleupd/services/progress_service.h"
#include "scaleupd/services/rollups.h"

static int hourly(const struct app *app)
{
    (void)app;
    return 3600;
}

/* Forgets Idempotency-Keys after a day, as the README promises. */
static void expire_idempotency(PGconn *conn, struct app *app)
{
    (void)app;
    long n = idempotency_expire(conn, 86400);
    if (n > 0)
        log_info("forgot %ld idempotency keys older than a day", n);
}

/* Forgets DHIS2 import jobs (async=true) a week after they started, as the README says and
 * as DHIS2 forgets its own (notifierMaxAgeDays, 7 by default). */
static void expire_dhis2_jobs(PGconn *conn, struct app *app)
{
    (void)app;
    long n = dhis2_job_expire(conn, 7 * 86400);
    if (n > 0)
        log_info("forgot %ld dhis2 import jobs older than a week", n);
}

/* The interval as the loop last read it: the task runs on a worker thread, where the
 * config may be swapped by a reload under it. */
static atomic_int evaluate_every = 60;

static int evaluate_interval(const struct app *app)
{
    atomic_store(&evaluate_every, app->config->evaluate_interval);
    return app->config->evaluate_interval;
}

/* Other work on the pool than the evaluation itself (requests, other background tasks,
 * running or waiting for a worker): evaluation gives way to it, since it shares the
 * database's CPU with it; and to a shutdown, which waits for it (what is left stays marked
 * for the next start). */
static bool requests_waiting(void *arg)
{
    struct app *app = arg;
    return pool_queue_depth(app->pool) > 0 || pool_busy(app->pool) > 1 || pool_stopping(app->pool);
}

/* Rollups of the batches ingest marked: soon after each batch, and once a minute for marks a
 * stopped daemon left. */
static int every_minute(const struct app *app)
{
    (void)app;
    return 60;
}

static void fold_rollups(PGconn *conn, struct app *app)
{
    if (pool_stopping(app->pool))
        return;
    if (rollups_run(conn, requests_waiting, app))
        background_kick("rollups");     /* marks left: again after the kick delay */
    background_kick("feeds-summaries"); /* what the fold changed, after the kick delay */
}

/* Alert rules on the series ingest changed, and late-feed rules against due dates. */
static void evaluate(PGconn *conn, struct app *app)
{
    if (pool_stopping(app->pool))
        return;
    /* the rollups first, so that aggregates seldom need folding inside an evaluation */
    if (rollups_run(conn, requests_waiting, app))
        background_kick("rollups");
    background_kick("feeds-summaries");
    if (evaluator_run(conn, atomic_load(&evaluate_every), requests_waiting, app))
        background_kick("evaluate"); /* dirty series left: again after the kick delay */
}

static int every_ten_seconds(const struct app *app)
{
    (void)app;
    return 10;
}

/* Brings the progress snapshots up to date in the background (reads never compute them):
 * soon after a kick (ingest changed data, a roadmap was applied), and on the timer for
 * months that completed and changes nobody kicked for (a programme's hierarchy). Gives way
 * to requests between chunks of months, leaving the rest marked for a run after the kick
 * delay. */
static void refresh_progress(PGconn *conn, struct app *app)
{
    if (pool_stopping(app->pool))
        return;
    bool more = false;
    int n = progress_service_refresh_all(conn, requests_waiting, app, &more);
    if (n > 0)
        log_debug("computed %d months of progress snapshots", n);
    if (more)
        background_kick("progress-snapshots");
}

/* Brings the feeds summaries that reads asked for up to date (services/feeds.h) after the
 * folds that changed what sites sent (kicked by the rollups), and on the timer for what no
 * fold kicks for (a new day, a programme's apply). */
static void refresh_feeds(PGconn *conn, struct app *app)
{
    if (pool_stopping(app->pool))
        return;
    bool more = false;
    int n = feeds_refresh_summaries(conn, requests_waiting, app, &more);
    if (n > 0)
        log_debug("kept %d feeds summaries", n);
    if (more)
        background_kick("feeds-summaries");
}

/* Digests due at the receivers' schedules (services/digest.h), and the first due time of a
 * schedule just stored (a receivers PUT kicks). */
static void send_digests(PGconn *conn, struct app *app)
{
    if (pool_stopping(app->pool))
        return;
    bool more = false;
    long n = digest_run(conn, app->config, clock_now(), &more);
    if (n < 0)
        log_warning("could not send the digests due");
    if (more)
        background_kick("digests");
}

/* What malloc holds, at debug level (docs/ARCHITECTURE.md, "Bounded memory"); the run is
 * followed by a trim, as every task's. */
static void log_heap(PGconn *conn, struct app *app)
{
    (void)conn, (void)app;
    struct heap_figures h;
    if (heap_figures(&h))
        log_debug("heap: %zu kB in arenas (%zu in use, %zu free), %zu kB mapped apart",
                  h.arena >> 10, h.in_use >> 10, h.free >> 10, h.mapped >> 10);
}

const struct background_task background_tasks[] = {
    {"idempotency-expiry", hourly, expire_idempotency, 1},
    {"dhis2-job-expiry", hourly, expire_dhis2_jobs, 1},
    /* the marks of a bulk load are taken in at most every 2 s, however many batches came */
    {"progress-snapshots", every_ten_seconds, refresh_progress, 2000},
    /* the batches of a feed that come within 200 ms are evaluated together */
    {"evaluate", evaluate_interval, evaluate, 200},
    /* the batches that come within 100 ms are folded together */
    {"rollups", every_minute, fold_rollups, 100},
    {"digests", every_ten_seconds, send_digests, 200},
    /* the folds of a bulk load are followed at most every 2 s */
    {"feeds-summaries", every_ten_seconds, refresh_feeds, 2000},
    {"heap", every_ten_seconds, log_heap, 1},
    {NULL, NULL, NULL, 0},
};
