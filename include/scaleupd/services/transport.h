/* The transports of delivery (docs/ARCHITECTURE.md, notification and delivery): e-mail
 * through libcurl's SMTP (STARTTLS or implicit TLS, authentication, the server's
 * certificate always verified) and webhooks over HTTP(S) with an Idempotency-Key, each
 * bounded by a timeout and abortable at shutdown. libcurl only: no database. */
#ifndef SCALEUPD_SERVICES_TRANSPORT_H
#define SCALEUPD_SERVICES_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

struct config;

enum transport_result {
    TRANSPORT_SENT,
    TRANSPORT_TRANSIENT, /* worth trying again later */
    TRANSPORT_PERMANENT, /* the recipient or the URL refuses it: give up */
};

/* Why a send failed: reason, a short machine word for metrics, and err, a message. */
struct transport_error {
    char reason[32];
    char message[512];
};

/* Sends one e-mail message (a whole RFC 5322 text) to one address. The reasons: "timeout",
 * "connect", "auth" (login refused), "tls" (handshake, certificate, STARTTLS missing),
 * "smtp_4xx", "smtp_5xx" (permanent), "smtp_protocol", "config" (no [smtp] url),
 * "internal". err is filled unless the result is TRANSPORT_SENT. */
enum transport_result transport_send_email(const struct config *config, const char *to,
                                           const char *message, struct transport_error *err);

/* POSTs a JSON payload with the header Idempotency-Key: key and, when authorization is not
 * NULL or "", that header line ("Authorization: …", which no error message repeats). 2xx
 * is sent, 4xx (but 408 and 429) permanent, everything else transient; reasons "timeout",
 * "connect", "tls", "http", "http_<n>xx", "internal". Redirects are not followed, so the
 * credentials go to url alone. */
enum transport_result transport_send_webhook(const struct config *config, const char *url,
                                             const char *payload, const char *key,
                                             const char *authorization,
                                             struct transport_error *err);

/* Aborts transfers in progress within a second, and makes every later one fail at once
 * (at shutdown; any thread may call it). */
void transport_cancel(void);

/* True once transport_cancel was called. */
bool transport_cancelled(void);

#endif
