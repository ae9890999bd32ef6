/* Digest rendering (digest_render.h): subject, text and HTML of a receiver's digest, with
 * alerts grouped by incident, the progress of each dimension against the last digest and
 * the late feeds. Pure; the HTML is one column of inline-styled blocks for a 600 px pane. */
#include "scaleupd/core/digest_render.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/dynbuf.h"

/* Adds are not checked one by one: past the cap every later add fails, and take() says so. */
static void putf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct dynbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *text = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (!dynbuf_add(b, text, (size_t)n))
        b->overflow = true;
    free(text);
}

static char *take(struct dynbuf *b)
{
    if (b->overflow) {
        dynbuf_free(b);
        return NULL;
    }
    return dynbuf_take(b, NULL);
}

static const char *text_or(const char *s, const char *missing)
{
    return s != NULL && s[0] != '\0' ? s : missing;
}

const char *digest_status_words(const char *status)
{
    static const char *const names[][2] = {{"on_track", "on track"},
                                           {"behind", "behind"},
                                           {"at_risk", "at risk"},
                                           {"no_data", "no data"}};
    for (size_t i = 0; status != NULL && i < 4; i++)
        if (strcmp(status, names[i][0]) == 0)
            return names[i][1];
    return "unknown";
}

void digest_change_words(const struct digest_dimension *dim, char *buf, size_t size)
{
    if (dim->previous_status == NULL) {
        snprintf(buf, size, "new");
        return;
    }
    char status[64] = "";
    if (strcmp(text_or(dim->status, ""), dim->previous_status) != 0)
        snprintf(status, sizeof(status), "%s → %s, ", digest_status_words(dim->previous_status),
                 digest_status_words(dim->status));
    if (!dim->has_progress || !dim->has_previous_progress) {
        snprintf(buf, size, "%sprogress: no data to compare", status);
        return;
    }
    double points = (dim->progress - dim->previous_progress) * 100.0;
    if (fabs(points) < 0.05)
        snprintf(buf, size, "%sno change", status);
    else
        snprintf(buf, size, "%s%+.1f points", status, points);
}

static size_t total(size_t counted, size_t listed)
{
    return counted > listed ? counted : listed;
}

char *digest_subject(const struct digest *d)
{
    struct dynbuf b;
    dynbuf_init(&b, DIGEST_RENDER_MAX);
    putf(&b, "[scaleupd] %s digest · %s: %zu opened, %zu resolved, %zu open",
         d->monthly ? "Monthly" : "Weekly", text_or(d->programme_name, text_or(d->programme, "?")),
         total(d->total_opened, d->n_opened), total(d->total_resolved, d->n_resolved),
         total(d->total_still_open, d->n_still_open));
    if (d->has_feeds && d->n_late_feeds > 0)
        putf(&b, ", late feeds for %zu indicator%s", d->n_late_feeds,
             d->n_late_feeds == 1 ? "" : "s");
    return take(&b);
}

/* ---- alert lines, shared by both parts ---------------------------------------------- */

/* What and where of an alert: "BP controlled at Practice A (Region X)", or "… (whole
 * programme)" for an alert on no site. */
static void alert_what(struct dynbuf *b, const struct digest_alert *a)
{
    putf(b, "%s", text_or(a->indicator_name, "an indicator"));
    if (a->site_name == NULL || a->site_name[0] == '\0')
        putf(b, " (whole programme)");
    else
        putf(b, " at %s", a->site_name);
    if (a->site_name != NULL && a->region_name != NULL && a->region_name[0] != '\0')
        putf(b, " (%s)", a->region_name);
}

/* The detail of an alert: "below lower limit, 2026-10, value 41.0 %, since …". */
static void alert_detail(struct dynbuf *b, const struct digest_alert *a, const char *when)
{
    putf(b, "%s", text_or(a->summary, "alert"));
    if (a->period != NULL)
        putf(b, ", %s", a->period);
    if (a->has_value && isfinite(a->value))
        putf(b, ", value %.4g%s%s", a->value, a->unit ? " " : "", a->unit ? a->unit : "");
    if (a->at != NULL)
        putf(b, ", %s %s", when, a->at);
    if (a->silenced)
        putf(b, " (silenced)");
}

/* True when an alert before index i of list shares its incident. */
static bool incident_seen(const struct digest_alert *list, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (list[j].incident_id == list[i].incident_id)
            return true;
    return false;
}

static size_t incident_size(const struct digest_alert *list, size_t n, long long incident)
{
    size_t k = 0;
    for (size_t j = 0; j < n; j++)
        k += list[j].incident_id == incident;
    return k;
}

/* One section's alerts in order, each incident's together: calls line(b, alert, depth)
 * for each alert (depth 1 inside an incident) and head(b, first alert, size) before each
 * incident of more than one alert. */
struct lines {
    void (*head)(struct dynbuf *, const struct digest_alert *, size_t);
    void (*line)(struct dynbuf *, const struct digest_alert *, const char *, int);
    const char *when;
};

static void each_alert(struct dynbuf *b, const struct digest_alert *list, size_t n,
                       const struct lines *how)
{
    for (size_t i = 0; i < n; i++) {
        long long incident = list[i].incident_id;
        size_t size = incident > 0 ? incident_size(list, n, incident) : 1;
        if (size == 1) {
            how->line(b, &list[i], how->when, 0);
            continue;
        }
        if (incident_seen(list, i))
            continue;
        how->head(b, &list[i], size);
        for (size_t j = i; j < n; j++)
            if (list[j].incident_id == incident)
                how->line(b, &list[j], how->when, 1);
    }
}

/* ---- text ------------------------------------------------------------------------- */

static void text_head(struct dynbuf *b, const struct digest_alert *a, size_t size)
{
    putf(b, "- Incident %lld: %s (%zu alerts)\n", a->incident_id,
         text_or(a->incident_title, "grouped alerts"), size);
}

static void text_line(struct dynbuf *b, const struct digest_alert *a, const char *when, int depth)
{
    putf(b, "%s- ", depth ? "    " : "");
    alert_what(b, a);
    putf(b, ": ");
    alert_detail(b, a, when);
    putf(b, "\n");
}

static void text_section(struct dynbuf *b, const char *title, const struct digest_alert *list,
                         size_t n, size_t counted, const char *when)
{
    size_t all = total(counted, n);
    putf(b, "\n%s (%zu)\n", title, all);
    if (all == 0)
        putf(b, "- none\n");
    struct lines how = {text_head, text_line, when};
    each_alert(b, list, n, &how);
    if (all > n)
        putf(b, "- and %zu more (see the dashboard)\n", all - n);
}

static void text_progress(struct dynbuf *b, const struct digest *d)
{
    putf(b, "\nPROGRESS\n");
    if (!d->has_progress) {
        putf(b, "- no roadmap: no progress to show\n");
        return;
    }
    for (size_t i = 0; i < d->n_dimensions; i++) {
        const struct digest_dimension *dim = &d->dimensions[i];
        char change[160];
        digest_change_words(dim, change, sizeof(change));
        putf(b, "- %s: %s", dim->name, digest_status_words(dim->status));
        if (dim->has_progress)
            putf(b, ", %.1f %% of the way to target", dim->progress * 100.0);
        else
            putf(b, ", progress: no data");
        putf(b, " (since the last digest: %s)\n", change);
    }
}

static void text_feeds(struct dynbuf *b, const struct digest *d)
{
    putf(b, "\nLATE FEEDS\n");
    if (!d->has_feeds)
        putf(b, "- the feeds status could not be read\n");
    else if (d->n_late_feeds == 0)
        putf(b, "- none: every member site sent its latest due data\n");
    for (size_t i = 0; d->has_feeds && i < d->n_late_feeds; i++) {
        const struct digest_late_feed *f = &d->late_feeds[i];
        putf(b, "- %s, %s (due %s): %lld of %lld sites sent nothing\n",
             text_or(f->indicator_name, "?"), text_or(f->period, "?"), text_or(f->due_on, "?"),
             f->sites_late, f->sites_expected);
    }
}

char *digest_text(const struct digest *d)
{
    struct dynbuf b;
    dynbuf_init(&b, DIGEST_RENDER_MAX);
    putf(&b, "%s digest of %s for %s\n", d->monthly ? "Monthly" : "Weekly",
         text_or(d->programme_name, text_or(d->programme, "?")), text_or(d->receiver, "?"));
    putf(&b, "From %s to %s (%s)\n", text_or(d->from, "?"), text_or(d->to, "?"),
         text_or(d->time_zone, "UTC"));
    putf(&b, "\n%zu opened, %zu resolved, %zu still open", total(d->total_opened, d->n_opened),
         total(d->total_resolved, d->n_resolved), total(d->total_still_open, d->n_still_open));
    if (d->has_feeds)
        putf(&b, "; %lld of %lld sites late with their data", d->sites_late, d->sites_expected);
    putf(&b, "\n");
    text_section(&b, "OPENED", d->opened, d->n_opened, d->total_opened, "since");
    text_section(&b, "RESOLVED", d->resolved, d->n_resolved, d->total_resolved, "resolved");
    text_section(&b, "STILL OPEN", d->still_open, d->n_still_open, d->total_still_open, "since");
    text_progress(&b, d);
    text_feeds(&b, d);
    if (d->base_url != NULL && d->base_url[0] != '\0')
        putf(&b, "\nDashboard: %s/#/overview?programme=%s\n", d->base_url,
             text_or(d->programme, ""));
    return take(&b);
}

/* ---- HTML ------------------------------------------------------------------------- */

static void html_escaped(struct dynbuf *b, const char *s)
{
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '<':
            putf(b, "&lt;");
            break;
        case '>':
            putf(b, "&gt;");
            break;
        case '&':
            putf(b, "&amp;");
            break;
        case '"':
            putf(b, "&quot;");
            break;
        default:
            putf(b, "%c", *s);
        }
    }
}

/* Escapes what a dynbuf built with fill() holds: the shared phrases are built as text. */
static void html_phrase(struct dynbuf *b, void (*fill)(struct dynbuf *, const void *),
                        const void *arg)
{
    struct dynbuf phrase;
    dynbuf_init(&phrase, DIGEST_RENDER_MAX);
    fill(&phrase, arg);
    if (phrase.overflow)
        b->overflow = true;
    html_escaped(b, dynbuf_str(&phrase));
    dynbuf_free(&phrase);
}

static void fill_what(struct dynbuf *b, const void *a)
{
    alert_what(b, a);
}

struct detail_arg {
    const struct digest_alert *alert;
    const char *when;
};

static void fill_detail(struct dynbuf *b, const void *arg)
{
    const struct detail_arg *d = arg;
    alert_detail(b, d->alert, d->when);
}

static const char section_style[] =
    "margin:20px 0 6px;font-size:15px;border-bottom:1px solid #d0d7de;padding-bottom:4px";

static void html_head(struct dynbuf *b, const struct digest_alert *a, size_t size)
{
    putf(b, "<div style=\"margin:8px 0 2px;font-weight:bold\">Incident %lld: ", a->incident_id);
    html_escaped(b, text_or(a->incident_title, "grouped alerts"));
    putf(b, " (%zu alerts)</div>\n", size);
}

static void html_line(struct dynbuf *b, const struct digest_alert *a, const char *when, int depth)
{
    putf(b,
         "<div style=\"margin:6px 0 6px %dpx;padding:6px 8px;background:#f6f8fa;"
         "border-radius:4px\"><div style=\"font-weight:bold\">",
         depth ? 16 : 0);
    html_phrase(b, fill_what, a);
    putf(b, "</div><div style=\"color:#57606a;font-size:13px\">");
    struct detail_arg arg = {a, when};
    html_phrase(b, fill_detail, &arg);
    putf(b, "</div></div>\n");
}

static void html_section(struct dynbuf *b, const char *title, const struct digest_alert *list,
                         size_t n, size_t counted, const char *when)
{
    size_t all = total(counted, n);
    putf(b, "<h2 style=\"%s\">%s (%zu)</h2>\n", section_style, title, all);
    if (all == 0)
        putf(b, "<p style=\"margin:4px 0;color:#57606a\">None.</p>\n");
    struct lines how = {html_head, html_line, when};
    each_alert(b, list, n, &how);
    if (all > n)
        putf(b, "<p style=\"margin:4px 0\">And %zu more: see the dashboard.</p>\n", all - n);
}

static const char *status_colour(const char *status)
{
    if (status != NULL && strcmp(status, "on_track") == 0)
        return "#1a7f37";
    if (status != NULL && strcmp(status, "behind") == 0)
        return "#9a6700";
    if (status != NULL && strcmp(status, "at_risk") == 0)
        return "#cf222e";
    return "#57606a";
}

static void html_dimension(struct dynbuf *b, const struct digest_dimension *dim)
{
    char change[160];
    digest_change_words(dim, change, sizeof(change));
    putf(b, "<tr><td style=\"padding:4px 8px 4px 0\">");
    html_escaped(b, dim->name);
    putf(b,
         "</td><td style=\"padding:4px 8px;color:#fff;background:%s;border-radius:3px;"
         "white-space:nowrap\">%s</td><td style=\"padding:4px 8px;text-align:right\">",
         status_colour(dim->status), digest_status_words(dim->status));
    if (dim->has_progress)
        putf(b, "%.1f&nbsp;%%", dim->progress * 100.0);
    else
        putf(b, "no data");
    putf(b, "</td><td style=\"padding:4px 0 4px 8px;color:#57606a\">");
    html_escaped(b, change);
    putf(b, "</td></tr>\n");
}

static void html_progress(struct dynbuf *b, const struct digest *d)
{
    putf(b, "<h2 style=\"%s\">Progress</h2>\n", section_style);
    if (!d->has_progress) {
        putf(b, "<p style=\"margin:4px 0;color:#57606a\">No roadmap: no progress to show.</p>\n");
        return;
    }
    putf(b, "<table style=\"border-collapse:collapse;width:100%%;font-size:14px\">\n"
            "<tr style=\"color:#57606a;font-size:12px;text-align:left\"><th>dimension</th>"
            "<th style=\"padding:0 8px\">status</th><th style=\"padding:0 8px;text-align:right\">"
            "of the way</th><th style=\"padding-left:8px\">since the last digest</th></tr>\n");
    for (size_t i = 0; i < d->n_dimensions; i++)
        html_dimension(b, &d->dimensions[i]);
    putf(b, "</table>\n");
}

static void html_feeds(struct dynbuf *b, const struct digest *d)
{
    putf(b, "<h2 style=\"%s\">Late feeds</h2>\n", section_style);
    if (!d->has_feeds)
        putf(b, "<p style=\"margin:4px 0\">The feeds status could not be read.</p>\n");
    else if (d->n_late_feeds == 0)
        putf(b, "<p style=\"margin:4px 0;color:#57606a\">None: every member site sent its "
                "latest due data.</p>\n");
    for (size_t i = 0; d->has_feeds && i < d->n_late_feeds; i++) {
        const struct digest_late_feed *f = &d->late_feeds[i];
        putf(b, "<div style=\"margin:6px 0\"><b>");
        html_escaped(b, text_or(f->indicator_name, "?"));
        putf(b, "</b>, ");
        html_escaped(b, text_or(f->period, "?"));
        putf(b, " (due ");
        html_escaped(b, text_or(f->due_on, "?"));
        putf(b, "): %lld of %lld sites sent nothing</div>\n", f->sites_late, f->sites_expected);
    }
}

static void html_top(struct dynbuf *b, const struct digest *d)
{
    putf(b,
         "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width\"></head>\n"
         "<body style=\"margin:0;padding:0;background:#ffffff\">\n"
         "<div style=\"max-width:600px;margin:0 auto;padding:16px;font-family:Arial,"
         "Helvetica,sans-serif;font-size:14px;line-height:1.4;color:#1f2328;"
         "overflow-wrap:anywhere\">\n<h1 style=\"font-size:19px;margin:0 0 4px\">%s digest: ",
         d->monthly ? "Monthly" : "Weekly");
    html_escaped(b, text_or(d->programme_name, text_or(d->programme, "?")));
    putf(b, "</h1>\n<p style=\"margin:0;color:#57606a\">For ");
    html_escaped(b, text_or(d->receiver, "?"));
    putf(b, ", from ");
    html_escaped(b, text_or(d->from, "?"));
    putf(b, " to ");
    html_escaped(b, text_or(d->to, "?"));
    putf(b, " (");
    html_escaped(b, text_or(d->time_zone, "UTC"));
    putf(b,
         ")</p>\n<p style=\"margin:12px 0;font-size:16px\"><b>%zu</b> opened · <b>%zu</b> "
         "resolved · <b>%zu</b> still open",
         total(d->total_opened, d->n_opened), total(d->total_resolved, d->n_resolved),
         total(d->total_still_open, d->n_still_open));
    if (d->has_feeds)
        putf(b, " · <b>%lld</b> of %lld sites late", d->sites_late, d->sites_expected);
    putf(b, "</p>\n");
}

char *digest_html(const struct digest *d)
{
    struct dynbuf b;
    dynbuf_init(&b, DIGEST_RENDER_MAX);
    html_top(&b, d);
    html_section(&b, "Opened", d->opened, d->n_opened, d->total_opened, "since");
    html_section(&b, "Resolved", d->resolved, d->n_resolved, d->total_resolved, "resolved");
    html_section(&b, "Still open", d->still_open, d->n_still_open, d->total_still_open, "since");
    html_progress(&b, d);
    html_feeds(&b, d);
    if (d->base_url != NULL && d->base_url[0] != '\0') {
        putf(&b, "<p style=\"margin:20px 0 0\"><a href=\"");
        html_escaped(&b, d->base_url);
        putf(&b, "/#/overview?programme=");
        html_escaped(&b, text_or(d->programme, ""));
        putf(&b, "\" style=\"color:#0969da\">Open the dashboard</a></p>\n");
    }
    putf(&b, "</div>\n</body></html>\n");
    return take(&b);
}
