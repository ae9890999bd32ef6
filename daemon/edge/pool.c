/* Worker threads with one PostgreSQL connection each. Jobs come in through a mutex-guarded
 * queue and go back to the event loop through a completion list and an activated event. */
#include "scaleupd/edge/pool.h"

#include <errno.h>
#include <signal.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scaleupd/storage/db.h"
#include "scaleupd/storage/db_health.h"
#include "scaleupd/core/alloc.h"
#include "scaleupd/core/log.h"

struct pool {
    struct event_base *base;
    struct event *completion_event;
    char *conninfo;
    pthread_t *threads;
    int n_threads;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct pool_job *queue_head, *queue_tail;
    struct pool_job *short_tail; /* the last short job of the queue: short jobs come first */
    size_t queue_len;
    size_t queue_max;
    size_t busy;
    size_t busy_long; /* of busy, the jobs that are not short */
    bool stopping;
    int reconnect_max_delay;

    pthread_mutex_t done_lock;
    struct pool_job *done_head, *done_tail;

    atomic_uint_fast64_t reconnects;
    atomic_uint_fast64_t connect_failures;
    atomic_bool migrated;
    atomic_bool refused; /* a newer scaleupd migrated the database: the daemon stops */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The per-thread connection state: a lost connection is retried no sooner than next_try. */
struct worker_conn {
    PGconn *conn;
    double next_try;
    double delay;
    bool was_connected;
};

/* After a failed migration: when a newer scaleupd migrated the database, this one must not
   write to a schema it does not know. The worker drops its connection for good (requests get
   503 meanwhile) and the first to find out stops the daemon, which then exits with status 78
   (main.c, pool_refused). True when so. */
static bool refuse_newer_schema(struct pool *pool, struct worker_conn *wc, const char *err)
{
    char what[256];
    if (db_schema_unknown(wc->conn, what, sizeof(what)) != 1)
        return false;
    if (!atomic_exchange(&pool->refused, true)) {
        log_error("%s; stopping", err);
        kill(getpid(), SIGTERM);
    }
    db_close(&wc->conn);
    wc->next_try = now_seconds() + 1e9;
    return true;
}

static void ensure_connection(struct pool *pool, struct worker_conn *wc)
{
    char err[512];
    if (wc->conn != NULL) {
        /* a cheap check: a server that went away has closed the socket */
        if (db_healthy(wc->conn, err, sizeof(err)))
            return;
        log_warning("lost the database connection: %s", err);
        db_close(&wc->conn);
        wc->next_try = 0;
    }
    if (now_seconds() < wc->next_try)
        return;
    wc->conn = db_connect(pool->conninfo, err, sizeof(err));
    if (wc->conn == NULL) {
        atomic_fetch_add(&pool->connect_failures, 1);
        pthread_mutex_lock(&pool->lock);
        double cap = pool->reconnect_max_delay;
        pthread_mutex_unlock(&pool->lock);
        wc->delay = wc->delay == 0 ? 0.25 : wc->delay * 2;
        if (wc->delay > cap)
            wc->delay = cap;
        /* jitter so that the workers do not reconnect in lockstep */
        wc->next_try = now_seconds() + wc->delay * (0.75 + 0.5 * (double)rand() / RAND_MAX);
        log_warning("could not connect to database: %s (retrying in %.1f s)", err, wc->delay);
        return;
    }
    if (wc->was_connected)
        atomic_fetch_add(&pool->reconnects, 1);
    wc->was_connected = true;
    wc->delay = 0;
    if (!atomic_load(&pool->migrated)) {
        if (db_migrate(wc->conn, err, sizeof(err)))
            atomic_store(&pool->migrated, true);
        else if (!refuse_newer_schema(pool, wc, err))
            log_error("%s", err);
    }
}

/* Whether a worker may take the job at the head of the queue: long jobs (bulk batches,
 * background work) leave one worker free for short ones, so a dashboard read or a small feed
 * never waits for a bulk batch to finish; short jobs are first in the queue, so a long one at
 * the head means none is waiting. A stopping pool drains its queue whatever it holds. */
static bool can_take(const struct pool *pool)
{
    const struct pool_job *job = pool->queue_head;
    if (job == NULL)
        return false;
    size_t long_max = pool->n_threads > 1 ? (size_t)pool->n_threads - 1 : 1;
    return job->short_job || pool->busy_long < long_max || pool->stopping;
}

static struct pool_job *take_job(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    while (!can_take(pool) && !pool->stopping)
        pthread_cond_wait(&pool->wake, &pool->lock);
    struct pool_job *job = pool->queue_head;
    if (job != NULL) {
        pool->queue_head = job->next;
        if (pool->queue_head == NULL)
            pool->queue_tail = NULL;
        if (pool->short_tail == job)
            pool->short_tail = NULL;
        pool->queue_len--;
        pool->busy++;
        if (!job->short_job)
            pool->busy_long++;
    }
    pthread_mutex_unlock(&pool->lock);
    return job;
}

static void complete_job(struct pool *pool, struct pool_job *job)
{
    bool was_long = !job->short_job; /* the loop may free the job once it is on the list */
    job->next = NULL;
    pthread_mutex_lock(&pool->done_lock);
    if (pool->done_tail)
        pool->done_tail->next = job;
    else
        pool->done_head = job;
    pool->done_tail = job;
    pthread_mutex_unlock(&pool->done_lock);
    pthread_mutex_lock(&pool->lock);
    pool->busy--;
    if (was_long) {
        pool->busy_long--;
        pthread_cond_signal(&pool->wake); /* a long job waiting for its turn may go now */
    }
    pthread_mutex_unlock(&pool->lock);
    event_active(pool->completion_event, EV_READ, 0);
}

static void *worker_main(void *arg)
{
    struct pool *pool = arg;
    struct worker_conn wc = {0};
    struct pool_job *job;
    /* connect (and migrate) at start rather than on the first request */
    ensure_connection(pool, &wc);
    while ((job = take_job(pool)) != NULL) {
        ensure_connection(pool, &wc);
        job->run(job, db_connection_lost(wc.conn) ? NULL : wc.conn);
        if (wc.conn != NULL && db_connection_lost(wc.conn)) {
            db_close(&wc.conn);
            wc.next_try = 0;
        }
        bool bulk = !job->short_job; /* the loop may free the job once it completes */
        complete_job(pool, job);
        if (bulk)
            alloc_release(); /* a batch's parse and statements: give them back at once */
    }
    db_close(&wc.conn);
    return NULL;
}

static void run_completions(struct pool *pool)
{
    pthread_mutex_lock(&pool->done_lock);
    struct pool_job *job = pool->done_head;
    pool->done_head = pool->done_tail = NULL;
    pthread_mutex_unlock(&pool->done_lock);
    while (job != NULL) {
        struct pool_job *next = job->next;
        job->done(job);
        job = next;
    }
}

static void on_completion(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    run_completions(arg);
}

struct pool *pool_new(struct event_base *base, const char *conninfo, int threads, int queue_max,
                      int reconnect_max_delay)
{
    struct pool *pool = xcalloc(1, sizeof(*pool));
    pool->base = base;
    pool->conninfo = xstrdup(conninfo);
    pool->threads = xcalloc((size_t)(threads > 0 ? threads : 1), sizeof(pthread_t));
    pool->queue_max = (size_t)queue_max;
    pool->reconnect_max_delay = reconnect_max_delay;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->done_lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->completion_event = event_new(base, -1, 0, on_completion, pool);
    if (pool->completion_event == NULL)
        goto fail;
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&pool->threads[i], NULL, worker_main, pool);
        if (rc != 0) {
            char why[128];
            /* the GNU strerror_r (_GNU_SOURCE) returns the message, maybe not in why */
            log_error("could not start worker thread: %s", strerror_r(rc, why, sizeof(why)));
            goto fail;
        }
        pool->n_threads++;
    }
    return pool;
fail:
    pool_free(&pool);
    return NULL;
}

bool pool_submit(struct pool *pool, struct pool_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&pool->lock);
    bool accepted = !pool->stopping && pool->queue_len < pool->queue_max;
    if (accepted && job->short_job) {
        /* behind the short jobs already waiting, ahead of the long ones: a small feed or a
         * dashboard read does not wait for the bulk batches queued before it */
        struct pool_job **link = pool->short_tail ? &pool->short_tail->next : &pool->queue_head;
        job->next = *link;
        *link = job;
        if (job->next == NULL)
            pool->queue_tail = job;
        pool->short_tail = job;
        pool->queue_len++;
        pthread_cond_signal(&pool->wake);
    } else if (accepted) {
        if (pool->queue_tail)
            pool->queue_tail->next = job;
        else
            pool->queue_head = job;
        pool->queue_tail = job;
        pool->queue_len++;
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->lock);
    return accepted;
}

void pool_configure(struct pool *pool, int queue_max, int reconnect_max_delay)
{
    pthread_mutex_lock(&pool->lock);
    pool->queue_max = (size_t)queue_max;
    pool->reconnect_max_delay = reconnect_max_delay;
    pthread_mutex_unlock(&pool->lock);
}

bool pool_stopping(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    bool stopping = pool->stopping;
    pthread_mutex_unlock(&pool->lock);
    return stopping;
}

size_t pool_queue_depth(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    size_t n = pool->queue_len;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

size_t pool_busy(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    size_t n = pool->busy;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

uint64_t pool_reconnects(struct pool *pool)
{
    return atomic_load(&pool->reconnects);
}

uint64_t pool_connect_failures(struct pool *pool)
{
    return atomic_load(&pool->connect_failures);
}

bool pool_refused(struct pool *pool)
{
    return atomic_load(&pool->refused);
}

bool pool_migrated(struct pool *pool)
{
    return atomic_load(&pool->migrated);
}

void pool_free(struct pool **pool_ptr)
{
    struct pool *pool = *pool_ptr;
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    /* queued jobs still run: take_job hands them out until the queue is empty */
    for (int i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    if (pool->completion_event != NULL) {
        run_completions(pool);
        event_free(pool->completion_event);
    }
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->done_lock);
    pthread_cond_destroy(&pool->wake);
    free(pool->threads);
    free(pool->conninfo);
    free(pool);
    *pool_ptr = NULL;
}
