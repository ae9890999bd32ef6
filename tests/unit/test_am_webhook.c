/* Alertmanager's formats for an alert group (core/am_webhook.c): the webhook payload,
 * version 4, checked against the field types of Alertmanager's own definition (the JSON
 * schema tests/fixtures/alertmanager_webhook_v4.schema.json, derived from its
 * notify/webhook/webhook.go and template/template.go), the computed common labels and
 * annotations, truncation, links, and the alerts posted to its API v2. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/am_webhook.h"

static const struct notify_alert two_firing[] = {
    {.id = 7,
     .rule = "spc-bp",
     .kind = "spc",
     .indicator = "bp_controlled_pct",
     .site = "BE-VLG-GP001",
     .site_name = "De Linde",
     .region_name = "Flanders",
     .summary = "below lower limit",
     .period = "2025-06",
     .has_value = true,
     .has_limits = true,
     .value = 41.5,
     .centre = 60,
     .lower_limit = 50.2,
     .upper_limit = 69.8,
     .since = "2025-07-02 10:00 Europe/Brussels",
     .starts_at = "2025-07-02T08:00:00Z"},
    {.id = 8,
     .rule = "spc-bp",
     .kind = "spc",
     .indicator = "bp_controlled_pct",
     .site = "BE-VLG-GP002",
     .site_name = "Zuid",
     .region_name = "Flanders",
     .summary = "below lower limit",
     .period = "2025-06",
     .has_value = true,
     .has_limits = true,
     .value = 40,
     .centre = 61,
     .lower_limit = 51,
     .upper_limit = 71,
     .since = "x",
     .starts_at = "2025-07-02T08:00:00Z"},
};

static struct notify_group group(const struct notify_alert *alerts, size_t n)
{
    struct notify_group g = {.programme = "icp-be",
                             .programme_name = "ICP Belgium",
                             .receiver = "change-team",
                             .time_zone = "Europe/Brussels",
                             .base_url = "https://scaleup.example/",
                             .alerts = alerts,
                             .n_alerts = n};
    return g;
}

/* ---- a JSON Schema subset, enough for the fixture: type, const, enum, required,
 * properties, additionalProperties, items, minimum, $ref to #/$defs, format date-time ---- */

static json_t *schema_root;

static bool rfc3339(const char *s)
{
    /* 2025-07-02T08:00:00Z, 2025-07-02T08:00:00.5+02:00 */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return false;
    const char *p = s + strlen(shape);
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (strcmp(p, "Z") == 0)
        return true;
    return (p[0] == '+' || p[0] == '-') && isdigit((unsigned char)p[1]) &&
           isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
           isdigit((unsigned char)p[5]) && p[6] == '\0';
}

static bool is_type(const json_t *v, const char *type)
{
    if (strcmp(type, "object") == 0)
        return json_is_object(v);
    if (strcmp(type, "array") == 0)
        return json_is_array(v);
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    cr_assert_fail("schema type %s is not handled here", type);
    return false;
}

static void validate(const json_t *v, const json_t *schema, const char *path);

static void validate_object(const json_t *v, const json_t *schema, const char *path)
{
    size_t i;
    const json_t *name;
    json_array_foreach(json_object_get(schema, "required"), i, name)
        cr_expect(json_object_get(v, json_string_value(name)) != NULL, "%s lacks %s", path,
                  json_string_value(name));
    const json_t *properties = json_object_get(schema, "properties");
    const json_t *additional = json_object_get(schema, "additionalProperties");
    const char *key;
    const json_t *member;
    json_object_foreach((json_t *)v, key, member)
    {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        const json_t *s = json_object_get(properties, key);
        if (s != NULL)
            validate(member, s, sub);
        else if (json_is_false(additional))
            cr_expect_fail("%s is not in Alertmanager's definition", sub);
        else if (json_is_object(additional))
            validate(member, additional, sub);
    }
}

static void validate(const json_t *v, const json_t *schema, const char *path)
{
    const char *ref = json_string_value(json_object_get(schema, "$ref"));
    if (ref != NULL) {
        cr_assert(strncmp(ref, "#/$defs/", 8) == 0);
        validate(v, json_object_get(json_object_get(schema_root, "$defs"), ref + 8), path);
        return;
    }
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (type != NULL && !is_type(v, type)) {
        cr_expect_fail("%s is not of type %s", path, type);
        return;
    }
    const json_t *constant = json_object_get(schema, "const");
    cr_expect(constant == NULL || json_equal(v, constant), "%s differs from its const", path);
    const json_t *choices = json_object_get(schema, "enum");
    if (choices != NULL) {
        bool found = false;
        size_t i;
        const json_t *c;
        json_array_foreach(choices, i, c) found = found || json_equal(c, v);
        cr_expect(found, "%s is none of its enum", path);
    }
    const json_t *minimum = json_object_get(schema, "minimum");
    cr_expect(minimum == NULL || json_integer_value(v) >= json_integer_value(minimum),
              "%s is below its minimum", path);
    const char *format = json_string_value(json_object_get(schema, "format"));
    if (format != NULL && strcmp(format, "date-time") == 0)
        cr_expect(rfc3339(json_string_value(v)), "%s is no RFC 3339 time: %s", path,
                  json_string_value(v));
    if (json_is_object(v))
        validate_object(v, schema, path);
    const json_t *items = json_object_get(schema, "items");
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        validate(item, items, sub);
    }
}

static void load_schema(void)
{
    const char *dir = getenv("SCALEUPD_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/fixtures/alertmanager_webhook_v4.schema.json",
             dir ? dir : "..");
    json_error_t error;
    schema_root = json_load_file(path, 0, &error);
    cr_assert_not_null(schema_root, "%s: %s", path, error.text);
}

static void free_schema(void)
{
    json_decref(schema_root);
}

/* The payload as a receiver decodes it: parsed back from the body POSTed. */
static json_t *posted(const struct notify_group *g, const struct am_webhook_options *o)
{
    char *body = am_webhook_body(g, o);
    cr_assert_not_null(body);
    json_error_t error;
    json_t *payload = json_loads(body, JSON_REJECT_DUPLICATES, &error);
    cr_assert_not_null(payload, "%s", error.text);
    free(body);
    return payload;
}

static const char *text_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    return json_string_value(b ? json_object_get(v, b) : v);
}

/* Every variety of alert the daemon sends: firing with limits, resolved without limits,
 * a late feed without a value, a programme-wide self alert without indicator or site. */
Test(am_webhook, payload_matches_alertmanagers_definition, .init = load_schema, .fini = free_schema)
{
    struct notify_alert a[4];
    memcpy(a, two_firing, sizeof(two_firing));
    a[1].resolved = true;
    a[1].ends_at = "2025-08-01T00:00:00Z";
    a[1].has_limits = false;
    a[2] = (struct notify_alert){.id = 9,
                                 .rule = "late",
                                 .kind = "late_feed",
                                 .indicator = "hba1c",
                                 .site = "BE-VLG-GP003",
                                 .summary = "no report for 2025-06",
                                 .period = "2025-06",
                                 .starts_at = "2025-07-10T00:00:00Z"};
    a[3] = (struct notify_alert){.id = 10,
                                 .rule = "notification-delivery",
                                 .kind = "self",
                                 .summary = "delivery to ops fails",
                                 .starts_at = "2025-07-10T00:00:00Z"};
    struct notify_group g = group(a, 4);
    struct am_webhook_options o = {"icp-be/change-team", 0, "first notification"};
    json_t *p = posted(&g, &o);
    validate(p, schema_root, "$");
    size_t i;
    const json_t *alert;
    json_array_foreach(json_object_get(p, "alerts"), i, alert)
    {
        const char *key;
        const json_t *v;
        json_object_foreach(json_object_get(alert, "labels"), key, v)
            cr_expect(json_string_length(v) > 0, "alert %zu label %s is empty", i, key);
    }
    /* a test message: no alerts at all */
    g.n_alerts = 0;
    g.is_test = true;
    json_t *test = posted(&g, &o);
    validate(test, schema_root, "$");
    json_decref(test);
    json_decref(p);
}

Test(am_webhook, labels_and_annotations_are_strings_with_severity)
{
    struct notify_alert a[2];
    memcpy(a, two_firing, sizeof(a));
    a[1].resolved = true;
    a[1].ends_at = "2025-08-01T00:00:00Z";
    a[1].has_limits = false;
    struct notify_group g = group(a, 2);
    struct am_webhook_options o = {"icp-be/change-team", 0, NULL};
    json_t *p = posted(&g, &o);
    cr_expect_str_eq(text_at(p, "version", NULL), "4");
    cr_expect_str_eq(text_at(p, "status", NULL), "firing");
    cr_expect_str_eq(text_at(p, "notification_reason", NULL), "unknown");
    cr_expect_str_eq(text_at(p, "externalURL", NULL), "https://scaleup.example");
    json_t *first = json_array_get(json_object_get(p, "alerts"), 0);
    cr_expect_str_eq(text_at(first, "labels", "alertname"), "spc-bp");
    cr_expect_str_eq(text_at(first, "labels", "severity"), "warning");
    cr_expect_str_eq(text_at(first, "labels", "site"), "BE-VLG-GP001");
    cr_expect_str_eq(text_at(first, "annotations", "value"), "41.5");
    cr_expect_str_eq(text_at(first, "annotations", "lower_limit"), "50.2");
    cr_expect_str_eq(text_at(first, "annotations", "centre"), "60");
    cr_expect_str_eq(text_at(first, "annotations", "description"),
                     "bp_controlled_pct at De Linde: below lower limit (value 41.5 for 2025-06; "
                     "limits 50.2 .. 69.8)");
    cr_expect_str_eq(text_at(first, "endsAt", NULL), AM_WEBHOOK_NO_END);
    json_t *second = json_array_get(json_object_get(p, "alerts"), 1);
    cr_expect_str_eq(text_at(second, "status", NULL), "resolved");
    cr_expect_str_eq(text_at(second, "endsAt", NULL), "2025-08-01T00:00:00Z");
    /* a missing limit is left out, never null */
    cr_expect_null(json_object_get(json_object_get(second, "annotations"), "lower_limit"));
    json_decref(p);
}

/* commonLabels and commonAnnotations: the pairs every alert sent shares, as Alertmanager's
 * template.Data computes them (not a copy of groupLabels). */
Test(am_webhook, common_labels_and_annotations_are_computed)
{
    struct notify_group g = group(two_firing, 2);
    struct am_webhook_options o = {"k", 0, NULL};
    json_t *p = posted(&g, &o);
    json_t *labels = json_object_get(p, "commonLabels");
    json_t *want = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "alertname", "spc-bp", "programme",
                             "icp-be", "receiver", "change-team", "rule_kind", "spc", "severity",
                             "warning", "indicator", "bp_controlled_pct");
    cr_expect(json_equal(labels, want), "commonLabels %s", json_dumps(labels, JSON_COMPACT));
    json_decref(want);
    json_t *annotations = json_object_get(p, "commonAnnotations");
    cr_expect_str_eq(text_at(annotations, "summary", NULL), "below lower limit");
    cr_expect_str_eq(text_at(annotations, "period", NULL), "2025-06");
    cr_expect_str_eq(text_at(annotations, "region_name", NULL), "Flanders");
    cr_expect_null(json_object_get(annotations, "value")); /* 41.5 and 40 */
    cr_expect_null(json_object_get(annotations, "site_name"));
    want = json_pack("{s:s,s:s}", "programme", "icp-be", "receiver", "change-team");
    cr_expect(json_equal(json_object_get(p, "groupLabels"), want));
    json_decref(want);
    json_decref(p);
    /* one alert: everything is common */
    g.n_alerts = 1;
    p = posted(&g, &o);
    cr_expect(
        json_equal(json_object_get(p, "commonLabels"),
                   json_object_get(json_array_get(json_object_get(p, "alerts"), 0), "labels")));
    json_decref(p);
}

Test(am_webhook, max_alerts_truncates_and_counts)
{
    struct notify_group g = group(two_firing, 2);
    struct am_webhook_options o = {"k", 1, NULL};
    json_t *p = posted(&g, &o);
    cr_expect_eq(json_array_size(json_object_get(p, "alerts")), 1);
    cr_expect_eq(json_integer_value(json_object_get(p, "truncatedAlerts")), 1);
    /* common pairs are those of the alerts sent, as Alertmanager computes them after
     * truncating */
    cr_expect_str_eq(text_at(p, "commonLabels", "site"), "BE-VLG-GP001");
    json_decref(p);
    o.max_alerts = 5;
    p = posted(&g, &o);
    cr_expect_eq(json_array_size(json_object_get(p, "alerts")), 2);
    cr_expect_eq(json_integer_value(json_object_get(p, "truncatedAlerts")), 0);
    json_decref(p);
}

/* Without a max_alerts a webhook gets AM_WEBHOOK_MAX_ALERTS: a group of every practice of a
 * country late (161,700 alerts) is sent, truncated, rather than never (its whole payload was
 * over NOTIFY_RENDER_MAX). */
Test(am_webhook, an_unlimited_webhook_still_gets_a_payload_that_fits)
{
    size_t n = 161700;
    struct notify_alert *many = calloc(n, sizeof(*many));
    cr_assert_not_null(many);
    for (size_t i = 0; i < n; i++) {
        many[i] = two_firing[i % 2];
        many[i].id = (long long)i + 1;
    }
    struct notify_group g = group(many, n);
    /* unlimited (0), and a max_alerts above the cap stored before the receiver check refused it */
    for (long max = 0; max <= 200000; max += 200000) {
        struct am_webhook_options o = {"k", max, NULL};
        char *body = am_webhook_body(&g, &o);
        cr_assert_not_null(body, "max_alerts %ld", max);
        cr_expect_lt(strlen(body), NOTIFY_RENDER_MAX);
        json_t *p = json_loads(body, 0, NULL);
        cr_expect_eq(json_array_size(json_object_get(p, "alerts")), AM_WEBHOOK_MAX_ALERTS);
        cr_expect_eq(json_integer_value(json_object_get(p, "truncatedAlerts")),
                     (json_int_t)(n - AM_WEBHOOK_MAX_ALERTS));
        json_decref(p);
        free(body);
    }
    free(many);
}

/* generatorURL opens the dashboard's chart of that indicator and site, with the period. */
Test(am_webhook, generator_url_is_the_chart_route)
{
    struct notify_group g = group(two_firing, 1);
    char url[512];
    am_webhook_chart_url(&g, &two_firing[0], url, sizeof(url));
    cr_expect_str_eq(url, "https://scaleup.example/#/chart?programme=icp-be&indicator="
                          "bp_controlled_pct&site=BE-VLG-GP001&period=2025-06");
    struct notify_alert odd = two_firing[0];
    odd.site = "A&B C";
    odd.period = NULL;
    am_webhook_chart_url(&g, &odd, url, sizeof(url));
    cr_expect_str_eq(url, "https://scaleup.example/#/chart?programme=icp-be&indicator="
                          "bp_controlled_pct&site=A%26B%20C");
    struct notify_alert self = {.id = 3, .rule = "notification-delivery", .kind = "self"};
    am_webhook_chart_url(&g, &self, url, sizeof(url));
    cr_expect_str_eq(url, "https://scaleup.example/#/alerts?programme=icp-be");
    json_t *labels = am_webhook_labels(&g, &self);
    cr_expect_str_eq(json_string_value(json_object_get(labels, "severity")), "critical");
    cr_expect_str_eq(json_string_value(json_object_get(labels, "alert_id")), "3");
    json_decref(labels);
}

/* An alert of an incident says which, with its title and its dashboard link; one that is
 * its own incident says nothing of it. */
Test(am_webhook, annotations_name_the_incident)
{
    struct notify_alert a = two_firing[0];
    a.incident_id = 12;
    a.incident_title = "Blood pressure under control signals in Flanders since 2025-06";
    struct notify_group g = group(&a, 1);
    json_t *ann = am_webhook_annotations(&g, &a);
    cr_expect_str_eq(json_string_value(json_object_get(ann, "incident_id")), "12");
    cr_expect_str_eq(json_string_value(json_object_get(ann, "incident_title")), a.incident_title);
    cr_expect_str_eq(json_string_value(json_object_get(ann, "incident_url")),
                     "https://scaleup.example/#/alerts?programme=icp-be&incident=12");
    json_decref(ann);
    ann = am_webhook_annotations(&g, &two_firing[1]);
    cr_expect_null(json_object_get(ann, "incident_id"));
    json_decref(ann);
}

/* POST /api/v2/alerts: Alertmanager's postable alerts, resolution by endsAt. */
Test(am_webhook, api_v2_alerts)
{
    struct notify_alert a[2];
    memcpy(a, two_firing, sizeof(a));
    a[1].resolved = true;
    a[1].ends_at = "2025-08-01T00:00:00Z";
    struct notify_group g = group(a, 2);
    char *body = am_api_alerts_body(&g, "2025-07-02T08:04:00Z");
    json_t *alerts = json_loads(body, 0, NULL);
    cr_assert(json_is_array(alerts));
    cr_assert_eq(json_array_size(alerts), 2);
    json_t *firing = json_array_get(alerts, 0), *resolved = json_array_get(alerts, 1);
    cr_expect_eq(json_object_size(firing), 5);
    cr_expect_str_eq(text_at(firing, "endsAt", NULL), "2025-07-02T08:04:00Z");
    cr_expect_str_eq(text_at(resolved, "endsAt", NULL), "2025-08-01T00:00:00Z");
    cr_expect_str_eq(text_at(firing, "startsAt", NULL), "2025-07-02T08:00:00Z");
    cr_expect_str_eq(text_at(firing, "labels", "alertname"), "spc-bp");
    cr_expect_not_null(strstr(text_at(firing, "generatorURL", NULL), "/#/chart?"));
    cr_expect_null(json_object_get(firing, "status"));
    json_decref(alerts);
    free(body);
}

Test(am_webhook, body_is_the_compact_payload)
{
    struct notify_group g = group(two_firing, 1);
    struct am_webhook_options o = {"icp-be/change-team", 0, NULL};
    char *body = am_webhook_body(&g, &o);
    json_t *payload = am_webhook_payload(&g, &o);
    char *expected = json_dumps(payload, JSON_COMPACT);
    cr_expect_str_eq(body, expected);
    free(body);
    free(expected);
    json_decref(payload);
}

Test(am_webhook, group_key)
{
    char buf[200];
    struct notify_group g = group(two_firing, 2);
    am_webhook_group_key(&g, buf, sizeof(buf));
    cr_expect_str_eq(buf, "icp-be/change-team");
}

/* A payload that would pass NOTIFY_RENDER_MAX is refused, not grown without bound. */
Test(am_webhook, over_the_cap_renders_nothing)
{
    size_t size = NOTIFY_RENDER_MAX + 16;
    char *huge = malloc(size);
    cr_assert_not_null(huge);
    memset(huge, 'x', size - 1);
    huge[size - 1] = '\0';
    struct notify_alert a = two_firing[0];
    a.summary = huge;
    struct notify_group g = group(&a, 1);
    struct am_webhook_options o = {"k", 0, NULL};
    cr_expect_null(am_webhook_body(&g, &o));
    cr_expect_null(am_api_alerts_body(&g, "2025-07-02T08:04:00Z"));
    free(huge);
}
