/* Delivery: claims queued messages with a lease, sends them by SMTP or HTTP with libcurl
 * while no transaction is open, then marks them sent, retried or dead-lettered. */
#include "scaleupd/services/notifier.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/core/clock.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/storage/outbox.h"

#define DELIVERY_BATCH 20

static atomic_bool cancelled;

void notifier_cancel(void)
{
    atomic_store(&cancelled, true);
}

/* libcurl calls it at least once a second, even while the peer is silent. */
static int check_cancel(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                        curl_off_t ulnow)
{
    (void)arg, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load(&cancelled) ? 1 : 0;
}

static void common_options(CURL *curl, long timeout)
{
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_cancel);
}

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t read_body(char *buf, size_t size, size_t nmemb, void *arg)
{
    struct upload *u = arg;
    size_t n = size * nmemb;
    if (n > u->len - u->pos)
        n = u->len - u->pos;
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

static size_t discard(char *buf, size_t size, size_t nmemb, void *arg)
{
    (void)buf, (void)arg;
    return size * nmemb;
}

/* A TLS handshake, certificate or STARTTLS failure: the server or our trust in it is wrong,
 * never the recipient. */
static bool tls_failure(CURLcode rc)
{
    return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_USE_SSL_FAILED || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_ISSUER_ERROR;
}

static enum notify_result classify_curl(CURLcode rc, long code, bool smtp, char *reason,
                                        size_t reason_size)
{
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(reason, reason_size, "timeout");
        return NOTIFY_TRANSIENT;
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(reason, reason_size, "connect");
        return NOTIFY_TRANSIENT;
    }
    /* before the reply codes: a refused login ends in 535, a 5xx that says nothing about
     * the recipient, only that our credentials are wrong until someone fixes them */
    if (rc == CURLE_LOGIN_DENIED) {
        snprintf(reason, reason_size, "auth");
        return NOTIFY_TRANSIENT;
    }
    if (tls_failure(rc)) {
        snprintf(reason, reason_size, "tls");
        return NOTIFY_TRANSIENT;
    }
    if (smtp && code >= 500 && code < 600) {
        snprintf(reason, reason_size, "smtp_5xx");
        return NOTIFY_PERMANENT;
    }
    if (smtp && code >= 400 && code < 500) {
        snprintf(reason, reason_size, "smtp_4xx");
        return NOTIFY_TRANSIENT;
    }
    snprintf(reason, reason_size, "%s", smtp ? "smtp_protocol" : "http");
    return NOTIFY_TRANSIENT;
}

static void smtp_options(CURL *curl, const struct config *c)
{
    /* with a login, "try" means "required": a server that offers no STARTTLS never gets the
     * password in clear (tls = none says so explicitly, for a trusted local relay) */
    bool login = c->smtp_username[0] != '\0';
    if (strcmp(c->smtp_tls, "starttls") == 0 || (login && strcmp(c->smtp_tls, "try") == 0))
        curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    else if (strcmp(c->smtp_tls, "try") == 0)
        curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    /* the server's certificate is always verified, by name; ca_file replaces the system's
     * CAs (both its bundle and its directory) rather than adding to them */
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->smtp_ca_file[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->smtp_ca_file);
        curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
    }
    if (c->smtp_username[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_USERNAME, c->smtp_username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, c->smtp_password);
    }
    common_options(curl, (long)c->smtp_timeout);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
}

enum notify_result notifier_send_email(const struct config *config, const char *to,
                                       const char *message, char *reason, size_t reason_size,
                                       char *err, size_t err_size)
{
    if (config->smtp_url[0] == '\0') {
        snprintf(reason, reason_size, "config");
        snprintf(err, err_size, "no [smtp] url is configured");
        return NOTIFY_TRANSIENT;
    }
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(reason, reason_size, "internal");
        snprintf(err, err_size, "could not start a mail transfer");
        return NOTIFY_TRANSIENT;
    }
    char from[320];
    const char *lt = strchr(config->smtp_from, '<');
    snprintf(from, sizeof(from), "%s%s%s", lt ? "" : "<", lt ? lt : config->smtp_from,
             lt ? "" : ">");
    char rcpt_addr[600];
    snprintf(rcpt_addr, sizeof(rcpt_addr), "<%s>", to);
    struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_addr);
    struct upload up = {message, strlen(message), 0};
    curl_easy_setopt(curl, CURLOPT_URL, config->smtp_url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    smtp_options(curl, config);
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    enum notify_result result = NOTIFY_SENT;
    if (rc != CURLE_OK) {
        result = classify_curl(rc, code, true, reason, reason_size);
        snprintf(err, err_size, "could not send e-mail to %s: %s (SMTP %ld)", to,
                 curl_easy_strerror(rc), code);
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    return result;
}

enum notify_result notifier_send_webhook(const struct config *config, const char *url,
                                         const char *payload, const char *key, char *reason,
                                         size_t reason_size, char *err, size_t err_size)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(reason, reason_size, "internal");
        snprintf(err, err_size, "could not start a webhook transfer");
        return NOTIFY_TRANSIENT;
    }
    char key_header[256];
    snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", key);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, key_header);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    common_options(curl, (long)config->webhook_timeout);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    enum notify_result result = NOTIFY_SENT;
    if (rc != CURLE_OK) {
        result = classify_curl(rc, code, false, reason, reason_size);
        snprintf(err, err_size, "could not post to %s: %s", url, curl_easy_strerror(rc));
    } else if (code < 200 || code >= 300) {
        bool permanent = code >= 400 && code < 500 && code != 408 && code != 429;
        result = permanent ? NOTIFY_PERMANENT : NOTIFY_TRANSIENT;
        snprintf(reason, reason_size, "http_%ldxx", code / 100);
        snprintf(err, err_size, "webhook %s answered %ld", url, code);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result;
}

static void count(const char *name, const struct outbox_item *it, const char *reason)
{
    char labels[128];
    if (reason)
        snprintf(labels, sizeof(labels), "channel=\"%s\",reason=\"%s\"",
                 it->webhook ? "webhook" : "email", reason);
    else
        snprintf(labels, sizeof(labels), "channel=\"%s\"", it->webhook ? "webhook" : "email");
    metrics_add(name, labels, 1);
}

/* Gives a claimed message back at once when delivery stops before or during its send. */
static void release(PGconn *conn, const struct outbox_item *it)
{
    if (!outbox_mark_retry(conn, it->id, clock_now(), "delivery stopped before sending"))
        log_warning("could not release notification %lld", (long long)it->id);
}

/* Sends one claimed message and records the outcome. */
static void deliver_one(PGconn *conn, const struct config *config, struct outbox_item *it)
{
    char reason[32] = "", err[512] = "", key[48];
    snprintf(key, sizeof(key), "scaleupd-outbox-%lld", (long long)it->id);
    enum notify_result r = it->webhook
                               ? notifier_send_webhook(config, it->target, it->body, key, reason,
                                                       sizeof(reason), err, sizeof(err))
                               : notifier_send_email(config, it->target, it->body, reason,
                                                     sizeof(reason), err, sizeof(err));
    double now = clock_now();
    bool ok;
    if (r != NOTIFY_SENT && atomic_load(&cancelled)) {
        release(conn, it);
        return;
    }
    if (r == NOTIFY_SENT) {
        ok = outbox_mark_sent(conn, it, now);
        count("scaleupd_notifications_sent_total", it, NULL);
    } else if (r == NOTIFY_PERMANENT || now - it->created_at >= config->delivery_max_age) {
        ok = outbox_mark_dead(conn, it, now, err);
        count("scaleupd_notifications_failed_total", it, reason);
        count("scaleupd_notifications_dead_total", it,
              r == NOTIFY_PERMANENT ? "permanent" : "max_age");
        log_error("notification %lld dead-lettered after %d attempts: %s", (long long)it->id,
                  it->attempts, err);
    } else {
        double delay = outbox_backoff(it->attempts, (double)rand() / ((double)RAND_MAX + 1.0));
        ok = outbox_mark_retry(conn, it->id, now + delay, err);
        count("scaleupd_notifications_failed_total", it, reason);
        log_warning("notification %lld will be retried in %.0f s: %s", (long long)it->id, delay,
                    err);
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
    while (!atomic_load(&cancelled))
        nanosleep(&pause, NULL);
}

void notifier_run(PGconn *conn, const struct config *config)
{
    double now = clock_now();
    if (outbox_dispatch(conn, config, now) < 0)
        log_warning("could not dispatch alert notifications");
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
        if (atomic_load(&cancelled))
            release(conn, &items[i]);
        else if (i == 0 || outbox_renew_lease(conn, &items[i], clock_now() + lease) == 1)
            deliver_one(conn, config, &items[i]);
        else
            log_info("notification %lld was claimed elsewhere while waiting; not sending it",
                     (long long)items[i].id);
        outbox_item_clear(&items[i]);
    }
    long depth;
    double age;
    if (outbox_stats(conn, clock_now(), &depth, &age)) {
        metrics_set("scaleupd_outbox_depth", "", (double)depth);
        metrics_set("scaleupd_outbox_oldest_age_seconds", "", age);
    }
}

void notifier_describe_metrics(void)
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
