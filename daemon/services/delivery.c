/* Delivery rounds: claims queued messages with a lease, sends them through the transports
 * while no transaction is open, then marks them sent, retried after a backoff or
 * dead-lettered, with the receiver's self alert in the same transaction. */
#include "scaleupd/services/delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/core/clock.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/core/notify_timing.h"
#include "scaleupd/core/receiver_endpoints.h"
#include "scaleupd/services/notify.h"
#include "scaleupd/services/notify_endpoints.h"
#include "scaleupd/services/transport.h"
#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/outbox.h"

#define DELIVERY_BATCH 20

void delivery_cancel(void)
{
    transport_cancel();
}

/* A mark and the self-alert step that goes with it. */
struct record {
    const struct outbox_item *item;
    double now;
    const char *error; /* NULL: sent */
};

static bool record_body(PGconn *conn, void *arg)
{
    const struct record *r = arg;
    const struct outbox_item *it = r->item;
    bool dead = r->error != NULL;
    if (!(dead ? outbox_mark_dead(conn, it->id, r->now, r->error)
               : outbox_mark_sent(conn, it->id, r->now)))
        return false;
    if (it->programme_id == 0 || it->receiver == NULL)
        return true;
    return dead ? alerts_delivery_failed(conn, it->programme_id, it->receiver, r->now)
                : alerts_delivery_recovered(conn, it->programme_id, it->receiver, r->now);
}

bool delivery_record_sent(PGconn *conn, const struct outbox_item *item, double now)
{
    struct record r = {item, now, NULL};
    return db_transaction(conn, NULL, record_body, &r);
}

bool delivery_record_dead(PGconn *conn, const struct outbox_item *item, double now,
                          const char *error)
{
    struct record r = {item, now, error};
    return db_transaction(conn, NULL, record_body, &r);
}

static const char *channel(const struct outbox_item *it)
{
    return it->alertmanager ? "alertmanager" : it->webhook ? "webhook" : "email";
}

static void count(const char *name, const struct outbox_item *it, const char *reason)
{
    char labels[128];
    if (reason)
        snprintf(labels, sizeof(labels), "channel=\"%s\",reason=\"%s\"", channel(it), reason);
    else
        snprintf(labels, sizeof(labels), "channel=\"%s\"", channel(it));
    metrics_add(name, labels, 1);
}

/* Gives a claimed message back at once when delivery stops before or during its send. */
static void release(PGconn *conn, const struct outbox_item *it)
{
    if (!outbox_mark_retry(conn, it->id, clock_now(), "delivery stopped before sending"))
        log_warning("could not release notification %lld", (long long)it->id);
}

/* Records a failed send (the mark before the metrics, which tests wait for): dead when
 * permanent or too old, otherwise a retry after a backoff. */
static bool record_failure(PGconn *conn, const struct config *config, const struct outbox_item *it,
                           enum transport_result r, const struct transport_error *e, double now)
{
    if (r == TRANSPORT_PERMANENT || now - it->created_at >= config->delivery_max_age) {
        bool ok = delivery_record_dead(conn, it, now, e->message);
        count("scaleupd_notifications_failed_total", it, e->reason);
        count("scaleupd_notifications_dead_total", it,
              r == TRANSPORT_PERMANENT ? "permanent" : "max_age");
        log_error("notification %lld dead-lettered after %d attempts: %s", (long long)it->id,
                  it->attempts, e->message);
        return ok;
    }
    double delay = notify_retry_backoff(it->attempts, (double)rand() / ((double)RAND_MAX + 1.0));
    bool ok = outbox_mark_retry(conn, it->id, now + delay, e->message);
    count("scaleupd_notifications_failed_total", it, e->reason);
    log_warning("notification %lld will be retried in %.0f s: %s", (long long)it->id, delay,
                e->message);
    return ok;
}

/* POSTs a webhook or Alertmanager message with its endpoint's credentials, if any. */
static enum transport_result send_webhook(const struct config *config, const struct outbox_item *it,
                                          const char *key, struct transport_error *e)
{
    char authorization[RECEIVER_SECRET_MAX * 2];
    if (!receiver_endpoints_authorization(it->auth_type, it->auth_username, it->auth_secret,
                                          authorization, sizeof(authorization)) &&
        it->auth_type != NULL)
        log_warning("notification %lld: the credentials of %s do not fit a header; sending"
                    " without them",
                    (long long)it->id, it->target);
    enum transport_result r =
        transport_send_webhook(config, it->target, it->body, key, authorization, e);
    memset(authorization, 0, sizeof(authorization));
    return r;
}

/* Sends one claimed message and records the outcome. */
static void deliver_one(PGconn *conn, const struct config *config, const struct outbox_item *it)
{
    struct transport_error e = {"", ""};
    char key[48];
    snprintf(key, sizeof(key), "scaleupd-outbox-%lld", (long long)it->id);
    enum transport_result r = it->webhook ? send_webhook(config, it, key, &e)
                                          : transport_send_email(config, it->target, it->body, &e);
    double now = clock_now();
    if (r != TRANSPORT_SENT && transport_cancelled()) {
        release(conn, it);
        return;
    }
    bool ok;
    if (r == TRANSPORT_SENT) {
        ok = delivery_record_sent(conn, it, now);
        count("scaleupd_notifications_sent_total", it, NULL);
    } else {
        ok = record_failure(conn, config, it, r, &e, now);
    }
    if (!ok)
        log_warning("could not record the outcome of notification %lld", (long long)it->id);
}

/* Test hook: with $SCALEUPD_TEST_HOLD_AFTER_CLAIM set, the thread stops between the claim
 * (committed) and the send until it is cancelled, so a test can kill -9 the daemon there. */
static void hold_after_claim(long n)
{
    const char *hold = getenv("SCALEUPD_TEST_HOLD_AFTER_CLAIM");
    if (n <= 0 || hold == NULL || hold[0] == '\0')
        return;
    log_info("holding %ld claimed notifications before sending (test hook)", n);
    struct timespec pause = {0, 50 * 1000 * 1000};
    while (!transport_cancelled())
        nanosleep(&pause, NULL);
}

/* Claims a batch and sends it, renewing each message's lease just before its send. */
static void deliver_batch(PGconn *conn, const struct config *config, double now)
{
    /* a lease outlives one send; each message's lease is renewed just before its send, so
     * a message whose claim ran out while earlier ones were slow is left to whichever claim
     * took it, and a daemon killed mid-batch holds its messages for one lease only */
    int timeout = config->smtp_timeout > config->webhook_timeout ? config->smtp_timeout
                                                                 : config->webhook_timeout;
    double lease = 2.0 * timeout + 30;
    struct outbox_item items[DELIVERY_BATCH];
    memset(items, 0, sizeof(items));
    long n = outbox_claim(conn, now, lease, items, DELIVERY_BATCH);
    hold_after_claim(n);
    for (long i = 0; i < n; i++) {
        if (transport_cancelled())
            release(conn, &items[i]);
        else if (i == 0 || outbox_renew_lease(conn, &items[i], clock_now() + lease) == 1)
            deliver_one(conn, config, &items[i]);
        else
            log_info("notification %lld was claimed elsewhere while waiting; not sending it",
                     (long long)items[i].id);
        outbox_item_clear(&items[i]);
    }
}

void delivery_run_round(PGconn *conn, const struct config *config)
{
    double now = clock_now();
    if (notify_dispatch(conn, config, now) < 0)
        log_warning("could not dispatch alert notifications");
    if (notify_endpoints_resend(conn, config, now) < 0)
        log_warning("could not re-post firing alerts to Alertmanagers");
    deliver_batch(conn, config, now);
    long depth;
    double age;
    if (outbox_stats(conn, clock_now(), &depth, &age)) {
        metrics_set("scaleupd_outbox_depth", "", (double)depth);
        metrics_set("scaleupd_outbox_oldest_age_seconds", "", age);
    }
}

void delivery_describe_metrics(void)
{
    metrics_describe("scaleupd_notifications_sent_total", METRIC_COUNTER,
                     "Notifications delivered, by channel.");
    metrics_describe("scaleupd_notifications_failed_total", METRIC_COUNTER,
                     "Failed delivery attempts, by channel and reason.");
    metrics_describe("scaleupd_notifications_dead_total", METRIC_COUNTER,
                     "Notifications given up (dead-lettered), by channel and reason.");
    metrics_describe("scaleupd_outbox_depth", METRIC_GAUGE, "Notifications waiting for delivery.");
    metrics_describe("scaleupd_outbox_oldest_age_seconds", METRIC_GAUGE,
                     "Age of the oldest notification waiting for delivery.");
}
