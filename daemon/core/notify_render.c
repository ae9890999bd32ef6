/* Notification rendering: grouped e-mail (subject, text, HTML, MIME with Message-ID and
 * References). Pure. The webhook payload is core/am_webhook.c. */
#include "scaleupd/core/notify_render.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
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

static const char *or_else(const char *s, const char *fallback)
{
    return s && s[0] ? s : str(fallback);
}

static bool same(const char *a, const char *b)
{
    return strcmp(str(a), str(b)) == 0;
}

static bool is_late(const struct notify_alert *a)
{
    return same(a->kind, "late_feed");
}

/* An alert about the whole programme, of no indicator and no site (the roadmap's trajectory, a
 * receiver that cannot be reached): its summary says it all, in words of its own. */
static bool is_programme_wide(const struct notify_alert *a)
{
    return or_else(a->indicator, NULL)[0] == '\0' && or_else(a->site, NULL)[0] == '\0';
}

/* The summary as the start of a sentence: "Coverage is behind the roadmap: …". */
static void summary_sentence(struct dynbuf *b, const struct notify_alert *a)
{
    const char *s = or_else(a->summary, a->rule);
    if (s[0] >= 'a' && s[0] <= 'z')
        putf(b, "%c%s", s[0] - 'a' + 'A', s + 1);
    else
        putf(b, "%s", s);
}

static const char *indicator_words(const struct notify_alert *a)
{
    return or_else(a->indicator_name, or_else(a->indicator, a->rule));
}

static const char *site_words(const struct notify_group *g, const struct notify_alert *a)
{
    return or_else(a->site_name, or_else(a->site, g->programme_name));
}

/* ---- words for periods, dates and figures ------------------------------------------- */

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

/* The digits of s[from, from + n) as a number, or -1. */
static int digits(const char *s, size_t from, size_t n)
{
    int v = 0;
    for (size_t i = from; i < from + n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "2025-10" → "October 2025", "2025-10-06" → "6 Oct 2025" (short) or "6 October 2025";
 * anything else as it is. */
static void date_words(const char *s, bool short_month, char *buf, size_t size)
{
    s = str(s);
    size_t n = strlen(s);
    int year = n >= 7 ? digits(s, 0, 4) : -1, month = n >= 7 ? digits(s, 5, 2) : -1;
    bool ok = year >= 0 && month >= 1 && month <= 12 && s[4] == '-';
    if (ok && n == 7) {
        snprintf(buf, size, "%s %d", month_names[month - 1], year);
        return;
    }
    int day = ok && n == 10 && s[7] == '-' ? digits(s, 8, 2) : -1;
    if (day >= 1 && day <= 31)
        snprintf(buf, size, "%d %.*s %d", day, short_month ? 3 : 20, month_names[month - 1], year);
    else
        snprintf(buf, size, "%s", s);
}

/* When a late feed was due: the date the evaluator writes after " by " in its summary
 * ("no value for 2025-10 by 2025-11-24", services/evaluator.c), "" when none. */
static void late_due(const struct notify_alert *a, char *buf, size_t size)
{
    const char *by = strstr(str(a->summary), " by ");
    buf[0] = '\0';
    if (by != NULL)
        date_words(by + 4, true, buf, size);
}

/* A figure with its unit ("30 %", "12 visits"); "no value" when missing, never a number. */
static void figure(char *buf, size_t size, bool has, double v, const char *unit)
{
    if (!has || !isfinite(v))
        snprintf(buf, size, "no value");
    else if (unit == NULL || unit[0] == '\0')
        snprintf(buf, size, "%.4g", v);
    else
        snprintf(buf, size, "%.4g %s", v, unit);
}

/* "limits 58.2 .. 65.9 %, centre 62 %", or "" when the alert has no limits. A detector
 * rule's are the baseline the point was judged against (core/detector.h), before it: the
 * chart beside them, like the dashboard's, draws MDC's limits of every point, this one
 * included, which differ a little, so the words say which these are ("limits of the periods
 * before: …"). */
static void limits_words(const struct notify_alert *a, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!a->has_limits)
        return;
    char lo[48], hi[48], centre[48];
    figure(lo, sizeof(lo), !isnan(a->lower_limit), a->lower_limit, NULL);
    figure(hi, sizeof(hi), !isnan(a->upper_limit), a->upper_limit, a->unit);
    figure(centre, sizeof(centre), !isnan(a->centre), a->centre, a->unit);
    const char *before = a->limits_before ? " of the periods before:" : "";
    if (isnan(a->lower_limit) && isnan(a->upper_limit))
        snprintf(buf, size, "centre%s %s", before, centre);
    else
        snprintf(buf, size, "limits%s %s .. %s, centre %s", before, lo, hi, centre);
}

/* ---- incidents ---------------------------------------------------------------------- */

/* The alerts gathered into incidents: of[i] is alert i's incident, next[i] the next member
 * of it (SIZE_MAX after the last); and into topics (topic_key): topic_head[i] whether alert
 * i is the first of its topic, topic_sites[i] then the distinct sites of the topic. Built in
 * one pass with hash tables (key_put): a national feed that fails makes a group of 7,000 practices
 * x 23 indicators, and pairwise comparisons took 17 s a message (bench/email.sh). */
struct incident {
    size_t first, last, n; /* the first and last member (group order) and how many */
    bool late, firing;
    bool wide; /* about the whole programme (the roadmap, a receiver): an alert, not a signal */
};

struct incidents {
    struct incident *list;
    size_t n;
    size_t *of, *next;
    bool *topic_head;
    size_t *topic_sites;
};

/* The alert index stored under the n bytes of key in table (a jansson object: its hash table,
 * seeded, as the key-value map), or v stored under it (and *added set). */
static size_t key_put(json_t *table, const char *key, size_t n, size_t v, bool *added)
{
    const json_t *found = json_object_getn(table, key, n);
    *added = found == NULL;
    if (found != NULL)
        return (size_t)json_integer_value(found);
    json_object_setn_nocheck(table, key, n, json_integer((json_int_t)v));
    return v;
}

/* A key of its parts, each ended by a unit separator (0x1f, which no code or name holds). */
static size_t key_of(char *buf, size_t size, const char *const *parts, size_t n_parts)
{
    size_t len = 0;
    for (size_t i = 0; i < n_parts; i++) {
        int w = snprintf(buf + len, size - len, "%s\x1f", str(parts[i]));
        if (w < 0 || (size_t)w >= size - len)
            return size - 1; /* over long: truncated, still a key */
        len += (size_t)w;
    }
    return len;
}

/* The key of an alert's topic: resolved or not, then the period of a late feed, or the
 * indicator and what it shows. */
static size_t topic_key(const struct notify_alert *a, char *buf, size_t size)
{
    bool late = is_late(a);
    const char *parts[] = {a->resolved ? "r" : "f", late ? "l" : "s",
                           late ? a->period : a->indicator, late ? "" : a->summary};
    return key_of(buf, size, parts, 4);
}

static void incidents_build(const struct notify_group *g, struct incidents *ins)
{
    size_t n = g->n_alerts, cap = n ? n : 1;
    ins->list = xcalloc(cap, sizeof(*ins->list));
    ins->of = xcalloc(cap, sizeof(*ins->of));
    ins->next = xcalloc(cap, sizeof(*ins->next));
    ins->topic_head = xcalloc(cap, sizeof(*ins->topic_head));
    ins->topic_sites = xcalloc(cap, sizeof(*ins->topic_sites));
    ins->n = 0;
    json_t *incidents = json_object(), *topics = json_object(), *sites = json_object();
    char key[1024];
    for (size_t i = 0; i < n; i++) {
        const struct notify_alert *a = &g->alerts[i];
        bool added = true;
        size_t k = ins->n;
        if (a->incident_id != 0) {
            int w = snprintf(key, sizeof(key), "%lld", a->incident_id);
            k = key_put(incidents, key, (size_t)w, ins->n, &added);
        }
        if (added)
            ins->list[ins->n++] = (struct incident){
                .first = i, .last = SIZE_MAX, .late = is_late(a), .wide = is_programme_wide(a)};
        ins->of[i] = k;
        ins->next[i] = SIZE_MAX;
        if (ins->list[k].last != SIZE_MAX)
            ins->next[ins->list[k].last] = i;
        ins->list[k].last = i;
        ins->list[k].n++;
        ins->list[k].firing = ins->list[k].firing || !a->resolved;
        /* its topic, and whether its site is new to the topic */
        size_t len = topic_key(a, key, sizeof(key));
        size_t head = key_put(topics, key, len, i, &added);
        ins->topic_head[i] = added;
        char pair[1100];
        int w = snprintf(pair, sizeof(pair), "%zu\x1f%s", head, str(a->site));
        key_put(sites, pair, w > 0 && (size_t)w < sizeof(pair) ? (size_t)w : sizeof(pair) - 1, i,
                &added);
        ins->topic_sites[head] += added;
    }
    json_decref(incidents);
    json_decref(topics);
    json_decref(sites);
}

static void incidents_free(struct incidents *ins);

void notify_incident_firsts(const struct notify_group *g, size_t *first)
{
    struct incidents ins;
    incidents_build(g, &ins);
    for (size_t i = 0; i < g->n_alerts; i++)
        first[i] = ins.list[ins.of[i]].first;
    incidents_free(&ins);
}

static void incidents_free(struct incidents *ins)
{
    free(ins->list);
    free(ins->of);
    free(ins->next);
    free(ins->topic_head);
    free(ins->topic_sites);
}

#define MEMBERS(ins, k, i, g)                                                                      \
    for (size_t i = (ins)->list[k].first; i != SIZE_MAX; i = (ins)->next[i])

/* ---- topics: what the subject and the first lines say ------------------------------- */

/* Whether alert i is the first of its topic (late feeds of one period, or one indicator
 * showing one thing; resolved ones apart), and the distinct sites of the topic. */
static bool topic_first(const struct incidents *ins, size_t i, size_t *sites)
{
    *sites = ins->topic_sites[i];
    return ins->topic_head[i];
}

/* "Blood pressure under control below lower limit at 2 practices", "5 practices late for
 * October 2025", "De Linde late for October 2025". */
static void topic_words(struct dynbuf *b, const struct notify_group *g, size_t i, size_t sites)
{
    const struct notify_alert *a = &g->alerts[i];
    char period[64];
    date_words(a->period, false, period, sizeof(period));
    if (is_late(a) && sites == 1)
        putf(b, "%s late for %s", site_words(g, a), period);
    else if (is_late(a))
        putf(b, "%zu practices late for %s", sites, period);
    else if (is_programme_wide(a))
        summary_sentence(b, a);
    else if (sites == 1)
        putf(b, "%s %s at %s", indicator_words(a), str(a->summary), site_words(g, a));
    else
        putf(b, "%s %s at %zu practices", indicator_words(a), str(a->summary), sites);
}

/* A topic's words with, for a signal, its period: the summary lines under the subject. */
static void topic_line(struct dynbuf *b, const struct notify_group *g, size_t i, size_t sites)
{
    topic_words(b, g, i, sites);
    char period[64];
    date_words(g->alerts[i].period, false, period, sizeof(period));
    if (!is_late(&g->alerts[i]) && period[0])
        putf(b, " (%s)", period);
}

/* The region every alert shares, or NULL. */
static const char *common_region(const struct notify_group *g)
{
    const char *region = g->n_alerts ? g->alerts[0].region_name : NULL;
    for (size_t i = 1; region != NULL && i < g->n_alerts; i++)
        if (!same(g->alerts[i].region_name, region))
            region = NULL;
    return region && region[0] ? region : NULL;
}

/* The topics of the alerts whose resolved flag is resolved, joined by " · ", at most
 * three and then "N more"; the number of topics. */
static size_t topics_joined(struct dynbuf *b, const struct notify_group *g,
                            const struct incidents *ins, bool resolved)
{
    size_t n = 0, sites;
    for (size_t i = 0; i < g->n_alerts; i++) {
        if (g->alerts[i].resolved != resolved || !topic_first(ins, i, &sites))
            continue;
        if (n < 3) {
            putf(b, "%s", n ? " \xc2\xb7 " : "");
            topic_words(b, g, i, sites);
        }
        n++;
    }
    if (n > 3)
        putf(b, " \xc2\xb7 %zu more", n - 3);
    return n;
}

static void incident_counts(const struct incidents *ins, size_t counts[3]);

char *notify_subject(const struct notify_group *g)
{
    struct dynbuf b;
    start(&b);
    if (g->is_test)
        putf(&b, "[scaleupd] TEST ");
    if (g->n_alerts == 0) {
        putf(&b, "receiver %s of %s", str(g->receiver), str(g->programme));
        return take(&b);
    }
    size_t firing, resolved;
    count_states(g, &firing, &resolved);
    const char *region = common_region(g);
    putf(&b, "%s%s: ", firing ? "" : "Resolved \xe2\x80\x94 ",
         region ? region : or_else(g->programme_name, g->programme));
    struct incidents ins;
    incidents_build(g, &ins);
    topics_joined(&b, g, &ins, firing == 0);
    size_t counts[3];
    incident_counts(&ins, counts); /* incidents, as the body counts them, not alerts */
    incidents_free(&ins);
    if (firing && counts[2])
        putf(&b, " \xc2\xb7 %zu resolved", counts[2]);
    return take(&b);
}

/* The base URL without its trailing slash. */
static int base_len(const struct notify_group *g)
{
    size_t len = strlen(str(g->base_url));
    if (len > 0 && g->base_url[len - 1] == '/')
        len--;
    return (int)len;
}

/* Appends s percent-encoded for a URL's query (RFC 3986 unreserved characters kept). */
static void query_value(char *buf, size_t size, const char *s)
{
    size_t len = strlen(buf);
    for (s = str(s); *s && len + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~';
        len += (size_t)snprintf(buf + len, size - len, plain ? "%c" : "%%%02X", c);
    }
}

void notify_chart_url(const struct notify_group *g, const struct notify_alert *a, char *buf,
                      size_t size)
{
    snprintf(buf, size, "%.*s/#/chart?programme=", base_len(g), str(g->base_url));
    query_value(buf, size, g->programme);
    const char *fields[][2] = {
        {"&indicator=", a->indicator}, {"&site=", a->site}, {"&period=", a->period}};
    for (size_t i = 0; i < 3; i++) {
        if (fields[i][1] == NULL || fields[i][1][0] == '\0')
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s", fields[i][0]);
        query_value(buf, size, fields[i][1]);
    }
}

/* The view an incident's first member is drawn in, and the link's words: its chart, the
 * Trajectory view for the roadmap's trajectory; false for a programme-wide alert with no view of
 * its own (a receiver that cannot be reached) and for late feeds (nothing to draw). */
struct view_words {
    const char *html, *text; /* the HTML button's, the plain text's label */
};

static bool incident_view(const struct notify_group *g, const struct notify_alert *a, bool late,
                          char *buf, size_t size, struct view_words *words)
{
    if (late)
        return false;
    if (same(a->kind, "trajectory")) {
        snprintf(buf, size, "%.*s/#/trajectory?programme=", base_len(g), str(g->base_url));
        query_value(buf, size, g->programme);
        *words = (struct view_words){"Open the trajectory", "Trajectory"};
        return true;
    }
    if (is_programme_wide(a))
        return false;
    notify_chart_url(g, a, buf, size);
    *words = (struct view_words){"Open the chart", "Chart"};
    return true;
}

void notify_ack_url(const struct notify_group *g, const char *token, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s/ack?token=%s", base_len(g), str(g->base_url), str(token));
}

/* The dashboard's view of an incident: the Alerts view of its programme with the incident
 * (or the alert, when it is its own incident) shown above the lists. */
void notify_incident_url(const struct notify_group *g, const struct notify_alert *a, char *buf,
                         size_t size)
{
    snprintf(buf, size, "%.*s/#/alerts?programme=", base_len(g), str(g->base_url));
    query_value(buf, size, g->programme);
    size_t len = strlen(buf);
    if (a->incident_id != 0)
        snprintf(buf + len, size - len, "&incident=%lld", a->incident_id);
    else
        snprintf(buf + len, size - len, "&alert=%lld", a->id);
}

void notify_chart_cid(long long alert, char *buf, size_t size)
{
    snprintf(buf, size, "chart-%lld@scaleupd", alert);
}

/* ---- what each incident says, shared by the two parts ------------------------------- */

/* The heading of incident k: what it shows and where. */
static void incident_heading(struct dynbuf *b, const struct notify_group *g,
                             const struct incidents *ins, size_t k)
{
    const struct incident *inc = &ins->list[k];
    const struct notify_alert *a = &g->alerts[inc->first];
    char period[64], due[64];
    /* in words of its own rather than the incident's title (which the API shows): dates for
     * people, and the practices counted */
    date_words(a->period, false, period, sizeof(period));
    late_due(a, due, sizeof(due));
    if (inc->late) {
        putf(b, "%s: no report for %s%s%s", site_words(g, a), period, due[0] ? ", due " : "", due);
        return;
    }
    if (is_programme_wide(a)) {
        summary_sentence(b, a);
        return;
    }
    putf(b, "%s %s", indicator_words(a), str(a->summary));
    if (inc->n == 1)
        putf(b, " at %s", site_words(g, a));
    else
        putf(b, " at %zu practices", inc->n);
    if (a->region_name && a->region_name[0] && inc->n > 1)
        putf(b, " in %s", a->region_name);
}

/* The line under the heading: the period and since when ("January 2026 · firing since …"). */
static void incident_when(struct dynbuf *b, const struct notify_group *g,
                          const struct incidents *ins, size_t k)
{
    const struct incident *inc = &ins->list[k];
    const struct notify_alert *a = &g->alerts[inc->first];
    char period[64];
    date_words(a->period, false, period, sizeof(period));
    if (!inc->late && period[0])
        putf(b, "%s \xc2\xb7 ", period);
    /* a late feed is overdue since its due date, which the heading says; "since" is when the
       incident opened */
    putf(b, "%s since %s",
         !inc->firing ? "resolved; open"
         : inc->late  ? "overdue \xc2\xb7 open"
                      : "open",
         or_else(a->since, "-"));
}

/* One member's line: "De Linde: 30 % (limits of the periods before: 58.2 .. 65.9 %, centre
 * 62 %)" for a signal, the missing indicator for a late feed. */
static void member_words(struct dynbuf *b, const struct notify_group *g,
                         const struct notify_alert *a, bool late)
{
    if (late) {
        putf(b, "%s: no value%s", indicator_words(a), a->resolved ? " (now received)" : "");
        return;
    }
    char value[64], limits[200];
    figure(value, sizeof(value), a->has_value, a->value, a->unit);
    limits_words(a, limits, sizeof(limits));
    putf(b, "%s: %s", site_words(g, a), value);
    if (limits[0])
        putf(b, " (%s)", limits);
    if (a->resolved)
        putf(b, ", resolved");
}

/* Whether a member's line would only repeat the heading: the one member of an incident about
 * the whole programme, whose heading is its summary (a fraction on its own, 0.2663, says less). */
static bool alone_in_words(const struct incidents *ins, size_t k, const struct notify_alert *a)
{
    return ins->list[k].n == 1 && is_programme_wide(a);
}

/* The member whose chart the incident shows (its first with one), or NULL. */
static const struct notify_alert *chart_of(const struct notify_group *g,
                                           const struct incidents *ins, size_t k)
{
    MEMBERS(ins, k, i, g)
    {
        if (g->alerts[i].chart != NULL)
            return &g->alerts[i];
    }
    return NULL;
}

/* The one-click token of an incident with a firing member, or NULL. */
static const char *ack_token_of(const struct notify_group *g, const struct incidents *ins, size_t k)
{
    MEMBERS(ins, k, i, g)
    {
        if (!g->alerts[i].resolved && g->alerts[i].ack_token && g->alerts[i].ack_token[0])
            return g->alerts[i].ack_token;
    }
    return NULL;
}

/* How many incidents are firing signals, firing late feeds, resolved. */
static void incident_counts(const struct incidents *ins, size_t counts[3])
{
    counts[0] = counts[1] = counts[2] = 0;
    for (size_t k = 0; k < ins->n; k++)
        counts[!ins->list[k].firing ? 2 : ins->list[k].late ? 1 : 0]++;
}

/* "2 incidents open: 1 signal, 1 late feed; 1 resolved." */
static void counts_line(struct dynbuf *b, const struct incidents *ins)
{
    size_t c[3], wide = 0;
    incident_counts(ins, c);
    for (size_t k = 0; k < ins->n; k++)
        wide += ins->list[k].firing && !ins->list[k].late && ins->list[k].wide;
    size_t signals = c[0] - wide; /* the dashboard calls the others alerts */
    if (c[0] + c[1] > 0) {
        putf(b, "%zu incident%s open: ", c[0] + c[1], c[0] + c[1] == 1 ? "" : "s");
        const char *sep = "";
        if (signals)
            putf(b, "%zu signal%s", signals, signals == 1 ? "" : "s"), sep = ", ";
        if (wide)
            putf(b, "%s%zu alert%s", sep, wide, wide == 1 ? "" : "s"), sep = ", ";
        if (c[1])
            putf(b, "%s%zu late feed%s", sep, c[1], c[1] == 1 ? "" : "s");
        putf(b, "%s", c[2] ? "; " : ".");
    }
    if (c[2])
        putf(b, "%zu resolved.", c[2]);
}

/* ---- which incidents a message details ---------------------------------------------- */

/* The incidents in the order a message details them: firing signals, then firing late feeds,
 * then resolved ones, each kind in group order. A message details the first
 * NOTIFY_INCIDENTS_SHOWN; the rest are counted (not_shown_words) and linked. */
static size_t *shown_order(const struct incidents *ins)
{
    size_t *order = xcalloc(ins->n + 1, sizeof(*order)), n = 0;
    for (int kind = 0; kind < 3; kind++)
        for (size_t k = 0; k < ins->n; k++) {
            const struct incident *inc = &ins->list[k];
            int of = !inc->firing ? 2 : inc->late ? 1 : 0;
            if (of == kind)
                order[n++] = k;
        }
    return order;
}

/* "And 6981 more incidents (1 signal, 6980 late feeds)". */
static void not_shown_words(const struct incidents *ins, const size_t *order, char *buf,
                            size_t size)
{
    size_t c[3] = {0, 0, 0};
    for (size_t s = NOTIFY_INCIDENTS_SHOWN; s < ins->n; s++) {
        const struct incident *inc = &ins->list[order[s]];
        c[!inc->firing ? 2 : inc->late ? 1 : 0]++;
    }
    size_t n = ins->n - NOTIFY_INCIDENTS_SHOWN;
    int len = snprintf(buf, size, "And %zu more incident%s (", n, n == 1 ? "" : "s");
    static const char *const one[] = {"signal", "late feed", "resolved"};
    static const char *const many[] = {"signals", "late feeds", "resolved"};
    const char *sep = "";
    for (int kind = 0; kind < 3 && len > 0 && (size_t)len < size; kind++) {
        if (c[kind] == 0)
            continue;
        len += snprintf(buf + len, size - (size_t)len, "%s%zu %s", sep, c[kind],
                        c[kind] == 1 ? one[kind] : many[kind]);
        sep = ", ";
    }
    if (len > 0 && (size_t)len < size)
        snprintf(buf + len, size - (size_t)len, ")");
}

/* The Alerts view of the group's programme: every incident. */
static void programme_alerts_url(const struct notify_group *g, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s/#/alerts?programme=", base_len(g), str(g->base_url));
    query_value(buf, size, g->programme);
}

/* The incidents a message details, each by incident(), then rest() with the words and the link
 * of those it does not. */
static void incidents_shown(struct dynbuf *b, const struct notify_group *g,
                            const struct incidents *ins,
                            void (*incident)(struct dynbuf *, const struct notify_group *,
                                             const struct incidents *, size_t),
                            void (*rest)(struct dynbuf *, const char *more, const char *url))
{
    size_t *order = shown_order(ins);
    for (size_t s = 0; s < ins->n && s < NOTIFY_INCIDENTS_SHOWN; s++)
        incident(b, g, ins, order[s]);
    if (ins->n > NOTIFY_INCIDENTS_SHOWN) {
        char url[1024], more[160];
        programme_alerts_url(g, url, sizeof(url));
        not_shown_words(ins, order, more, sizeof(more));
        rest(b, more, url);
    }
    free(order);
}

/* ---- the text part ------------------------------------------------------------------ */

static void text_rest(struct dynbuf *b, const char *more, const char *url)
{
    putf(b, "\n%s. Every incident in the dashboard: %s\n", more, url);
}

/* A summary line's kind: a firing roadmap or delivery alert (of no indicator and no site) is an
 * "Alert", as the counts line and the dashboard call it, not a "Signal" of a chart. */
static const char *topic_kind(const struct notify_alert *a, const char *kind)
{
    return !a->resolved && !is_late(a) && is_programme_wide(a) ? "Alert" : kind;
}

static void text_summary(struct dynbuf *b, const struct notify_group *g,
                         const struct incidents *ins, const char *kind, bool late, bool resolved)
{
    size_t sites, shown = 0, more = 0;
    for (size_t i = 0; i < g->n_alerts; i++) {
        const struct notify_alert *a = &g->alerts[i];
        if (a->resolved != resolved || (!resolved && is_late(a) != late) ||
            !topic_first(ins, i, &sites))
            continue;
        if (shown == NOTIFY_TOPICS_SHOWN) {
            more++;
            continue;
        }
        putf(b, "- %s: ", topic_kind(a, kind));
        topic_line(b, g, i, sites);
        putf(b, "\n");
        shown++;
    }
    if (more > 0)
        putf(b, "- %s: %zu more\n", kind, more);
}

static void text_incident(struct dynbuf *b, const struct notify_group *g,
                          const struct incidents *ins, size_t k)
{
    const struct incident *inc = &ins->list[k];
    char url[1024];
    putf(b, "\n== ");
    incident_heading(b, g, ins, k);
    putf(b, " ==\n");
    incident_when(b, g, ins, k);
    putf(b, "\n");
    size_t shown = 0;
    MEMBERS(ins, k, i, g)
    {
        if (alone_in_words(ins, k, &g->alerts[i]) || shown++ >= NOTIFY_MEMBERS_SHOWN)
            continue;
        putf(b, "  - ");
        member_words(b, g, &g->alerts[i], inc->late);
        putf(b, "\n");
    }
    if (shown > NOTIFY_MEMBERS_SHOWN)
        putf(b, "  - and %zu more, in the dashboard\n", shown - NOTIFY_MEMBERS_SHOWN);
    struct view_words words;
    if (incident_view(g, &g->alerts[inc->first], inc->late, url, sizeof(url), &words))
        putf(b, "  %s: %s\n", words.text, url);
    const char *token = ack_token_of(g, ins, k);
    if (token != NULL) {
        notify_ack_url(g, token, url, sizeof(url));
        putf(b, "  Acknowledge (one click, no login): %s\n", url);
    }
    notify_incident_url(g, &g->alerts[inc->first], url, sizeof(url));
    putf(b, "  In the dashboard: %s\n", url);
}

char *notify_text(const struct notify_group *g)
{
    struct dynbuf b;
    start(&b);
    if (g->is_test)
        putf(&b, "This is a TEST message of scaleupd for receiver %s; nothing is wrong.\n\n",
             str(g->receiver));
    struct incidents ins;
    incidents_build(g, &ins);
    putf(&b, "%s\n", or_else(g->programme_name, g->programme));
    if (g->n_alerts > 0) {
        counts_line(&b, &ins);
        putf(&b, "\n\n");
        text_summary(&b, g, &ins, "Signal", false, false);
        text_summary(&b, g, &ins, "Late feed", true, false);
        text_summary(&b, g, &ins, "Resolved", false, true);
    }
    incidents_shown(&b, g, &ins, text_incident, text_rest);
    putf(&b, "\nTimes are in %s.\n-- \nscaleupd, for receiver %s of %s\n",
         or_else(g->time_zone, "UTC"), str(g->receiver), str(g->programme));
    incidents_free(&ins);
    return take(&b);
}

/* ---- the HTML part: one column, inline styles, at most 600 px wide ------------------ */

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

/* A scratch buffer's words, escaped into b (the scratch is freed); a scratch over the cap
 * puts b over it too. */
static void html_from(struct dynbuf *b, struct dynbuf *scratch)
{
    put(scratch, "", 1);
    if (scratch->overflow)
        b->overflow = true;
    else
        html_escaped(b, scratch->data);
    dynbuf_free(scratch);
}

typedef void incident_words_fn(struct dynbuf *b, const struct notify_group *g,
                               const struct incidents *ins, size_t k);

static void html_incident_words(struct dynbuf *b, incident_words_fn *fn,
                                const struct notify_group *g, const struct incidents *ins, size_t k)
{
    struct dynbuf scratch;
    start(&scratch);
    fn(&scratch, g, ins, k);
    html_from(b, &scratch);
}

static const char link_style[] = "display:inline-block;margin:4px 8px 4px 0;padding:7px 14px;"
                                 "border-radius:4px;text-decoration:none;font-weight:bold;";

static void html_link(struct dynbuf *b, const char *url, const char *label, bool primary)
{
    putf(b, "<a href=\"");
    html_escaped(b, url);
    putf(b, "\" style=\"%s%s\">", link_style,
         primary ? "background:#005eb8;color:#ffffff;border:1px solid #005eb8"
                 : "background:#ffffff;color:#005eb8;border:1px solid #005eb8");
    html_escaped(b, label);
    putf(b, "</a>");
}

/* The summary list: one item per topic, its kind in bold. */
static void html_summary(struct dynbuf *b, const struct notify_group *g,
                         const struct incidents *ins)
{
    static const char *const kinds[] = {"Signal", "Late feed", "Resolved"};
    size_t sites;
    putf(b, "<ul style=\"margin:0 0 16px;padding:0 0 0 20px\">\n");
    for (int kind = 0; kind < 3; kind++) {
        size_t shown = 0, more = 0;
        for (size_t i = 0; i < g->n_alerts; i++) {
            const struct notify_alert *a = &g->alerts[i];
            int of = a->resolved ? 2 : is_late(a) ? 1 : 0;
            if (of != kind || !topic_first(ins, i, &sites))
                continue;
            if (shown++ >= NOTIFY_TOPICS_SHOWN) {
                more++;
                continue;
            }
            struct dynbuf scratch;
            start(&scratch);
            topic_line(&scratch, g, i, sites);
            putf(b, "<li style=\"margin:0 0 4px\"><strong>%s:</strong> ",
                 topic_kind(a, kinds[kind]));
            html_from(b, &scratch);
            putf(b, "</li>\n");
        }
        if (more > 0)
            putf(b, "<li style=\"margin:0 0 4px\"><strong>%s:</strong> %zu more</li>\n",
                 kinds[kind], more);
    }
    putf(b, "</ul>\n");
}

/* The members of an incident as rows: the site (or the missing indicator) and the figures. */
static void html_members(struct dynbuf *b, const struct notify_group *g,
                         const struct incidents *ins, size_t k)
{
    putf(b, "<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" cellspacing=\"0\" "
            "style=\"border-collapse:collapse;font-size:14px;margin:0 0 8px\">\n");
    size_t shown = 0;
    MEMBERS(ins, k, i, g)
    {
        const struct notify_alert *a = &g->alerts[i];
        if (alone_in_words(ins, k, a) || shown++ >= NOTIFY_MEMBERS_SHOWN)
            continue;
        putf(b, "<tr><td style=\"padding:4px 0;border-top:1px solid #e4e7eb;"
                "word-break:break-word\">");
        struct dynbuf scratch;
        start(&scratch);
        member_words(&scratch, g, a, ins->list[k].late);
        html_from(b, &scratch);
        putf(b, "</td></tr>\n");
    }
    if (shown > NOTIFY_MEMBERS_SHOWN)
        putf(b,
             "<tr><td style=\"padding:4px 0;border-top:1px solid #e4e7eb;color:#52606d\">and %zu"
             " more, in the dashboard</td></tr>\n",
             shown - NOTIFY_MEMBERS_SHOWN);
    putf(b, "</table>\n");
}

static void html_chart(struct dynbuf *b, const struct notify_group *g, const struct notify_alert *a)
{
    char cid[64];
    notify_chart_cid(a->id, cid, sizeof(cid));
    int width = a->chart->width > 0 && a->chart->width < 560 ? a->chart->width : 560;
    putf(b, "<img src=\"cid:%s\" width=\"%d\" alt=\"Chart of ", cid, width);
    html_escaped(b, indicator_words(a));
    putf(b, " at ");
    html_escaped(b, site_words(g, a));
    putf(b,
         ", the last 24 periods with centre line and limits\" style=\"display:block;"
         "width:100%%;max-width:%dpx;height:auto;border:0;margin:4px 0 8px\">\n",
         width);
}

static void html_incident(struct dynbuf *b, const struct notify_group *g,
                          const struct incidents *ins, size_t k)
{
    const struct incident *inc = &ins->list[k];
    const char *colour = !inc->firing ? "#3f9142" : inc->late ? "#8a94a3" : "#e46c0a";
    char url[1024];
    putf(b, "<div style=\"border-left:4px solid %s;padding:8px 0 8px 12px;margin:0 0 20px\">\n",
         colour);
    putf(b, "<h2 style=\"font-size:17px;line-height:1.3;margin:0 0 2px\">");
    html_incident_words(b, incident_heading, g, ins, k);
    putf(b, "</h2>\n<p style=\"margin:0 0 8px;color:#52606d;font-size:13px\">");
    html_incident_words(b, incident_when, g, ins, k);
    putf(b, "</p>\n");
    html_members(b, g, ins, k);
    const struct notify_alert *charted = inc->late ? NULL : chart_of(g, ins, k);
    if (charted != NULL)
        html_chart(b, g, charted);
    putf(b, "<p style=\"margin:0\">");
    struct view_words words;
    if (incident_view(g, charted ? charted : &g->alerts[inc->first], inc->late, url, sizeof(url),
                      &words))
        html_link(b, url, words.html, false);
    const char *token = ack_token_of(g, ins, k);
    if (token != NULL) {
        notify_ack_url(g, token, url, sizeof(url));
        html_link(b, url, "Acknowledge", true);
    }
    notify_incident_url(g, &g->alerts[inc->first], url, sizeof(url));
    html_link(b, url, "In the dashboard", false);
    putf(b, "</p>\n</div>\n");
}

static void html_rest(struct dynbuf *b, const char *more, const char *url)
{
    putf(b, "<p style=\"margin:0 0 12px\">");
    html_escaped(b, more);
    putf(b, ". ");
    html_link(b, url, "Every incident in the dashboard", false);
    putf(b, "</p>\n");
}

static void html_head(struct dynbuf *b, const struct notify_group *g)
{
    putf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>");
    html_escaped(b, or_else(g->programme_name, g->programme));
    putf(b, "</title></head>\n<body style=\"margin:0;padding:0;background:#f4f5f7\">\n"
            "<div style=\"max-width:600px;margin:0 auto;padding:16px;box-sizing:border-box;"
            "background:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:15px;"
            "line-height:1.45;color:#1f2933\">\n");
    if (g->is_test) {
        putf(b, "<p style=\"background:#fff4ce;padding:8px;margin:0 0 12px\"><strong>TEST"
                "</strong> message for receiver ");
        html_escaped(b, g->receiver);
        putf(b, "; nothing is wrong.</p>\n");
    }
    putf(b, "<p style=\"margin:0 0 4px;font-size:13px;color:#52606d\">");
    html_escaped(b, or_else(g->programme_name, g->programme));
    putf(b, "</p>\n");
}

char *notify_html(const struct notify_group *g)
{
    struct dynbuf b;
    start(&b);
    html_head(&b, g);
    struct incidents ins;
    incidents_build(g, &ins);
    if (g->n_alerts > 0) {
        char *subject = notify_subject(g);
        putf(&b, "<h1 style=\"font-size:20px;line-height:1.3;margin:0 0 8px\">");
        html_escaped(&b, subject);
        free(subject);
        putf(&b, "</h1>\n<p style=\"margin:0 0 8px\">");
        struct dynbuf scratch;
        start(&scratch);
        counts_line(&scratch, &ins);
        html_from(&b, &scratch);
        putf(&b, "</p>\n");
        html_summary(&b, g, &ins);
    }
    incidents_shown(&b, g, &ins, html_incident, html_rest);
    putf(&b, "<p style=\"margin:16px 0 0;font-size:12px;color:#7b8794\">Times are in ");
    html_escaped(&b, or_else(g->time_zone, "UTC"));
    putf(&b, ". Sent by scaleupd to receiver ");
    html_escaped(&b, g->receiver);
    putf(&b, ".</p>\n</div>\n</body></html>\n");
    incidents_free(&ins);
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

/* Whether alert i is the first of the group to carry its chart (each PNG goes once). */
static bool chart_first(const struct notify_group *g, size_t i)
{
    if (g->alerts[i].chart == NULL)
        return false;
    for (size_t j = 0; j < i; j++)
        if (g->alerts[j].chart == g->alerts[i].chart)
            return false;
    return true;
}

static bool has_charts(const struct notify_group *g)
{
    for (size_t i = 0; g != NULL && i < g->n_alerts; i++)
        if (g->alerts[i].chart != NULL)
            return true;
    return false;
}

/* The HTML and its charts, a multipart/related part of the alternative. */
static void mime_related(struct dynbuf *b, const char *boundary, const char *html,
                         const struct notify_group *g)
{
    putf(b,
         "--%s\r\nContent-Type: multipart/related; type=\"text/html\"; boundary=\"%s_r\"\r\n\r\n",
         boundary, boundary);
    char related[128], cid[64];
    snprintf(related, sizeof(related), "%s_r", boundary);
    mime_part(b, related, "text/html", html);
    for (size_t i = 0; i < g->n_alerts; i++) {
        if (!chart_first(g, i))
            continue;
        notify_chart_cid(g->alerts[i].id, cid, sizeof(cid));
        putf(b,
             "--%s\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
             "Content-ID: <%s>\r\nContent-Disposition: inline; filename=\"chart-%lld.png\"\r\n\r\n",
             related, cid, g->alerts[i].id);
        base64(b, (const char *)g->alerts[i].chart->data, g->alerts[i].chart->size, true);
    }
    putf(b, "--%s--\r\n", related);
}

char *notify_email_message(const char *from, const char *to, const char *subject, const char *date,
                           const char *message_id, const char *thread_id, const char *text,
                           const char *html, const char *boundary)
{
    return notify_email_message_charts(from, to, subject, date, message_id, thread_id, text, html,
                                       boundary, NULL);
}

char *notify_email_message_charts(const char *from, const char *to, const char *subject,
                                  const char *date, const char *message_id, const char *thread_id,
                                  const char *text, const char *html, const char *boundary,
                                  const struct notify_group *group)
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
    if (has_charts(group))
        mime_related(&b, boundary, html, group);
    else
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
