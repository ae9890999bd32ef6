/* Notification rendering: grouped e-mail (subject, text, HTML, MIME with Message-ID and
 * References) and the Alertmanager v4 webhook payload. Pure. */
#include "scaleupd/core/notify_render.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing NUL-terminated string; on out of memory it stays empty and failed is set. */
struct sbuf {
    char *data;
    size_t len, cap;
    bool failed;
};

static void sb_grow(struct sbuf *b, size_t extra)
{
    if (b->failed || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return;
    }
    b->data = p;
    b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    sb_grow(b, n);
    if (b->failed)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        sb_add(b, small, (size_t)n);
        return;
    }
    sb_grow(b, (size_t)n);
    if (b->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static char *sb_take(struct sbuf *b)
{
    if (b->failed) {
        free(b->data);
        return NULL;
    }
    if (b->data == NULL)
        return strdup("");
    return b->data;
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
static void subject_what(struct sbuf *b, const struct notify_group *g)
{
    const struct notify_alert *a = &g->alerts[0];
    bool same_indicator = all_same(g, offsetof(struct notify_alert, indicator));
    bool same_summary = all_same(g, offsetof(struct notify_alert, summary));
    const char *what = a->indicator && a->indicator[0] ? a->indicator : str(a->rule);
    if (same_indicator && same_summary)
        sb_printf(b, "%s %s", what, str(a->summary));
    else if (same_indicator)
        sb_printf(b, "%s drift", what);
    else
        sb_printf(b, "%zu alerts", g->n_alerts);
}

/* Where: "Flanders, 2 practices", or the programme. */
static void subject_where(struct sbuf *b, const struct notify_group *g)
{
    size_t sites = distinct_sites(g);
    const char *region = g->alerts[0].region_name;
    bool same_region = region && all_same(g, offsetof(struct notify_alert, region_name));
    if (sites == 1 && g->alerts[0].site_name)
        sb_printf(b, "%s", g->alerts[0].site_name);
    else if (same_region)
        sb_printf(b, "%s, %zu practices", region, sites);
    else if (sites > 0)
        sb_printf(b, "%s, %zu practices", str(g->programme_name), sites);
    else
        sb_printf(b, "%s", str(g->programme_name));
}

char *notify_subject(const struct notify_group *g)
{
    struct sbuf b = {0};
    size_t firing, resolved;
    count_states(g, &firing, &resolved);
    sb_printf(&b, "[scaleupd] %s", g->is_test ? "TEST " : "");
    if (firing)
        sb_printf(&b, "FIRING %zu", firing);
    if (resolved)
        sb_printf(&b, "%sRESOLVED %zu", firing ? ", " : "", resolved);
    if (g->n_alerts == 0) {
        sb_printf(&b, "receiver %s of %s", str(g->receiver), str(g->programme));
        return sb_take(&b);
    }
    sb_printf(&b, ": ");
    subject_what(&b, g);
    sb_printf(&b, " \xe2\x80\x94 ");
    subject_where(&b, g);
    return sb_take(&b);
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

static void text_alert(struct sbuf *b, const struct notify_group *g, const struct notify_alert *a)
{
    char value[32], lo[32], hi[32], centre[32], chart[512], ack[512];
    number(value, sizeof(value), a->has_value, a->value);
    number(lo, sizeof(lo), a->has_limits, a->lower_limit);
    number(hi, sizeof(hi), a->has_limits, a->upper_limit);
    number(centre, sizeof(centre), a->has_limits, a->centre);
    notify_chart_url(g, a, chart, sizeof(chart));
    ack_url(g, a, ack, sizeof(ack));
    sb_printf(b, "[%s] %s %s at %s (%s)\n", a->resolved ? "RESOLVED" : "FIRING", str(a->indicator),
              str(a->summary), a->site_name ? a->site_name : str(g->programme), str(a->site));
    sb_printf(b, "  value %s for %s; limits %s .. %s, centre %s\n", value, str(a->period), lo, hi,
              centre);
    sb_printf(b, "  rule %s (%s); since %s\n", str(a->rule), str(a->kind), str(a->since));
    sb_printf(b, "  chart: %s\n", chart);
    if (!a->resolved)
        sb_printf(b, "  acknowledge: %s\n", ack);
    sb_printf(b, "\n");
}

char *notify_text(const struct notify_group *g)
{
    struct sbuf b = {0};
    if (g->is_test)
        sb_printf(&b, "This is a TEST message of scaleupd for receiver %s; nothing is wrong.\n\n",
                  str(g->receiver));
    sb_printf(&b, "Programme: %s (%s)\nTimes are in %s.\n\n", str(g->programme_name),
              str(g->programme), g->time_zone && g->time_zone[0] ? g->time_zone : "UTC");
    for (size_t i = 0; i < g->n_alerts; i++)
        text_alert(&b, g, &g->alerts[i]);
    sb_printf(&b, "-- \nscaleupd, for receiver %s\n", str(g->receiver));
    return sb_take(&b);
}

static void html_escaped(struct sbuf *b, const char *s)
{
    for (s = str(s); *s; s++) {
        switch (*s) {
        case '<':
            sb_add(b, "&lt;", 4);
            break;
        case '>':
            sb_add(b, "&gt;", 4);
            break;
        case '&':
            sb_add(b, "&amp;", 5);
            break;
        case '"':
            sb_add(b, "&quot;", 6);
            break;
        default:
            sb_add(b, s, 1);
        }
    }
}

static void html_cell(struct sbuf *b, const char *s)
{
    sb_printf(b, "<td>");
    html_escaped(b, s);
    sb_printf(b, "</td>");
}

static void html_alert(struct sbuf *b, const struct notify_group *g, const struct notify_alert *a)
{
    char value[32], lo[32], hi[32], chart[512], ack[512], limits[80];
    number(value, sizeof(value), a->has_value, a->value);
    number(lo, sizeof(lo), a->has_limits, a->lower_limit);
    number(hi, sizeof(hi), a->has_limits, a->upper_limit);
    snprintf(limits, sizeof(limits), "%s .. %s", lo, hi);
    notify_chart_url(g, a, chart, sizeof(chart));
    ack_url(g, a, ack, sizeof(ack));
    sb_printf(b, "<tr>");
    html_cell(b, a->resolved ? "RESOLVED" : "FIRING");
    html_cell(b, a->indicator);
    html_cell(b, a->site_name ? a->site_name : g->programme);
    html_cell(b, a->summary);
    html_cell(b, value);
    html_cell(b, limits);
    html_cell(b, a->since);
    sb_printf(b, "<td><a href=\"");
    html_escaped(b, chart);
    sb_printf(b, "\">chart</a>");
    if (!a->resolved) {
        sb_printf(b, " &middot; <a href=\"");
        html_escaped(b, ack);
        sb_printf(b, "\">acknowledge</a>");
    }
    sb_printf(b, "</td></tr>\n");
}

char *notify_html(const struct notify_group *g)
{
    struct sbuf b = {0};
    sb_printf(&b, "<!DOCTYPE html>\n<html><body>\n");
    if (g->is_test) {
        sb_printf(&b, "<p><strong>TEST</strong> message for receiver ");
        html_escaped(&b, g->receiver);
        sb_printf(&b, "; nothing is wrong.</p>\n");
    }
    sb_printf(&b, "<h2>");
    html_escaped(&b, g->programme_name);
    sb_printf(&b, "</h2>\n<p>Times are in ");
    html_escaped(&b, g->time_zone && g->time_zone[0] ? g->time_zone : "UTC");
    sb_printf(&b, ".</p>\n<table border=\"1\" cellpadding=\"4\">\n<tr><th>state</th>"
                  "<th>indicator</th><th>site</th><th>what</th><th>value</th><th>limits</th>"
                  "<th>since</th><th></th></tr>\n");
    for (size_t i = 0; i < g->n_alerts; i++)
        html_alert(&b, g, &g->alerts[i]);
    sb_printf(&b, "</table>\n</body></html>\n");
    return sb_take(&b);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of s; with wrap, CRLF after every 76 characters. */
static void base64(struct sbuf *b, const char *s, size_t n, bool wrap)
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
        sb_add(b, q, 4);
        col += 4;
        if (wrap && col >= 76) {
            sb_add(b, "\r\n", 2);
            col = 0;
        }
    }
    if (wrap && col > 0)
        sb_add(b, "\r\n", 2);
}

static bool is_ascii_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x7f || *s == '\r' || *s == '\n')
            return false;
    return true;
}

/* A header value: ASCII as is, otherwise RFC 2047 encoded words (whole characters each). */
static void header_value(struct sbuf *b, const char *s)
{
    if (is_ascii_safe(s)) {
        sb_printf(b, "%s", s);
        return;
    }
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t chunk = n - i < 45 ? n - i : 45;
        while (i + chunk < n && ((unsigned char)s[i + chunk] & 0xC0) == 0x80)
            chunk--; /* never split a UTF-8 sequence */
        sb_printf(b, "%s=?UTF-8?B?", i ? "\r\n " : "");
        base64(b, s + i, chunk, false);
        sb_printf(b, "?=");
        i += chunk;
    }
}

static void mime_part(struct sbuf *b, const char *boundary, const char *type, const char *body)
{
    sb_printf(b,
              "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n",
              boundary, type);
    base64(b, body, strlen(body), true);
}

char *notify_email_message(const char *from, const char *to, const char *subject, const char *date,
                           const char *message_id, const char *thread_id, const char *text,
                           const char *html, const char *boundary)
{
    struct sbuf b = {0};
    sb_printf(&b, "From: %s\r\nTo: %s\r\nSubject: ", from, to);
    header_value(&b, subject);
    sb_printf(&b, "\r\nDate: %s\r\nMessage-ID: %s\r\n", date, message_id);
    if (thread_id != NULL && strcmp(thread_id, message_id) != 0)
        sb_printf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", thread_id, thread_id);
    sb_printf(&b,
              "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
              "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
              boundary);
    mime_part(&b, boundary, "text/plain", text);
    mime_part(&b, boundary, "text/html", html);
    sb_printf(&b, "--%s--\r\n", boundary);
    return sb_take(&b);
}

static json_t *number_or_null(bool has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

static json_t *webhook_alert(const struct notify_group *g, const struct notify_alert *a)
{
    char chart[512], fingerprint[32];
    notify_chart_url(g, a, chart, sizeof(chart));
    snprintf(fingerprint, sizeof(fingerprint), "%016llx", (unsigned long long)a->id);
    json_t *labels =
        json_pack("{s:s,s:s,s:s,s:s}", "alertname", str(a->rule), "programme", str(g->programme),
                  "rule_kind", str(a->kind), "receiver", str(g->receiver));
    if (a->indicator)
        json_object_set_new(labels, "indicator", json_string(a->indicator));
    if (a->site)
        json_object_set_new(labels, "site", json_string(a->site));
    json_t *annotations = json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:o}", "summary", str(a->summary), "period", str(a->period), "value",
        number_or_null(a->has_value, a->value), "centre", number_or_null(a->has_limits, a->centre),
        "lower_limit", number_or_null(a->has_limits, a->lower_limit), "upper_limit",
        number_or_null(a->has_limits, a->upper_limit));
    return json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:s}", "status", a->resolved ? "resolved" : "firing",
                     "labels", labels, "annotations", annotations, "startsAt", str(a->starts_at),
                     "endsAt", a->ends_at ? a->ends_at : "0001-01-01T00:00:00Z", "generatorURL",
                     chart, "fingerprint", fingerprint);
}

json_t *notify_webhook_payload(const struct notify_group *g, const char *group_key)
{
    size_t firing, resolved;
    count_states(g, &firing, &resolved);
    json_t *alerts = json_array();
    for (size_t i = 0; i < g->n_alerts; i++)
        json_array_append_new(alerts, webhook_alert(g, &g->alerts[i]));
    json_t *group_labels =
        json_pack("{s:s,s:s}", "programme", str(g->programme), "receiver", str(g->receiver));
    return json_pack("{s:s,s:s,s:i,s:s,s:s,s:o,s:O,s:{},s:s,s:o}", "version", "4", "groupKey",
                     str(group_key), "truncatedAlerts", 0, "status",
                     firing > 0 ? "firing" : "resolved", "receiver", str(g->receiver),
                     "groupLabels", group_labels, "commonLabels", group_labels, "commonAnnotations",
                     "externalURL", str(g->base_url), "alerts", alerts);
}
