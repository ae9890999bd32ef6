/* Rendering of a receiver's digest (README, "Digests"): what opened, what resolved and what
 * is still open since the last digest (alerts grouped by incident), each dimension's
 * progress status and its change since the last digest, and the late feeds; as a subject, a
 * text part that stands alone and an HTML part that reads in a 600 px mail pane. The MIME
 * message is core/notify_render.h's notify_email_message. Pure: times arrive formatted in
 * the receiver's zone; what is missing is said to be missing, never shown as a zero. */
#ifndef SCALEUPD_CORE_DIGEST_RENDER_H
#define SCALEUPD_CORE_DIGEST_RENDER_H

#include <stdbool.h>
#include <stddef.h>

/* The most bytes one rendered digest part may hold: past it a renderer returns NULL. */
#define DIGEST_RENDER_MAX ((size_t)4 * 1024 * 1024)

/* One alert as the digest lists it. Strings are borrowed; NULL reads as missing. */
struct digest_alert {
    long long id;
    long long incident_id;      /* 0: the alert is its own incident */
    const char *incident_title; /* NULL when none */
    const char *indicator_name; /* or the rule's name for an alert on no indicator */
    const char *unit;           /* of the indicator's values, or NULL */
    const char *site_name;      /* NULL: the whole programme */
    const char *region_name;    /* the site's region, or NULL */
    const char *summary;        /* "below lower limit" */
    const char *period;         /* "2026-10", or NULL */
    bool has_value;
    double value;
    const char *at; /* when it opened (opened, still open) or resolved, in the receiver's zone */
    bool silenced;  /* a silence in force when the digest is made mutes it: said, not hidden */
};

/* One dimension of the scale-up cube. */
struct digest_dimension {
    const char *name;   /* "coverage", "expansion", "institutionalisation" */
    const char *status; /* "on_track", "behind", "at_risk", "no_data"; NULL: unknown */
    bool has_progress;  /* progress: the share of the way from baseline to target, 0..1 */
    double progress;
    const char *previous_status; /* in the last digest; NULL: none (the first digest) */
    bool has_previous_progress;
    double previous_progress;
};

/* One indicator's latest due period and who has not sent it. */
struct digest_late_feed {
    const char *indicator_name;
    const char *period;   /* "2026-10" */
    const char *due_on;   /* "2026-11-15" */
    long long sites_late; /* member sites that owe it and sent nothing */
    long long sites_expected;
};

struct digest {
    const char *programme; /* slug */
    const char *programme_name;
    const char *receiver;
    const char *time_zone;
    const char *base_url;  /* the dashboard, without trailing slash; NULL or "": no links */
    bool monthly;          /* the schedule: monthly, else weekly */
    const char *from, *to; /* the period covered, in the receiver's zone ("2026-11-23 08:00") */
    const struct digest_alert *opened, *resolved, *still_open; /* listed */
    size_t n_opened, n_resolved, n_still_open;
    size_t total_opened, total_resolved, total_still_open; /* counted (≥ listed: "and 3 more") */
    bool has_progress; /* false: the programme has no roadmap (no progress to show) */
    struct digest_dimension dimensions[3];
    size_t n_dimensions;
    bool has_feeds;                            /* false: the feeds status could not be read */
    long long sites_late, sites_expected;      /* member sites that sent none of what they owe */
    const struct digest_late_feed *late_feeds; /* the indicators with late sites */
    size_t n_late_feeds;
};

/* The subject: "[scaleupd] Weekly digest · Integrated care …: 2 opened, 1 resolved, 3 open,
 * late feeds for 2 indicators" (UTF-8, not yet encoded for a header). The caller frees it; NULL
 * when over DIGEST_RENDER_MAX (so for each renderer below). */
char *digest_subject(const struct digest *d);

/* The plain-text part (stands alone) and the HTML part (one column, at most 600 px wide,
 * inline styles only). The caller frees each. */
char *digest_text(const struct digest *d);
char *digest_html(const struct digest *d);

/* The words of a status ("on track", "behind", "at risk", "no data"; "unknown" for NULL or
 * another word); a static string. */
const char *digest_status_words(const char *status);

/* The change of a dimension since the last digest in words, into buf: "new" (first digest),
 * "+3.2 points", "-1.0 points", "no change", "behind → on track, +4.0 points", or "no data"
 * when either side has no progress. */
void digest_change_words(const struct digest_dimension *dim, char *buf, size_t size);

#endif
