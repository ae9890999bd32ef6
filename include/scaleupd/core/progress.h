/*
 * Scale-up progress: the pure computation of coverage, expansion and institutionalisation
 * against a roadmap's planned trajectory (docs/ARCHITECTURE.md). Everything here works on
 * values the caller has read; nothing does I/O. Dates are days since 1970-01-01 (period.h).
 *
 * A missing report is never a zero: every input that may be absent carries a has_ flag, and
 * every output that may be undefined says so instead of holding NaN or infinity.
 */
#ifndef SCALEUPD_PROGRESS_H
#define SCALEUPD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/roadmap_doc.h"

/* ---- periods and versions ------------------------------------------------------------ */

/*
 * The latest complete period of `type` at `date`: the last period whose (inclusive) last day
 * is before `date`. At 2025-04-01 that is 2025-03 for monthly data; at 2025-03-31, 2025-02.
 */
struct period progress_latest_complete_period(enum period_type type, int32_t date);

/*
 * First day of the oldest of the last `periods` complete periods at `date` (periods >= 1):
 * the start of expansion's activity window. With monthly periods, 3 and 2025-04-10 give
 * 2025-01-01 (the window is January, February, March).
 */
int32_t progress_activity_window_start(enum period_type type, int periods, int32_t date);

/*
 * Which of n roadmap versions is in force at `date`. created_at[i] is the UTC day version i
 * was created, in upload order (ties: the later upload wins). The version in force is the
 * one created most recently on or before `date`; before the first version, the earliest one
 * (so that history older than the first upload is still drawn against a plan rather than
 * against nothing). Sets *index and returns true; returns false when n == 0.
 */
__attribute__((warn_unused_result)) bool
progress_version_in_force(const int32_t *created_at, size_t n, int32_t date, size_t *index);

/* ---- planned trajectory and status --------------------------------------------------- */

/*
 * planned(date) of a plan that starts at baseline_date: the baseline on and before
 * baseline_date, linear interpolation between consecutive points (baseline_date, baseline),
 * (milestone date, target)..., the last target after the last milestone. A plan without
 * milestones is flat at its baseline. Milestones must be in increasing date order after
 * baseline_date, as roadmap_parse guarantees.
 */
double progress_planned(const struct roadmap_plan *plan, int32_t baseline_date, int32_t date);

enum progress_status {
    PROGRESS_STATUS_NO_DATA, /* no actual value at that date: never read as on track */
    PROGRESS_STATUS_ON_TRACK,
    PROGRESS_STATUS_BEHIND,
    PROGRESS_STATUS_AT_RISK,
};

/* "no_data", "on_track", "behind", "at_risk"; a static string. */
const char *progress_status_name(enum progress_status status);

/* The worse of two statuses: at_risk, then behind, then no_data, then on_track. */
enum progress_status progress_status_worse(enum progress_status a, enum progress_status b);

/* How a dimension's tolerance reads (roadmap_doc.h struct roadmap_tolerance). */
enum progress_tolerance_mode {
    /* coverage, institutionalisation: gap = actual - planned in the dimension's units;
     * gap < -at_risk is at risk, else gap < -behind is behind, else on track */
    PROGRESS_TOLERANCE_ABSOLUTE,
    /* expansion: shortfall = (planned - actual) / planned; > at_risk is at risk, else
     * > behind is behind, else on track; a plan of 0 or less is always on track */
    PROGRESS_TOLERANCE_RELATIVE,
};

/*
 * Status of `actual` against `planned`. A gap that equals a tolerance is not beyond it: the
 * comparisons allow 1e-9 for rounding, so 0.13 against 0.15 with behind = 0.02 is on track.
 */
enum progress_status progress_status_of(enum progress_tolerance_mode mode,
                                        const struct roadmap_tolerance *tolerance, double planned,
                                        double actual);

/* One measure of a dimension at a date. */
struct progress_measure {
    bool has_actual;
    double actual;       /* 0 when !has_actual */
    double planned;      /* planned(date) */
    double baseline;     /* the plan's baseline */
    double final_target; /* the last milestone's target */
    /* (actual - baseline) / (final_target - baseline), not clamped (negative when below the
     * baseline, above 1 past the target). When final_target == baseline: 1 if actual reaches
     * the target, else 0. 0 when !has_actual. */
    double progress;
    double gap;                  /* actual - planned; 0 when !has_actual */
    enum progress_status status; /* PROGRESS_STATUS_NO_DATA when !has_actual */
};

/* Evaluates one measure of a plan at `date` (fills every member of *out). */
void progress_measure_evaluate(const struct roadmap_plan *plan, int32_t baseline_date,
                               const struct roadmap_tolerance *tolerance,
                               enum progress_tolerance_mode mode, int32_t date, bool has_actual,
                               double actual, struct progress_measure *out);

/* Expansion at a date: two measures, one status. */
struct progress_expansion {
    struct progress_measure sites;   /* active sites against the sites plan */
    struct progress_measure regions; /* regions with an active site against the regions plan */
    enum progress_status status;     /* the worse of the two measures' statuses */
    double progress;                 /* the sites measure's progress */
};

/* Evaluates expansion (relative tolerance) from counts of active sites and regions. */
void progress_expansion_evaluate(const struct roadmap_expansion *expansion, int32_t baseline_date,
                                 int32_t date, size_t active_sites, size_t active_regions,
                                 struct progress_expansion *out);

/* ---- forecast ----------------------------------------------------------------------- */

struct progress_point {
    int32_t date;
    double value;
};

enum progress_forecast_kind {
    PROGRESS_FORECAST_INSUFFICIENT,     /* fewer than 2 distinct dates in the window */
    PROGRESS_FORECAST_REACHED,          /* the latest value already meets the final target */
    PROGRESS_FORECAST_DATE,             /* reached on `date` at the recent rate */
    PROGRESS_FORECAST_NOT_AT_THIS_RATE, /* flat or falling, or beyond the horizon */
};

/* A forecast further away than this from the latest point counts as "not at this rate". */
#define PROGRESS_FORECAST_HORIZON_DAYS 18262 /* 50 years of 365.25 days */

struct progress_forecast {
    enum progress_forecast_kind kind;
    int32_t date;         /* when kind == PROGRESS_FORECAST_DATE, else 0 */
    bool has_slope;       /* a line was fitted */
    double slope_per_day; /* its slope, in the dimension's units per day */
};

/*
 * When a dimension that grows would reach final_target at its recent rate. points are the
 * dimension's actual values in increasing date order, only the dates that have one (missing
 * periods are left out, not passed as zeros). The line is a least-squares fit over the last
 * `window` points (all of them when fewer). In this order:
 *   - no point: INSUFFICIENT;
 *   - the latest value >= final_target: REACHED;
 *   - fewer than 2 distinct dates in the window (or window < 2): INSUFFICIENT;
 *   - slope <= 0: NOT_AT_THIS_RATE;
 *   - otherwise the day the fitted line reaches final_target, rounded to the nearest day and
 *     never before the latest point's date (a fit that crosses the target in the past while
 *     the latest value is still below it is due now); more than
 *     PROGRESS_FORECAST_HORIZON_DAYS after the latest point: NOT_AT_THIS_RATE.
 */
void progress_forecast(const struct progress_point *points, size_t n, size_t window,
                       double final_target, struct progress_forecast *out);

/* ---- coverage ----------------------------------------------------------------------- */

/* One site's coverage numerator and denominator for one period, each possibly unreported. */
struct progress_coverage_row {
    int64_t site_id;
    int64_t region_id;
    bool has_numerator;
    double numerator;
    bool has_denominator;
    double denominator;
};

struct progress_coverage {
    bool has_value; /* false when no site counts or the denominators sum to 0 */
    double value;   /* numerator_sum / denominator_sum; 0 when !has_value */
    double numerator_sum;
    double denominator_sum;
    size_t sites_covered;  /* sites whose values were counted */
    size_t sites_in_scope; /* rows considered (the region's rows for a region) */
};

/*
 * Coverage of one period over all rows: sum of numerators / sum of denominators over the
 * sites that reported both (a finite value each); never a mean of percentages. A site that
 * reported only one of the two is left out of both sums, not read as a zero.
 */
void progress_coverage_total(const struct progress_coverage_row *rows, size_t n,
                             struct progress_coverage *out);

/* As progress_coverage_total, over the rows whose region_id is `region_id`. */
void progress_coverage_region(const struct progress_coverage_row *rows, size_t n, int64_t region_id,
                              struct progress_coverage *out);

/*
 * Coverage against a roadmap's fixed target_population: sum of the reported numerators /
 * target_population (the denominator members of the rows are ignored). Only meaningful for
 * the whole programme; has_value is false when target_population <= 0 or no site reported.
 */
void progress_coverage_fixed(const struct progress_coverage_row *rows, size_t n,
                             double target_population, struct progress_coverage *out);

/* ---- expansion ---------------------------------------------------------------------- */

enum progress_site_status {
    PROGRESS_SITE_PLANNED,
    PROGRESS_SITE_ACTIVE,
    PROGRESS_SITE_WITHDRAWN,
};

struct progress_site {
    int64_t site_id;
    int64_t region_id;
    bool has_adopted;
    int32_t adopted;
    enum progress_site_status status;
    bool has_withdrawn; /* a withdrawn site may say when it left */
    int32_t withdrawn;
    bool has_last_reported;
    int32_t last_reported; /* start of the latest period the site reported, as of the date */
};

/*
 * Whether a site is active at `date`: it has an adoption date on or before `date`; its
 * status is not planned; if withdrawn, its withdrawal date is after `date` (withdrawn with no
 * date: never active); and it reported a period starting on or after window_start
 * (progress_activity_window_start). A site with no adoption date (a planned site, a country
 * or region of the hierarchy) is never active.
 */
bool progress_site_active(const struct progress_site *site, int32_t date, int32_t window_start);

struct progress_expansion_count {
    size_t active_sites;
    size_t active_regions; /* distinct region_id among the active sites */
};

/* Counts active sites and regions with at least one (a site without a region counts in the
 * region 0). */
void progress_expansion_count(const struct progress_site *sites, size_t n, int32_t date,
                              int32_t window_start, struct progress_expansion_count *out);

/* Active sites at `date` in region `region_id`. */
size_t progress_expansion_region_sites(const struct progress_site *sites, size_t n,
                                       int64_t region_id, int32_t date, int32_t window_start);

/* ---- institutionalisation ----------------------------------------------------------- */

/* The latest score (0..4) of one roadmap item, if it has one yet. */
struct progress_item_score {
    bool has_score;
    double score;
};

struct progress_item_detail {
    const char *key; /* borrowed from the roadmap */
    bool has_score;  /* false: no score yet, counted as 0 */
    double score;
    int target;
    double ratio; /* min(score / target, 1), at least 0; 0 without a score */
    bool has_due;
    int32_t due;
    bool overdue; /* due before the date and ratio < 1 */
};

struct progress_institutionalisation {
    bool has_value; /* false while no item has a score (or the roadmap has none) */
    double value;   /* mean of the items' ratios */
    size_t items_scored;
    size_t items_unscored; /* counted as 0 in value */
};

/*
 * Institutionalisation at `date`: the mean over the roadmap's items of min(score / target, 1),
 * an item without a score counting 0 once another item has one; with no item scored yet there
 * is no value (missing, never 0 %). scores[i] belongs to inst->items[i]. details, when not
 * NULL, has room for inst->n_items entries and receives one per item (keys borrowed from
 * inst, valid while the roadmap lives).
 */
void progress_institutionalisation_evaluate(const struct roadmap_institutionalisation *inst,
                                            const struct progress_item_score *scores, int32_t date,
                                            struct progress_item_detail *details,
                                            struct progress_institutionalisation *out);

#endif /* SCALEUPD_PROGRESS_H */
