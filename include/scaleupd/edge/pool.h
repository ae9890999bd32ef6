/* The worker pool: N threads, each owning one PostgreSQL connection, running jobs that the
 * event loop hands over, and handing them back to the loop when done. A bounded queue gives
 * backpressure; a lost database is reconnected with backoff. */
#ifndef SCALEUPD_POOL_H
#define SCALEUPD_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct pool;

struct pool_job {
    /* Runs on a worker thread. conn is NULL when the database is unavailable; the job must
     * then answer without it (503). */
    void (*run)(struct pool_job *job, PGconn *conn);
    /* Runs on the loop thread after run; owns the job from then on. */
    void (*done)(struct pool_job *job);
    /* Set by the submitter: the job is short and someone waits for it (a read, a small
     * write); it goes ahead of the others in the queue, behind earlier short ones. */
    bool short_job;
    struct pool_job *next;
};

/* Starts threads workers connecting with conninfo. The first connection that succeeds
 * applies the schema migrations. Returns NULL on failure to start threads. */
struct pool *pool_new(struct event_base *base, const char *conninfo, int threads, int queue_max,
                      int reconnect_max_delay) __attribute__((warn_unused_result));

/* Queues a job (a short one ahead of the others); false when the queue is full or the pool is
 * stopping (the caller keeps the job and answers 503). */
bool pool_submit(struct pool *pool, struct pool_job *job) __attribute__((warn_unused_result));

/* Changes the queue bound and reconnect cap (for a reload). */
void pool_configure(struct pool *pool, int queue_max, int reconnect_max_delay);

/* Jobs waiting for a worker, jobs being run. */
size_t pool_queue_depth(struct pool *pool);
size_t pool_busy(struct pool *pool);

/* True once pool_free has begun: running jobs should wrap up. */
bool pool_stopping(struct pool *pool);

/* Successful reconnections after a lost connection, and failed connection attempts. */
uint64_t pool_reconnects(struct pool *pool);
uint64_t pool_connect_failures(struct pool *pool);

/* True once the schema migrations were applied by this process. */
bool pool_migrated(struct pool *pool);

/* True once a worker found the database migrated by a newer scaleupd: the daemon is
 * stopping (it signalled itself) and should exit with a failure status. */
bool pool_refused(struct pool *pool);

/* Stops taking jobs, lets queued ones finish, joins the threads, frees; NULLs *pool.
 * Completions still pending are run. */
void pool_free(struct pool **pool);

#endif
