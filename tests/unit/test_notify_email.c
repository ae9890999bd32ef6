/* The leader-grade e-mail (core/notify_render.h): incidents in words, the subject by topic
 * and place, late feeds without a number, the HTML in 600 px, charts by Content-ID; its
 * chart (core/notify_chart.h) and its signed acknowledgement links (core/ack_token.h). */
#include <cairo.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/ack_token.h"
#include "scaleupd/core/notify_chart.h"
#include "scaleupd/core/notify_render.h"

static const unsigned char png_bytes[] = {0x89, 'P', 'N', 'G', 1, 2, 3, 4, 5};
static const struct notify_png png = {png_bytes, sizeof(png_bytes), 560, 170};

#define SIGNAL(id_, incident, site_, name, value_)                                                 \
    {                                                                                              \
        .id = id_, .incident_id = incident, .rule = "spc-bp", .kind = "spc",                       \
        .indicator = "bp_controlled_pct", .indicator_name = "BP control", .site = site_,           \
        .site_name = name, .region_name = "Wallonia", .summary = "below its limits",               \
        .period = "2025-10", .has_value = true, .has_limits = true, .value = value_, .centre = 62, \
        .lower_limit = 58.2, .upper_limit = 65.9, .since = "2025-11-02 10:00 Europe/Brussels",     \
        .unit = "%", .chart = &png, .ack_token = "TOKEN-S", .limits_before = true                  \
    }

#define LATE(id_, site_, name)                                                                     \
    {                                                                                              \
        .id = id_, .rule = "late-bp", .kind = "late_feed", .indicator = "bp_controlled_pct",       \
        .indicator_name = "BP control", .site = site_, .site_name = name,                          \
        .region_name = "Wallonia", .summary = "no value for 2025-10 by 2025-11-10",                \
        .period = "2025-10", .value = NAN, .centre = NAN, .lower_limit = NAN, .upper_limit = NAN,  \
        .since = "2025-11-11 00:00 Europe/Brussels", .ack_token = "TOKEN-L"                        \
    }

static const struct notify_alert wallonia[] = {
    SIGNAL(1, 40, "W1", "Les Tilleuls", 41.5),
    SIGNAL(2, 40, "W2", "Meuse & Co", 40),
    LATE(3, "W3", "Centre A"),
    LATE(4, "W4", "Centre B"),
    LATE(5, "W5", "Centre C"),
    LATE(6, "W6", "Centre D"),
    LATE(7, "W7", "Centre E"),
};

static struct notify_group group(const struct notify_alert *alerts, size_t n)
{
    return (struct notify_group){.programme = "icp-be",
                                 .programme_name = "ICP Belgium",
                                 .receiver = "leaders",
                                 .time_zone = "Europe/Brussels",
                                 .base_url = "https://scaleup.example",
                                 .alerts = alerts,
                                 .n_alerts = n};
}

Test(notify_email, subject_in_words_by_topic_and_place)
{
    struct notify_group g = group(wallonia, 7);
    char *s = notify_subject(&g);
    cr_expect_str_eq(s, "Wallonia: BP control below its limits at 2 practices \xc2\xb7 5 practices "
                        "late for October 2025");
    free(s);
    struct notify_alert resolved[2] = {wallonia[0], wallonia[2]};
    resolved[0].resolved = resolved[1].resolved = true;
    resolved[1].region_name = "Flanders";
    g = group(resolved, 2);
    s = notify_subject(&g);
    cr_expect_str_eq(s, "Resolved \xe2\x80\x94 ICP Belgium: BP control below its limits at Les "
                        "Tilleuls \xc2\xb7 Centre A late for October 2025");
    free(s);
    /* the resolved count is of incidents, as the body counts them: the two practices of
       one signal are one */
    struct notify_alert mixed[4] = {wallonia[0], wallonia[1], wallonia[2], wallonia[3]};
    mixed[0].resolved = mixed[1].resolved = true;
    g = group(mixed, 4);
    s = notify_subject(&g);
    cr_expect_not_null(strstr(s, "\xc2\xb7 1 resolved"), "%s", s);
    free(s);
}

Test(notify_email, text_summarises_then_names_each_incident)
{
    struct notify_group g = group(wallonia, 7);
    char *text = notify_text(&g);
    /* first lines: the incidents by kind */
    cr_expect_not_null(strstr(text, "ICP Belgium\n6 incidents open: 1 signal, 5 late feeds.\n\n"
                                    "- Signal: BP control below its limits at 2 practices "
                                    "(October 2025)\n- Late feed: 5 practices late for October "
                                    "2025\n"));
    /* one incident for the two alerts of incident 40, names and units */
    cr_expect_not_null(strstr(
        text,
        "== BP control below its limits at 2 practices in Wallonia ==\n"
        "October 2025 \xc2\xb7 open since 2025-11-02 10:00 "
        "Europe/Brussels\n"
        "  - Les Tilleuls: 41.5 % (limits of the periods before: 58.2 .. 65.9 %, centre 62 %)\n"
        "  - Meuse & Co: 40 % (limits of the periods before: 58.2 .. 65.9 %, centre 62 %)\n"));
    cr_expect_not_null(strstr(text, "Acknowledge (one click, no login): "
                                    "https://scaleup.example/ack?token=TOKEN-S\n"));
    cr_expect_not_null(strstr(
        text, "In the dashboard: https://scaleup.example/#/alerts?programme=icp-be&incident=40"));
    /* missing data is never a value */
    cr_expect_not_null(strstr(text, "== Centre A: no report for October 2025, due 10 Nov 2025 ==\n"
                                    "overdue \xc2\xb7 open since 2025-11-11 00:00 "
                                    "Europe/Brussels\n"
                                    "  - BP control: no value\n"));
    cr_expect_null(strstr(text, "nan"));
    cr_expect_null(strstr(text, " 0 "));
    cr_expect_null(strstr(text, "limits -"));
    free(text);
}

/* An incident's heading is in the e-mail's own words (dates for people, the practices
 * counted), whatever the incident's title (which the API shows). */
Test(notify_email, incident_heading_in_words_and_alone_alerts)
{
    struct notify_alert a[3] = {wallonia[0], wallonia[1], wallonia[0]};
    a[0].incident_title = "Wallonia: BP control below its limits";
    a[2].incident_id = 0;
    a[2].id = 9;
    a[2].site_name = "Solo";
    struct notify_group g = group(a, 3);
    char *text = notify_text(&g);
    cr_expect_null(strstr(text, "== Wallonia: BP control below its limits ==\n"));
    cr_expect_not_null(strstr(text, " at 2 practices in Wallonia ==\n"), "%s", text);
    cr_expect_not_null(strstr(text, "== BP control below its limits at Solo ==\n"));
    cr_expect_not_null(strstr(text, "2 incidents open: 2 signals."));
    free(text);
}

Test(notify_email, html_fits_600px_escapes_and_embeds_charts_by_cid)
{
    struct notify_group g = group(wallonia, 7);
    char *html = notify_html(&g);
    cr_expect_not_null(strstr(html, "max-width:600px"));
    cr_expect_null(strstr(html, "<table border"));
    cr_expect_not_null(strstr(html, "Meuse &amp; Co"));
    char cid[64], img[96];
    notify_chart_cid(1, cid, sizeof(cid));
    cr_expect_str_eq(cid, "chart-1@scaleupd");
    snprintf(img, sizeof(img), "<img src=\"cid:%s\" width=\"560\"", cid);
    cr_expect_not_null(strstr(html, img));
    /* one chart per incident: the second alert of incident 40 has no image of its own */
    cr_expect_null(strstr(html, "cid:chart-2@"));
    cr_expect_not_null(strstr(html, "href=\"https://scaleup.example/ack?token=TOKEN-S\""));
    cr_expect_not_null(strstr(html,
                              "href=\"https://scaleup.example/#/chart?programme=icp-be&amp;"
                              "indicator=bp_controlled_pct&amp;site=W1&amp;period=2025-10\""));
    /* late feeds have no chart and no chart link */
    cr_expect_null(strstr(html, "site=W3"));
    free(html);
}

/* The roadmap's trajectory is about the whole programme: its summary is the heading and the
 * subject, no member line repeats it as a bare fraction, the link opens the Trajectory view
 * (a chart link without an indicator opened an empty chart), and the line under the heading
 * does not start with the period it does not have. */
Test(notify_email, trajectory_incident_in_words_of_its_own)
{
    struct notify_alert a[2] = {
        {.id = 21,
         .rule = "trajectory-coverage",
         .kind = "trajectory",
         .summary = "coverage is behind the roadmap: 26.6 % actual, 28.8 % planned",
         .has_value = true,
         .value = 0.266279,
         .centre = 0.288082,
         .lower_limit = NAN,
         .upper_limit = NAN,
         .since = "2026-12-02 22:10 Europe/Brussels",
         .ack_token = "TOKEN-T"},
        LATE(3, "W3", "Centre A"),
    };
    struct notify_group g = group(a, 2);
    char *s = notify_subject(&g);
    cr_expect_str_eq(s, "ICP Belgium: Coverage is behind the roadmap: 26.6 % actual, 28.8 % "
                        "planned \xc2\xb7 Centre A late for October 2025");
    free(s);
    char *text = notify_text(&g);
    cr_expect_not_null(strstr(text, "== Coverage is behind the roadmap: 26.6 % actual, 28.8 % "
                                    "planned ==\nopen since 2026-12-02 22:10 Europe/Brussels\n"
                                    "  Trajectory: https://scaleup.example/#/trajectory?"
                                    "programme=icp-be\n"),
                       "%s", text);
    cr_expect_null(strstr(text, "0.2663"));
    cr_expect_null(strstr(text, "#/chart?programme=icp-be\n"));
    cr_expect_null(strstr(text, "trajectory-coverage coverage"));
    cr_expect_not_null(strstr(text, "2 incidents open: 1 alert, 1 late feed."),
                       "the roadmap's is an alert, as the dashboard says, not a signal: %s", text);
    cr_expect_not_null(strstr(text, "\n- Alert: Coverage is behind the roadmap"), "%s", text);
    cr_expect_null(strstr(text, "- Signal:"), "%s", text);
    free(text);
    char *html = notify_html(&g);
    cr_expect_not_null(
        strstr(html, "href=\"https://scaleup.example/#/trajectory?programme=icp-be\""));
    cr_expect_not_null(strstr(html, "Open the trajectory"));
    cr_expect_not_null(strstr(html, "<strong>Alert:</strong> Coverage is behind"), "%s", html);
    cr_expect_null(strstr(html, "0.2663"));
    free(html);
}

/* A national feed that failed: 7,000 practices late for a month, each missing 23 indicators
 * (161,000 alerts, 7,000 incidents), and one indicator signalling at 700 practices. The message
 * details the signal first and 19 late practices, counts the rest with a link to the
 * dashboard, and lists 25 members of an incident at most: it reads in 30 seconds and fits the
 * renderer's cap (the whole list was 25 MB of HTML, over it: nothing was ever sent). */
Test(notify_email, a_national_outage_reads_as_a_summary)
{
    enum { PRACTICES = 7000, INDICATORS = 23, SIGNALLING = 700 };
    size_t n = (size_t)PRACTICES * INDICATORS + SIGNALLING;
    struct notify_alert *a = calloc(n, sizeof(*a));
    char(*sites)[16] = calloc(PRACTICES, sizeof(*sites));
    char(*codes)[8] = calloc(INDICATORS, sizeof(*codes));
    cr_assert(a != NULL && sites != NULL && codes != NULL);
    for (int p = 0; p < PRACTICES; p++)
        snprintf(sites[p], sizeof(sites[p]), "P%d", p);
    for (int i = 0; i < INDICATORS; i++)
        snprintf(codes[i], sizeof(codes[i]), "ind%d", i);
    size_t k = 0;
    for (int p = 0; p < SIGNALLING; p++, k++) {
        a[k] = (struct notify_alert)SIGNAL((long long)k + 1, 40, sites[p * 10], sites[p * 10], 41);
        a[k].chart = NULL;
    }
    for (int i = 0; i < INDICATORS; i++)
        for (int p = 0; p < PRACTICES; p++, k++) {
            a[k] = (struct notify_alert)LATE((long long)k + 1, sites[p], sites[p]);
            a[k].indicator = a[k].indicator_name = codes[i];
            a[k].incident_id = 100 + p;
        }
    struct notify_group g = group(a, n);
    char *text = notify_text(&g), *html = notify_html(&g), *subject = notify_subject(&g);
    cr_assert_not_null(text);
    cr_assert_not_null(html);
    cr_expect_str_eq(subject,
                     "Wallonia: BP control below its limits at 700 practices \xc2\xb7 7000 "
                     "practices late for October 2025");
    cr_expect_lt(strlen(text), 64 * 1024, "%zu bytes", strlen(text));
    cr_expect_lt(strlen(html), 256 * 1024, "%zu bytes", strlen(html));
    cr_expect_not_null(strstr(text, "7001 incidents open: 1 signal, 7000 late feeds."));
    cr_expect_not_null(strstr(text, "- Late feed: 7000 practices late for October 2025\n"));
    /* the signal first, its members capped */
    cr_expect_lt(strstr(text, "== BP control below its limits at 700 practices"),
                 strstr(text, "no report for October 2025"));
    cr_expect_not_null(strstr(text, "  - and 675 more, in the dashboard\n"));
    cr_expect_not_null(strstr(text,
                              "\nAnd 6981 more incidents (6981 late feeds). Every incident in "
                              "the dashboard: https://scaleup.example/#/alerts?programme="
                              "icp-be\n"),
                       "%s", text + strlen(text) - 300);
    size_t blocks = 0;
    for (const char *c = strstr(text, "\n== "); c != NULL; c = strstr(c + 1, "\n== "))
        blocks++;
    cr_expect_eq(blocks, NOTIFY_INCIDENTS_SHOWN);
    cr_expect_not_null(strstr(html, "And 6981 more incidents (6981 late feeds). "));
    cr_expect_not_null(strstr(html, "and 675 more, in the dashboard"));
    free(text), free(html), free(subject);
    free(a), free(sites), free(codes);
}

Test(notify_email, chart_url_encodes_its_query)
{
    struct notify_alert a = wallonia[0];
    a.site = "BE W&1";
    struct notify_group g = group(&a, 1);
    char url[512];
    notify_chart_url(&g, &a, url, sizeof(url));
    cr_expect_str_eq(url, "https://scaleup.example/#/chart?programme=icp-be&indicator="
                          "bp_controlled_pct&site=BE%20W%261&period=2025-10");
}

Test(notify_email, mime_related_carries_each_chart_once)
{
    struct notify_group g = group(wallonia, 7);
    char *m = notify_email_message_charts("a@x", "b@y", "s", "d", "<m@x>", NULL, "text", "<p>h</p>",
                                          "=_b", &g);
    cr_expect_not_null(strstr(m, "multipart/alternative; boundary=\"=_b\""));
    cr_expect_not_null(strstr(m, "Content-Type: multipart/related; type=\"text/html\"; "
                                 "boundary=\"=_b_r\""));
    char *cid = strstr(m, "Content-ID: <chart-1@scaleupd>\r\n");
    cr_expect_not_null(cid);
    cr_expect_null(strstr(cid + 1, "Content-ID:")); /* incident 40's chart, once */
    cr_expect_not_null(strstr(m, "iVBORwECAwQF"));  /* base64 of the PNG bytes */
    cr_expect_not_null(strstr(m, "--=_b_r--\r\n--=_b--\r\n"));
    free(m);
    /* no chart: the plain alternative of text and HTML */
    m = notify_email_message("a@x", "b@y", "s", "d", "<m@x>", NULL, "text", "<p>h</p>", "=_b");
    cr_expect_null(strstr(m, "multipart/related"));
    free(m);
}

/* ---- the chart ---------------------------------------------------------------------- */

struct png_read {
    const unsigned char *data;
    size_t size, at;
};

static cairo_status_t read_png(void *closure, unsigned char *out, unsigned int length)
{
    struct png_read *r = closure;
    if (r->at + length > r->size)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(out, r->data + r->at, length);
    r->at += length;
    return CAIRO_STATUS_SUCCESS;
}

/* Counts the pixels of the marked point's red ring (near #c0161a... drawn as 0.75,0.1,0.1). */
static size_t red_pixels(const unsigned char *data, size_t size, int *width, int *height)
{
    struct png_read r = {data, size, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_png, &r);
    cr_assert_eq(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    *width = cairo_image_surface_get_width(s);
    *height = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *px = cairo_image_surface_get_data(s);
    size_t red = 0;
    for (int y = 0; y < *height; y++)
        for (int x = 0; x < *width; x++) {
            const unsigned char *p = px + y * stride + x * 4; /* B G R A */
            red += p[2] > 170 && p[1] < 60 && p[0] < 60;
        }
    cairo_surface_destroy(s);
    return red;
}

Test(notify_chart, draws_a_png_with_the_marked_point)
{
    struct notify_chart_point p[30];
    char periods[30][8];
    for (int i = 0; i < 30; i++) {
        snprintf(periods[i], sizeof(periods[i]), "20%02d-%02d", 24 + i / 12, i % 12 + 1);
        p[i] = (struct notify_chart_point){periods[i], i != 20, 60 + (i % 3), true,
                                           61,         58,      64,           i == 29};
    }
    p[29].value = 30;
    struct notify_chart c = {p, 30, periods[29], "%", 560, 170};
    unsigned char *png = NULL;
    size_t size = 0;
    cr_assert(notify_chart_png(&c, &png, &size));
    cr_expect_eq(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0);
    int w, h;
    size_t marked = red_pixels(png, size, &w, &h);
    cr_expect_eq(w, (int)(560 * NOTIFY_CHART_SCALE));
    cr_expect_eq(h, (int)(170 * NOTIFY_CHART_SCALE));
    cr_expect_gt(marked, 50);
    free(png);
    /* the same chart with no marked period has no red ring */
    c.marked = NULL;
    cr_assert(notify_chart_png(&c, &png, &size));
    cr_expect_lt(red_pixels(png, size, &w, &h), 5);
    free(png);
}

Test(notify_chart, nothing_to_draw_without_a_value)
{
    struct notify_chart_point p[2] = {{"2025-01", false, 0, false, 0, 0, 0, NOTIFY_CHART_COMMON},
                                      {"2025-02", false, 0, false, 0, 0, 0, NOTIFY_CHART_COMMON}};
    struct notify_chart c = {p, 2, NULL, NULL, 560, 170};
    unsigned char *png = NULL;
    size_t size = 0;
    cr_expect_not(notify_chart_png(&c, &png, &size));
    cr_expect_null(png);
    c.n = 0;
    cr_expect_not(notify_chart_png(&c, &png, &size));
}

/* ---- acknowledgement tokens --------------------------------------------------------- */

static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";

static struct ack_claim claim(void)
{
    struct ack_claim c = {.programme_id = 3, .expires_at = 2000, .n_alerts = 2};
    c.alerts[0] = 11, c.alerts[1] = 12;
    snprintf(c.who, sizeof(c.who), "lead@example.org");
    return c;
}

Test(ack_token, signs_and_verifies_a_claim)
{
    struct ack_claim c = claim(), back;
    char token[ACK_TOKEN_MAX];
    cr_assert(ack_token_sign(key, sizeof(key), &c, token, sizeof(token)));
    cr_expect_lt(strlen(token), 200);
    cr_expect_null(strpbrk(token, "+/=?&# "));
    cr_assert_eq(ack_token_verify(key, sizeof(key), token, 1999, &back), ACK_TOKEN_OK);
    cr_expect_eq(back.programme_id, 3);
    cr_expect_eq(back.expires_at, 2000);
    cr_expect_eq(back.n_alerts, 2);
    cr_expect_eq(back.alerts[1], 12);
    cr_expect_str_eq(back.who, "lead@example.org");
    cr_expect_eq(ack_token_verify(key, sizeof(key), token, 2001, &back), ACK_TOKEN_EXPIRED);
}

Test(ack_token, refuses_forged_and_malformed_tokens)
{
    struct ack_claim c = claim(), back;
    char token[ACK_TOKEN_MAX], other[ACK_TOKEN_MAX];
    cr_assert(ack_token_sign(key, sizeof(key), &c, token, sizeof(token)));
    unsigned char key2[32];
    memcpy(key2, key, sizeof(key2));
    key2[0] ^= 1;
    cr_expect_eq(ack_token_verify(key2, sizeof(key2), token, 0, &back), ACK_TOKEN_FORGED);
    /* another claim's signature on this claim */
    c.alerts[0] = 99;
    cr_assert(ack_token_sign(key, sizeof(key), &c, other, sizeof(other)));
    char spliced[ACK_TOKEN_MAX];
    snprintf(spliced, sizeof(spliced), "%.*s%s", (int)(strchr(token, '.') - token), token,
             strchr(other, '.'));
    cr_expect_eq(ack_token_verify(key, sizeof(key), spliced, 0, &back), ACK_TOKEN_FORGED);
    /* a changed character in the claim */
    char altered[ACK_TOKEN_MAX];
    snprintf(altered, sizeof(altered), "%s", token);
    altered[3] = altered[3] == 'A' ? 'B' : 'A';
    cr_expect_eq(ack_token_verify(key, sizeof(key), altered, 0, &back), ACK_TOKEN_FORGED);
    static const char *const malformed[] = {"", "abc", "abc.", ".", "abc.!!!", "abc.AAAA", NULL};
    for (size_t i = 0; malformed[i]; i++)
        cr_expect_eq(ack_token_verify(key, sizeof(key), malformed[i], 0, &back),
                     ACK_TOKEN_MALFORMED, "%s", malformed[i]);
    /* a short key signs nothing; a claim with no alert is refused */
    cr_expect_not(ack_token_sign(key, 16, &c, other, sizeof(other)));
    c.n_alerts = 0;
    cr_expect_not(ack_token_sign(key, sizeof(key), &c, other, sizeof(other)));
}

Test(ack_token, key_from_hex)
{
    unsigned char k[64];
    size_t len = 0;
    cr_expect(ack_token_key_from_hex(
        "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF", k, sizeof(k), &len));
    cr_expect_eq(len, 32);
    cr_expect_eq(k[31], 0xff);
    cr_expect_not(ack_token_key_from_hex("0011", k, sizeof(k), &len));
    cr_expect_not(ack_token_key_from_hex(
        "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", k, sizeof(k), &len));
}
