/* The alerting detector of spc rules: an online XmR baseline, a one-sided CUSUM per watched
 * side and the point far outside, with O(1) state per series, and the parameters that follow
 * from a false-alert budget (include/scaleupd/core/detector.h says the method and why;
 * docs/ARCHITECTURE.md, core). Pure: owns nothing. */
#include "scaleupd/core/detector.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * h against the false alerts it costs (per 100 series-years, one side watched) at the default
 * k (0.6), lag (0), allowance (1) and far point (4), measured by
 * `bench/signals_bench --calibrate --series 50000 --seed 7` (not the comparison's seed):
 * stable normal series of 120 months, mean and sigma estimated from each series as the
 * evaluator does, alerts counted as core/alert_state.c opens them with for 1, resolve 1, over
 * years 3 to 10 (a series watched the whole year; the first has nothing judged, the second
 * starts from S = 0). Decreasing in false alerts, increasing in h. The far point alone costs
 * about 0.05: the table stops there.
 */
static const struct {
    double per_100; /* false alerts per 100 series-years */
    double h;
} budget_table[] = {
    {11.389, 2.50}, {8.309, 2.75}, {6.112, 3.00}, {4.489, 3.25}, {3.327, 3.50},
    {2.484, 3.75},  {1.859, 4.00}, {1.389, 4.25}, {1.059, 4.50}, {0.788, 4.75},
    {0.593, 5.00},  {0.445, 5.25}, {0.340, 5.50}, {0.263, 5.75}, {0.201, 6.00},
    {0.156, 6.25},  {0.129, 6.50}, {0.102, 6.75}, {0.086, 7.00}, {0.076, 7.25},
    {0.068, 7.50},  {0.059, 7.75}, {0.054, 8.00}, {0.051, 8.25}, {0.048, 8.50},
};
#define BUDGET_ROWS (sizeof(budget_table) / sizeof(budget_table[0]))

void detector_params_init(struct detector_params *params)
{
    *params = (struct detector_params){.k = DETECTOR_DEFAULT_K,
                                       .release = DETECTOR_DEFAULT_RELEASE,
                                       .outside_sigmas = DETECTOR_DEFAULT_OUTSIDE,
                                       .watch_low = true,
                                       .min_baseline = DETECTOR_MIN_BASELINE,
                                       .lag = DETECTOR_DEFAULT_LAG,
                                       .allowance = DETECTOR_DEFAULT_ALLOWANCE,
                                       .screen_outliers = true};
    bool ok = detector_params_for_budget(params, DETECTOR_DEFAULT_BUDGET);
    (void)ok; /* the default budget lies in the table */
}

void detector_params_watch(struct detector_params *params, enum spc_direction direction,
                           bool alert_improvement)
{
    bool both = direction == SPC_DIRECTION_NONE || alert_improvement;
    params->watch_low = both || direction == SPC_DIRECTION_UP;
    params->watch_high = both || direction == SPC_DIRECTION_DOWN;
}

/* h for a budget of false alerts per 100 series-years on one side: the h whose measured
   figure is DETECTOR_CALIBRATION_MARGIN of the budget, linear in log between the rows of the
   table, clamped at its ends. */
static double h_for_budget(double budget_per_100)
{
    double per_100 = DETECTOR_CALIBRATION_MARGIN * budget_per_100;
    if (per_100 >= budget_table[0].per_100)
        return budget_table[0].h;
    for (size_t i = 1; i < BUDGET_ROWS; i++) {
        if (per_100 >= budget_table[i].per_100) {
            double x0 = log(budget_table[i - 1].per_100), x1 = log(budget_table[i].per_100);
            double t = (log(per_100) - x0) / (x1 - x0);
            return budget_table[i - 1].h + t * (budget_table[i].h - budget_table[i - 1].h);
        }
    }
    return budget_table[BUDGET_ROWS - 1].h;
}

bool detector_params_for_budget(struct detector_params *params, double per_series_year)
{
    if (params == NULL || !isfinite(per_series_year) || per_series_year <= 0 ||
        (!params->watch_low && !params->watch_high))
        return false;
    double sides = params->watch_low && params->watch_high ? 2 : 1;
    params->k = DETECTOR_DEFAULT_K;
    params->h = h_for_budget(100 * per_series_year / sides);
    return true;
}

double detector_budget_per_series_year(double per_month, size_t n_series)
{
    if (n_series == 0 || !isfinite(per_month) || per_month <= 0)
        return 0;
    return 12 * per_month / (double)n_series;
}

double detector_siegmund_arl(double k, double h, double shift)
{
    double d = shift - k, b = h + 1.166;
    if (fabs(d) < 1e-9)
        return b * b;
    return (exp(-2 * d * b) + 2 * d * b - 1) / (2 * d * d);
}

void detector_reset(struct detector_state *state)
{
    memset(state, 0, sizeof(*state));
    state->last_day = INT32_MIN;
    state->holding_since = INT32_MIN;
}

static bool params_valid(const struct detector_params *p)
{
    return p != NULL && isfinite(p->k) && p->k > 0 && isfinite(p->h) && p->h > 0 &&
           p->release >= 0 && p->release < 1 && p->min_baseline >= 2 &&
           isfinite(p->outside_sigmas) && p->outside_sigmas >= 0 &&
           p->n_rebase <= DETECTOR_MAX_REBASE && p->lag <= DETECTOR_MAX_LAG;
}

/* A new segment starts at day: a re-baseline date lies in (last_day, day]. */
static bool starts_segment(const struct detector_state *s, const struct detector_params *p,
                           int32_t day)
{
    for (size_t r = 0; r < p->n_rebase; r++)
        if (s->last_day != INT32_MIN && p->rebase[r] > s->last_day && p->rebase[r] <= day)
            return true;
    return false;
}

/* Empties the baseline and the statistics (a new segment); the last point stays known but
   no moving range is taken across a re-baseline. */
static void new_segment(struct detector_state *s)
{
    int32_t last_day = s->last_day;
    double last_value = s->last_value;
    detector_reset(s);
    s->last_day = last_day;
    s->last_value = last_value;
}

/* The baseline the point is judged against: false when it cannot judge yet. sigma is the
   standard deviation of the (winsorised) baseline points; the limits are the chart's. */
static bool baseline_of(const struct detector_state *s, const struct detector_params *p,
                        struct detector_result *out)
{
    if (s->n_baseline == 0)
        return false;
    out->centre = s->sum / s->n_baseline;
    double mean_range = s->n_ranges > 0 ? s->sum_ranges / s->n_ranges : 0;
    out->sigma = s->n_baseline > 1 ? sqrt(s->sum_squares / (s->n_baseline - 1)) : 0;
    out->lower_limit = out->centre - SPC_LIMIT_FACTOR * mean_range;
    out->upper_limit = out->centre + SPC_LIMIT_FACTOR * mean_range;
    return s->n_baseline >= p->min_baseline && s->n_baseline > 1;
}

double detector_normal_score(double t, double dof)
{
    if (!(dof > 0) || !isfinite(t))
        return t;
    double z = sqrt(dof * log1p(t * t / dof)) * (8 * dof + 1) / (8 * dof + 3);
    return t < 0 ? -z : z;
}

/* One side's CUSUM step: z toward the side, capped at h. */
static double cusum_step(double statistic, double toward, const struct detector_params *p)
{
    double next = statistic + toward - p->k;
    if (next < 0)
        next = 0;
    return next > p->h ? p->h : next;
}

/* The side that holds: the one already holding keeps precedence, then the only one that
   signals, then the larger S. 0 when neither signals. */
static int pick_side(bool high, bool low, int was, double cusum_high, double cusum_low)
{
    if (high && (was > 0 || !low))
        return 1;
    if (low && (was < 0 || !high))
        return -1;
    if (high && low)
        return cusum_high >= cusum_low ? 1 : -1;
    return 0;
}

/* Steps the statistics with the point and decides whether a watched side holds. */
static void judge(struct detector_state *s, const struct detector_params *p, double value,
                  struct detector_result *out)
{
    bool high_outside = false, low_outside = false;
    if (out->sigma > 0) {
        double spread = out->sigma * sqrt(1 + p->allowance / s->n_baseline);
        out->z = detector_normal_score((value - out->centre) / spread, s->n_baseline - 1.0);
        s->cusum_high = cusum_step(s->cusum_high, out->z, p);
        s->cusum_low = cusum_step(s->cusum_low, -out->z, p);
        high_outside = out->z > p->outside_sigmas;
        low_outside = out->z < -p->outside_sigmas;
    } else { /* a flat baseline: any point off the centre is outside */
        high_outside = value > out->centre;
        low_outside = value < out->centre;
    }
    high_outside = high_outside && p->outside_sigmas > 0 && p->watch_high;
    low_outside = low_outside && p->outside_sigmas > 0 && p->watch_low;
    int was = s->holding ? s->holding_side : 0;
    double keep = p->release * p->h;
    bool high_cusum = p->watch_high && (s->cusum_high >= p->h || (was > 0 && s->cusum_high > keep));
    bool low_cusum = p->watch_low && (s->cusum_low >= p->h || (was < 0 && s->cusum_low > keep));
    int side = pick_side(high_outside || high_cusum, low_outside || low_cusum, was, s->cusum_high,
                         s->cusum_low);
    out->holds = side != 0;
    out->side = side;
    if (was > 0 && side <= 0)
        s->cusum_high = 0; /* a signal that ends starts its side afresh */
    if (was < 0 && side >= 0)
        s->cusum_low = 0;
    if ((side > 0 && high_outside) || (side < 0 && low_outside))
        out->cause = DETECTOR_CAUSE_OUTSIDE;
    else if (side != 0)
        out->cause = DETECTOR_CAUSE_CUSUM;
    double high = p->watch_high ? s->cusum_high : 0, low = p->watch_low ? s->cusum_low : 0;
    out->statistic = side > 0 ? s->cusum_high : side < 0 ? s->cusum_low : high > low ? high : low;
}

/* The point's share of the baseline's spread (Welford's update of the mean and the sum of
   squared deviations): once the baseline has min_baseline points and screening is on, it is
   winsorised at DETECTOR_WINSOR standard deviations from the mean, so that one outlier does
   not widen the spread for years (the chart screens moving ranges for the same reason). */
static void join_spread(struct detector_state *s, const struct detector_params *p, double value)
{
    if (p->screen_outliers && s->n_baseline >= p->min_baseline && s->n_baseline > 1) {
        double sd = sqrt(s->sum_squares / (s->n_baseline - 1));
        double lo = s->spread_mean - DETECTOR_WINSOR * sd,
               hi = s->spread_mean + DETECTOR_WINSOR * sd;
        value = value < lo ? lo : value > hi ? hi : value;
    }
    double before = value - s->spread_mean;
    s->spread_mean += before / (s->n_baseline + 1);
    s->sum_squares += before * (value - s->spread_mean);
}

/* The point joins the baseline (unless it is fixed and full): its value, its share of the
   spread, and its moving range with the previous baseline point (the chart's limits),
   screened once enough ranges are kept. */
static void join_baseline(struct detector_state *s, const struct detector_params *p, double value)
{
    if (p->fix_after_n > 0 && s->n_baseline >= p->fix_after_n)
        return;
    join_spread(s, p, value);
    if (s->n_baseline > 0) {
        /* as the chart screens: against 3.267 x the mean of every moving range, screened or
           not, once enough are known */
        double range = fabs(value - s->last_baseline);
        s->n_all_ranges++;
        s->sum_all_ranges += range;
        bool screened = p->screen_outliers && s->n_all_ranges > DETECTOR_SCREEN_AFTER &&
                        range >= SPC_SCREEN_FACTOR * (s->sum_all_ranges / s->n_all_ranges);
        if (screened) {
            s->n_screened++;
        } else {
            s->n_ranges++;
            s->sum_ranges += range;
        }
    }
    s->n_baseline++;
    s->sum += value;
    s->last_baseline = value;
}

/* The point waits params->lag points before it joins the baseline, so that the baseline
   does not absorb the drift it is there to detect. */
static void absorb(struct detector_state *s, const struct detector_params *p, double value)
{
    if (p->lag == 0) {
        join_baseline(s, p, value);
        return;
    }
    if (s->n_waiting == p->lag) {
        join_baseline(s, p, s->waiting[0]);
        memmove(s->waiting, s->waiting + 1, (p->lag - 1) * sizeof(s->waiting[0]));
        s->n_waiting--;
    }
    s->waiting[s->n_waiting++] = value;
}

static void quiet_result(struct detector_result *out)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
}

enum detector_status detector_update(struct detector_state *state,
                                     const struct detector_params *params, double value,
                                     int32_t day, struct detector_result *out)
{
    quiet_result(out);
    if (state == NULL || !params_valid(params))
        return DETECTOR_ERR_ARGUMENT;
    if (!isfinite(value))
        return DETECTOR_SKIPPED;
    if (state->last_day != INT32_MIN && day <= state->last_day)
        return DETECTOR_NEEDS_REBUILD;
    if (starts_segment(state, params, day))
        new_segment(state);
    struct detector_result r;
    memset(&r, 0, sizeof(r));
    r.judged = baseline_of(state, params, &r);
    if (r.judged)
        judge(state, params, value, &r);
    if (r.holds && !state->holding)
        state->holding_since = day;
    state->held_points = r.holds ? state->held_points + 1 : 0;
    if (!r.holds)
        state->holding_since = INT32_MIN;
    state->holding = r.holds;
    state->holding_side = (int8_t)r.side;
    absorb(state, params, value);
    state->n_points++;
    state->last_value = value;
    state->last_day = day;
    if (out != NULL)
        *out = r;
    return DETECTOR_OK;
}

enum detector_status detector_rebuild(struct detector_state *state,
                                      const struct detector_params *params, const double *values,
                                      const int32_t *days, size_t n, struct detector_result *last)
{
    quiet_result(last);
    if (state == NULL || !params_valid(params) || (n > 0 && (values == NULL || days == NULL)))
        return DETECTOR_ERR_ARGUMENT;
    detector_reset(state);
    for (size_t i = 0; i < n; i++) {
        struct detector_result r;
        enum detector_status st = detector_update(state, params, values[i], days[i], &r);
        if (st == DETECTOR_NEEDS_REBUILD)
            return st;
        if (st == DETECTOR_OK && last != NULL)
            *last = r;
    }
    return DETECTOR_OK;
}

void detector_summary(const struct detector_result *r, char *buf, size_t size)
{
    const char *way = r->side > 0 ? "above" : "below";
    if (!r->judged)
        snprintf(buf, size, "provisional baseline");
    else if (r->cause == DETECTOR_CAUSE_OUTSIDE)
        snprintf(buf, size, "far %s the mean (z %.1f)", way, r->z);
    else if (r->cause == DETECTOR_CAUSE_CUSUM)
        snprintf(buf, size, "sustained shift %s the mean (S %.1f)", way, r->statistic);
    else
        snprintf(buf, size, "common cause variation");
}

/* Bumped when the meaning of a field of struct detector_state changes with its size kept. */
#define DETECTOR_STATE_VERSION 2 /* 2: sigma is the baseline's standard deviation */

void detector_params_key(const struct detector_params *p, char *buf, size_t size)
{
    int len = snprintf(buf, size,
                       "v%d/%zu k%.17g h%.17g r%.17g o%.17g w%d%d lag%zu a%.17g m%zu f%zu s%d b",
                       DETECTOR_STATE_VERSION, sizeof(struct detector_state), p->k, p->h,
                       p->release, p->outside_sigmas, p->watch_high, p->watch_low, p->lag,
                       p->allowance, p->min_baseline, p->fix_after_n, p->screen_outliers);
    for (size_t r = 0; r < p->n_rebase && r < DETECTOR_MAX_REBASE; r++) {
        if (len < 0 || (size_t)len >= size)
            return;
        len += snprintf(buf + len, size - (size_t)len, ",%ld", (long)p->rebase[r]);
    }
}

const char *detector_cause_name(enum detector_cause cause)
{
    static const char *const names[] = {"none", "outside", "cusum"};
    if ((unsigned)cause >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[cause];
}
