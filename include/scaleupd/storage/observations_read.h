/* Observation storage, the read path (observations_read.c): a series as the API and the
 * dashboard show it, and the aggregate points the evaluator reads. */
#ifndef SCALEUPD_OBSERVATIONS_READ_H
#define SCALEUPD_OBSERVATIONS_READ_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/period.h"

/* The cap of a series as read from the database (its points, built by PostgreSQL as one
 * JSON text): a larger one is a failure (SERIES_DB_ERROR, logged), never a larger buffer. */
#define OBSERVATIONS_DOC_MAX_BYTES (64u << 20)
/* Rollup marks a read of an aggregate folds first (rollup_store_fold), so it sees what was
 * committed before it. */
#define OBSERVATIONS_FOLD_MARKS 200
#define OBSERVATIONS_FOLD_ROUNDS 5 /* folds an evaluation makes at most before it reads */
/* A request's read tries again this often, this many times, while a fold of its programme is
 * running, before it answers from the rollups as they stand (at most half a second). */
#define OBSERVATIONS_BUSY_WAIT_MS 20
#define OBSERVATIONS_BUSY_TRIES 25

/* Query of a series read. */
struct series_query {
    int64_t programme_id;
    const char *indicator; /* code */
    const char *site;      /* code: a practice, or a region/country that aggregates */
    bool revisions;        /* include each point's revision history */
    const char *from;      /* optional YYYY-MM-DD bounds of period_start */
    const char *to;
    const char *request_id; /* for the log lines of a failure; may be NULL */
    bool as_they_stand;     /* an aggregate from the rollups as they stand, without folding
                               the marks first (a reader inside another transaction that must
                               not wait for, or hold, the programme's fold: the notifier) */
};

enum series_result { SERIES_OK, SERIES_UNKNOWN_INDICATOR, SERIES_UNKNOWN_SITE, SERIES_DB_ERROR };

/* Reads a series: the site's own values when no site below it reports the indicator (a
 * national score), else (or when it has none) its descendant sites
 * aggregated per period by the indicator's rule (sum, mean, weighted = Σnum ÷ Σden, last),
 * each point saying how many sites it covers. *out is a new JSON object owned by the caller:
 * {"indicator":{…},"site":{…},"aggregated":bool,"points":[{"period","period_start","value"?,
 * "numerator"?,"denominator"?,"out_of_range"?,"sites_reporting","comment"?,"revisions"?:[…]}]}.
 * Aggregates are computed exactly (numeric), so none overflows: a value, numerator or
 * denominator beyond double's range (or a stored NaN or infinity) is left out of its point,
 * whose "out_of_range" lists the fields left out (["value"]…); a point has "value" unless
 * it says so. SERIES_DB_ERROR also when the points exceed OBSERVATIONS_DOC_MAX_BYTES. */
enum series_result observations_series(PGconn *conn, const struct series_query *query, json_t **out)
    __attribute__((warn_unused_result));

/* An aggregate series as the evaluator reads it: the points of the descendants of a site
 * for an indicator, oldest first; a point whose value is beyond double's range is not
 * among them (missing, as a period that no site reported). */
struct aggregate_points {
    double *values;
    int32_t *days; /* period starts, days since 1970-01-01 */
    long *sites;   /* sites reporting in each period */
    long *owed;    /* member sites under the site that owe each period (storage/member_owes.h:
                      adopted by its end, not withdrawn before its start, not planned) */
    size_t n;
    long expected; /* member sites (adopted or withdrawn, not planned) under the site */
    enum period_type period_type; /* the indicator's */
    int32_t today; /* days since 1970 in the programme's time zone at the read's `now`
                      (INT32_MIN: not asked) */
};

/* Reads at most the latest max_points of the aggregate of site_id's descendants for
 * indicator_id by the indicator's rule (aggregate: sum, mean, weighted, last; percentage
 * scales a weighted ratio by 100), as GET …/series does. False on a database error (*out is
 * then empty); on success the caller frees *out with aggregate_points_free. */
bool observations_aggregate(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                            int64_t site_id, const char *aggregate, bool percentage,
                            size_t max_points, struct aggregate_points *out)
    __attribute__((warn_unused_result));

/* The same from the period that starts on from_day on (INT32_MIN: from the first): a point
 * of an aggregate's history costs nothing once a detector state has seen it. now (unix
 * seconds; NAN: not known) sets out->today, by which an aggregate rule's gate decides whether
 * a period is due (core/rules.h, rule_aggregate_gate). */
bool observations_aggregate_from(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                 int64_t site_id, const char *aggregate, bool percentage,
                                 int32_t from_day, double now, size_t max_points,
                                 struct aggregate_points *out) __attribute__((warn_unused_result));

/* Brings the programme's rollups up to date as observations_aggregate does before its read
 * (inside a transaction: once per transaction), so that what is read next about them (a
 * detector state a rebuild of the rollups deletes) follows the fold. False on a database
 * error. */
bool observations_aggregates_current(PGconn *conn, int64_t programme_id)
    __attribute__((warn_unused_result));

/* Frees the arrays of a and empties it (it may be freed again). */
void aggregate_points_free(struct aggregate_points *a);

#endif
