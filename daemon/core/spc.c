/*
 * XmR control charts: per-segment centre line and limits, the four special-cause signals,
 * improvement/concern classification and assurance, agreeing with NHSRplotthedots (ptd_spc).
 * Pure computation: owns nothing beyond the spc_result it hands to the caller.
 */
#include "scaleupd/core/spc.h"

#include "scaleupd/core/alloc.h"

#include <math.h>
#include <stdlib.h>

/* plotthedots: limitclose <- 2 * (limit / 3), computed the same way to agree to the bit. */
#define SPC_NEAR_FACTOR (2.0 * (SPC_LIMIT_FACTOR / 3.0))

/* Scratch space of one spc_compute call, one slot per point. */
struct spc_scratch {
    bool *segment_starts;   /* a segment starts at this point */
    double *moving_ranges;  /* moving ranges of the segment being computed */
    signed char *trend_way; /* +1 rising, -1 falling: the trend this point belongs to */
};

void spc_options_init(struct spc_options *options)
{
    *options = (struct spc_options){.screen_outliers = true, .direction = SPC_DIRECTION_NONE};
}

/* Mean as R's mean() computes it (long double sum, then one correction pass), so that a
   value that R sees exactly on the mean is on the mean here too. n >= 1. */
static double mean_of(const double *x, size_t n)
{
    long double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
    }
    long double mean = sum / (long double)n;
    long double correction = 0;
    for (size_t i = 0; i < n; i++) {
        correction += x[i] - mean;
    }
    return (double)(mean + correction / (long double)n);
}

static int sign_of(double x)
{
    return (x > 0) - (x < 0);
}

/* +1 above the centre line, -1 below, 0 exactly on it. */
static int side_of_mean(const struct spc_point *point)
{
    return sign_of(point->value - point->mean);
}

static bool is_outside(const struct spc_point *point)
{
    return point->has_limits &&
           (point->value > point->upper_limit || point->value < point->lower_limit);
}

/* Beyond a near limit (two sigma) but not beyond the process limit. */
static bool is_close(const struct spc_point *point)
{
    return point->has_limits && !is_outside(point) &&
           (point->value > point->upper_near || point->value < point->lower_near);
}

/*
 * Mean moving range of the baseline points base[0..n_baseline-1], screened when asked.
 * plotthedots keeps moving ranges < 3.267 x mean mR. When the mean mR is 0 (a flat baseline)
 * every moving range is 0 and nothing is screened: plotthedots would screen them all and end
 * with NaN limits; we let the limits collapse onto the mean instead.
 */
static double mean_moving_range(struct spc_segment *segment, const double *base, bool screen,
                                double *moving_ranges)
{
    size_t n_ranges = segment->n_baseline - 1;
    for (size_t i = 1; i < segment->n_baseline; i++) {
        moving_ranges[i - 1] = fabs(base[i] - base[i - 1]);
    }
    double mean_range = mean_of(moving_ranges, n_ranges);
    if (screen && mean_range > 0) {
        double cut = SPC_SCREEN_FACTOR * mean_range;
        size_t kept = 0;
        for (size_t i = 0; i < n_ranges; i++) {
            if (moving_ranges[i] < cut) {
                moving_ranges[kept++] = moving_ranges[i];
            }
        }
        /* kept >= 1: the smallest range is <= the mean < the cut */
        segment->n_screened = n_ranges - kept;
        n_ranges = kept;
        mean_range = mean_of(moving_ranges, n_ranges);
    }
    segment->n_moving_ranges = n_ranges;
    return mean_range;
}

/* Sets the centre line and limits of a segment whose first, n_points and n_baseline are set.
   Returns false when the values are so large that a limit is not finite. */
static bool segment_limits(struct spc_segment *segment, const double *values, bool screen,
                           double *moving_ranges)
{
    const double *base = values + segment->first;
    segment->mean = mean_of(base, segment->n_baseline);
    segment->has_limits = segment->n_baseline >= 2;
    segment->short_baseline = segment->n_baseline < SPC_SHORT_BASELINE;
    double mean_range = 0;
    if (segment->has_limits) {
        mean_range = mean_moving_range(segment, base, screen, moving_ranges);
    }
    segment->mean_moving_range = mean_range;
    segment->lower_limit = segment->mean - (SPC_LIMIT_FACTOR * mean_range);
    segment->upper_limit = segment->mean + (SPC_LIMIT_FACTOR * mean_range);
    segment->lower_near = segment->mean - (SPC_NEAR_FACTOR * mean_range);
    segment->upper_near = segment->mean + (SPC_NEAR_FACTOR * mean_range);
    return isfinite(segment->mean) && isfinite(segment->lower_limit) &&
           isfinite(segment->upper_limit);
}

/* Marks the segment starts and returns how many segments there are. n >= 1. */
static size_t find_segment_starts(bool *starts, size_t n, const struct spc_options *options)
{
    starts[0] = true;
    for (size_t i = 0; i < options->n_rebase; i++) {
        if (options->rebase_at[i] < n) {
            starts[options->rebase_at[i]] = true;
        }
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        count += starts[i];
    }
    return count;
}

/* Splits the points into segments (first, n_points, n_baseline set). */
static void split_segments(struct spc_result *result, const bool *starts, size_t fix_after_n)
{
    size_t s = 0;
    for (size_t i = 0; i < result->n_points; i++) {
        if (starts[i] && i > 0) {
            s++;
        }
        if (starts[i]) {
            result->segments[s].first = i;
        }
        result->segments[s].n_points++;
        result->points[i].segment = s;
    }
    for (s = 0; s < result->n_segments; s++) {
        struct spc_segment *segment = &result->segments[s];
        segment->n_baseline = segment->n_points;
        if (fix_after_n > 0 && fix_after_n < segment->n_points) {
            segment->n_baseline = fix_after_n;
        }
    }
}

/* Copies each segment's line and limits onto its points and flags points outside them. */
static void place_points(struct spc_result *result, const double *values)
{
    for (size_t i = 0; i < result->n_points; i++) {
        struct spc_point *point = &result->points[i];
        const struct spc_segment *segment = &result->segments[point->segment];
        point->value = values[i];
        point->has_limits = segment->has_limits;
        point->mean = segment->mean;
        point->lower_limit = segment->lower_limit;
        point->upper_limit = segment->upper_limit;
        point->lower_near = segment->lower_near;
        point->upper_near = segment->upper_near;
        if (is_outside(point)) {
            point->signals |= SPC_SIGNAL_OUTSIDE;
        }
    }
}

/* Shifts within one segment's points[0..n-1]: maximal runs of >= 7 points strictly on one side
   of the mean; a point on the mean ends a run and belongs to none. */
static void mark_shifts(struct spc_point *points, size_t n)
{
    size_t start = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && side_of_mean(&points[i]) == side_of_mean(&points[start])) {
            continue;
        }
        if (side_of_mean(&points[start]) != 0 && i - start >= SPC_RUN_LENGTH) {
            for (size_t k = start; k < i; k++) {
                points[k].signals |= SPC_SIGNAL_SHIFT;
            }
        }
        start = i;
    }
}

/*
 * Trends within one segment's points[0..n-1]: maximal runs of >= 7 points, each step strictly
 * rising (or each strictly falling); an equal step ends a run. A point where a rising run turns
 * into a falling one (or back) belongs to both; its trend_way is that of the run it starts, as
 * plotthedots takes "the right side". (plotthedots looks at the step to the next point even
 * when that step is flat and then calls the trend decreasing; only the run it starts counts
 * here.)
 */
static void mark_trends(struct spc_point *points, size_t n, signed char *trend_way)
{
    size_t start = 0;
    int way = 0;
    for (size_t i = 1; i <= n; i++) {
        int step = i < n ? sign_of(points[i].value - points[i - 1].value) : 0;
        if (i < n && step != 0 && step == way) {
            continue;
        }
        if (way != 0 && i - start >= SPC_RUN_LENGTH) {
            for (size_t k = start; k < i; k++) {
                points[k].signals |= SPC_SIGNAL_TREND;
                trend_way[k] = (signed char)way;
            }
        }
        start = i - 1;
        way = step;
    }
}

/* Two in three within one segment's points[0..n-1]: in any three consecutive points all
   strictly on one side of the mean with at least two close to the limits, the close ones. */
static void mark_two_in_three(struct spc_point *points, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++) {
        int side = side_of_mean(&points[i]);
        if (side == 0 || side_of_mean(&points[i + 1]) != side ||
            side_of_mean(&points[i + 2]) != side) {
            continue;
        }
        int close = is_close(&points[i]) + is_close(&points[i + 1]) + is_close(&points[i + 2]);
        if (close < 2) {
            continue;
        }
        for (size_t k = i; k < i + 3; k++) {
            if (is_close(&points[k])) {
                points[k].signals |= SPC_SIGNAL_TWO_IN_THREE;
            }
        }
    }
}

static enum spc_point_type type_for(int way, enum spc_direction direction)
{
    switch (direction) {
    case SPC_DIRECTION_UP:
        return way > 0 ? SPC_POINT_IMPROVEMENT_HIGH : SPC_POINT_CONCERN_LOW;
    case SPC_DIRECTION_DOWN:
        return way > 0 ? SPC_POINT_CONCERN_HIGH : SPC_POINT_IMPROVEMENT_LOW;
    case SPC_DIRECTION_NONE:
    default:
        return way > 0 ? SPC_POINT_NEUTRAL_HIGH : SPC_POINT_NEUTRAL_LOW;
    }
}

/* plotthedots' precedence: outside, then trend, then two in three, then shift. An outside
   point points the way of its side of the mean, a trend point the way of its trend. */
static void classify(struct spc_point *point, int trend_way, enum spc_direction direction)
{
    int way;
    if (point->signals & SPC_SIGNAL_OUTSIDE) {
        point->cause = SPC_SIGNAL_OUTSIDE;
        way = point->value > point->mean ? 1 : -1;
    } else if (point->signals & SPC_SIGNAL_TREND) {
        point->cause = SPC_SIGNAL_TREND;
        way = trend_way;
    } else if (point->signals & SPC_SIGNAL_TWO_IN_THREE) {
        point->cause = SPC_SIGNAL_TWO_IN_THREE;
        way = side_of_mean(point);
    } else if (point->signals & SPC_SIGNAL_SHIFT) {
        point->cause = SPC_SIGNAL_SHIFT;
        way = side_of_mean(point);
    } else {
        point->cause = SPC_SIGNAL_NONE;
        point->type = SPC_POINT_COMMON;
        return;
    }
    point->type = type_for(way, direction);
}

/* plotthedots compares the target with the last point's limits: above the upper limit the
   process can never reach it, below the lower one it always does (for "up"). */
static enum spc_assurance assurance_of(const struct spc_result *result,
                                       const struct spc_options *options)
{
    if (!options->has_target || options->direction == SPC_DIRECTION_NONE ||
        !result->last_has_limits) {
        return SPC_ASSURANCE_NONE;
    }
    const struct spc_segment *last = &result->segments[result->n_segments - 1];
    bool up = options->direction == SPC_DIRECTION_UP;
    if (options->target > last->upper_limit) {
        return up ? SPC_ASSURANCE_FAIL : SPC_ASSURANCE_PASS;
    }
    if (options->target < last->lower_limit) {
        return up ? SPC_ASSURANCE_PASS : SPC_ASSURANCE_FAIL;
    }
    return SPC_ASSURANCE_HIT_AND_MISS;
}

static bool scratch_alloc(struct spc_scratch *scratch, size_t n)
{
    scratch->segment_starts = xcalloc(n, sizeof *scratch->segment_starts);
    scratch->moving_ranges = xcalloc(n, sizeof *scratch->moving_ranges);
    scratch->trend_way = xcalloc(n, sizeof *scratch->trend_way);
    return scratch->segment_starts && scratch->moving_ranges && scratch->trend_way;
}

static void scratch_release(struct spc_scratch *scratch)
{
    free(scratch->segment_starts);
    free(scratch->moving_ranges);
    free(scratch->trend_way);
}

/* Signals and types of every point, segment by segment. */
static void find_signals(struct spc_result *result, signed char *trend_way,
                         enum spc_direction direction)
{
    for (size_t s = 0; s < result->n_segments; s++) {
        struct spc_point *points = &result->points[result->segments[s].first];
        size_t n = result->segments[s].n_points;
        mark_shifts(points, n);
        mark_trends(points, n, trend_way + result->segments[s].first);
        mark_two_in_three(points, n);
    }
    for (size_t i = 0; i < result->n_points; i++) {
        classify(&result->points[i], trend_way[i], direction);
    }
}

/* Fills a result that has n_points >= 1 and nothing else. */
static enum spc_status compute_chart(struct spc_result *result, const double *values,
                                     const struct spc_options *options)
{
    enum spc_status status = SPC_ERR_NO_MEMORY;
    size_t n = result->n_points;
    struct spc_scratch scratch = {0};
    if (!scratch_alloc(&scratch, n)) {
        goto out;
    }
    result->n_segments = find_segment_starts(scratch.segment_starts, n, options);
    result->points = xcalloc(n, sizeof *result->points);
    result->segments = xcalloc(result->n_segments, sizeof *result->segments);
    if (result->points == NULL || result->segments == NULL) {
        goto out;
    }
    split_segments(result, scratch.segment_starts, options->fix_after_n);
    for (size_t s = 0; s < result->n_segments; s++) {
        if (!segment_limits(&result->segments[s], values, options->screen_outliers,
                            scratch.moving_ranges)) {
            status = SPC_ERR_NOT_FINITE;
            goto out;
        }
    }
    place_points(result, values);
    find_signals(result, scratch.trend_way, options->direction);
    result->last_point_type = result->points[n - 1].type;
    result->last_has_limits = result->segments[result->n_segments - 1].has_limits;
    status = SPC_OK;
out:
    scratch_release(&scratch);
    return status;
}

static enum spc_status check_input(const double *values, size_t n,
                                   const struct spc_options *options)
{
    if ((values == NULL && n > 0) || (options->rebase_at == NULL && options->n_rebase > 0)) {
        return SPC_ERR_ARGUMENT;
    }
    if (options->direction != SPC_DIRECTION_NONE && options->direction != SPC_DIRECTION_UP &&
        options->direction != SPC_DIRECTION_DOWN) {
        return SPC_ERR_ARGUMENT;
    }
    if (options->has_target && !isfinite(options->target)) {
        return SPC_ERR_NOT_FINITE;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i])) {
            return SPC_ERR_NOT_FINITE;
        }
    }
    return SPC_OK;
}

enum spc_status spc_compute(const double *values, size_t n, const struct spc_options *options,
                            struct spc_result **out)
{
    if (out == NULL) {
        return SPC_ERR_ARGUMENT;
    }
    *out = NULL;
    struct spc_options defaults;
    if (options == NULL) {
        spc_options_init(&defaults);
        options = &defaults;
    }
    enum spc_status status = check_input(values, n, options);
    if (status != SPC_OK) {
        return status;
    }
    struct spc_result *result = xcalloc(1, sizeof *result);
    if (result == NULL) {
        return SPC_ERR_NO_MEMORY;
    }
    result->n_points = n;
    if (n > 0) {
        status = compute_chart(result, values, options);
        if (status != SPC_OK) {
            spc_result_free(&result);
            return status;
        }
    }
    result->assurance = assurance_of(result, options);
    *out = result;
    return SPC_OK;
}

void spc_result_free(struct spc_result **result)
{
    if (result == NULL || *result == NULL) {
        return;
    }
    free((*result)->points);
    free((*result)->segments);
    free(*result);
    *result = NULL;
}

const char *spc_point_type_name(enum spc_point_type type)
{
    switch (type) {
    case SPC_POINT_COMMON:
        return "common_cause";
    case SPC_POINT_IMPROVEMENT_HIGH:
    case SPC_POINT_IMPROVEMENT_LOW:
        return "special_cause_improvement";
    case SPC_POINT_CONCERN_HIGH:
    case SPC_POINT_CONCERN_LOW:
        return "special_cause_concern";
    case SPC_POINT_NEUTRAL_HIGH:
    case SPC_POINT_NEUTRAL_LOW:
        return "special_cause_neutral";
    }
    return "unknown";
}

const char *spc_point_type_side(enum spc_point_type type)
{
    switch (type) {
    case SPC_POINT_IMPROVEMENT_HIGH:
    case SPC_POINT_CONCERN_HIGH:
    case SPC_POINT_NEUTRAL_HIGH:
        return "high";
    case SPC_POINT_IMPROVEMENT_LOW:
    case SPC_POINT_CONCERN_LOW:
    case SPC_POINT_NEUTRAL_LOW:
        return "low";
    case SPC_POINT_COMMON:
        return NULL;
    }
    return NULL;
}

bool spc_point_type_is_concern(enum spc_point_type type)
{
    return type == SPC_POINT_CONCERN_HIGH || type == SPC_POINT_CONCERN_LOW;
}

const char *spc_signal_name(unsigned signal)
{
    switch (signal) {
    case SPC_SIGNAL_OUTSIDE:
        return "outside";
    case SPC_SIGNAL_SHIFT:
        return "shift";
    case SPC_SIGNAL_TREND:
        return "trend";
    case SPC_SIGNAL_TWO_IN_THREE:
        return "two_in_three";
    default:
        return "unknown";
    }
}

const char *spc_assurance_name(enum spc_assurance assurance)
{
    switch (assurance) {
    case SPC_ASSURANCE_NONE:
        return "none";
    case SPC_ASSURANCE_PASS:
        return "pass";
    case SPC_ASSURANCE_FAIL:
        return "fail";
    case SPC_ASSURANCE_HIT_AND_MISS:
        return "hit_and_miss";
    }
    return "unknown";
}

const char *spc_direction_name(enum spc_direction direction)
{
    switch (direction) {
    case SPC_DIRECTION_NONE:
        return "none";
    case SPC_DIRECTION_UP:
        return "up";
    case SPC_DIRECTION_DOWN:
        return "down";
    }
    return "unknown";
}

const char *spc_status_message(enum spc_status status)
{
    switch (status) {
    case SPC_OK:
        return "ok";
    case SPC_ERR_ARGUMENT:
        return "invalid argument";
    case SPC_ERR_NOT_FINITE:
        return "value or limit is not finite";
    case SPC_ERR_NO_MEMORY:
        return "out of memory";
    }
    return "unknown status";
}
