/* Rendering of grouped e-mails. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/notify_render.h"

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

Test(notify_render, subject_says_what_and_where)
{
    struct notify_group g = group(two_firing, 2);
    char *s = notify_subject(&g);
    cr_expect_str_eq(s, "Flanders: bp_controlled_pct below lower limit at 2 practices");
    free(s);
    g.n_alerts = 1;
    s = notify_subject(&g);
    cr_expect_str_eq(s, "Flanders: bp_controlled_pct below lower limit at De Linde");
    free(s);
    struct notify_alert mixed[2];
    memcpy(mixed, two_firing, sizeof(mixed));
    mixed[1].resolved = true;
    mixed[1].summary = "common cause variation";
    mixed[1].indicator = "hba1c";
    mixed[1].region_name = "Wallonia";
    g = group(mixed, 2);
    s = notify_subject(&g);
    cr_expect_str_eq(s, "ICP Belgium: bp_controlled_pct below lower limit at De Linde \xc2\xb7 1 "
                        "resolved");
    free(s);
}

Test(notify_render, text_and_html_carry_values_limits_links)
{
    struct notify_group g = group(two_firing, 2);
    char *text = notify_text(&g);
    cr_expect_not_null(strstr(text, "De Linde: 41.5 (limits 50.2 .. 69.8, centre 60)"));
    cr_expect_not_null(
        strstr(text, "June 2025 \xc2\xb7 open since 2025-07-02 10:00 Europe/Brussels"));
    cr_expect_not_null(strstr(text, "https://scaleup.example/#/chart?programme=icp-be&indicator="
                                    "bp_controlled_pct&site=BE-VLG-GP001&period=2025-06"));
    cr_expect_not_null(strstr(
        text, "In the dashboard: https://scaleup.example/#/alerts?programme=icp-be&alert=7"));
    free(text);
    struct notify_alert evil = two_firing[0];
    evil.site_name = "<script>&";
    g = group(&evil, 1);
    char *html = notify_html(&g);
    cr_expect_null(strstr(html, "<script>"));
    cr_expect_not_null(strstr(html, "&lt;script&gt;&amp;"));
    free(html);
}

Test(notify_render, mime_message_headers)
{
    char *m = notify_email_message("a@x", "b@y", "[scaleupd] FIRING 1: x \xe2\x80\x94 y",
                                   "Wed, 02 Jul 2025 08:00:00 +0000", "<o.5@scaleupd>",
                                   "<o.1@scaleupd>", "hello", "<p>hello</p>", "=_b1");
    cr_expect_not_null(strstr(m, "Subject: =?UTF-8?B?"));
    cr_expect_not_null(strstr(m, "Message-ID: <o.5@scaleupd>\r\n"));
    cr_expect_not_null(strstr(m, "References: <o.1@scaleupd>\r\n"));
    cr_expect_not_null(strstr(m, "multipart/alternative; boundary=\"=_b1\""));
    cr_expect_not_null(strstr(m, "aGVsbG8=\r\n")); /* base64 of "hello" */
    cr_expect_not_null(strstr(m, "--=_b1--\r\n"));
    free(m);
    /* the first message of a thread has no References */
    m = notify_email_message("a@x", "b@y", "plain", "d", "<o.1@scaleupd>", "<o.1@scaleupd>", "t",
                             "h", "=_b");
    cr_expect_null(strstr(m, "References:"));
    cr_expect_not_null(strstr(m, "Subject: plain\r\n"));
    free(m);
}

Test(notify_render, envelope_ids_date_and_domain)
{
    char buf[200];
    const struct {
        const char *from, *domain;
    } domains[] = {{"scaleupd <alerts@care.example>", "care.example"},
                   {"alerts@care.example", "care.example"},
                   {"a@b@care.example extra", "care.example"},
                   {"no address", "scaleupd"},
                   {"trailing@", "scaleupd"},
                   {"", "scaleupd"}};
    for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
        notify_mail_domain(domains[i].from, buf, sizeof(buf));
        cr_expect_str_eq(buf, domains[i].domain, "from %s", domains[i].from);
    }
    notify_message_id(42, "icp-be", "care.example", buf, sizeof(buf));
    cr_expect_str_eq(buf, "<scaleupd.42.icp-be@care.example>");
    notify_boundary(42, buf, sizeof(buf));
    cr_expect_str_eq(buf, "=_scaleupd_42");
    notify_mail_date(1751443200.9, buf, sizeof(buf));
    cr_expect_str_eq(buf, "Wed, 02 Jul 2025 08:00:00 +0000");
}

/* A message that would pass NOTIFY_RENDER_MAX is refused, not grown without bound. */
Test(notify_render, over_the_cap_renders_nothing)
{
    size_t size = NOTIFY_RENDER_MAX + 16;
    char *huge = malloc(size);
    cr_assert_not_null(huge);
    memset(huge, 'x', size - 1);
    huge[size - 1] = '\0';
    struct notify_alert a = two_firing[0];
    a.summary = huge;
    struct notify_group g = group(&a, 1);
    cr_expect_null(notify_subject(&g));
    cr_expect_null(notify_text(&g));
    cr_expect_null(notify_html(&g));
    cr_expect_null(notify_email_message("a@x", "b@y", "s", "d", "<m>", NULL, huge, "h", "=_b"));
    /* well under the cap still renders (the text says a summary twice: its line and its
     * incident's heading) */
    huge[NOTIFY_RENDER_MAX / 4] = '\0';
    char *text = notify_text(&g);
    cr_expect_not_null(text);
    free(text);
    free(huge);
}
