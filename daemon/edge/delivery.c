/* The delivery thread: one thread with its own database connection running delivery rounds
 * (services/delivery.h), woken by a loop timer every deliver_interval or by
 * delivery_kick(). Only the thread, its connection and the timer live here. */
#include "scaleupd/edge/delivery.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/core/config.h"
#include "scaleupd/core/log.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/pool.h"
#include "scaleupd/services/delivery.h"
#include "scaleupd/storage/db.h"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool kicked, stopping, started;
    struct config *config; /* the config of the next round; replaced by the loop timer */
    struct app *app;
    struct event *timer;
    pthread_t thread;
} delivery = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Waits for a kick; returns a reference to the config of the round, NULL when stopping. */
static struct config *wait_round(void)
{
    struct config *config = NULL;
    pthread_mutex_lock(&delivery.lock);
    while (!delivery.kicked && !delivery.stopping)
        pthread_cond_wait(&delivery.wake, &delivery.lock);
    delivery.kicked = false;
    if (!delivery.stopping && delivery.config != NULL)
        config = config_ref(delivery.config);
    pthread_mutex_unlock(&delivery.lock);
    return config;
}

/* A live connection, reconnecting when lost; NULL while the database is unreachable or the
 * pool has not applied the migrations yet. */
static PGconn *ensure_connection(PGconn *conn, const struct config *config, bool *complained)
{
    if (!db_connection_lost(conn))
        return conn;
    if (conn != NULL)
        PQfinish(conn);
    if (!pool_migrated(delivery.app->pool))
        return NULL;
    char err[512];
    conn = db_connect(config->database, err, sizeof(err));
    if (conn == NULL && !*complained)
        log_warning("could not connect the delivery thread to the database: %s", err);
    *complained = conn == NULL;
    return conn;
}

static void *delivery_main(void *arg)
{
    (void)arg;
    PGconn *conn = NULL;
    bool complained = false;
    struct config *config;
    while ((config = wait_round()) != NULL) {
        conn = ensure_connection(conn, config, &complained);
        if (conn != NULL)
            delivery_run_round(conn, config);
        config_free(&config);
    }
    if (conn != NULL)
        PQfinish(conn);
    return NULL;
}

/* On the loop: hands the config in force to the thread, wakes it, re-arms. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    struct config *next = config_ref(delivery.app->config);
    int seconds = next->deliver_interval;
    pthread_mutex_lock(&delivery.lock);
    struct config *old = delivery.config;
    delivery.config = next;
    delivery.kicked = true;
    pthread_cond_signal(&delivery.wake);
    pthread_mutex_unlock(&delivery.lock);
    config_free(&old);
    struct timeval tv = {seconds > 0 ? seconds : 1, 0};
    event_add(delivery.timer, &tv);
}

bool delivery_start(struct event_base *base, struct app *app)
{
    delivery.app = app;
    delivery.stopping = false;
    delivery.config = config_ref(app->config);
    delivery.timer = event_new(base, -1, 0, on_timer, NULL);
    if (delivery.timer == NULL)
        return false;
    if (pthread_create(&delivery.thread, NULL, delivery_main, NULL) != 0) {
        log_error("could not start the delivery thread");
        return false;
    }
    delivery.started = true;
    struct timeval first = {1, 0};
    event_add(delivery.timer, &first);
    return true;
}

void delivery_kick(void)
{
    pthread_mutex_lock(&delivery.lock);
    delivery.kicked = true;
    pthread_cond_signal(&delivery.wake);
    pthread_mutex_unlock(&delivery.lock);
}

void delivery_stop(void)
{
    pthread_mutex_lock(&delivery.lock);
    delivery.stopping = true;
    pthread_cond_signal(&delivery.wake);
    pthread_mutex_unlock(&delivery.lock);
    delivery_cancel();
    if (delivery.started)
        pthread_join(delivery.thread, NULL);
    delivery.started = false;
    if (delivery.timer != NULL)
        event_free(delivery.timer);
    delivery.timer = NULL;
    config_free(&delivery.config);
}
