/* Periodic background work (evaluation, delivery, snapshots, housekeeping): each task runs
 * as a pool job on a timer of the loop, never twice at once in one daemon. Work shared by
 * several daemons on one database must still be claimed in SQL (SKIP LOCKED / advisory). */
#ifndef SCALEUPD_BACKGROUND_H
#define SCALEUPD_BACKGROUND_H

#include <libpq-fe.h>
#include <stdbool.h>

struct app;
struct event_base;

struct background_task {
    const char *name;
    /* seconds between runs, read from the config in force at each scheduling */
    int (*interval)(const struct app *app);
    /* runs on a worker with a live connection (skipped while the database is down) */
    void (*run)(PGconn *conn, struct app *app);
    /* milliseconds from a kick to the run it asks for: kicks within that time share one run
     * (at least 1) */
    int kick_delay_ms;
};

/* The tasks of the daemon, terminated by a NULL name (background_tasks.c). */
extern const struct background_task background_tasks[];

/* Starts the timers of every task on base; false on failure. */
bool background_start(struct event_base *base, struct app *app);

/* Runs the task named once, its kick_delay_ms from now (after an ingest, say), or that long
 * after its current run ends when it is running. A run already due sooner is not put off: kicks
 * that keep coming never starve the task. Safe from any thread. */
void background_kick(const char *name);

/* Stops the timers; tasks already queued finish with the pool. */
void background_stop(void);

#endif
