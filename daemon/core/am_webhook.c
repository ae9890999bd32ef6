/* Alertmanager's webhook payload, version 4, for one alert group (docs/ARCHITECTURE.md,
 * notification and delivery). Pure. */
#include "scaleupd/core/am_webhook.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const char *s)
{
    return s ? s : "";
}

static void count_states(const struct notify_group *g, size_t *firing, size_t *resolved)
{
    *firing = *resolved = 0;
    for (size_t i = 0; i < g->n_alerts; i++)
        (*(g->alerts[i].resolved ? resolved : firing))++;
}

static json_t *number_or_null(bool has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

static json_t *webhook_alert(const struct notify_group *g, const struct notify_alert *a)
{
    char chart[512], fingerprint[32];
    notify_chart_url(g, a, chart, sizeof(chart));
    snprintf(fingerprint, sizeof(fingerprint), "%016llx", (unsigned long long)a->id);
    json_t *labels =
        json_pack("{s:s,s:s,s:s,s:s}", "alertname", str(a->rule), "programme", str(g->programme),
                  "rule_kind", str(a->kind), "receiver", str(g->receiver));
    if (a->indicator)
        json_object_set_new(labels, "indicator", json_string(a->indicator));
    if (a->site)
        json_object_set_new(labels, "site", json_string(a->site));
    json_t *annotations = json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:o}", "summary", str(a->summary), "period", str(a->period), "value",
        number_or_null(a->has_value, a->value), "centre", number_or_null(a->has_limits, a->centre),
        "lower_limit", number_or_null(a->has_limits, a->lower_limit), "upper_limit",
        number_or_null(a->has_limits, a->upper_limit));
    return json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:s}", "status", a->resolved ? "resolved" : "firing",
                     "labels", labels, "annotations", annotations, "startsAt", str(a->starts_at),
                     "endsAt", a->ends_at ? a->ends_at : "0001-01-01T00:00:00Z", "generatorURL",
                     chart, "fingerprint", fingerprint);
}

json_t *am_webhook_payload(const struct notify_group *g, const char *group_key)
{
    size_t firing, resolved;
    count_states(g, &firing, &resolved);
    json_t *alerts = json_array();
    for (size_t i = 0; i < g->n_alerts; i++)
        json_array_append_new(alerts, webhook_alert(g, &g->alerts[i]));
    json_t *group_labels =
        json_pack("{s:s,s:s}", "programme", str(g->programme), "receiver", str(g->receiver));
    return json_pack("{s:s,s:s,s:i,s:s,s:s,s:o,s:O,s:{},s:s,s:o}", "version", "4", "groupKey",
                     str(group_key), "truncatedAlerts", 0, "status",
                     firing > 0 ? "firing" : "resolved", "receiver", str(g->receiver),
                     "groupLabels", group_labels, "commonLabels", group_labels, "commonAnnotations",
                     "externalURL", str(g->base_url), "alerts", alerts);
}

char *am_webhook_body(const struct notify_group *group, const char *group_key)
{
    json_t *payload = am_webhook_payload(group, group_key);
    char *body = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    if (body != NULL && strlen(body) >= NOTIFY_RENDER_MAX) {
        free(body);
        return NULL;
    }
    return body;
}

void am_webhook_group_key(const struct notify_group *group, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", str(group->programme), str(group->receiver));
}
