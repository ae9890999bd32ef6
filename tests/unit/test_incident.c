/*
 * Incident keys (core/incident.h): which alerts share an incident — a practice's late feeds
 * of one due period, one indicator's signals in one region with the region's aggregate,
 * whatever period each signals in — and which stay alone; and the titles people read.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/core/incident.h"

static struct incident_key key_of(struct incident_subject s)
{
    struct incident_key k;
    incident_key_of(&s, &k);
    return k;
}

struct key_case {
    struct incident_subject s;
    enum incident_kind kind;
    const char *key;
};

static void expect_keys(const struct key_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct incident_key k = key_of(cases[i].s);
        cr_expect_eq(k.kind, cases[i].kind, "case %zu kind", i);
        cr_expect_str_eq(k.key, cases[i].key, "case %zu", i);
    }
}

/* clang-format off */
#define LATE(alert, ind, site, region, day) \
    {.alert_id = alert, .rule_kind = "late_feed", .indicator_id = ind, .site_id = site, \
     .region_id = region, .period_start = day}
#define SIG(kind, alert, ind, site, region, agg, day) \
    {.alert_id = alert, .rule_kind = kind, .indicator_id = ind, .site_id = site, \
     .region_id = region, .aggregate = agg, .period_start = day}

Test(incident, late_feed_and_signal_keys)
{
    static const struct key_case cases[] = {
        /* late feeds: per practice and due period, whatever the indicator */
        {LATE(1, 3, 20, 2, 20727), INCIDENT_LATE_FEED, "late_feed:s20:d20727"},
        {LATE(2, 4, 20, 2, 20727), INCIDENT_LATE_FEED, "late_feed:s20:d20727"},
        {LATE(3, 3, 20, 0, 20758), INCIDENT_LATE_FEED, "late_feed:s20:d20758"},
        {LATE(4, 3, 21, 2, 20727), INCIDENT_LATE_FEED, "late_feed:s21:d20727"},
        /* signals: practices of one region and the region's aggregate share one key */
        {SIG("spc", 5, 3, 20, 2, false, 20727), INCIDENT_SIGNAL, "signal:i3:r2"},
        {SIG("threshold", 6, 3, 21, 2, false, 20727), INCIDENT_SIGNAL, "signal:i3:r2"},
        {SIG("spc", 7, 3, 2, 1, true, 20727), INCIDENT_SIGNAL, "signal:i3:r2"},
        /* in any period: a later month joins the incident while it is open */
        {SIG("spc", 10, 3, 20, 2, false, 20758), INCIDENT_SIGNAL, "signal:i3:r2"},
        {SIG("spc", 19, 3, 2, 1, true, 20758), INCIDENT_SIGNAL, "signal:i3:r2"},
        /* another indicator or region is another incident */
        {SIG("spc", 8, 4, 20, 2, false, 20727), INCIDENT_SIGNAL, "signal:i4:r2"},
        {SIG("spc", 9, 3, 30, 5, false, 20727), INCIDENT_SIGNAL, "signal:i3:r5"},
        /* a site without a parent is its own region */
        {SIG("spc", 11, 3, 1, 0, false, 0), INCIDENT_SIGNAL, "signal:i3:r1"},
    };
    expect_keys(cases, sizeof cases / sizeof cases[0]);
}

Test(incident, alerts_that_group_with_nothing)
{
    static const struct key_case cases[] = {
        /* no period, no site, no indicator, or a kind that does not group */
        {LATE(12, 3, 20, 2, -1), INCIDENT_ALERT, "alert:12"},
        {LATE(13, 3, 0, 0, 20727), INCIDENT_ALERT, "alert:13"},
        {SIG("spc", 14, 0, 20, 2, false, 20727), INCIDENT_ALERT, "alert:14"},
        {SIG("completeness", 15, 3, 0, 0, false, 20727), INCIDENT_ALERT, "alert:15"},
        {SIG("trajectory", 16, 3, 20, 2, false, 20727), INCIDENT_ALERT, "alert:16"},
        {SIG("self", 17, 0, 0, 0, false, -1), INCIDENT_ALERT, "alert:17"},
        {SIG(NULL, 18, 3, 20, 2, false, 20727), INCIDENT_ALERT, "alert:18"},
    };
    expect_keys(cases, sizeof cases / sizeof cases[0]);
}
/* clang-format on */

Test(incident, ids_of_what_the_incident_is_about)
{
    struct incident_key k = key_of((struct incident_subject){
        .rule_kind = "spc", .indicator_id = 3, .site_id = 20, .region_id = 2, .period_start = 1});
    cr_expect_eq(k.indicator_id, 3);
    cr_expect_eq(k.site_id, 2, "a signal is about the region");
    k = key_of((struct incident_subject){.rule_kind = "late_feed",
                                         .indicator_id = 3,
                                         .site_id = 20,
                                         .region_id = 2,
                                         .period_start = 1});
    cr_expect_eq(k.indicator_id, 0, "a late feed is about all the practice's indicators");
    cr_expect_eq(k.site_id, 20);
}

Test(incident, titles)
{
    struct incident_key k = key_of((struct incident_subject){.rule_kind = "late_feed",
                                                             .site_id = 20,
                                                             .period_start = 1,
                                                             .period = "2026-10",
                                                             .due = "2026-11-15",
                                                             .site_name = "Praktijk Noord"});
    cr_expect_str_eq(k.title, "Praktijk Noord: no report for 2026-10 (due 2026-11-15)");
    k = key_of((struct incident_subject){
        .rule_kind = "late_feed", .site_id = 20, .period_start = 1, .period = "2026-10"});
    cr_expect_str_eq(k.title, "-: no report for 2026-10");
    k = key_of((struct incident_subject){.rule_kind = "spc",
                                         .indicator_id = 3,
                                         .site_id = 20,
                                         .region_id = 2,
                                         .period_start = 1,
                                         .period = "2026-10",
                                         .indicator_name = "BP controlled",
                                         .site_name = "Praktijk Noord",
                                         .region_name = "Wallonie"});
    cr_expect_str_eq(k.title, "BP controlled signals in Wallonie since 2026-10");
    k = key_of((struct incident_subject){.rule_kind = "spc",
                                         .indicator_id = 3,
                                         .site_id = 2,
                                         .aggregate = true,
                                         .period_start = 1,
                                         .period = "2026-10",
                                         .indicator_name = "BP",
                                         .site_name = "Flanders",
                                         .region_name = "Belgium"});
    cr_expect_str_eq(k.title, "BP signals in Flanders since 2026-10");
    k = key_of((struct incident_subject){
        .alert_id = 5, .rule_kind = "self", .rule_name = "delivery", .period_start = -1});
    cr_expect_str_eq(k.title, "delivery");
    k = key_of((struct incident_subject){.alert_id = 6,
                                         .rule_kind = "trajectory",
                                         .rule_name = "trajectory-expansion",
                                         .period_start = -1,
                                         .summary = "behind against the roadmap"});
    cr_expect_str_eq(k.title, "trajectory-expansion: behind against the roadmap");
    /* a programme-wide alert in words, without the figures that change after it opened */
    k = key_of((struct incident_subject){
        .alert_id = 7,
        .rule_kind = "trajectory",
        .rule_name = "trajectory-coverage",
        .period_start = -1,
        .summary = "coverage is behind the roadmap: 26.6 % actual, 28.8 % planned"});
    cr_expect_str_eq(k.title, "Coverage against the roadmap");
    k = key_of((struct incident_subject){.alert_id = 8,
                                         .rule_kind = "self",
                                         .rule_name = "notification-delivery",
                                         .period_start = -1,
                                         .summary = "could not deliver to change-team"});
    cr_expect_str_eq(k.title, "Could not deliver to change-team");
}

Test(incident, long_titles_are_cut_at_a_character)
{
    char name[400];
    memset(name, 'a', sizeof(name));
    /* "é" (2 bytes) straddling the cut, whatever its parity */
    for (size_t i = 1; i + 1 < sizeof(name); i += 2)
        name[i] = (char)0xc3, name[i + 1] = (char)0xa9, i++;
    name[sizeof(name) - 1] = '\0';
    for (int shift = 0; shift < 2; shift++) {
        struct incident_key k = key_of((struct incident_subject){
            .rule_kind = "late_feed", .site_id = 1, .period_start = 1, .site_name = name + shift});
        size_t len = strlen(k.title);
        cr_expect_lt(len, sizeof(k.title));
        cr_expect_gt(len, sizeof(k.title) - 4);
        unsigned char last = (unsigned char)k.title[len - 1];
        cr_expect(last < 0x80 || (last & 0xc0) == 0x80, "ends in a whole character (%02x)", last);
        if ((last & 0xc0) == 0x80)
            cr_expect_eq((unsigned char)k.title[len - 2], 0xc3);
    }
}

Test(incident, kind_names)
{
    cr_expect_str_eq(incident_kind_name(INCIDENT_LATE_FEED), "late_feed");
    cr_expect_str_eq(incident_kind_name(INCIDENT_SIGNAL), "signal");
    cr_expect_str_eq(incident_kind_name(INCIDENT_ALERT), "alert");
}
