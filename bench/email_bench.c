/* The cost of the e-mail's charts (bench/email.sh): renders the e-mail of a group like the
 * one test_email.py receives (two signals with a chart each, one late feed), N times, with or
 * without its charts, through the same core functions services/notify.c calls, and prints
 * the bytes of one message and of its PNGs. email.sh counts the instructions of
 * render_email() with callgrind.
 *   usage: email_bench plain|charts N */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/notify_chart.h"
#include "scaleupd/core/notify_render.h"

#define SITES 2

static char periods[NOTIFY_CHART_POINTS][8];
static struct notify_chart_point points[NOTIFY_CHART_POINTS];

static void series(void)
{
    for (int i = 0; i < NOTIFY_CHART_POINTS; i++) {
        snprintf(periods[i], sizeof(periods[i]), "20%02d-%02d", 24 + i / 12, i % 12 + 1);
        points[i] = (struct notify_chart_point){periods[i], true, 60 + (i * 7 % 5),   true, 61.7,
                                                55.8,       67.6, NOTIFY_CHART_COMMON};
    }
    points[NOTIFY_CHART_POINTS - 1].value = 30;
    points[NOTIFY_CHART_POINTS - 1].variation = NOTIFY_CHART_CONCERN;
}

static struct notify_alert alert(long long id, const char *site, const char *kind)
{
    bool late = strcmp(kind, "late_feed") == 0;
    return (struct notify_alert){
        .id = id,
        .rule = late ? "late" : "spc",
        .kind = kind,
        .indicator = "bp_controlled_pct",
        .indicator_name = "Blood pressure under control",
        .site = site,
        .site_name = site,
        .region_name = "Flanders",
        .summary = late ? "no value for 2025-12 by 2026-01-15" : "below lower limit",
        .period = late ? "2025-12" : "2026-01",
        .has_value = !late,
        .has_limits = !late,
        .value = late ? NAN : 30,
        .centre = late ? NAN : 61.7,
        .lower_limit = late ? NAN : 55.8,
        .upper_limit = late ? NAN : 67.6,
        .since = "2026-02-10 13:00 Europe/Brussels",
        .unit = "%",
        .ack_token = "MQoxCjE3NzEzMjk2NjAKMQpsZWFk.b4s0JJS1US0dyiYk9a77Ym"};
}

/* One e-mail as notify.c makes it: the charts (when asked), subject, parts, message. */
__attribute__((noinline)) static size_t render_email(bool charts, size_t *png_bytes)
{
    struct notify_alert alerts[SITES + 1] = {alert(1, "Praktijk Een", "spc"),
                                             alert(2, "Praktijk Twee", "spc"),
                                             alert(3, "Praktijk Drie", "late_feed")};
    struct notify_png pngs[SITES] = {{0}};
    unsigned char *data[SITES] = {0};
    *png_bytes = 0;
    for (int i = 0; charts && i < SITES; i++) {
        struct notify_chart c = {points, NOTIFY_CHART_POINTS, "2026-01", "%", 560, 170};
        size_t size = 0;
        if (!notify_chart_png(&c, &data[i], &size))
            abort();
        pngs[i] = (struct notify_png){data[i], size, 560, 170};
        alerts[i].chart = &pngs[i];
        *png_bytes += size;
    }
    struct notify_group g = {.programme = "mail-be",
                             .programme_name = "Integrated care Flanders",
                             .receiver = "leaders",
                             .time_zone = "Europe/Brussels",
                             .base_url = "https://scaleup.example",
                             .alerts = alerts,
                             .n_alerts = SITES + 1};
    char *subject = notify_subject(&g), *text = notify_text(&g), *html = notify_html(&g);
    char *message = notify_email_message_charts("scaleupd@example.org", "lead@example.org", subject,
                                                "Tue, 10 Feb 2026 12:01:00 +0000", "<m@x>", NULL,
                                                text, html, "=_b", &g);
    size_t bytes = strlen(message);
    free(subject), free(text), free(html), free(message);
    for (int i = 0; i < SITES; i++)
        free(data[i]);
    return bytes;
}

#define NATIONAL_INDICATORS 23

/* The e-mail of a national feed that failed: `practices` practices late for a month, each one
 * late-feed incident of its NATIONAL_INDICATORS missing indicators, and one indicator
 * signalling at every tenth practice of a region (one incident), as the group's query orders
 * them (firing first, then by indicator and site). Prints the bytes of each part. */
__attribute__((noinline)) static void render_national(long practices)
{
    size_t n_signals = (size_t)practices / 10,
           n = (size_t)practices * NATIONAL_INDICATORS + n_signals;
    struct notify_alert *alerts = calloc(n, sizeof(*alerts));
    char(*sites)[24] = calloc((size_t)practices, sizeof(*sites));
    char(*codes)[16] = calloc(NATIONAL_INDICATORS, sizeof(*codes));
    if (alerts == NULL || sites == NULL || codes == NULL)
        abort();
    for (int i = 0; i < NATIONAL_INDICATORS; i++)
        snprintf(codes[i], sizeof(codes[i]), "ind%02d", i);
    for (long p = 0; p < practices; p++)
        snprintf(sites[p], sizeof(sites[p]), "GP%05ld", p);
    size_t k = 0;
    for (size_t s = 0; s < n_signals; s++) {
        alerts[k] = alert((long long)k + 1, sites[s * 10], "spc");
        alerts[k].incident_id = 1;
        k++;
    }
    for (int i = 0; i < NATIONAL_INDICATORS; i++)
        for (long p = 0; p < practices; p++) {
            alerts[k] = alert((long long)k + 1, sites[p], "late_feed");
            alerts[k].indicator = codes[i];
            alerts[k].indicator_name = codes[i];
            alerts[k].incident_id = 2 + p;
            k++;
        }
    struct notify_group g = {.programme = "national",
                             .programme_name = "National programme",
                             .receiver = "leaders",
                             .time_zone = "Europe/Brussels",
                             .base_url = "https://scaleup.example",
                             .alerts = alerts,
                             .n_alerts = n};
    char *subject = notify_subject(&g), *text = notify_text(&g), *html = notify_html(&g);
    printf("national %ld practices, %zu alerts: subject %zu, text %zu, HTML %zu bytes\n", practices,
           n, subject ? strlen(subject) : 0, text ? strlen(text) : 0, html ? strlen(html) : 0);
    free(subject), free(text), free(html);
    free(alerts), free(sites), free(codes);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "national") == 0) {
        render_national(strtol(argv[2], NULL, 10));
        return 0;
    }
    if (argc != 3 || (strcmp(argv[1], "plain") != 0 && strcmp(argv[1], "charts") != 0)) {
        fprintf(stderr, "usage: email_bench plain|charts N | email_bench national PRACTICES\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10);
    series();
    bool charts = strcmp(argv[1], "charts") == 0;
    size_t bytes = 0, png = 0;
    for (long i = 0; i < n; i++)
        bytes = render_email(charts, &png);
    printf("%s: message %zu bytes, PNG %zu bytes (%d charts)\n", argv[1], bytes, png,
           charts ? SITES : 0);
    return 0;
}
