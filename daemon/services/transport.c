/* The transports of delivery: e-mail by libcurl's SMTP and webhooks by HTTP(S), each with
 * a timeout and a cancel check, and the classification of their failures into transient
 * and permanent. No database. */
#include "scaleupd/services/transport.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/config.h"

static atomic_bool cancelled;

void transport_cancel(void)
{
    atomic_store(&cancelled, true);
}

bool transport_cancelled(void)
{
    return atomic_load(&cancelled);
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

static enum transport_result classify_curl(CURLcode rc, long code, bool smtp, char *reason,
                                           size_t reason_size)
{
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(reason, reason_size, "timeout");
        return TRANSPORT_TRANSIENT;
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(reason, reason_size, "connect");
        return TRANSPORT_TRANSIENT;
    }
    /* before the reply codes: a refused login ends in 535, a 5xx that says nothing about
     * the recipient, only that our credentials are wrong until someone fixes them */
    if (rc == CURLE_LOGIN_DENIED) {
        snprintf(reason, reason_size, "auth");
        return TRANSPORT_TRANSIENT;
    }
    if (tls_failure(rc)) {
        snprintf(reason, reason_size, "tls");
        return TRANSPORT_TRANSIENT;
    }
    if (smtp && code >= 500 && code < 600) {
        snprintf(reason, reason_size, "smtp_5xx");
        return TRANSPORT_PERMANENT;
    }
    if (smtp && code >= 400 && code < 500) {
        snprintf(reason, reason_size, "smtp_4xx");
        return TRANSPORT_TRANSIENT;
    }
    snprintf(reason, reason_size, "%s", smtp ? "smtp_protocol" : "http");
    return TRANSPORT_TRANSIENT;
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

enum transport_result transport_send_email(const struct config *config, const char *to,
                                           const char *message, struct transport_error *e)
{
    if (config->smtp_url[0] == '\0') {
        snprintf(e->reason, sizeof(e->reason), "config");
        snprintf(e->message, sizeof(e->message), "no [smtp] url is configured");
        return TRANSPORT_TRANSIENT;
    }
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(e->reason, sizeof(e->reason), "internal");
        snprintf(e->message, sizeof(e->message), "could not start a mail transfer");
        return TRANSPORT_TRANSIENT;
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
    enum transport_result result = TRANSPORT_SENT;
    if (rc != CURLE_OK) {
        result = classify_curl(rc, code, true, e->reason, sizeof(e->reason));
        snprintf(e->message, sizeof(e->message), "could not send e-mail to %s: %s (SMTP %ld)", to,
                 curl_easy_strerror(rc), code);
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    return result;
}

enum transport_result transport_send_webhook(const struct config *config, const char *url,
                                             const char *payload, const char *key,
                                             const char *authorization, struct transport_error *e)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(e->reason, sizeof(e->reason), "internal");
        snprintf(e->message, sizeof(e->message), "could not start a webhook transfer");
        return TRANSPORT_TRANSIENT;
    }
    char key_header[256];
    snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", key);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, key_header);
    if (authorization != NULL && authorization[0] != '\0')
        headers = curl_slist_append(headers, authorization); /* never in a message or log */
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    common_options(curl, (long)config->webhook_timeout);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    enum transport_result result = TRANSPORT_SENT;
    if (rc != CURLE_OK) {
        result = classify_curl(rc, code, false, e->reason, sizeof(e->reason));
        snprintf(e->message, sizeof(e->message), "could not post to %s: %s", url,
                 curl_easy_strerror(rc));
    } else if (code < 200 || code >= 300) {
        bool permanent = code >= 400 && code < 500 && code != 408 && code != 429;
        result = permanent ? TRANSPORT_PERMANENT : TRANSPORT_TRANSIENT;
        snprintf(e->reason, sizeof(e->reason), "http_%ldxx", code / 100);
        snprintf(e->message, sizeof(e->message), "webhook %s answered %ld", url, code);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result;
}
