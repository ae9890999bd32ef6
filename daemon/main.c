/* scaleupd: start-up in a fixed order, the event loop, signals as events, systemd
 * notification and the watchdog, reload and graceful shutdown. */
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/heap.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/core/config.h"
#include "scaleupd/services/ack_link.h"
#include "scaleupd/edge/delivery.h"
#include "scaleupd/edge/http.h"
#include "scaleupd/core/log.h"
#include "scaleupd/edge/pool.h"
#include "scaleupd/edge/routes.h"

#define EXIT_REFUSED_SCHEMA 78 /* sysexits.h's EX_CONFIG: the database is not this build's */

#define DEFAULT_CONFIG "/etc/scaleupd/scaleupd.conf"

struct daemon_state {
    struct app app;
    struct event_base *base;
    const char *config_path;
    bool stopping;
    struct event *signals[3];
    struct event *watchdog;
};

static void apply_log_level(const struct config *config)
{
    enum log_level level = LOG_LEVEL_INFO;
    if (log_level_from_name(config->log_level, &level))
        log_set_level(level);
}

static void reload(struct daemon_state *st)
{
    sd_notify(0, "RELOADING=1\nSTATUS=reloading configuration");
    struct config *next;
    char err[512], note[512];
    if (!config_load(st->config_path, &next, err, sizeof(err))) {
        log_error("could not reload configuration, keeping the old one: %s", err);
    } else {
        config_keep_fixed(st->app.config, next, note, sizeof(note));
        if (note[0])
            log_warning("configuration keys that need a restart were not changed: %s", note);
        config_free(&st->app.config);
        st->app.config = next;
        apply_log_level(next);
        http_server_configure(st->app.http);
        pool_configure(st->app.pool, next->queue_max, next->reconnect_max_delay);
        log_info("configuration reloaded from %s", st->config_path);
    }
    sd_notify(0, "READY=1\nSTATUS=serving");
}

static void on_drained(void *arg)
{
    struct daemon_state *st = arg;
    /* give the last replies a moment to leave the socket buffers */
    struct timeval grace = {0, 200000};
    event_base_loopexit(st->base, &grace);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct daemon_state *st = arg;
    if (sig == SIGHUP) {
        reload(st);
        return;
    }
    if (st->stopping) {
        log_warning("second stop signal: exiting at once");
        _exit(1);
    }
    st->stopping = true;
    sd_notify(0, "STOPPING=1\nSTATUS=finishing requests in flight");
    log_info("received %s: finishing %zu requests in flight, then exiting",
             sig == SIGTERM ? "SIGTERM" : "SIGINT", http_server_in_flight(st->app.http));
    http_server_drain(st->app.http, on_drained, st);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    sd_notify(0, "WATCHDOG=1");
}

static bool start_watchdog(struct daemon_state *st)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0)
        return true;
    struct timeval half = {(time_t)(usec / 2000000), (suseconds_t)((usec / 2) % 1000000)};
    st->watchdog = event_new(st->base, -1, EV_PERSIST, on_watchdog, st);
    return st->watchdog != NULL && event_add(st->watchdog, &half) == 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: scaleupd [-c CONFIG] [--check-config] [--version]\n"
                 "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
                 "  -t, --check-config  read the configuration, report problems and exit\n"
                 "  -V, --version       print the version and exit\n"
                 "The database conninfo may also come from SCALEUPD_DATABASE.\n");
}

static int parse_args(int argc, char **argv, struct daemon_state *st, bool *check_only)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"check-config", no_argument, NULL, 't'},
                                            {"version", no_argument, NULL, 'V'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:tVh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            st->config_path = optarg;
            break;
        case 't':
            *check_only = true;
            break;
        case 'V':
            printf("scaleupd %s\n", SCALEUPD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

static bool setup_signals(struct daemon_state *st)
{
    const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < 3; i++) {
        st->signals[i] = evsignal_new(st->base, sigs[i], on_signal, st);
        if (st->signals[i] == NULL || event_add(st->signals[i], NULL) != 0)
            return false;
    }
    return true;
}

static void teardown(struct daemon_state *st)
{
    for (int i = 0; i < 3; i++)
        if (st->signals[i])
            event_free(st->signals[i]);
    if (st->watchdog)
        event_free(st->watchdog);
    http_server_free(&st->app.http);
    delivery_stop();          /* before the pool: its thread reads the pool's state */
    pool_free(&st->app.pool); /* runs the last completions, which may touch task timers */
    background_stop();
    config_free(&st->app.config);
    if (st->base)
        event_base_free(st->base);
    libevent_global_shutdown();
    curl_global_cleanup();
}

int main(int argc, char **argv)
{
    struct daemon_state st = {.config_path = NULL};
    bool check_only = false;
    int rc = parse_args(argc, argv, &st, &check_only);
    if (rc >= 0)
        return rc;

    /* 1. the out-of-memory policy, logging and configuration */
    alloc_install();
    heap_tune();
    log_init();
    char err[512];
    if (st.config_path == NULL && access(DEFAULT_CONFIG, R_OK) == 0)
        st.config_path = DEFAULT_CONFIG;
    if (st.config_path == NULL) {
        st.config_path = DEFAULT_CONFIG;
        log_warning("no configuration file at %s: using the defaults", DEFAULT_CONFIG);
        if (!config_parse_string("", "(defaults)", &st.app.config, err, sizeof(err))) {
            log_error("could not load configuration: %s", err);
            return 1;
        }
    } else if (!config_load(st.config_path, &st.app.config, err, sizeof(err))) {
        log_error("could not load configuration: %s", err);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration is valid\n", st.config_path);
        config_free(&st.app.config);
        return 0;
    }
    apply_log_level(st.app.config);
    st.app.started = time(NULL);
    (void)ack_link_start(st.app.config); /* without a key, e-mails carry no one-click link */
    routes_describe_metrics();

    /* 2. libraries with global state, before any thread starts */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("could not initialise libcurl");
        return 1;
    }
    /* 3. the event loop, with threads allowed to activate events on it */
    if (evthread_use_pthreads() != 0 || (st.base = event_base_new()) == NULL) {
        log_error("could not create the event loop");
        return 1;
    }
    /* 4. signals, 5. database workers, 6. the HTTP listener, 7. the watchdog, the background
     * tasks and the delivery thread (its own connection, so sends never hold a worker) */
    if (!setup_signals(&st))
        goto fail;
    st.app.pool = pool_new(st.base, st.app.config->database, st.app.config->worker_threads,
                           st.app.config->queue_max, st.app.config->reconnect_max_delay);
    if (st.app.pool == NULL)
        goto fail;
    st.app.http = http_server_new(st.base, &st.app);
    if (st.app.http == NULL || !start_watchdog(&st) || !background_start(st.base, &st.app) ||
        !delivery_start(st.base, &st.app))
        goto fail;
    log_info("scaleupd %s listening on %s:%d", SCALEUPD_VERSION, st.app.config->listen_address,
             http_server_port(st.app.http));
    sd_notify(0, "READY=1\nSTATUS=serving");

    event_base_dispatch(st.base);

    bool refused = pool_refused(st.app.pool); /* a newer scaleupd's schema: a failure */
    teardown(&st);                            /* waits for background work under way */
    log_info("stopped");
    /* EX_CONFIG, which the systemd unit does not restart (RestartPreventExitStatus): starting
       again would refuse again, every RestartSec, for ever */
    return refused ? EXIT_REFUSED_SCHEMA : 0;
fail:
    teardown(&st);
    return 1;
}
