/*
 * Statistical process control on an XmR (individuals) chart, as NHS England's "Making Data
 * Count" programme reads it and as the NHS-R community's NHSRplotthedots package (ptd_spc)
 * computes it: centre line, process limits, the four special-cause signals, improvement or
 * concern by the indicator's direction, and assurance against a target. Pure computation on
 * an array of values; no I/O. The README's "Alerts" section
 * says what a user sees of it.
 */
#ifndef SCALEUPD_SPC_H
#define SCALEUPD_SPC_H

#include <stdbool.h>
#include <stddef.h>

/* Constants of the method, as in NHSRplotthedots. */
#define SPC_LIMIT_FACTOR 2.66   /* process limits: mean +- 2.66 x mean moving range */
#define SPC_SCREEN_FACTOR 3.267 /* moving ranges >= 3.267 x mean mR are screened out */
#define SPC_RUN_LENGTH 7        /* points in a shift or a trend */
#define SPC_SHORT_BASELINE 12   /* baselines shorter than this are provisional */

/* Which way is better for the indicator. */
enum spc_direction {
    SPC_DIRECTION_NONE, /* neither: special causes are neutral */
    SPC_DIRECTION_UP,   /* higher is better */
    SPC_DIRECTION_DOWN, /* lower is better */
};

/*
 * Special-cause signals, one bit each, combined in spc_point.signals. A point carries the bit
 * of every pattern it is part of.
 */
enum spc_signal {
    SPC_SIGNAL_NONE = 0,
    SPC_SIGNAL_OUTSIDE = 1u << 0,      /* the point is beyond a process limit */
    SPC_SIGNAL_SHIFT = 1u << 1,        /* one of >= 7 consecutive points on one side of the mean */
    SPC_SIGNAL_TREND = 1u << 2,        /* one of >= 7 consecutive points, each strictly above
                                          (or each strictly below) the one before */
    SPC_SIGNAL_TWO_IN_THREE = 1u << 3, /* close to a limit, and with another close point among
                                          three consecutive points all on its side of the mean */
};
#define SPC_SIGNAL_KINDS 4 /* the bits above are 1u << 0 .. 1u << (SPC_SIGNAL_KINDS - 1) */

/*
 * The variation a point shows (plotthedots' point_type). HIGH and LOW say which way the
 * special cause points: above or below the mean for a point outside the limits, a two in
 * three or a shift; rising or falling for a trend. With SPC_DIRECTION_UP improvement is
 * always HIGH and concern LOW; with SPC_DIRECTION_DOWN the other way round.
 */
enum spc_point_type {
    SPC_POINT_COMMON,
    SPC_POINT_IMPROVEMENT_HIGH,
    SPC_POINT_IMPROVEMENT_LOW,
    SPC_POINT_CONCERN_HIGH,
    SPC_POINT_CONCERN_LOW,
    SPC_POINT_NEUTRAL_HIGH,
    SPC_POINT_NEUTRAL_LOW,
};

/* Whether the process, as its latest limits stand, meets a target ("assurance"). */
enum spc_assurance {
    SPC_ASSURANCE_NONE,         /* no target, no direction, or no limits to judge by */
    SPC_ASSURANCE_PASS,         /* the whole band between the limits meets the target */
    SPC_ASSURANCE_FAIL,         /* the whole band misses it */
    SPC_ASSURANCE_HIT_AND_MISS, /* the target lies between the limits (or on one) */
};

enum spc_status {
    SPC_OK,
    SPC_ERR_ARGUMENT,   /* NULL pointer where one is required, or a direction out of range */
    SPC_ERR_NOT_FINITE, /* a value, or the target when has_target, is NaN or infinite, or the
                           values are so large (~1e308) that a limit overflows */
    SPC_ERR_NO_MEMORY,
};

/*
 * How to compute a chart. Initialise with spc_options_init, then set what differs.
 * rebase_at is borrowed for the duration of spc_compute only.
 */
struct spc_options {
    /*
     * Baseline = the first fix_after_n points of each segment; 0 = every point of the segment.
     * Larger than a segment means the whole segment. (plotthedots refuses values below 12;
     * we accept any and report a provisional baseline through spc_segment.short_baseline.)
     */
    size_t fix_after_n;
    /*
     * Indices of the points where a new segment (its own mean and limits) starts: the first
     * reported period on or after a re-baseline date. Any order; duplicates, 0 and indices
     * >= n change nothing.
     */
    const size_t *rebase_at;
    size_t n_rebase;
    bool screen_outliers; /* screen out large moving ranges (default true) */
    enum spc_direction direction;
    bool has_target;
    double target;
};

/* One point of the chart. The limit fields repeat those of the point's segment. */
struct spc_point {
    double value;
    size_t segment;                  /* index into spc_result.segments */
    bool has_limits;                 /* false: the limit fields equal mean and mean nothing */
    double mean;                     /* centre line */
    double lower_limit, upper_limit; /* process limits, mean -+ 2.66 mR */
    double lower_near, upper_near;   /* "close to the limits" beyond these (two sigma) */
    unsigned signals;                /* enum spc_signal bits */
    enum spc_signal cause;           /* the signal that decided type; NONE when common cause */
    enum spc_point_type type;
};

/* One segment: the points from one re-baseline (or the start) to the next. */
struct spc_segment {
    size_t first;             /* index of its first point */
    size_t n_points;          /* >= 1 */
    size_t n_baseline;        /* points that set the mean and limits: min(fix, n_points) */
    size_t n_moving_ranges;   /* moving ranges in the mean mR, after screening */
    size_t n_screened;        /* moving ranges screened out */
    bool has_limits;          /* n_baseline >= 2 */
    bool short_baseline;      /* n_baseline < SPC_SHORT_BASELINE: limits are provisional */
    double mean;              /* mean of the baseline points */
    double mean_moving_range; /* 0 when !has_limits */
    double lower_limit, upper_limit;
    double lower_near, upper_near;
};

struct spc_result {
    size_t n_points; /* the n given to spc_compute */
    struct spc_point *points;
    size_t n_segments; /* 0 when n_points is 0 */
    struct spc_segment *segments;
    /* the latest point's variation (SPC_POINT_COMMON when there are no points): what an
       alert rule and the dashboard's variation icon use */
    enum spc_point_type last_point_type;
    bool last_has_limits;         /* the last segment has limits (false when there are no points) */
    enum spc_assurance assurance; /* judged by the last segment's limits */
};

/* Fills *options with the defaults: all points in the baseline, no re-baseline, outlier
   screening on, no direction, no target. */
void spc_options_init(struct spc_options *options);

/*
 * Computes the chart of values[0..n-1]: only the reported periods, oldest first (a missing
 * period is simply absent, never a zero). n may be 0; values may be NULL only then.
 *
 * The method (per segment): mean of the baseline points; moving ranges |x_i - x_(i-1)|
 * between consecutive baseline points of the segment (never across a re-baseline); when
 * screening, those >= 3.267 x their mean are dropped and the mean recomputed once; limits
 * mean -+ 2.66 x mean mR; "near" limits mean -+ (2/3) x 2.66 x mean mR. The limits apply to
 * every point of the segment. Signals, each within one segment: outside (strictly beyond a
 * limit); shift (>= 7 consecutive points strictly on one side of the mean; a point on the mean
 * breaks it); trend (>= 7 consecutive points each strictly above, or each strictly below, the
 * one before; an equal value breaks it); two in three (of three consecutive points all
 * strictly on one side of the mean, at least two are close to the limits, i.e. beyond the near
 * limit and not outside; the close ones are marked). A segment without limits (one baseline
 * point) can still show shifts and trends. A point in several patterns takes its type from
 * the first of outside, trend, two in three, shift (plotthedots' precedence).
 *
 * On SPC_OK *out is a new result that the caller frees with spc_result_free; on any other
 * status *out is set to NULL (when out is not NULL) and nothing is allocated.
 */
__attribute__((warn_unused_result)) enum spc_status spc_compute(const double *values, size_t n,
                                                                const struct spc_options *options,
                                                                struct spc_result **out);

/* Frees a result from spc_compute and sets *result to NULL. NULL or *NULL is a no-op. */
void spc_result_free(struct spc_result **result);

/*
 * Stable lower-case names for JSON, static strings:
 * spc_point_type_name: "common_cause", "special_cause_improvement", "special_cause_concern",
 *   "special_cause_neutral" (the side is separate); "unknown" if out of range.
 * spc_point_type_side: "high", "low", or NULL for SPC_POINT_COMMON and out-of-range values.
 * spc_signal_name: "outside", "shift", "trend", "two_in_three" for one bit; "unknown" for 0,
 *   several bits or an unknown bit.
 * spc_assurance_name: "none", "pass", "fail", "hit_and_miss"; "unknown" if out of range.
 * spc_direction_name: "none", "up", "down"; "unknown" if out of range.
 * spc_status_message: a lower-case sentence fragment for logs ("value or limit is not finite").
 */
const char *spc_point_type_name(enum spc_point_type type);
const char *spc_point_type_side(enum spc_point_type type);
const char *spc_signal_name(unsigned signal);
const char *spc_assurance_name(enum spc_assurance assurance);
const char *spc_direction_name(enum spc_direction direction);
const char *spc_status_message(enum spc_status status);

/* Whether a point type is a special cause of concern (what an spc rule alerts on by default). */
bool spc_point_type_is_concern(enum spc_point_type type);

#endif /* SCALEUPD_SPC_H */
