/* Incidents: which alerts share one cause (docs/ARCHITECTURE.md, "Incidents"). Pure: from
 * what an opening alert is about, the key of the incident it joins and that incident's kind
 * and title. Storage keeps at most one open incident per key. */
#ifndef SCALEUPD_CORE_INCIDENT_H
#define SCALEUPD_CORE_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum incident_kind {
    INCIDENT_ALERT,     /* an alert that groups with nothing: its own incident */
    INCIDENT_LATE_FEED, /* one practice, one due period: its missing indicators */
    INCIDENT_SIGNAL,    /* one indicator, one region, while open: its practices and aggregate */
};

/* What an alert that starts firing is about. Ids are 0 and days -1 when absent; names may be
 * NULL (the title then uses what there is). */
struct incident_subject {
    int64_t alert_id;
    const char *rule_kind; /* alert_rule.kind: "late_feed", "spc", "threshold", … */
    const char *rule_name;
    int64_t indicator_id;
    int64_t site_id;   /* the practice, or for an aggregate the region it covers */
    int64_t region_id; /* the site's parent (a practice's region) */
    bool aggregate;    /* the alert is on the aggregate of site_id, not on a series */
    int32_t period_start;
    const char *period; /* period_start as people read it ("2026-10"), or NULL */
    const char *due;    /* a late feed's due date ("2026-11-15"), or NULL */
    const char *indicator_name, *site_name, *region_name;
    const char *summary; /* the alert's summary, for the title of one without a subject */
};

#define INCIDENT_KEY_MAX 96
#define INCIDENT_TITLE_MAX 256

/* The incident an alert joins. */
struct incident_key {
    enum incident_kind kind;
    int64_t indicator_id; /* a signal's indicator, else 0 */
    int64_t site_id;      /* a late feed's practice, a signal's region, else 0 */
    char key[INCIDENT_KEY_MAX];
    char title[INCIDENT_TITLE_MAX]; /* UTF-8, cut at a character boundary when too long */
};

/* Fills *out for s: a late-feed alert on a site with a period groups per (site, period); an
 * spc or threshold alert with an indicator and a period groups per (indicator, region), where
 * the region is the parent of a practice and the site itself for an aggregate (or for a site
 * without a parent): it joins the open incident of that indicator and region whatever period
 * the incident began in, and a new one is titled "<indicator> signals in <region> since
 * <period>"; anything else is alone ("alert:<id>"). */
void incident_key_of(const struct incident_subject *s, struct incident_key *out);

/* "late_feed", "signal" or "alert": incident.kind in the database and the API. */
const char *incident_kind_name(enum incident_kind kind);

#endif
