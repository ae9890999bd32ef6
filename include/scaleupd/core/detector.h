/*
 * The alerting detector of spc rules (docs/ARCHITECTURE.md, core): what pages, under a
 * false-alert budget, while charts keep showing Making Data Count's signals (core/spc.h).
 * Pure, O(1) state per series: a new point updates a small struct without the history.
 *
 * Method. Each series keeps a baseline of its current segment (centre = mean of the baseline
 * points; sigma = their standard deviation, each point winsorised at 3.5 sigma as it joins;
 * the moving ranges too, screened as the chart screens them, for the process limits an alert
 * shows), online: sums, not the points. A new point x is judged against the baseline as it
 * stands, n points with n - 1 degrees of freedom:
 *   t = (x - centre) / (sigma x sqrt(1 + allowance / n)): with the default allowance 1 the
 *   spread of a new point about an estimated centre (a prediction interval's 1 + 1/n);
 *   z = t turned into the normal deviate of the same tail (detector_normal_score, Wallace's
 *   approximation);
 *   for each side watched (the side of concern: low for a higher-is-better indicator, high
 *   for a lower-is-better one; both for "neither" or when improvement alerts too) a
 *   one-sided CUSUM  S = min(h, max(0, S + z' - k)), z' = -z for the low side, z for the high.
 * It alerts ("holds") when S reaches h, or at once when z is beyond 4 on a watched side
 * ("far outside the limits": a combined Shewhart-CUSUM). Once holding it holds while
 * S > release x h: a signal does not flap around h, S is capped at h so that a long shift does
 * not take as long to resolve as it lasted, and a side that stops holding starts again from 0
 * (no head start). Then x joins the baseline (unless it is fixed and full; after `lag` points
 * when a lag is set, 0 by default). Nothing alerts before the baseline has min_baseline points
 * (the chart's provisional limits): with the defaults the 13th point of a segment is the first
 * judged. A missing period is simply not fed: nothing moves, and the next moving range is
 * taken across the gap, as the chart does.
 *
 * Self-starting (Hawkins, "Self-starting CUSUM charts for location and scale", 1987; Hawkins
 * and Olwell, "Cumulative sum charts", ch. 7): with lag 0 and allowance 1, each point judged
 * against every point before it, the successive t of a normal series in control are
 * independent Student's t (recursive residuals), so the z are independent standard normals
 * to Wallace's approximation and the CUSUM runs as if mean and sigma were known, from the
 * first judged point on, whatever the baseline's length: the false alerts a year are the same
 * in every year of a series (bench/signals.sh prints them year by year over 120 months). A
 * baseline's error is not carried on: a centre that happens to lie high makes the next point
 * look low, but that point lowers the centre the one after is judged against.
 *
 * Why. Making Data Count's four rules, evaluated on every new point of every series, open
 * about 7 false alerts per 100 series-years (bench/signals.sh). A CUSUM is the fastest
 * detector of a sustained shift for a given in-control run length (Lorden, Moustakides), and
 * one number per side is its whole memory. With mean and sigma estimated from the series
 * itself, what loses most is their error. An earlier version had a point wait 6 points before it
 * joined the baseline (so that the baseline would not absorb a drift) and t was widened by
 * sqrt(1 + 4 / n) instead of sqrt(1 + 1 / n): then the points judged against one baseline
 * share its error, which a CUSUM adds up, and the widening made up for it on average over a
 * 60-month series but not year by year. Its h, calibrated on 60-month series of which it
 * watched 42, opened 1.68 per 100 series-years as the issue counts them, but 2.75, 2.50 and 2.38
 * per 100 series in years 3 to 5 and 2.36 a year in years 6 to 10 of 120 months: above the
 * budget for as long as a series is watched. (The baseline was not frozen: it grew with every
 * point; what the 60-month figure hid was the 18 months in which nothing is judged, and the
 * excess of the short baselines.) Each variant below had its h set so that no year from the
 * third to the tenth of 120 months opens more than 1.9 (100,000 series), then the -1.5 SD
 * shift from month 37 (mean months to detect, share within 12):
 *   lag 6, allowance 4 (the earlier version)               6.22   92 %
 *   lag 3 or 4, allowance 4 or 5                           6.07   92 %
 *   lag 6, h x (1 + c / n) or h x (1 + run / n)            6.2 to 6.5
 *   a point waits while S > 0 (conditional lag)            6.4 to 7.2
 *   sigma lagged 6, centre self-starting                   6.3
 *   the last w <= 12 points against all before them (a two-sample t, pooled sigma)  6.07  93 %
 *   self-starting, k 0.65                                  6.07   91 %
 *   (these two measured over 20,000 series, `--calibrate --seed 7`, h read off at 1.9:)
 *   Shiryaev-Roberts (the CUSUM's floor at 0 made soft, log(1 + e^S)), k 0.5, 0.6, 0.75
 *                                                          6.26, 6.12, 6.09
 *   sigma from the moving ranges (mean, or mean square), centre self-starting  6.65, 6.60
 *   mean and sigma known (the bound)                       4.81   99 %
 * Self-starting is as good as any and the only one whose false alerts do not depend on the
 * baseline's length (the others fall as it grows, so the budget is spent in the early years);
 * k 0.6 and the far point at 4 gain a few hundredths of a month over k 0.65 and 3.75 (k 0.5 to
 * 0.85 and far points of 3.5, 3.75, 4 or none measured), -3 SD is caught in 2.3 months. Sigma
 * from the moving ranges is less efficient than the standard deviation on a stable series
 * (about 60 %): it barely takes in a shift, but the extra spread of the stable points costs more
 * (0.4 months slower with the earlier version, 0.6 with the self-starting one); the moving
 * ranges are kept for the limits the chart and the alert show. What is left to the bound is
 * the estimation: a shift after 36 points is judged against a centre whose own error is 0.17
 * sigma, which the self-starting CUSUM pays as the shifted points join the baseline (the
 * two-sample statistic pays it as its 1 + w / n, the same to first order).
 *
 * Parameters from the budget (detector_params_for_budget). Siegmund's approximation of the
 * average run length of a one-sided CUSUM on N(delta, 1) points with reference k and interval
 * h (detector_siegmund_arl) is ARL = (exp(-2 D b) + 2 D b - 1) / (2 D^2), D = delta - k,
 * b = h + 1.166; 12 / ARL(0) is the false alerts per series-year with known mean and sigma,
 * which the self-starting CUSUM has (the table of core/detector.c is within 5 % of it, the far
 * point and re-opened alerts adding theirs). h comes from that table, measured by simulation
 * with the limits estimated as the evaluator estimates them (`bench/signals_bench --calibrate`:
 * stable normal series of 120 months, counted as core/alert_state.c opens alerts with for = 1
 * and resolve = 1, over years 3 to 10), interpolated in log(budget) at
 * DETECTOR_CALIBRATION_MARGIN (95 %) of the budget: a single year of 20,000 series moves by
 * about 5 % with the draw, and the budget is a bound, not a target. What a budget costs
 * (bench/signals.sh, 20,000 series, a sustained drift from month 37 on of 60-month series; the
 * false alerts in the worst of years 2 to 5 and over years 6 to 10 of 120 months; one side
 * watched):
 *
 *   budget         h     false alerts per 100 s-y         -1.5 SD shift       -3 SD   trend
 *   per 100 s-y          worst year   years    first     mean   within 12    mean    -0.3 SD/month
 *                        of 2 to 5    6 to 10  60 months                            mean
 *   0.5            5.19  0.54         0.47     0.35      8.0    83 %         2.9     7.9
 *   1              4.59  0.98         0.95     0.68      7.0    88 %         2.6     7.4
 *   1.5            4.23  1.49         1.47     1.02      6.4    91 %         2.4     7.1
 *   2 (default)    3.98  1.94         1.93     1.37      6.01   93 %         2.3     6.9
 *   3              3.63  2.90         2.92     2.09      5.5    95 %         2.2     6.6
 *   5              3.20  4.75         4.84     3.44      4.8    97 %         2.0     6.2
 *   plain MDC rule -     7.64         7.56     6.82      6.3    88 %         2.0     7.0   (for 1)
 *
 * (months to detect, the first drifted month counting 1.) The figure, over the first
 * 60 months of a series (of which nothing is judged in the first 12), is lower: 1.37 at
 * the default. The default meets the budget in every year and -3 SD, and detects -1.5 SD in
 * 6.01 months, at the 6 to the hundredth: no detector measured does better at
 * these false alerts.
 */
#ifndef SCALEUPD_DETECTOR_H
#define SCALEUPD_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/spc.h"

#define DETECTOR_DEFAULT_OUTSIDE 4.0     /* |z| beyond this alerts at once ("far outside") */
#define DETECTOR_WINSOR 3.5              /* a point joins the spread at most 3.5 sigma out */
#define DETECTOR_DEFAULT_BUDGET 0.02     /* false alerts per series-year (2 per 100) */
#define DETECTOR_CALIBRATION_MARGIN 0.95 /* h is chosen to open 95 % of the budget */
#define DETECTOR_DEFAULT_K 0.6           /* reference value, in sigmas */
#define DETECTOR_DEFAULT_RELEASE 0.5     /* a signal ends when S falls to release x h */
#define DETECTOR_MIN_BASELINE 12         /* SPC_SHORT_BASELINE: limits before are provisional */
#define DETECTOR_SCREEN_AFTER 11         /* moving ranges kept before screening starts */
#define DETECTOR_DEFAULT_LAG 0           /* a point joins the baseline once judged */
#define DETECTOR_DEFAULT_ALLOWANCE 1.0   /* t on sigma x sqrt(1 + 1 / n_baseline) */
#define DETECTOR_MAX_LAG 12              /* points that may wait to join the baseline */
#define DETECTOR_MAX_REBASE 8            /* re-baseline dates a params struct carries */

/* How one series is watched. Initialise with detector_params_init, then set what differs. */
struct detector_params {
    double k;              /* CUSUM reference value, in sigmas (> 0) */
    double h;              /* CUSUM decision interval, in sigmas (> 0) */
    double release;        /* in [0, 1): a holding signal ends when S <= release x h */
    double outside_sigmas; /* a point with z beyond this on a watched side alerts at once
                              (z: the normal deviate of t, see allowance); 0: never */
    bool watch_high;       /* alert on points above the centre line (high side) */
    bool watch_low;        /* alert on points below it */
    size_t lag;            /* points a point waits before it joins the baseline (<= MAX_LAG) */
    double allowance;      /* t = (x - centre) / (sigma x sqrt(1 + allowance / n_baseline)) */
    size_t min_baseline;   /* points in the baseline before anything alerts (>= 2) */
    size_t fix_after_n;    /* the baseline is the first n points of a segment; 0: all points */
    bool screen_outliers;
    /* re-baseline dates (days since 1970-01-01), any order: the first point on or after one
       starts a new segment with an empty baseline and statistics at 0 */
    int32_t rebase[DETECTOR_MAX_REBASE];
    size_t n_rebase;
};

/*
 * The state of one series: everything a new point needs. Plain data (no pointers), so the
 * evaluator can keep it in a row and copy it with memcpy; a zeroed struct is NOT valid, use
 * detector_reset.
 */
struct detector_state {
    int32_t last_day;     /* period start of the last point fed; INT32_MIN before the first */
    double last_value;    /* the last point fed */
    uint32_t n_points;    /* points of the current segment fed so far */
    uint32_t n_baseline;  /* of them, in the baseline */
    double sum;           /* sum of the baseline points */
    double last_baseline; /* the last point that joined the baseline */
    double waiting[DETECTOR_MAX_LAG]; /* points judged but not yet in the baseline, oldest first */
    uint32_t n_waiting;
    uint32_t n_all_ranges; /* moving ranges of the baseline, screened or not */
    double sum_all_ranges; /* their sum: the screening cut is 3.267 x their mean */
    uint32_t n_ranges;     /* moving ranges kept in the baseline */
    uint32_t n_screened;   /* moving ranges screened out */
    double sum_ranges;     /* sum of the kept moving ranges */
    double spread_mean;    /* mean of the baseline points as they joined the spread (winsorised) */
    double sum_squares;    /* their sum of squared deviations from it: sigma^2 x (n_baseline - 1) */
    double cusum_high;     /* S of the high side, in sigmas, in [0, h] */
    double cusum_low;      /* S of the low side */
    bool holding;          /* the last point held (the alert condition) */
    int8_t holding_side;   /* +1 high, -1 low, 0 when not holding */
    uint32_t held_points;  /* consecutive points that have held, the last included */
    int32_t holding_since; /* period start of the first of them; INT32_MIN when not holding */
};

enum detector_cause {
    DETECTOR_CAUSE_NONE,    /* common cause, or nothing to judge by yet */
    DETECTOR_CAUSE_OUTSIDE, /* z beyond outside_sigmas ("far outside"): alerts at once */
    DETECTOR_CAUSE_CUSUM,   /* the cumulative sum reached h (or has not yet fallen back) */
};

/* What one point showed. */
struct detector_result {
    bool holds;                /* alert: a watched side signals */
    enum detector_cause cause; /* why it holds (NONE when it does not) */
    int side;                  /* +1 high, -1 low, 0 when it does not hold */
    bool judged;               /* the baseline had min_baseline points and a sigma */
    double z;                  /* the normal deviate of t (see allowance); 0 when not judged or
                                  when sigma is 0 (then any point off the centre is outside) */
    double statistic;          /* S of the side that holds, else the larger watched S */
    double centre, sigma;      /* the baseline the point was judged against (sigma: its
                                  standard deviation) */
    double lower_limit, upper_limit; /* its process limits, centre -+ 2.66 mean mR (the
                                        chart's formula; what an alert shows, not its rule) */
};

enum detector_status {
    DETECTOR_OK,
    DETECTOR_SKIPPED,       /* the value is NaN or infinite: a missing value, state unchanged */
    DETECTOR_NEEDS_REBUILD, /* day is not after the last point's: a revision or a re-send of an
                               old period; rebuild from the history (state unchanged) */
    DETECTOR_ERR_ARGUMENT,  /* NULL pointer or invalid params */
};

/* Defaults: budget DETECTOR_DEFAULT_BUDGET (k 0.6, h from the table), release 0.5, far
   outside at 4, lag 0, allowance 1, low side watched (a higher-is-better indicator),
   baseline of all points, screening on, min_baseline 12, no re-baseline. */
void detector_params_init(struct detector_params *params);

/*
 * Which sides alert: the side of concern for SPC_DIRECTION_UP (low) and DOWN (high); both
 * for SPC_DIRECTION_NONE or when improvement alerts too (alert_on "any").
 */
void detector_params_watch(struct detector_params *params, enum spc_direction direction,
                           bool alert_improvement);

/*
 * Sets params->k and params->h (k = 0.6, h from the table at 95 % of the budget) for a
 * budget of false alerts per series-year, counted per series whatever the sides: with both sides
 * watched (set them first, detector_params_watch) each side gets half. The table (measured with the
 * default k, lag, allowance and far point) covers 0.048 to 11.4 false alerts per 100 series-years
 * a side, each year of a watched series; a budget outside it is clamped to it. Returns false
 * (params untouched) for a budget that is not a positive finite number, a NULL params or params
 * that watch no side.
 */
bool detector_params_for_budget(struct detector_params *params, double per_series_year)
    __attribute__((warn_unused_result));

/*
 * A programme's budget as expected false alerts a month over its n_series watched series,
 * turned into false alerts per series-year: 12 x per_month / n_series. Returns 0 when
 * n_series is 0 or per_month is not a positive finite number.
 */
double detector_budget_per_series_year(double per_month, size_t n_series);

/*
 * Siegmund's approximation of the average run length (points until S >= h, the signalling
 * one included) of a one-sided CUSUM with reference k and interval h, started at 0, on
 * N(shift, 1) points (shift in sigmas, toward the watched side). For reference and tables;
 * detector_params_for_budget uses the measured table.
 */
double detector_siegmund_arl(double k, double h, double shift);

/*
 * Student's t with dof degrees of freedom as the standard normal deviate of about the same
 * tail probability (Wallace's approximation, 1959: z = sign(t) sqrt(dof ln(1 + t^2 / dof)) x
 * (8 dof + 1) / (8 dof + 3)). What detector_update turns a point's t into; t itself when dof
 * is not positive.
 */
double detector_normal_score(double t, double dof);

/* An empty state: no point yet. */
void detector_reset(struct detector_state *state);

/*
 * Feeds the next reported point of the series (value for the period starting on day). The
 * point is judged against the baseline as it stands (the segment's points up to `lag` points
 * before it; result in *out, which may be NULL), then waits to join it. A day on or after a
 * re-baseline date later than the last point's starts a new segment first. DETECTOR_SKIPPED and
 * DETECTOR_NEEDS_REBUILD leave the state as it was and set *out to a result that does not hold.
 */
enum detector_status detector_update(struct detector_state *state,
                                     const struct detector_params *params, double value,
                                     int32_t day, struct detector_result *out)
    __attribute__((warn_unused_result));

/*
 * Rebuilds the state from a series' history, values[i] for the period starting days[i],
 * oldest first (only the reported periods; non-finite values are skipped like missing ones):
 * the same state, bit for bit, as detector_reset then detector_update of each point. For a
 * revision of an old period, a re-baseline or a rule change. *last (may be NULL) gets the
 * result of the last point fed (a result that does not hold when none was). Returns
 * DETECTOR_NEEDS_REBUILD when days are not strictly increasing (the state is then that of
 * the points before the first offending one), DETECTOR_ERR_ARGUMENT for NULL arrays with
 * n > 0 or invalid params.
 */
enum detector_status detector_rebuild(struct detector_state *state,
                                      const struct detector_params *params, const double *values,
                                      const int32_t *days, size_t n, struct detector_result *last)
    __attribute__((warn_unused_result));

/* "far below the mean (z -4.6)", "sustained shift below the mean (S 4.4)", "common cause
   variation", "provisional baseline": what a result shows, for an alert's summary. */
void detector_summary(const struct detector_result *result, char *buf, size_t size);

#define DETECTOR_KEY_MAX 256 /* a params key with every re-baseline date fits */

/*
 * A text that names the params and the layout of struct detector_state (its size and a
 * version): two params with the same key feed a state alike, so a stored state whose key is
 * not the one in force now (a rule, a budget or a direction that changed, a new daemon) is
 * rebuilt from the history. Writes at most size bytes, NUL-terminated.
 */
void detector_params_key(const struct detector_params *params, char *buf, size_t size);

/* "none", "outside", "cusum"; "unknown" if out of range. */
const char *detector_cause_name(enum detector_cause cause);

#endif /* SCALEUPD_DETECTOR_H */
