/* Alertmanager's formats (docs/ARCHITECTURE.md, notification and delivery; README,
 * "Webhooks" and "Connecting an Alertmanager"): the webhook payload, version 4, a webhook
 * receiver is POSTed for one alert group, exactly as Alertmanager's notify/webhook/webhook.go
 * Message and template/template.go Data, Alert and KV define it; and the body of
 * POST /api/v2/alerts that hands alerts to an existing Alertmanager. Labels and annotations
 * are strings (a missing value is left out, never "" nor null). Pure. */
#ifndef SCALEUPD_AM_WEBHOOK_H
#define SCALEUPD_AM_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>

#include "scaleupd/core/notify_render.h"

/* Go's zero time, which Alertmanager writes as the endsAt of an alert still firing. */
#define AM_WEBHOOK_NO_END "0001-01-01T00:00:00Z"

/* The alerts a payload carries when its webhook sets no max_alerts: a group of a national feed
 * that failed holds 161,700 alerts, about 160 MB of JSON, over NOTIFY_RENDER_MAX (then nothing
 * was sent, ever); 5,000 are about 6 MB. The rest are counted in truncatedAlerts. */
#define AM_WEBHOOK_MAX_ALERTS 5000

/* How one webhook receives a group. */
struct am_webhook_options {
    const char *group_key;           /* groupKey (am_webhook_group_key) */
    long max_alerts;                 /* at most this many alerts, the rest counted in
                                        truncatedAlerts; 0: AM_WEBHOOK_MAX_ALERTS */
    const char *notification_reason; /* as Alertmanager words it ("first notification", …);
                                        NULL: "unknown" */
};

/* The payload, version 4: version, groupKey, truncatedAlerts, receiver, status, alerts
 * (status, labels, annotations, startsAt, endsAt, generatorURL, fingerprint),
 * notification_reason, groupLabels, commonLabels and commonAnnotations (the pairs every
 * alert sent shares), routeLabels, externalURL. The caller owns the result. */
json_t *am_webhook_payload(const struct notify_group *group,
                           const struct am_webhook_options *options);

/* The same payload as compact JSON text, as it is POSTed. The caller frees it; NULL when
 * over NOTIFY_RENDER_MAX. */
char *am_webhook_body(const struct notify_group *group, const struct am_webhook_options *options);

/* The key of a group, "programme/receiver" (the webhook's groupKey). */
void am_webhook_group_key(const struct notify_group *group, char *buf, size_t size);

/* An alert's labels: alertname (the rule), programme, receiver, rule_kind, severity
 * ("critical" for the delivery self alert, "info" for late_feed and completeness,
 * "warning" for the others), indicator and site when the alert has them, alert_id when it
 * has neither. The caller owns the object. */
json_t *am_webhook_labels(const struct notify_group *group, const struct notify_alert *alert);

/* An alert's annotations: summary, description, and what is known of programme_name,
 * indicator_name, site_name, region_name, period, value, centre, lower_limit, upper_limit
 * (numbers as text, "%.10g"), since. The caller owns the object. */
json_t *am_webhook_annotations(const struct notify_group *group, const struct notify_alert *alert);

/* The dashboard link of an alert (generatorURL):
 *   {base}/#/chart?programme={slug}&indicator={code}&site={code}&period={period}
 * (site and period when known, each value percent-encoded), or {base}/#/alerts?programme=
 * {slug} for an alert without an indicator. */
void am_webhook_chart_url(const struct notify_group *group, const struct notify_alert *alert,
                          char *buf, size_t size);

/* The body of POST /api/v2/alerts for the group's alerts: an array of {labels, annotations,
 * startsAt, endsAt, generatorURL}; a resolved alert ends at its ends_at, a firing one at
 * firing_ends_at (RFC 3339: when Alertmanager is to resolve it unless it is posted again).
 * The caller frees it; NULL when over NOTIFY_RENDER_MAX. */
char *am_api_alerts_body(const struct notify_group *group, const char *firing_ends_at);

#endif
