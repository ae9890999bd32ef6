/* Timers on the loop that hand background tasks to the worker pool. */
#include "scaleupd/edge/background.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/log.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/pool.h"

struct task_state {
    struct pool_job job; /* first member: the pool hands this pointer back */
    const struct background_task *task;
    struct app *app;
    struct event *timer;
    atomic_bool running;
    atomic_bool kick;
};

static struct task_state *states;
static size_t n_states;

static struct timeval kick_delay(const struct task_state *st)
{
    int ms = st->task->kick_delay_ms > 0 ? st->task->kick_delay_ms : 1;
    return (struct timeval){ms / 1000, (ms % 1000) * 1000};
}

static void schedule(struct task_state *st)
{
    int seconds = st->task->interval(st->app);
    struct timeval tv = {seconds > 0 ? seconds : 1, 0};
    if (atomic_exchange(&st->kick, false))
        tv = kick_delay(st);
    event_add(st->timer, &tv);
}

static void run_task(struct pool_job *job, PGconn *conn)
{
    struct task_state *st = (struct task_state *)job;
    if (conn != NULL)
        st->task->run(conn, st->app);
    alloc_release(); /* a task may read much at once: give it back */
}

static void task_done(struct pool_job *job)
{
    struct task_state *st = (struct task_state *)job;
    atomic_store(&st->running, false);
    schedule(st);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct task_state *st = arg;
    if (atomic_exchange(&st->running, true))
        return;                     /* still running: task_done schedules the next run */
    atomic_store(&st->kick, false); /* this run answers the kicks so far */
    if (!pool_submit(st->app->pool, &st->job)) {
        atomic_store(&st->running, false);
        log_debug("background task %s postponed: the pool queue is full", st->task->name);
        schedule(st);
    }
}

bool background_start(struct event_base *base, struct app *app)
{
    for (n_states = 0; background_tasks[n_states].name != NULL; n_states++)
        ;
    states = xcalloc(n_states ? n_states : 1, sizeof(*states));
    for (size_t i = 0; i < n_states; i++) {
        struct task_state *st = &states[i];
        st->job.run = run_task;
        st->job.done = task_done;
        st->task = &background_tasks[i];
        st->app = app;
        st->timer = event_new(base, -1, 0, on_timer, st);
        if (st->timer == NULL)
            return false;
        /* first run soon after start, then on the task's interval */
        struct timeval first = {1, 0};
        event_add(st->timer, &first);
    }
    return true;
}

void background_kick(const char *name)
{
    for (size_t i = 0; i < n_states; i++) {
        if (strcmp(states[i].task->name, name) != 0)
            continue;
        struct task_state *st = &states[i];
        /* the flag first: a run that ends meanwhile sees it (task_done clears running, then
         * reads the flag), or we see that it ended and arm the timer ourselves */
        atomic_store(&st->kick, true);
        if (atomic_load(&st->running))
            continue;
        struct timeval delay = kick_delay(st), now, due, when;
        evutil_gettimeofday(&now, NULL);
        evutil_timeradd(&now, &delay, &when);
        if (event_pending(st->timer, EV_TIMEOUT, &due) && evutil_timercmp(&due, &when, <=))
            continue; /* due sooner already */
        event_add(st->timer, &delay);
    }
}

void background_stop(void)
{
    for (size_t i = 0; i < n_states; i++)
        if (states[i].timer != NULL)
            event_free(states[i].timer);
    free(states);
    states = NULL;
    n_states = 0;
}
