/* Alertmanager's webhook payload (version 4) for an alert group. */
#include <criterion/criterion.h>
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

Test(am_webhook, webhook_v4)
{
    struct notify_alert a[2];
    memcpy(a, two_firing, sizeof(a));
    a[1].resolved = true;
    a[1].ends_at = "2025-08-01T00:00:00Z";
    a[1].has_limits = false;
    struct notify_group g = group(a, 2);
    json_t *p = am_webhook_payload(&g, "icp-be/change-team");
    cr_expect_str_eq(json_string_value(json_object_get(p, "version")), "4");
    cr_expect_str_eq(json_string_value(json_object_get(p, "status")), "firing");
    cr_expect_str_eq(json_string_value(json_object_get(p, "groupKey")), "icp-be/change-team");
    json_t *alerts = json_object_get(p, "alerts");
    cr_assert_eq(json_array_size(alerts), 2);
    json_t *first = json_array_get(alerts, 0);
    cr_expect_str_eq(
        json_string_value(json_object_get(json_object_get(first, "labels"), "alertname")),
        "spc-bp");
    cr_expect_str_eq(json_string_value(json_object_get(first, "endsAt")), "0001-01-01T00:00:00Z");
    json_t *second = json_array_get(alerts, 1);
    cr_expect_str_eq(json_string_value(json_object_get(second, "status")), "resolved");
    cr_expect(json_is_null(json_object_get(json_object_get(second, "annotations"), "lower_limit")));
    json_decref(p);
}

Test(am_webhook, webhook_body_is_the_compact_payload)
{
    struct notify_group g = group(two_firing, 1);
    char *body = am_webhook_body(&g, "icp-be/change-team");
    json_t *payload = am_webhook_payload(&g, "icp-be/change-team");
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
    cr_expect_null(am_webhook_body(&g, "k"));
    free(huge);
}
