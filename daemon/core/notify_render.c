/* Notification rendering: grouped e-mail (subject, text, HTML, MIME with Message-ID and
 * References). Pure. The webhook payload is core/am_webhook.c. */
#include "scaleupd/core/notify_render.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/dynbuf.h"

/* The renderer's output: a capped buffer (dynbuf.h). Adds are not checked one by one: once
 * over NOTIFY_RENDER_MAX every later add fails too, and take() says so by returning NULL. */
static void put(struct dynbuf *b, const char *s, size_t n)
{
    if (!dynbuf_add(b, s, n))
        return;
}

static void putf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct dynbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        put(b, small, (size_t)n);
        return;
    }
    char *large = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(large, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put(b, large, (size_t)n);
    free(large);
}

static void start(struct dynbuf *b)
{
    dynbuf_init(b, NOTIFY_RENDER_MAX);
}

/* The rendered text, or NULL (and the buffer freed) when it went over the cap. */
static char *take(struct dynbuf *b)
{
    if (b->overflow) {
        dynbuf_free(b);
        return NULL;
    }
    return dynbuf_take(b, NULL);
}

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

static bool all_same(const struct notify_group *g, size_t offset)
{
    for (size_t i = 1; i < g->n_alerts; i++) {
        const char *a = *(const char *const *)((const char *)&g->alerts[0] + offset);
        const char *b = *(const char *const *)((const char *)&g->alerts[i] + offset);
        if (strcmp(str(a), str(b)) != 0)
            return false;
    }
    return true;
}

static size_t distinct_sites(const struct notify_group *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_alerts; i++) {
        const char *site = g->alerts[i].site;
        bool seen = site == NULL;
        for (size_t j = 0; j < i && !seen; j++)
            seen = g->alerts[j].site && strcmp(g->alerts[j].site, site) == 0;
        n += !seen;
    }
    return n;
}

/* What: "bp_controlled_pct below lower limit", or the shared indicator, or a count. */
static void subject_what(struct dynbuf *b, const struct notify_group *g)
{
    const struct notify_alert *a = &g->alerts[0];
    bool same_indicator = all_same(g, offsetof(struct notify_alert, indicator));
    bool same_summary = all_same(g, offsetof(struct notify_alert, summary));
    const char *what = a->indicator && a->indicator[0] ? a->indicator : str(a->rule);
    if (same_indicator && same_summary)
        putf(b, "%s %s", what, str(a->summary));
    else if (same_indicator)
        putf(b, "%s drift", what);
    else
        putf(b, "%zu alerts", g->n_alerts);
}

/* Where: "Flanders, 2 practices", or the programme. */
static void subject_where(struct dynbuf *b, const struct notify_group *g)
{
    size_t sites = distinct_sites(g);
    const char *region = g->alerts[0].region_name;
    bool same_region = region && all_same(g, offsetof(struct notify_alert, region_name));
    if (sites == 1 && g->alerts[0].site_name)
        putf(b, "%s", g->alerts[0].site_name);
    else if (same_region)
        putf(b, "%s, %zu practices", region, sites);
    else if (sites > 0)
        putf(b, "%s, %zu practices", str(g->programme_name), sites);
    else
        putf(b, "%s", str(g->programme_name));
}

char *notify_subject(const struct notify_group *g)
{
    struct dynbuf b;
    start(&b);
    size_t firing, resolved;
    count_states(g, &firing, &resolved);
    putf(&b, "[scaleupd] %s", g->is_test ? "TEST " : "");
    if (firing)
        putf(&b, "FIRING %zu", firing);
    if (resolved)
        putf(&b, "%sRESOLVED %zu", firing ? ", " : "", resolved);
    if (g->n_alerts == 0) {
        putf(&b, "receiver %s of %s", str(g->receiver), str(g->programme));
        return take(&b);
    }
    putf(&b, ": ");
    subject_what(&b, g);
    putf(&b, " \xe2\x80\x94 ");
    subject_where(&b, g);
    return take(&b);
}

void notify_chart_url(const struct notify_group *g, const struct notify_alert *a, char *buf,
                      size_t size)
{
    const char *base = str(g->base_url);
    size_t len = strlen(base);
    if (len > 0 && base[len - 1] == '/')
        len--;
    snprintf(buf, size, "%.*s/#/programmes/%s/indicators/%s%s%s", (int)len, base, str(g->programme),
             str(a->indicator), a->site ? "?site=" : "", str(a->site));
}

static void ack_url(const struct notify_group *g, const struct notify_alert *a, char *buf,
                    size_t size)
{
    const char *base = str(g->base_url);
    size_t len = strlen(base);
    if (len > 0 && base[len - 1] == '/')
        len--;
    snprintf(buf, size, "%.*s/#/alerts/%lld/ack", (int)len, base, a->id);
}

static void number(char *buf, size_t size, bool has, double v)
{
    if (!has || isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.4g", v);
}

static void text_alert(struct dynbuf *b, const struct notify_group *g, const struct notify_alert *a)
{
    char value[32], lo[32], hi[32], centre[32], chart[512], ack[512];
    number(value, sizeof(value), a->has_value, a->value);
    number(lo, sizeof(lo), a->has_limits, a->lower_limit);
    number(hi, sizeof(hi), a->has_limits, a->upper_limit);
    number(centre, sizeof(centre), a->has_limits, a->centre);
    notify_chart_url(g, a, chart, sizeof(chart));
    ack_url(g, a, ack, sizeof(ack));
    putf(b, "[%s] %s %s at %s (%s)\n", a->resolved ? "RESOLVED" : "FIRING", str(a->indicator),
         str(a->summary), a->site_name ? a->site_name : str(g->programme), str(a->site));
    putf(b, "  value %s for %s; limits %s .. %s, centre %s\n", value, str(a->period), lo, hi,
         centre);
    putf(b, "  rule %s (%s); since %s\n", str(a->rule), str(a->kind), str(a->since));
    putf(b, "  chart: %s\n", chart);
    if (!a->resolved)
        putf(b, "  acknowledge: %s\n", ack);
    putf(b, "\n");
}

char *notify_text(const struct notify_group *g)
{
    struct dynbuf b;
    start(&b);
    if (g->is_test)
        putf(&b, "This is a TEST message of scaleupd for receiver %s; nothing is wrong.\n\n",
             str(g->receiver));
    putf(&b, "Programme: %s (%s)\nTimes are in %s.\n\n", str(g->programme_name), str(g->programme),
         g->time_zone && g->time_zone[0] ? g->time_zone : "UTC");
    for (size_t i = 0; i < g->n_alerts; i++)
        text_alert(&b, g, &g->alerts[i]);
    putf(&b, "-- \nscaleupd, for receiver %s\n", str(g->receiver));
    return take(&b);
}

static void html_escaped(struct dynbuf *b, const char *s)
{
    for (s = str(s); *s; s++) {
        switch (*s) {
        case '<':
            put(b, "&lt;", 4);
            break;
        case '>':
            put(b, "&gt;", 4);
            break;
        case '&':
            put(b, "&amp;", 5);
            break;
        case '"':
            put(b, "&quot;", 6);
            break;
        default:
            put(b, s, 1);
        }
    }
}

static void html_cell(struct dynbuf *b, const char *s)
{
    putf(b, "<td>");
    html_escaped(b, s);
    putf(b, "</td>");
}

static void html_alert(struct dynbuf *b, const struct notify_group *g, const struct notify_alert *a)
{
    char value[32], lo[32], hi[32], chart[512], ack[512], limits[80];
    number(value, sizeof(value), a->has_value, a->value);
    number(lo, sizeof(lo), a->has_limits, a->lower_limit);
    number(hi, sizeof(hi), a->has_limits, a->upper_limit);
    snprintf(limits, sizeof(limits), "%s .. %s", lo, hi);
    notify_chart_url(g, a, chart, sizeof(chart));
    ack_url(g, a, ack, sizeof(ack));
    putf(b, "<tr>");
    html_cell(b, a->resolved ? "RESOLVED" : "FIRING");
    html_cell(b, a->indicator);
    html_cell(b, a->site_name ? a->site_name : g->programme);
    html_cell(b, a->summary);
    html_cell(b, value);
    html_cell(b, limits);
    html_cell(b, a->since);
    putf(b, "<td><a href=\"");
    html_escaped(b, chart);
    putf(b, "\">chart</a>");
    if (!a->resolved) {
        putf(b, " &middot; <a href=\"");
        html_escaped(b, ack);
        putf(b, "\">acknowledge</a>");
    }
    putf(b, "</td></tr>\n");
}

char *notify_html(const struct notify_group *g)
{
    struct dynbuf b;
    start(&b);
    putf(&b, "<!DOCTYPE html>\n<html><body>\n");
    if (g->is_test) {
        putf(&b, "<p><strong>TEST</strong> message for receiver ");
        html_escaped(&b, g->receiver);
        putf(&b, "; nothing is wrong.</p>\n");
    }
    putf(&b, "<h2>");
    html_escaped(&b, g->programme_name);
    putf(&b, "</h2>\n<p>Times are in ");
    html_escaped(&b, g->time_zone && g->time_zone[0] ? g->time_zone : "UTC");
    putf(&b, ".</p>\n<table border=\"1\" cellpadding=\"4\">\n<tr><th>state</th>"
             "<th>indicator</th><th>site</th><th>what</th><th>value</th><th>limits</th>"
             "<th>since</th><th></th></tr>\n");
    for (size_t i = 0; i < g->n_alerts; i++)
        html_alert(&b, g, &g->alerts[i]);
    putf(&b, "</table>\n</body></html>\n");
    return take(&b);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of s; with wrap, CRLF after every 76 characters. */
static void base64(struct dynbuf *b, const char *s, size_t n, bool wrap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)u[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)u[i + 1] << 8;
        if (i + 2 < n)
            v |= u[i + 2];
        char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};
        put(b, q, 4);
        col += 4;
        if (wrap && col >= 76) {
            put(b, "\r\n", 2);
            col = 0;
        }
    }
    if (wrap && col > 0)
        put(b, "\r\n", 2);
}

static bool is_ascii_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x7f || *s == '\r' || *s == '\n')
            return false;
    return true;
}

/* A header value: ASCII as is, otherwise RFC 2047 encoded words (whole characters each). */
static void header_value(struct dynbuf *b, const char *s)
{
    if (is_ascii_safe(s)) {
        putf(b, "%s", s);
        return;
    }
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t chunk = n - i < 45 ? n - i : 45;
        while (i + chunk < n && ((unsigned char)s[i + chunk] & 0xC0) == 0x80)
            chunk--; /* never split a UTF-8 sequence */
        putf(b, "%s=?UTF-8?B?", i ? "\r\n " : "");
        base64(b, s + i, chunk, false);
        putf(b, "?=");
        i += chunk;
    }
}

static void mime_part(struct dynbuf *b, const char *boundary, const char *type, const char *body)
{
    putf(b,
         "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n",
         boundary, type);
    base64(b, body, strlen(body), true);
}

char *notify_email_message(const char *from, const char *to, const char *subject, const char *date,
                           const char *message_id, const char *thread_id, const char *text,
                           const char *html, const char *boundary)
{
    struct dynbuf b;
    start(&b);
    putf(&b, "From: %s\r\nTo: %s\r\nSubject: ", from, to);
    header_value(&b, subject);
    putf(&b, "\r\nDate: %s\r\nMessage-ID: %s\r\n", date, message_id);
    if (thread_id != NULL && strcmp(thread_id, message_id) != 0)
        putf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", thread_id, thread_id);
    putf(&b,
         "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
         "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
         boundary);
    mime_part(&b, boundary, "text/plain", text);
    mime_part(&b, boundary, "text/html", html);
    putf(&b, "--%s--\r\n", boundary);
    return take(&b);
}

void notify_mail_domain(const char *from, char *buf, size_t size)
{
    const char *at = strrchr(str(from), '@');
    snprintf(buf, size, "%s", at && at[1] ? at + 1 : "scaleupd");
    char *end = strpbrk(buf, "> ");
    if (end)
        *end = '\0';
}

void notify_message_id(long long message, const char *programme, const char *domain, char *buf,
                       size_t size)
{
    snprintf(buf, size, "<scaleupd.%lld.%s@%s>", message, str(programme), str(domain));
}

void notify_boundary(long long message, char *buf, size_t size)
{
    snprintf(buf, size, "=_scaleupd_%lld", message);
}

void notify_mail_date(double now, char *buf, size_t size)
{
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}
