/* Rendering of digests: the subject's counts, the sections of the text and HTML parts,
 * alerts grouped by incident, progress against the last digest, late feeds, and what is
 * missing said as missing (never a zero). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/digest_render.h"

static const struct digest_alert opened[] = {
    {.id = 11,
     .incident_id = 5,
     .incident_title = "BP control below its limits in Flanders",
     .indicator_name = "BP controlled",
     .unit = "%",
     .site_name = "De Linde",
     .region_name = "Flanders",
     .summary = "below lower limit",
     .period = "2026-10",
     .has_value = true,
     .value = 41.5,
     .at = "2026-11-25 10:00"},
    {.id = 12,
     .indicator_name = "HbA1c tested",
     .site_name = "Zuid <b>&",
     .summary = "above upper limit",
     .period = "2026-10",
     .at = "2026-11-26 09:00"},
    {.id = 13,
     .incident_id = 5,
     .incident_title = "BP control below its limits in Flanders",
     .indicator_name = "BP controlled",
     .unit = "%",
     .site_name = "Noord",
     .region_name = "Flanders",
     .summary = "below lower limit",
     .period = "2026-10",
     .has_value = true,
     .value = 39,
     .at = "2026-11-25 10:00"},
};

static const struct digest_alert resolved[] = {
    {.id = 3, .indicator_name = "Reports sent", .summary = "late feed", .at = "2026-11-24 08:00"},
};

static const struct digest_late_feed late[] = {
    {.indicator_name = "BP controlled",
     .period = "2026-10",
     .due_on = "2026-11-15",
     .sites_late = 12,
     .sites_expected = 40},
};

static struct digest sample(void)
{
    struct digest d = {.programme = "icp-be",
                       .programme_name = "Integrated care Belgium",
                       .receiver = "leaders",
                       .time_zone = "Europe/Brussels",
                       .base_url = "https://scaleup.example",
                       .from = "2026-11-23 08:00",
                       .to = "2026-11-30 08:00",
                       .opened = opened,
                       .n_opened = 3,
                       .total_opened = 3,
                       .resolved = resolved,
                       .n_resolved = 1,
                       .total_resolved = 1,
                       .still_open = opened,
                       .n_still_open = 3,
                       .total_still_open = 7,
                       .has_progress = true,
                       .n_dimensions = 3,
                       .has_feeds = true,
                       .sites_late = 12,
                       .sites_expected = 40,
                       .late_feeds = late,
                       .n_late_feeds = 1};
    d.dimensions[0] =
        (struct digest_dimension){"coverage", "on_track", true, 0.438, "behind", true, 0.406};
    d.dimensions[1] =
        (struct digest_dimension){"expansion", "behind", true, 0.773, "behind", true, 0.773};
    d.dimensions[2] = (struct digest_dimension){
        "institutionalisation", "no_data", false, 0, "on_track", true, 0.5};
    return d;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(digest_render, subject_counts_the_sections)
{
    struct digest d = sample();
    char *s = digest_subject(&d);
    cr_expect_str_eq(s, "[scaleupd] Weekly digest · Integrated care Belgium: 3 opened, 1 "
                        "resolved, 7 open, late feeds for 1 indicator");
    free(s);
    d.monthly = true, d.n_late_feeds = 0;
    s = digest_subject(&d);
    cr_expect(strncmp(s, "[scaleupd] Monthly digest", 25) == 0, "%s", s);
    cr_expect(strstr(s, "late") == NULL, "%s", s);
    free(s);
}

Test(digest_render, text_has_every_section_and_groups_incidents)
{
    struct digest d = sample();
    char *t = digest_text(&d);
    cr_expect(strstr(t, "From 2026-11-23 08:00 to 2026-11-30 08:00 (Europe/Brussels)") != NULL);
    cr_expect(strstr(t, "\nOPENED (3)\n") != NULL, "%s", t);
    cr_expect(strstr(t, "\nRESOLVED (1)\n") != NULL);
    cr_expect(strstr(t, "\nSTILL OPEN (7)\n") != NULL);
    cr_expect(strstr(t, "- and 4 more (see the dashboard)") != NULL, "%s", t);
    /* incident 5's two alerts under one heading, in each section that lists them */
    cr_expect_eq(count(t, "- Incident 5: BP control below its limits in Flanders (2 alerts)"), 2);
    cr_expect(strstr(t, "    - BP controlled at De Linde (Flanders): below lower limit, 2026-10,"
                        " value 41.5 %, since 2026-11-25 10:00\n") != NULL,
              "%s", t);
    cr_expect(strstr(t, "    - BP controlled at Noord (Flanders)") != NULL);
    cr_expect(strstr(t, "\n- HbA1c tested at Zuid <b>&: above upper limit, 2026-10, since") != NULL,
              "the text is not escaped; an alert without a value shows none: %s", t);
    cr_expect(strstr(t, "- Reports sent (whole programme): late feed, resolved 2026-11-24") !=
              NULL);
    free(t);
}

/* An alert a silence mutes is listed, and says so: a digest hides nothing that is open. */
Test(digest_render, a_silenced_alert_says_so)
{
    struct digest d = sample();
    struct digest_alert still[3] = {opened[0], opened[1], opened[2]};
    still[1].silenced = true;
    d.still_open = still;
    char *t = digest_text(&d);
    cr_expect(strstr(t, ": above upper limit, 2026-10, since 2026-11-26 09:00 (silenced)\n") !=
                  NULL,
              "%s", t);
    cr_expect_eq(count(t, "(silenced)"), 1, "%s", t);
    free(t);
    char *html = digest_html(&d);
    cr_expect(strstr(html, "(silenced)") != NULL);
    free(html);
}

Test(digest_render, progress_against_the_last_digest)
{
    struct digest d = sample();
    char *t = digest_text(&d);
    cr_expect(strstr(t, "- coverage: on track, 43.8 % of the way to target (since the last "
                        "digest: behind → on track, +3.2 points)") != NULL,
              "%s", t);
    cr_expect(strstr(t, "- expansion: behind, 77.3 % of the way to target (since the last "
                        "digest: no change)") != NULL);
    cr_expect(strstr(t, "- institutionalisation: no data, progress: no data (since the last "
                        "digest: on track → no data, progress: no data to compare)") != NULL,
              "%s", t);
    cr_expect(strstr(t, "0.0 %") == NULL, "missing progress is never a zero");
    free(t);
    d.dimensions[0].previous_status = NULL;
    char change[160];
    digest_change_words(&d.dimensions[0], change, sizeof(change));
    cr_expect_str_eq(change, "new");
}

Test(digest_render, late_feeds_and_what_is_missing)
{
    struct digest d = sample();
    char *t = digest_text(&d);
    cr_expect(strstr(t, "- BP controlled, 2026-10 (due 2026-11-15): 12 of 40 sites sent nothing") !=
              NULL);
    cr_expect(strstr(t, "; 12 of 40 sites late with their data") != NULL, "%s", t);
    cr_expect(strstr(t, "Dashboard: https://scaleup.example/#/overview?programme=icp-be") != NULL);
    free(t);
    d.has_feeds = false, d.has_progress = false, d.n_opened = d.total_opened = 0;
    t = digest_text(&d);
    cr_expect(strstr(t, "- the feeds status could not be read") != NULL);
    cr_expect(strstr(t, "- no roadmap: no progress to show") != NULL);
    cr_expect(strstr(t, "\nOPENED (0)\n- none\n") != NULL, "%s", t);
    cr_expect(strstr(t, "sites late") == NULL, "unknown late sites are not counted: %s", t);
    free(t);
}

Test(digest_render, html_fits_a_mail_pane_and_escapes)
{
    struct digest d = sample();
    char *h = digest_html(&d);
    cr_expect(strstr(h, "max-width:600px") != NULL);
    cr_expect(strstr(h, "<table") != NULL, "the progress table");
    cr_expect(strstr(h, "Zuid &lt;b&gt;&amp;") != NULL, "%s", h);
    cr_expect(strstr(h, "Zuid <b>") == NULL);
    cr_expect_eq(count(h, "Incident 5: BP control below its limits in Flanders (2 alerts)"), 2);
    cr_expect(strstr(h, ">Opened (3)</h2>") != NULL);
    cr_expect(strstr(h, ">Still open (7)</h2>") != NULL);
    cr_expect(strstr(h, "behind → on track, +3.2 points") != NULL);
    cr_expect(strstr(h, ">Late feeds</h2>") != NULL);
    cr_expect(strstr(h, "12 of 40 sites sent nothing") != NULL);
    cr_expect(strstr(h, "href=\"https://scaleup.example/#/overview?programme=icp-be\"") != NULL);
    cr_expect(strstr(h, "null") == NULL && strstr(h, "(null)") == NULL);
    cr_expect(strstr(h, "</body></html>\n") != NULL);
    free(h);
}

Test(digest_render, status_words)
{
    cr_expect_str_eq(digest_status_words("at_risk"), "at risk");
    cr_expect_str_eq(digest_status_words(NULL), "unknown");
    cr_expect_str_eq(digest_status_words("x"), "unknown");
}
