/* The SQL of the dashboard's feeds status: which indicators a programme has, and who
 * reported each one's latest due period: a summary (per indicator, per region, in total) and
 * the member sites a page at a time. What is due when is the service's (services/feeds.h). */
#ifndef SCALEUPD_FEEDS_STORE_H
#define SCALEUPD_FEEDS_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/obs_parse.h"
#include "scaleupd/core/period.h"

#define FEEDS_MAX_INDICATORS 500 /* indicators of a programme the status covers */
/* The cap of the summary document as read from the database (one JSON text). */
#define FEEDS_DOC_MAX_BYTES (64u << 20)

/* An indicator of the programme, how often it is reported, and its code (cut at
 * OBS_CODE_MAX bytes). */
struct feeds_indicator {
    int64_t id;
    enum period_type period_type;
    char code[OBS_CODE_MAX + 1];
};

/* The indicators of a programme (at most FEEDS_MAX_INDICATORS; those of an unknown period
 * type are left out), in id order, into out[] (room for FEEDS_MAX_INDICATORS), their number
 * into *n, and the programme's date at `now` (epoch seconds) in its time zone into *today.
 * False on a database error or when the programme does not exist. */
bool feeds_store_indicators(PGconn *conn, int64_t programme_id, double now,
                            struct feeds_indicator *out, size_t *n, int32_t *today,
                            const char *request_id) __attribute__((warn_unused_result));

/* An indicator's latest due period: its first and last day and the day it was due (days
 * since 1970-01-01). */
struct feeds_due {
    int64_t indicator_id;
    int32_t period_start, period_end, due_on;
};

/* Who owes what: a value is expected of a member site that had adopted by the period's end
 * and had not withdrawn before its start, for an indicator that member sites report at all.
 * A value is reported when the site's series holds the due period; the series' latest
 * period (series_latest.last_period, kept by the rollup service) decides without reading its
 * observations when it is at or before the due period and no unfolded rollup mark names the
 * series; otherwise the observation is looked up. Exact at any moment. A site's status is "late"
 * when it reported none of what it owes, "partial" when some, "reported" when all. */

/* The summary of the n due periods (n <= FEEDS_MAX_INDICATORS): a new JSON object owned by
 * the caller, {"indicators":[{"code","name","unit","period_type","period_start",
 * "period_end","due_on","reported_by_sites","expected","reported"}],"regions":[Counts &
 * {"code","name"}],"totals":Counts}, Counts = {"sites_expected","sites_complete",
 * "sites_partial","sites_late","values_expected","values_reported","completeness"|null};
 * regions in code order, sites with no region last (code and name null). NULL on a database
 * error or past FEEDS_DOC_MAX_BYTES (logged). */
json_t *feeds_store_summary(PGconn *conn, int64_t programme_id, const struct feeds_due *due,
                            size_t n, const char *request_id) __attribute__((warn_unused_result));

/* The summary as feeds_store_summary computes it, kept between reads (feeds_summary,
 * sql/024) under the key of everything it depends on: the n due periods (with grace_days,
 * which is part of the key), the indicators member sites report, the generations of site_sent
 * and of the programme's sites, tree, memberships and indicators (bumped by triggers in the
 * transaction of each change), and no rollup mark naming series pending. */

/* The kept summary of the programme for grace_days when its key is the key now: *doc a new
 * JSON object (the caller's), else NULL (none kept, or kept under another key); *pending
 * whether a rollup mark naming series is pending (nothing kept can be used). Reads no
 * site_sent row; notes the read (at most hourly). False on a database error (logged). */
bool feeds_store_summary_kept(PGconn *conn, int64_t programme_id, int grace_days,
                              const struct feeds_due *due, size_t n, json_t **doc, bool *pending,
                              const char *request_id) __attribute__((warn_unused_result));

/* The summary computed from scratch (as feeds_store_summary) and, when no rollup mark naming
 * series is pending, kept for grace_days with its key, from the same snapshot (*kept, may be
 * NULL, says whether it was); read: a read asked for it (the background refreshing it is not
 * one). A new JSON object owned by the caller, NULL on a database error (logged). */
json_t *feeds_store_summary_keep(PGconn *conn, int64_t programme_id, int grace_days,
                                 const struct feeds_due *due, size_t n, bool read, bool *kept,
                                 const char *request_id) __attribute__((warn_unused_result));

/* A kept summary's programme and grace. */
struct feeds_kept_key {
    int64_t programme_id;
    int grace_days;
};

/* The kept summaries a read asked for within the last day (at most max), in programme and
 * grace order, into *keys (malloc'd, the caller frees it) and *n; forgets those not read for
 * a week. False on a database error (logged). */
bool feeds_store_summaries_read(PGconn *conn, size_t max, struct feeds_kept_key **keys, size_t *n)
    __attribute__((warn_unused_result));

/* A site's status as its rank in the list's order. */
enum feeds_site_status {
    FEEDS_SITE_LATE = 0,
    FEEDS_SITE_PARTIAL = 1,
    FEEDS_SITE_REPORTED = 2,
};

/* Which sites, and from where: has_status / status (any when false), region (a region code,
 * NULL: any), has_after with the last row's key (its status, its region's code or "" and
 * its code; strings owned by the caller), limit (1..1000). */
struct feeds_sites_query {
    bool has_status;
    enum feeds_site_status status;
    const char *region;
    bool has_after;
    enum feeds_site_status after_status;
    const char *after_region, *after_code;
    int limit;
};

/* A page of the member sites owing any of the n due periods, ordered late, partial,
 * reported, then by region code (none first) and site code, byte-wise: into *rows a new
 * JSON array (the caller's) of {"code","name","region"|null,"region_name"|null,"expected",
 * "reported","late":[codes],"missing":[{"code","name"}],"last_received_at"|null,"status"}
 * (missing and late in code order; last_received_at: when any of its owed series last
 * changed). When more rows follow, next[0..3) (NULL on entry) receive the last row's key as
 * text (status rank, region code or "", code; malloc'd, the caller frees them). False on a
 * database error (logged). */
bool feeds_store_sites(PGconn *conn, int64_t programme_id, const struct feeds_due *due, size_t n,
                       const struct feeds_sites_query *q, json_t **rows, char *next[3],
                       const char *request_id) __attribute__((warn_unused_result));

/* Whether the programme has a site of level "region" of code region and an indicator of
 * code indicator (each true when NULL). False on a database error (logged). */
bool feeds_store_lookup(PGconn *conn, int64_t programme_id, const char *region,
                        const char *indicator, bool *region_found, bool *indicator_found,
                        const char *request_id) __attribute__((warn_unused_result));

#endif
