/* Alertmanager's formats for one alert group (am_webhook.h): the webhook payload, version
 * 4, with string labels and annotations and the common pairs computed as Alertmanager
 * computes them (template/template.go, Data), and the alerts posted to its API v2. Pure. */
#include "scaleupd/core/am_webhook.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const char *s)
{
    return s ? s : "";
}

/* Sets key to s unless s is NULL or "" (Alertmanager: an empty value is no label). */
static void set_text(json_t *obj, const char *key, const char *s)
{
    if (s != NULL && s[0] != '\0')
        json_object_set_new(obj, key, json_string(s));
}

static void set_number(json_t *obj, const char *key, bool has, double v)
{
    if (!has || !isfinite(v))
        return;
    char text[40];
    snprintf(text, sizeof(text), "%.10g", v);
    json_object_set_new(obj, key, json_string(text));
}

static const char *severity(const struct notify_alert *a)
{
    const char *kind = str(a->kind);
    if (strcmp(kind, "self") == 0)
        return "critical";
    if (strcmp(kind, "late_feed") == 0 || strcmp(kind, "completeness") == 0)
        return "info";
    return "warning";
}

json_t *am_webhook_labels(const struct notify_group *g, const struct notify_alert *a)
{
    json_t *labels = json_object();
    set_text(labels, "alertname", a->rule);
    set_text(labels, "programme", g->programme);
    set_text(labels, "receiver", g->receiver);
    set_text(labels, "rule_kind", a->kind);
    set_text(labels, "severity", severity(a));
    set_text(labels, "indicator", a->indicator);
    set_text(labels, "site", a->site);
    if ((a->indicator == NULL || a->indicator[0] == '\0') && (a->site == NULL || !a->site[0])) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", a->id); /* keeps two such alerts apart */
        set_text(labels, "alert_id", id);
    }
    return labels;
}

/* "Blood pressure under control at Praktijk Een: below lower limit (value 30 for 2026-01;
 * limits 55.1 .. 68.2)", with what is known. */
static void describe(const struct notify_group *g, const struct notify_alert *a, char *buf,
                     size_t size)
{
    const char *what = a->indicator_name ? a->indicator_name
                       : a->indicator    ? a->indicator
                                         : a->rule;
    const char *where = a->site_name ? a->site_name : a->site ? a->site : g->programme_name;
    size_t n = (size_t)snprintf(buf, size, "%s at %s: %s", str(what), str(where), str(a->summary));
    if (n < size && a->has_value && isfinite(a->value))
        n += (size_t)snprintf(buf + n, size - n, " (value %.10g%s%s", a->value,
                              a->period ? " for " : "", str(a->period));
    else if (n < size && a->period)
        n += (size_t)snprintf(buf + n, size - n, " (%s", a->period);
    else
        return;
    if (n < size && a->has_limits && isfinite(a->lower_limit) && isfinite(a->upper_limit))
        n += (size_t)snprintf(buf + n, size - n, "; limits %.10g .. %.10g", a->lower_limit,
                              a->upper_limit);
    if (n < size)
        snprintf(buf + n, size - n, ")");
}

json_t *am_webhook_annotations(const struct notify_group *g, const struct notify_alert *a)
{
    json_t *annotations = json_object();
    char description[1024];
    describe(g, a, description, sizeof(description));
    set_text(annotations, "summary", a->summary);
    set_text(annotations, "description", description);
    set_text(annotations, "programme_name", g->programme_name);
    set_text(annotations, "indicator_name", a->indicator_name);
    set_text(annotations, "site_name", a->site_name);
    set_text(annotations, "region_name", a->region_name);
    set_text(annotations, "period", a->period);
    set_number(annotations, "value", a->has_value, a->value);
    set_number(annotations, "centre", a->has_limits, a->centre);
    set_number(annotations, "lower_limit", a->has_limits, a->lower_limit);
    set_number(annotations, "upper_limit", a->has_limits, a->upper_limit);
    set_text(annotations, "since", a->since);
    if (a->incident_id != 0) { /* the incident it is part of: what people act on */
        char id[24], url[1024];
        snprintf(id, sizeof(id), "%lld", a->incident_id);
        set_text(annotations, "incident_id", id);
        set_text(annotations, "incident_title", a->incident_title);
        notify_incident_url(g, a, url, sizeof(url));
        set_text(annotations, "incident_url", url);
    }
    return annotations;
}

/* Appends "&key=value" (or "?key=value" first) with value percent-encoded (RFC 3986
 * unreserved characters kept); stops short rather than overflow. */
static void query_param(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    int n = snprintf(buf + *len, size - *len, "%s%s=", strchr(buf, '?') ? "&" : "?", key);
    if (n < 0 || (size_t)n >= size - *len)
        return;
    *len += (size_t)n;
    for (const unsigned char *c = (const unsigned char *)value; *c && *len + 4 < size; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~", *c) != NULL) {
            buf[(*len)++] = (char)*c;
        } else {
            buf[(*len)++] = '%';
            buf[(*len)++] = hex[*c >> 4];
            buf[(*len)++] = hex[*c & 15];
        }
    }
    buf[*len] = '\0';
}

void am_webhook_chart_url(const struct notify_group *g, const struct notify_alert *a, char *buf,
                          size_t size)
{
    const char *base = str(g->base_url);
    size_t base_len = strlen(base);
    if (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    bool chart = a->indicator != NULL && a->indicator[0] != '\0';
    int n = snprintf(buf, size, "%.*s/#/%s", (int)base_len, base, chart ? "chart" : "alerts");
    if (n < 0 || (size_t)n >= size)
        return;
    size_t len = (size_t)n;
    query_param(buf, size, &len, "programme", str(g->programme));
    if (!chart)
        return;
    query_param(buf, size, &len, "indicator", a->indicator);
    if (a->site != NULL && a->site[0] != '\0')
        query_param(buf, size, &len, "site", a->site);
    if (a->period != NULL && a->period[0] != '\0')
        query_param(buf, size, &len, "period", a->period);
}

static json_t *webhook_alert(const struct notify_group *g, const struct notify_alert *a)
{
    char chart[1024], fingerprint[32];
    am_webhook_chart_url(g, a, chart, sizeof(chart));
    snprintf(fingerprint, sizeof(fingerprint), "%016llx", (unsigned long long)a->id);
    return json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:s}", "status", a->resolved ? "resolved" : "firing",
                     "labels", am_webhook_labels(g, a), "annotations", am_webhook_annotations(g, a),
                     "startsAt", str(a->starts_at), "endsAt",
                     a->ends_at ? a->ends_at : AM_WEBHOOK_NO_END, "generatorURL", chart,
                     "fingerprint", fingerprint);
}

/* Keeps in common the pairs of common that obj has with the same value. */
static void intersect(json_t *common, const json_t *obj)
{
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(common, tmp, key, value)
    {
        const json_t *other = json_object_get(obj, key);
        if (other == NULL || !json_equal(other, value))
            json_object_del(common, key);
    }
}

/* commonLabels or commonAnnotations (field "labels" or "annotations") of alerts. */
static json_t *common_of(const json_t *alerts, const char *field)
{
    if (json_array_size(alerts) == 0)
        return json_object();
    json_t *common = json_deep_copy(json_object_get(json_array_get(alerts, 0), field));
    for (size_t i = 1; i < json_array_size(alerts) && json_object_size(common) > 0; i++)
        intersect(common, json_object_get(json_array_get(alerts, i), field));
    return common;
}

json_t *am_webhook_payload(const struct notify_group *g, const struct am_webhook_options *o)
{
    size_t sent = g->n_alerts, truncated = 0;
    /* at most AM_WEBHOOK_MAX_ALERTS whatever max_alerts says (a document stored before the
       receiver check capped it): more would not fit in a message */
    size_t max = o->max_alerts > 0 && o->max_alerts < AM_WEBHOOK_MAX_ALERTS ? (size_t)o->max_alerts
                                                                            : AM_WEBHOOK_MAX_ALERTS;
    if (sent > max) {
        truncated = sent - max;
        sent = max;
    }
    bool firing = false;
    json_t *alerts = json_array();
    for (size_t i = 0; i < sent; i++) {
        firing = firing || !g->alerts[i].resolved;
        json_array_append_new(alerts, webhook_alert(g, &g->alerts[i]));
    }
    const char *base = str(g->base_url);
    size_t base_len = strlen(base);
    if (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    json_t *group_labels = json_object();
    set_text(group_labels, "programme", g->programme);
    set_text(group_labels, "receiver", g->receiver);
    return json_pack(
        "{s:s,s:s,s:I,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:{},s:s%}", "version", "4", "groupKey",
        str(o->group_key), "truncatedAlerts", (json_int_t)truncated, "receiver", str(g->receiver),
        "status", firing ? "firing" : "resolved", "alerts", alerts, "notification_reason",
        o->notification_reason ? o->notification_reason : "unknown", "groupLabels", group_labels,
        "commonLabels", common_of(alerts, "labels"), "commonAnnotations",
        common_of(alerts, "annotations"), "routeLabels", "externalURL", base, base_len);
}

/* Compact JSON text of value (which it takes), NULL when over NOTIFY_RENDER_MAX. */
static char *dump_capped(json_t *value)
{
    char *body = json_dumps(value, JSON_COMPACT);
    json_decref(value);
    if (body != NULL && strlen(body) >= NOTIFY_RENDER_MAX) {
        free(body);
        return NULL;
    }
    return body;
}

char *am_webhook_body(const struct notify_group *group, const struct am_webhook_options *options)
{
    return dump_capped(am_webhook_payload(group, options));
}

void am_webhook_group_key(const struct notify_group *group, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", str(group->programme), str(group->receiver));
}

char *am_api_alerts_body(const struct notify_group *g, const char *firing_ends_at)
{
    json_t *alerts = json_array();
    for (size_t i = 0; i < g->n_alerts; i++) {
        const struct notify_alert *a = &g->alerts[i];
        char chart[1024];
        am_webhook_chart_url(g, a, chart, sizeof(chart));
        const char *ends = a->resolved && a->ends_at ? a->ends_at : str(firing_ends_at);
        json_array_append_new(alerts,
                              json_pack("{s:o,s:o,s:s,s:s,s:s}", "labels", am_webhook_labels(g, a),
                                        "annotations", am_webhook_annotations(g, a), "startsAt",
                                        str(a->starts_at), "endsAt", ends, "generatorURL", chart));
    }
    return dump_capped(alerts);
}
