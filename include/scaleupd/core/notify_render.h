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

/* One alert as a message shows it. Strings are borrowed; NULL reads as "". */
struct notify_alert {
    long long id;
    long long incident_id;      /* 0 = the alert is its own incident */
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
    const char *since;     /* when it started firing, in the receiver's zone, for people */
    const char *starts_at; /* RFC 3339 UTC, for the webhook */
    const char *ends_at;   /* RFC 3339 UTC when resolved, else NULL */
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

/* The subject, e.g. "[scaleupd] FIRING 2: bp_controlled_pct below lower limit — Flanders,
 * 2 practices" (UTF-8, not yet encoded for a header). The caller frees it; NULL when over
 * NOTIFY_RENDER_MAX (so for each renderer below). */
char *notify_subject(const struct notify_group *group);

/* The plain-text and the HTML body. The caller frees each. */
char *notify_text(const struct notify_group *group);
char *notify_html(const struct notify_group *group);

/* The link to an alert's chart: {base}/#/programmes/{slug}/indicators/{code}?site={site}. */
void notify_chart_url(const struct notify_group *group, const struct notify_alert *alert, char *buf,
                      size_t size);

/*
 * A whole RFC 5322 message: From, To, Subject (RFC 2047 encoded when not ASCII), Date (the
 * RFC 5322 date text given), Message-ID and, when thread_id is not NULL, In-Reply-To and
 * References, then a multipart/alternative body with the text and HTML parts in base64.
 * Lines end in CRLF. The caller frees it. boundary must not occur in the parts (base64
 * never contains "=_").
 */
char *notify_email_message(const char *from, const char *to, const char *subject, const char *date,
                           const char *message_id, const char *thread_id, const char *text,
                           const char *html, const char *boundary);

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
