/* A receiver's webhooks and Alertmanagers with their options, in the receivers document
 * (core/receiver_doc.h checks the rest): a "webhook" entry is a URL or an object
 *   {"url", "send_resolved"?, "max_alerts"?, "authorization"? | "basic_auth"?},
 * and "alertmanager" is a list of
 *   {"url", "resend_interval"?, "authorization"? | "basic_auth"?}
 * with "authorization": {"type"?: "Bearer", "credentials"} and "basic_auth": {"username",
 * "password"} as Alertmanager's own http_config spells them. Pure. */
#ifndef SCALEUPD_CORE_RECEIVER_ENDPOINTS_H
#define SCALEUPD_CORE_RECEIVER_ENDPOINTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* What GET receivers shows instead of a secret; a document that sends it back is refused
 * (problem redacted_secret): the secret must be given again. */
#define RECEIVER_SECRET_REDACTED "<redacted>"

/* The longest bearer token or basic password taken. */
#define RECEIVER_SECRET_MAX 4096

/* The re-post interval of an Alertmanager's firing alerts, in seconds, when not given, and
 * its bounds (each post says the alert ends 4 intervals later unless posted again). */
#define RECEIVER_RESEND_DEFAULT 60
#define RECEIVER_RESEND_MIN 1
#define RECEIVER_RESEND_MAX 3600

/* Checks webhook entry j of receiver i, an object; appends problems under
 * $.receivers[i].webhook[j]. Codes: invalid_url, invalid_type, invalid_value, unknown_field,
 * redacted_secret, conflicting_fields (authorization with basic_auth). */
void receiver_endpoints_check_webhook(const json_t *webhook, size_t i, size_t j, json_t **problems);

/* Checks receiver i's "alertmanager" list (the same codes) and that no URL appears twice in
 * its webhooks nor in its Alertmanagers (duplicate_url). */
void receiver_endpoints_check(const json_t *receiver, size_t i, json_t **problems);

/* The endpoints of a checked receivers list as rows for storage: an array of {"receiver",
 * "kind" ("webhook"|"alertmanager"), "url", "position", "send_resolved" (true, false or
 * null: the daemon's default), "max_alerts" (0: all), "resend_interval", "auth_type"
 * ("bearer"|"basic"|null), "auth_username", "auth_secret"}. The caller owns it. */
json_t *receiver_endpoints_rows(const json_t *receivers);

/* A copy of a checked receivers list with each webhook entry reduced to its URL and no
 * "alertmanager" key: the shape the receiver table stores. The caller owns it. */
json_t *receiver_endpoints_plain(const json_t *receivers);

/*
 * Shows stored endpoint rows in a receivers list as GET answers it: in each receiver
 * (objects with "name" and "webhook" URLs) a webhook with options becomes its object, and
 * "alertmanager" lists its Alertmanagers; secrets are RECEIVER_SECRET_REDACTED, user names
 * shown. rows are objects as receiver_endpoints_rows makes them, without "auth_secret".
 * Changes receivers in place.
 */
void receiver_endpoints_show(json_t *receivers, const json_t *rows);

/* The header line an endpoint's stored credentials send: "Authorization: Bearer <secret>"
 * for type "bearer", "Authorization: Basic base64(username:secret)" for "basic". False,
 * with buf "", when type is NULL or unknown or the line does not fit in size bytes. The
 * line holds the secret: never log it. */
bool receiver_endpoints_authorization(const char *type, const char *username, const char *secret,
                                      char *buf, size_t size);

#endif
