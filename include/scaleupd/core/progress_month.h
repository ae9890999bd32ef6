/*
 * One month of scale-up progress: the snapshot rows (the programme's and each region's, per
 * dimension) of a complete month, evaluated from plain inputs the caller has read, against
 * one roadmap version; and which months a refresh recomputes. Pure: no I/O
 * (docs/ARCHITECTURE.md, the core layer). A month's snapshot speaks for the day after the
 * month ends. A missing report is never a zero: inputs that may be absent carry has_ flags.
 */
#ifndef SCALEUPD_CORE_PROGRESS_MONTH_H
#define SCALEUPD_CORE_PROGRESS_MONTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/progress.h"
#include "scaleupd/core/roadmap_doc.h"

/* Snapshots reach back at most this many months before the latest complete one. */
#define PROGRESS_MONTH_MAX_PERIODS 240

/* ---- inputs -------------------------------------------------------------------------- */

/* A member site and the periods it reported. */
struct progress_month_site {
    struct progress_site site; /* has_last_reported/last_reported are set per month, ignored */
    const int32_t *reported;   /* starts of the periods the site reported, ascending */
    size_t n_reported;
};

/* One site's coverage values for the period starting period_start. */
struct progress_month_coverage_value {
    int32_t period_start;
    struct progress_coverage_row row;
};

/* The coverage values of one (numerator, denominator) pair of indicator codes. */
struct progress_month_coverage {
    const char *numerator;
    const char *denominator;      /* NULL for a roadmap with a target_population */
    enum period_type period_type; /* the numerator's: the data period and activity window */
    size_t n;
    const struct progress_month_coverage_value *values; /* ascending by period_start */
};

/* One institutionalisation score as received. */
struct progress_month_score {
    const char *indicator;
    int32_t period_start;
    int32_t period_end; /* last day (inclusive) of the scored period */
    double value;
    const char *comment; /* NULL when none */
};

/* What one programme's months are evaluated from. */
struct progress_month_inputs {
    const struct progress_month_site *sites; /* member sites */
    size_t n_sites;
    const int64_t *regions; /* ids of the regions with a member site, ascending */
    size_t n_regions;
    const struct progress_month_coverage *coverage; /* a pair per coverage plan of the versions */
    size_t n_coverage;
    /* in order of indicator, then period, then reception: of the scores of an indicator whose
     * period ended before a date, the last one counts */
    const struct progress_month_score *scores;
    size_t n_scores;
};

/* The pair of `in` that a roadmap's coverage reads, NULL when `in` has none. */
const struct progress_month_coverage *
progress_month_coverage_of(const struct progress_month_inputs *in,
                           const struct roadmap_coverage *coverage);

/* ---- one month ------------------------------------------------------------------------ */

enum progress_month_detail_kind {
    PROGRESS_MONTH_DETAIL_COVERAGE,
    PROGRESS_MONTH_DETAIL_EXPANSION,        /* the programme's expansion */
    PROGRESS_MONTH_DETAIL_REGION_EXPANSION, /* a region's: active against adopted sites */
    PROGRESS_MONTH_DETAIL_INSTITUTIONALISATION,
};

/* The latest score of one roadmap item at the month's date. */
struct progress_month_item {
    const char *indicator; /* borrowed from the roadmap */
    bool has_score;
    double score;
    int32_t period_start; /* of the scored period, when has_score */
    const char *comment;  /* borrowed from the inputs; NULL when none */
};

/* One snapshot row: a dimension of the programme (region_id 0) or of a region. */
struct progress_month_row {
    enum roadmap_dimension dimension;
    int64_t region_id;
    int roadmap_version;
    struct progress_measure measure;
    enum progress_status status; /* expansion: the worse of the sites and regions measures */
    enum progress_month_detail_kind kind;
    union {
        struct {
            struct progress_coverage value;
            struct period data_period; /* the latest complete period of the data */
        } coverage;
        struct {
            size_t active_sites, active_regions;
            double regions_planned, regions_gap;
            enum progress_status sites_status, regions_status;
        } expansion;
        struct {
            size_t active_sites, adopted_sites, planned_sites;
        } region_expansion;
        struct {
            size_t n_items;
            struct progress_month_item *items; /* owned by the month */
        } institutionalisation;
    } detail;
};

/* The rows of one month: for each dimension of the roadmap, the programme's row then its
 * regions' (coverage per region only with a denominator; institutionalisation has none). */
struct progress_month {
    int32_t period_start; /* first day of the month */
    int32_t as_of;        /* the day after the month ends: the date it is evaluated at */
    size_t n_rows;
    struct progress_month_row *rows;
};

/*
 * Evaluates the month containing `month` against roadmap version `version` (rm, borrowed):
 *   coverage — the sums over the sites of the latest complete data period at as_of
 *     (progress_coverage_total, or _fixed for a target_population), per region too;
 *   expansion — the sites active at as_of within the activity window (a site's latest
 *     reported period is the latest one that started before as_of) against the sites and
 *     regions plans; a region's active sites against the sites adopted there by as_of
 *     (relative tolerance, 1 when none adopted);
 *   institutionalisation — each item's latest score for a period that ended before as_of.
 * *out is a new month the caller releases with progress_month_release.
 */
void progress_month_evaluate(const struct progress_month_inputs *in, const struct roadmap *rm,
                             int version, int32_t month, struct progress_month *out);

/* Frees what a month holds and zeroes it. */
void progress_month_release(struct progress_month *month);

/*
 * The row's detail as the snapshot stores it (a new object the caller owns):
 *   coverage {"numerator","denominator","sites_covered","sites_in_scope","data_period"};
 *   expansion {"active_sites","active_regions","regions_planned","regions_gap",
 *     "sites_status","regions_status"}; a region's {"active_sites","adopted_sites",
 *     "planned_sites"}; institutionalisation {"items":[{"indicator","score","period_start",
 *     "comment"}]} (score and period_start null without a score, comment null without one).
 */
json_t *progress_month_row_detail(const struct progress_month_row *row);

/* ---- which months ---------------------------------------------------------------------- */

/* What the snapshots of a programme look like when a refresh starts. */
struct progress_month_state {
    int32_t today;       /* in the programme's time zone */
    bool dirty;          /* a dirty mark exists */
    int32_t dirty_since; /* the oldest mark's period; INT32_MIN: everything */
    bool has_last;
    int32_t last_snapshot; /* the newest month with a snapshot */
    bool has_first_data;
    int32_t first_data; /* the oldest observed period start */
};

/* The months a refresh covers: snapshots exist for [first, last]; [from, last] is recomputed. */
struct progress_month_range {
    int32_t from, first, last; /* month starts */
};

/*
 * Which months to recompute: first is the month of the earliest of the versions' baseline
 * dates and the first data (at most PROGRESS_MONTH_MAX_PERIODS months back), last the latest
 * complete month at today; from is the month after the last snapshot, or the dirty mark's
 * month when earlier, never before first. False when there is nothing to do: no month to
 * compute and no mark to clear. versions has at least one version.
 */
bool progress_month_plan(const struct progress_month_state *state,
                         const struct roadmap_versions *versions, struct progress_month_range *out)
    __attribute__((warn_unused_result));

#endif /* SCALEUPD_CORE_PROGRESS_MONTH_H */
