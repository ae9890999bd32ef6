/* Rendering of notifications (docs/ARCHITECTURE.md, notification and delivery): a grouped
 * e-mail as a MIME multipart text + HTML message with a subject that says what and where,
 * its envelope (Message-ID, Date, boundary); Alertmanager's webhook payload is core/am_webhook.h.
 * Pure: times arrive already formatted in the receiver's time zone. */
#ifndef SCALEUPD_NOTIFY_RENDER_H
#define SCALEUPD_NOTIFY_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The most bytes one rendered text (a subject, a body, a whole message, a webhook payload)
 * may hold: a renderer that would reach it returns NULL instead (an ordinary error, not out
 * of memory). Far above what any mail server accepts. */
#define NOTIFY_RENDER_MAX ((size_t)16 * 1024 * 1024)
/* What one message details, so that it reads in 30 seconds whatever the group (a national
 * feed that failed is 7,000 late-feed incidents): incidents (firing signals first, then late
 * feeds, then resolved; the rest counted, with a link to the dashboard), members of each,
 * topics of each kind in the summary lines. */
#define NOTIFY_INCIDENTS_SHOWN 20
#define NOTIFY_MEMBERS_SHOWN 25
#define NOTIFY_TOPICS_SHOWN 8

/* One alert as a message shows it. Strings are borrowed; NULL reads as "". */
struct notify_alert {
    long long id;
    long long incident_id;      /* 0: the alert is its own incident */
    const char *incident_title; /* NULL when none */
    bool resolved;              /* false: firing */
    const char *rule;           /* rule name */
    const char *kind;           /* rule kind */
    const char *indicator, *indicator_name;
    const char *site, *site_name; /* may be NULL for programme-wide alerts */
    const char *region_name;      /* the site's region, or NULL */
    const char *summary;          /* "below lower limit" */
    const char *period;           /* the period of the value, "2025-06" */
    bool has_value, has_limits;
    double value, centre, lower_limit, upper_limit; /* NaN where a limit does not apply */
    bool limits_before;    /* they are the baseline of the periods before the point (a detector
                              rule's), not MDC's limits of every point as the chart draws them */
    const char *since;     /* when it started firing, in the receiver's zone, for people */
    const char *starts_at; /* RFC 3339 UTC, for the webhook */
    const char *ends_at;   /* RFC 3339 UTC when resolved, else NULL */
    /* what only the e-mail shows (services/notify.c fills them; NULL: not shown) */
    const char *unit;               /* the indicator's unit, "%" */
    const struct notify_png *chart; /* the chart of the alert's incident */
    const char *ack_token;          /* one-click acknowledgement of its incident */
};

/* A PNG the e-mail embeds (multipart/related, by Content-ID). Bytes are borrowed. */
struct notify_png {
    const unsigned char *data;
    size_t size;
    int width, height; /* as the HTML shows it, in CSS pixels */
};

struct notify_group {
    const char *programme; /* slug */
    const char *programme_name;
    const char *receiver;
    const char *time_zone;
    const char *base_url; /* without trailing slash is best; one is dropped */
    bool is_test;         /* a test message of `scaleupctl receiver test` */
    const struct notify_alert *alerts;
    size_t n_alerts;
};

/*
 * The e-mail reads in 30 seconds (docs/ARCHITECTURE.md, notification and delivery): alerts
 * are gathered into incidents by incident_id (0: alone), and an incident's kind is "late"
 * (a late_feed rule: no value, never a number) or a signal (any other rule).
 *
 * The subject says what and where in words, one part per topic (an indicator and what it
 * shows; the late feeds of a period), the place first when every alert shares one region:
 * "Flanders: Blood pressure under control below lower limit at 2 practices · 5 practices
 * late for October 2025". "Resolved: " leads a message of resolved alerts only, "[scaleupd]
 * TEST " a test message. UTF-8, not yet encoded for a header. The caller frees it; NULL when
 * over NOTIFY_RENDER_MAX (so for each renderer below).
 */
char *notify_subject(const struct notify_group *group);

/* The plain-text part (it stands alone: every figure with its unit, every link written out)
 * and the HTML part (one column that reads in a 600 px pane; an incident's chart is
 * <img src="cid:..."> of notify_chart_cid). The caller frees each. */
char *notify_text(const struct notify_group *group);
char *notify_html(const struct notify_group *group);

/* first[i]: the first alert (in group order) of alert i's incident, i itself for an alert
 * that is its own incident (incident_id 0). Linear in the alerts. */
void notify_incident_firsts(const struct notify_group *group, size_t *first);

/* The link to an alert's incident on the dashboard (the Alerts view of its programme with
 * the incident, or the alert when it is its own incident, shown above the lists):
 * {base}/#/alerts?programme={slug}&incident={id} (or &alert={id}). */
void notify_incident_url(const struct notify_group *group, const struct notify_alert *alert,
                         char *buf, size_t size);

/* The link to an alert's chart on the dashboard, the alert's period marked:
 * {base}/#/chart?programme={slug}&indicator={code}&site={site}&period={period}. */
void notify_chart_url(const struct notify_group *group, const struct notify_alert *alert, char *buf,
                      size_t size);

/* The one-click acknowledgement link of a token: {base}/ack?token={token}. */
void notify_ack_url(const struct notify_group *group, const char *token, char *buf, size_t size);

/* The Content-ID (without <>) of the chart of the alert number alert: "chart-{id}@scaleupd". */
void notify_chart_cid(long long alert, char *buf, size_t size);

/*
 * A whole RFC 5322 message: From, To, Subject (RFC 2047 encoded when not ASCII), Date (the
 * RFC 5322 date text given), Message-ID and, when thread_id is not NULL, In-Reply-To and
 * References, then a multipart/alternative body with the text part and the HTML part in
 * base64; when group has charts (notify_alert.chart), the HTML part is a multipart/related
 * of the HTML and each chart once, image/png by its notify_chart_cid. group may be NULL (no
 * charts). Lines end in CRLF. The caller frees it. boundary must not occur in the parts
 * (base64 never contains "=_"); the related part's boundary is boundary + "_r".
 */
char *notify_email_message(const char *from, const char *to, const char *subject, const char *date,
                           const char *message_id, const char *thread_id, const char *text,
                           const char *html, const char *boundary);
char *notify_email_message_charts(const char *from, const char *to, const char *subject,
                                  const char *date, const char *message_id, const char *thread_id,
                                  const char *text, const char *html, const char *boundary,
                                  const struct notify_group *group);

/* The domain of Message-IDs: what follows the last '@' of the From address (up to a '>' or
 * a space), "scaleupd" when it has none. */
void notify_mail_domain(const char *from, char *buf, size_t size);

/* The Message-ID of outbox message number message: "<scaleupd.{message}.{programme}@{domain}>". */
void notify_message_id(long long message, const char *programme, const char *domain, char *buf,
                       size_t size);

/* The MIME boundary of outbox message number message ("=_scaleupd_{message}"). */
void notify_boundary(long long message, char *buf, size_t size);

/* The RFC 5322 Date of a message written at now (seconds since 1970), in UTC. */
void notify_mail_date(double now, char *buf, size_t size);

#endif
