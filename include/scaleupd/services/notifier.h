/* Delivery of queued notifications: e-mail through libcurl's SMTP (STARTTLS or implicit
 * TLS, authentication) and webhooks over HTTP(S) with an Idempotency-Key, each bounded by
 * a timeout, with retries, backoff and dead-lettering. */
#ifndef SCALEUPD_NOTIFIER_H
#define SCALEUPD_NOTIFIER_H

#include <libpq-fe.h>
#include <stddef.h>

struct config;

enum notify_result { NOTIFY_SENT, NOTIFY_TRANSIENT, NOTIFY_PERMANENT };

/* Sends one e-mail message (a whole RFC 5322 text) to one address. reason receives a short
 * machine word for metrics ("timeout", "connect", "auth" (login refused), "tls" (handshake,
 * certificate, STARTTLS missing), "smtp_4xx", "smtp_5xx", "smtp_protocol", "config",
 * "internal") and err a message. No database is touched. */
enum notify_result notifier_send_email(const struct config *config, const char *to,
                                       const char *message, char *reason, size_t reason_size,
                                       char *err, size_t err_size);

/* POSTs a JSON payload with the header Idempotency-Key: key. 2xx is sent, 4xx (but 408 and
 * 429) permanent, everything else transient. */
enum notify_result notifier_send_webhook(const struct config *config, const char *url,
                                         const char *payload, const char *key, char *reason,
                                         size_t reason_size, char *err, size_t err_size);

/* One delivery round: dispatches due groups, then claims due messages (committed, with a
 * lease), sends each with no transaction open, and marks it; updates the delivery metrics.
 * Runs on the delivery thread (delivery.h), never on a pool worker. Delivery is
 * at-least-once: a daemon killed between a send and its mark sends the message again after
 * the lease expires, with the same Message-ID (or webhook Idempotency-Key). */
void notifier_run(PGconn *conn, const struct config *config);

/* Aborts transfers in progress and makes later rounds give their claimed messages back
 * unsent (at shutdown; any thread may call it). */
void notifier_cancel(void);

/* Declares the metric families of delivery; call once at start-up. */
void notifier_describe_metrics(void);

#endif
