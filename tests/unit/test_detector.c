/* The alerting detector (core/detector.c): a worked CUSUM example step by step, incremental
 * state equal to the state rebuilt from the history, missing periods, the point far outside
 * the limits, the directions, re-baselines, and the parameters that follow from a budget. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "scaleupd/core/detector.h"

#define MONTH 31 /* days between the periods of these series (only the order matters) */

static bool states_equal(const struct detector_state *a, const struct detector_state *b)
{
    return a->last_day == b->last_day && a->last_value == b->last_value &&
           a->n_points == b->n_points && a->n_baseline == b->n_baseline && a->sum == b->sum &&
           a->n_all_ranges == b->n_all_ranges && a->sum_all_ranges == b->sum_all_ranges &&
           a->n_ranges == b->n_ranges && a->n_screened == b->n_screened &&
           a->sum_ranges == b->sum_ranges && a->spread_mean == b->spread_mean &&
           a->sum_squares == b->sum_squares && a->cusum_high == b->cusum_high &&
           a->cusum_low == b->cusum_low && a->holding == b->holding &&
           a->holding_side == b->holding_side && a->held_points == b->held_points &&
           a->holding_since == b->holding_since && a->last_baseline == b->last_baseline &&
           a->n_waiting == b->n_waiting &&
           memcmp(a->waiting, b->waiting, a->n_waiting * sizeof(a->waiting[0])) == 0;
}

/* Small parameters for hand computation: k 0.5, h 2.99, release at 1.495, 4 sigma at once, the
   baseline fixed after its first 3 points, the low side watched (higher is better). */
static void worked_params(struct detector_params *p)
{
    detector_params_init(p);
    p->k = 0.5;
    p->h = 2.99; /* not 3: the cap shows */
    p->release = 0.5;
    p->outside_sigmas = 4;
    p->min_baseline = 3;
    p->fix_after_n = 3;
    p->lag = 0;       /* each point joins the baseline at once */
    p->allowance = 0; /* t on the baseline's sigma as it is */
    detector_params_watch(p, SPC_DIRECTION_UP, false);
}

/* Wallace's normal deviate of Student's t (the formula of core/detector.h, written out here
   on its own so that the detector's is checked against it, not against itself). */
static double wallace(double t, double dof)
{
    double z = sqrt(dof * log(1 + t * t / dof)) * (8 * dof + 1) / (8 * dof + 3);
    return t < 0 ? -z : z;
}

struct worked_step {
    double value;
    bool judged, holds;
    enum detector_cause cause;
    double z, cusum_low;
};

/*
 * Baseline: 9, 11, 13 -> centre 11, sigma = sqrt(((-2)^2 + 0^2 + 2^2) / 2) = 2, with 2 degrees
 * of freedom. A point's t = (x - 11) / 2 is turned into z = sign(t) sqrt(2 ln(1 + t^2 / 2))
 * x 17 / 19 (Wallace, 2 degrees of freedom: a t far out is far less unusual than a z), then
 * S = min(2.99, max(0, S - z - 0.5)) on the low side:
 *   x =   10  t -0.5    z -0.434262  S = 0 (0.434262 - 0.5 < 0)
 *   x =    9  t -1      z -0.805725  S = 0.305725
 *   x =    8  t -1.5    z -1.098576  S = 0.305725 + 1.098576 - 0.5 = 0.904302
 *   x =    7  t -2      z -1.326272  S = 1.730574
 *   x =    5  t -3      z -1.652116  S = 2.882689
 *   x =    5  t -3      z -1.652116  S = 4.034805, capped at h = 2.99: holds (cusum)
 *   x =   11  t  0      z  0         S = 2.49 > 1.495: still holds (hysteresis)
 *   x =   11  t  0      z  0         S = 1.99: still holds
 *   x =   12  t  0.5    z  0.434262  S = 1.055738 <= 1.495: released, S starts afresh at 0
 *   x = -500  t -255.5  z -4.079319  beyond 4: holds at once (outside); S = min(2.99, 3.579319)
 *   x =   10  t -0.5    z -0.434262  S = 2.99 + 0.434262 - 0.5 = 2.924262: holds (cusum)
 * With 3 baseline points only a point 250 sigmas out is "far": the baseline's own error.
 */
static const struct worked_step worked[] = {
    {9, false, false, DETECTOR_CAUSE_NONE, 0, 0},
    {11, false, false, DETECTOR_CAUSE_NONE, 0, 0},
    {13, false, false, DETECTOR_CAUSE_NONE, 0, 0}, /* two points: short of min_baseline */
    {10, true, false, DETECTOR_CAUSE_NONE, -0.434262, 0},
    {9, true, false, DETECTOR_CAUSE_NONE, -0.805725, 0.305725},
    {8, true, false, DETECTOR_CAUSE_NONE, -1.098576, 0.904302},
    {7, true, false, DETECTOR_CAUSE_NONE, -1.326272, 1.730574},
    {5, true, false, DETECTOR_CAUSE_NONE, -1.652116, 2.882689},
    {5, true, true, DETECTOR_CAUSE_CUSUM, -1.652116, 2.99},
    {11, true, true, DETECTOR_CAUSE_CUSUM, 0, 2.49},
    {11, true, true, DETECTOR_CAUSE_CUSUM, 0, 1.99},
    {12, true, false, DETECTOR_CAUSE_NONE, 0.434262, 0},
    {-500, true, true, DETECTOR_CAUSE_OUTSIDE, -4.079319, 2.99},
    {10, true, true, DETECTOR_CAUSE_CUSUM, -0.434262, 2.924262},
};

Test(detector, worked_example)
{
    struct detector_params p;
    worked_params(&p);
    struct detector_state s;
    detector_reset(&s);
    size_t n = sizeof(worked) / sizeof(worked[0]);
    for (size_t i = 0; i < n; i++) {
        const struct worked_step *w = &worked[i];
        struct detector_result r;
        cr_assert_eq(detector_update(&s, &p, w->value, (int32_t)(i * MONTH), &r), DETECTOR_OK);
        cr_expect_eq(r.judged, w->judged, "step %zu judged", i);
        cr_expect_eq(r.holds, w->holds, "step %zu holds", i);
        cr_expect_eq(r.cause, w->cause, "step %zu cause %s", i, detector_cause_name(r.cause));
        cr_expect(fabs(r.z - w->z) < 1e-6, "step %zu z %g, not %g", i, r.z, w->z);
        cr_expect(fabs(s.cusum_low - w->cusum_low) < 1e-6, "step %zu S %g, not %g", i, s.cusum_low,
                  w->cusum_low);
        if (r.judged) {
            cr_expect(fabs(r.centre - 11) < 1e-9 && fabs(r.sigma - 2) < 1e-9, "step %zu", i);
            cr_expect(fabs(r.z - wallace((w->value - 11) / 2, 2)) < 1e-12, "step %zu", i);
            cr_expect_eq(r.side, w->holds ? -1 : 0, "step %zu side", i);
            /* the limits an alert shows are the chart's: centre -+ 2.66 x mean mR (2) */
            cr_expect(fabs(r.lower_limit - (11 - SPC_LIMIT_FACTOR * 2)) < 1e-9, "step %zu", i);
        }
    }
    cr_expect_eq(s.held_points, 2, "the outside point and the one after");
    /* a missed month: no value, nothing moves, the alert still holds */
    struct detector_state before = s;
    cr_expect_eq(detector_update(&s, &p, NAN, (int32_t)(n * MONTH), NULL), DETECTOR_SKIPPED);
    cr_expect(states_equal(&s, &before) && fabs(s.cusum_low - 2.924262) < 1e-6 && s.holding);
    cr_expect_eq(s.holding_since, (int32_t)((n - 2) * MONTH));
    cr_expect_eq(s.n_baseline, 3, "the baseline is fixed after 3 points");
    cr_expect_eq(s.cusum_high, 0, "the high side never moved: z was never above 0.5");
}

struct lag_step {
    double value;
    bool judged;
    double centre;       /* of the baseline the point is judged against */
    uint32_t n_baseline; /* its points */
    double z, cusum_low;
};

/*
 * The lag and the allowance: lag 2 (a point joins the baseline two points after it is
 * judged), allowance 2 (t = (x - centre) / (sigma x sqrt(1 + 2 / n))), k 0.5, h 2.99, every
 * point in the baseline, judged from 2 baseline points on; sigma the baseline's standard
 * deviation, z Wallace's deviate of t with n - 1 degrees of freedom.
 *   10, 12   wait; no baseline yet
 *   10       not judged (empty baseline); the first 10 joins
 *   12       not judged (1 baseline point); the first 12 joins: baseline 10 12
 *   8        centre 11, sigma sqrt(2) = 1.414214, n 2: spread 1.414214 x sqrt(2) = 2,
 *            t = -3 / 2 = -1.5, 1 degree of freedom: z = -sqrt(ln 3.25) x 9 / 11 = -0.888266,
 *            S = 0.888266 - 0.5 = 0.388266; the second 10 joins (not the 8)
 *   8        baseline 10 12 10: centre 32 / 3, sigma sqrt((8/9 x 3) / 2) = 1.154701, n 3:
 *            spread 1.154701 x sqrt(5 / 3) = 1.490712, t = -1.788854, 2 degrees of freedom:
 *            z = -1.236882, S = 0.388266 + 1.236882 - 0.5 = 1.125148; the second 12 joins
 *   8        baseline 10 12 10 12: centre 11, sigma sqrt(4 / 3) = 1.154701, n 4: spread
 *            1.154701 x sqrt(1.5) = 1.414214, t = -2.121320, 3 degrees of freedom:
 *            z = -1.535160, S = 2.160308; the first 8 joins
 * The drift being judged is never in the baseline it is judged against.
 */
static const struct lag_step lagged[] = {
    {10, false, 0, 0, 0, 0},
    {12, false, 0, 0, 0, 0},
    {10, false, 0, 0, 0, 0},
    {12, false, 10, 1, 0, 0},
    {8, true, 11, 2, -0.888266, 0.388266},
    {8, true, 32.0 / 3, 3, -1.236882, 1.125148},
    {8, true, 11, 4, -1.535160, 2.160308},
};

Test(detector, lag_and_allowance)
{
    struct detector_params p;
    worked_params(&p);
    p.fix_after_n = 0;
    p.min_baseline = 2;
    p.lag = 2;
    p.allowance = 2;
    struct detector_state s;
    detector_reset(&s);
    for (size_t i = 0; i < sizeof(lagged) / sizeof(lagged[0]); i++) {
        const struct lag_step *w = &lagged[i];
        cr_expect_eq(s.n_baseline, w->n_baseline, "step %zu baseline", i);
        struct detector_result r;
        cr_assert_eq(detector_update(&s, &p, w->value, (int32_t)(i * MONTH), &r), DETECTOR_OK);
        cr_expect_eq(r.judged, w->judged, "step %zu judged", i);
        cr_expect_not(r.holds);
        if (w->n_baseline > 0)
            cr_expect(fabs(r.centre - w->centre) < 1e-9, "step %zu centre %g", i, r.centre);
        cr_expect(fabs(r.z - w->z) < 1e-6, "step %zu z %g, not %g", i, r.z, w->z);
        cr_expect(fabs(s.cusum_low - w->cusum_low) < 1e-6, "step %zu S %g", i, s.cusum_low);
    }
    cr_expect_eq(s.n_waiting, 2, "the last two 8s wait");
    cr_expect_eq(s.n_baseline, 5);
}

/*
 * Self-starting (the defaults' lag 0 and allowance 1, here with k 0.5, h 2.99 and a baseline of
 * 2 points): each point is judged against every point before it, then joins them, so that t
 * = (x - centre) / (sigma x sqrt(1 + 1 / n)) is Student's t with n - 1 degrees of freedom:
 *   10, 12   not judged (fewer than 2 points before them)
 *   8        centre 11, sigma sqrt(2) = 1.414214, n 2: spread sqrt(2 x 1.5) = 1.732051,
 *            t = -1.732051, z = -sqrt(ln 4) x 9 / 11 = -0.963335, S = 0.463335
 *   9        10 12 8: centre 10, sigma sqrt(8 / 2) = 2, spread 2 x sqrt(4 / 3) = 2.309401,
 *            t = -0.433013, z = -sqrt(2 ln(1 + 0.1875 / 2)) x 17 / 19 = -0.378786,
 *            S = 0.463335 + 0.378786 - 0.5 = 0.342121
 *   7        10 12 8 9: centre 9.75, sigma sqrt(8.75 / 3) = 1.707825, spread x sqrt(1.25):
 *            t = -2.75 / 1.909407 = -1.440238, z = -1.162662, S = 1.004784
 *   6        centre 9.2, sigma 1.923538, t = -1.518653, z = -1.272341, S = 1.777125
 *   5        centre 8.666667, sigma 2.160247, t = -1.571429, z = -1.350752, S = 2.627877
 *   4        centre 8.142857, sigma 2.410295, t = -1.607806, z = -1.408646, S = 3.536523,
 *            capped at 2.99: holds
 * The drift lowers the centre it is judged against (11 to 8.14) and widens sigma: the price of
 * judging every point against all before it, whose t are independent while the series is in
 * control (Hawkins), so that the false alerts do not depend on the baseline's length.
 */
static const struct lag_step self_starting[] = {
    {10, false, 0, 0, 0, 0},
    {12, false, 10, 1, 0, 0},
    {8, true, 11, 2, -0.963335, 0.463335},
    {9, true, 10, 3, -0.378786, 0.342121},
    {7, true, 9.75, 4, -1.162662, 1.004784},
    {6, true, 9.2, 5, -1.272341, 1.777125},
    {5, true, 26.0 / 3, 6, -1.350752, 2.627877},
    {4, true, 57.0 / 7, 7, -1.408646, 2.99},
};

Test(detector, self_starting)
{
    struct detector_params p;
    detector_params_init(&p);
    cr_expect_eq(p.lag, 0, "the default judges against every point before");
    cr_expect_eq(p.allowance, 1, "and widens by the centre's own error only");
    p.k = 0.5;
    p.h = 2.99;
    p.outside_sigmas = 4;
    p.min_baseline = 2;
    struct detector_state s;
    detector_reset(&s);
    size_t n = sizeof(self_starting) / sizeof(self_starting[0]);
    for (size_t i = 0; i < n; i++) {
        const struct lag_step *w = &self_starting[i];
        cr_expect_eq(s.n_baseline, w->n_baseline, "step %zu baseline", i);
        struct detector_result r;
        cr_assert_eq(detector_update(&s, &p, w->value, (int32_t)(i * MONTH), &r), DETECTOR_OK);
        cr_expect_eq(r.judged, w->judged, "step %zu judged", i);
        cr_expect_eq(r.holds, i == n - 1, "step %zu holds", i);
        if (w->n_baseline > 0)
            cr_expect(fabs(r.centre - w->centre) < 1e-6, "step %zu centre %g", i, r.centre);
        cr_expect(fabs(r.z - w->z) < 1e-6, "step %zu z %g, not %g", i, r.z, w->z);
        cr_expect(fabs(s.cusum_low - w->cusum_low) < 1e-6, "step %zu S %g", i, s.cusum_low);
    }
    cr_expect_eq(s.n_waiting, 0);
    cr_expect_eq(s.n_baseline, n, "every point joined once judged");
}

/* A deterministic noisy series (a linear congruential generator, a sum of uniforms) with a
   shift down after point 60 and an outlier at 30. */
static void noisy_series(double *values, int32_t *days, size_t n)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        double noise = 0;
        for (int u = 0; u < 4; u++) {
            x = x * 1664525u + 1013904223u;
            noise += (double)(x >> 8) / 16777216.0 - 0.5;
        }
        values[i] = 50 + 5 * noise * 1.7 - (i >= 60 ? 6 : 0) - (i == 30 ? 25 : 0);
        days[i] = (int32_t)(18000 + i * MONTH);
    }
}

Test(detector, incremental_equals_rebuilt)
{
    enum { N = 120 };
    double values[N];
    int32_t days[N];
    noisy_series(values, days, N);
    struct detector_params p;
    detector_params_init(&p);
    detector_params_watch(&p, SPC_DIRECTION_NONE, false);
    cr_assert(detector_params_for_budget(&p, 0.02));
    p.rebase[0] = days[90];
    p.n_rebase = 1;
    struct detector_state fed, rebuilt;
    detector_reset(&fed);
    bool held = false;
    for (size_t i = 0; i < N; i++) {
        struct detector_result a, b;
        cr_assert_eq(detector_update(&fed, &p, values[i], days[i], &a), DETECTOR_OK);
        cr_assert_eq(detector_rebuild(&rebuilt, &p, values, days, i + 1, &b), DETECTOR_OK);
        cr_assert(states_equal(&fed, &rebuilt), "state after point %zu", i);
        cr_assert(a.holds == b.holds && a.cause == b.cause && a.side == b.side && a.z == b.z &&
                      a.statistic == b.statistic && a.centre == b.centre && a.sigma == b.sigma,
                  "result of point %zu", i);
        held = held || a.holds;
    }
    cr_expect(held, "the shift of more than one sigma is seen");
    cr_expect_eq(fed.n_points, N - 90, "the re-baseline started a new segment");
}

Test(detector, missing_periods_are_skipped)
{
    enum { N = 40 };
    double values[N];
    int32_t days[N];
    noisy_series(values, days, N);
    struct detector_params p;
    detector_params_init(&p);
    struct detector_state s, before;
    cr_assert_eq(detector_rebuild(&s, &p, values, days, 20, NULL), DETECTOR_OK);
    before = s;
    /* a value that is not a number is a missing report: nothing moves */
    struct detector_result r;
    cr_expect_eq(detector_update(&s, &p, NAN, days[20], &r), DETECTOR_SKIPPED);
    cr_expect_eq(detector_update(&s, &p, INFINITY, days[20], &r), DETECTOR_SKIPPED);
    cr_expect(states_equal(&s, &before));
    cr_expect_not(r.holds);
    /* a missed period (21 absent) is the same as never being fed: the history with a gap
       rebuilds to the state of the points fed one by one around it */
    double gapped[N - 1];
    int32_t gapped_days[N - 1];
    for (size_t i = 0, j = 0; i < N; i++)
        if (i != 21)
            gapped[j] = values[i], gapped_days[j++] = days[i];
    for (size_t i = 20; i < N; i++)
        if (i != 21)
            cr_assert_eq(detector_update(&s, &p, values[i], days[i], NULL), DETECTOR_OK);
    struct detector_state rebuilt;
    cr_assert_eq(detector_rebuild(&rebuilt, &p, gapped, gapped_days, N - 1, NULL), DETECTOR_OK);
    cr_expect(states_equal(&s, &rebuilt));
    cr_expect_eq(s.n_points, N - 1, "the missed period is no point");
    cr_expect_eq(s.n_all_ranges + s.n_waiting, N - 2, "one moving range across the gap, not two");
    /* an old period is a revision: the caller rebuilds */
    before = s;
    cr_expect_eq(detector_update(&s, &p, 50, days[10], &r), DETECTOR_NEEDS_REBUILD);
    cr_expect_eq(detector_update(&s, &p, 50, days[N - 1], &r), DETECTOR_NEEDS_REBUILD);
    cr_expect(states_equal(&s, &before));
}

/* 24 points alternating 10 and 12, then one more point. With the defaults (lag 0) the 25th is
   judged against all 24: centre 11, every deviation 1, sigma sqrt(24 / 23) = 1.021508; with
   the allowance the spread is sigma x sqrt(1 + 1 / 24) = sqrt(25 / 23) = 1.042572, and t has 23
   degrees of freedom. The low side's S is 0 before it: each 12 takes it back to 0. */
static struct detector_result after_flat_baseline(const struct detector_params *p, double next)
{
    struct detector_state s;
    detector_reset(&s);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(detector_update(&s, p, i % 2 ? 12 : 10, i * MONTH, NULL), DETECTOR_OK);
    struct detector_result r;
    cr_assert_eq(detector_update(&s, p, next, 24 * MONTH, &r), DETECTOR_OK);
    return r;
}

#define FLAT_SPREAD (sqrt(24.0 / 23) * sqrt(1 + DETECTOR_DEFAULT_ALLOWANCE / 24))

Test(detector, far_outside_alerts_at_once)
{
    struct detector_params p;
    detector_params_init(&p); /* h about 4: a cusum alone needs more than one point */
    /* t -5 with 23 degrees of freedom: z = -sqrt(23 ln(1 + 25 / 23)) x 185 / 187 = -4.069550,
       beyond 4 */
    struct detector_result r = after_flat_baseline(&p, 11 - 5 * FLAT_SPREAD);
    cr_expect(fabs(r.sigma - sqrt(24.0 / 23)) < 1e-12, "sigma %g", r.sigma);
    cr_expect(r.holds);
    cr_expect_eq(r.cause, DETECTOR_CAUSE_OUTSIDE);
    cr_expect(r.statistic < p.h, "held by the outside rule, not by S (%g)", r.statistic);
    cr_expect(fabs(r.lower_limit - (11 - SPC_LIMIT_FACTOR * 2)) < 1e-9, "the chart's limit");
    cr_expect(fabs(r.z + 4.069550) < 1e-6, "z %g", r.z);
    /* t -4.5: z = -sqrt(23 ln(1 + 20.25 / 23)) x 185 / 187 = -3.770351, within 4: it only
       adds 3.770351 - k to S, short of h */
    r = after_flat_baseline(&p, 11 - 4.5 * FLAT_SPREAD);
    cr_expect_not(r.holds, "a point just outside the process limits only adds to S");
    cr_expect(fabs(r.statistic - (3.770351 - p.k)) < 1e-6, "S %g", r.statistic);
    char buf[96];
    r = after_flat_baseline(&p, 11 - 5 * FLAT_SPREAD);
    detector_summary(&r, buf, sizeof(buf));
    cr_expect_str_eq(buf, "far below the mean (z -4.1)");
}

struct direction_case {
    enum spc_direction direction;
    bool improvement;
    bool low_alerts, high_alerts;
};

static const struct direction_case directions[] = {
    {SPC_DIRECTION_UP, false, true, false},   /* higher is better: a drop is concern */
    {SPC_DIRECTION_DOWN, false, false, true}, /* lower is better: a rise is concern */
    {SPC_DIRECTION_NONE, false, true, true},  /* neither: both sides */
    {SPC_DIRECTION_UP, true, true, true},     /* alert_on any */
};

Test(detector, directions)
{
    /* t -+6 with 23 degrees of freedom: z = -+sqrt(23 ln(1 + 36 / 23)) x 185 / 187 = -+4.604998,
       beyond 4 on either side */
    for (size_t c = 0; c < sizeof(directions) / sizeof(directions[0]); c++) {
        const struct direction_case *d = &directions[c];
        struct detector_params p;
        detector_params_init(&p);
        detector_params_watch(&p, d->direction, d->improvement);
        cr_assert(detector_params_for_budget(&p, 0.02));
        struct detector_result low = after_flat_baseline(&p, 11 - 6 * FLAT_SPREAD);
        struct detector_result high = after_flat_baseline(&p, 11 + 6 * FLAT_SPREAD);
        cr_expect_eq(low.holds, d->low_alerts, "case %zu low", c);
        cr_expect_eq(high.holds, d->high_alerts, "case %zu high", c);
        cr_expect(fabs(high.z - 4.604998) < 1e-6 && fabs(low.z + 4.604998) < 1e-6);
        if (high.holds)
            cr_expect_eq(high.side, 1);
        if (low.holds)
            cr_expect_eq(low.side, -1);
    }
}

Test(detector, normal_score)
{
    /* Wallace's deviate against the tables: P(t_10 > 2.228) = 0.025 and z(0.025) = 1.960;
       P(t_30 > 2.042) = 0.025; with many degrees of freedom t is z */
    cr_expect(fabs(detector_normal_score(2.228, 10) - 1.960) < 0.005);
    cr_expect(fabs(detector_normal_score(-2.042, 30) + 1.960) < 0.005);
    cr_expect(fabs(detector_normal_score(1.5, 1e6) - 1.5) < 1e-5);
    cr_expect_eq(detector_normal_score(0, 5), 0);
    cr_expect_eq(detector_normal_score(2, 0), 2, "no degrees of freedom: t as it is");
}

Test(detector, nothing_alerts_on_a_provisional_baseline)
{
    struct detector_params p;
    detector_params_init(&p);
    struct detector_state s;
    detector_reset(&s);
    /* 12 points in the baseline (each joins once judged): the 13th point is the first judged */
    for (int i = 0; i < 12; i++) {
        struct detector_result r;
        cr_assert_eq(detector_update(&s, &p, i % 2 ? 12 : 10, i, &r), DETECTOR_OK);
        cr_expect_not(r.judged, "point %d", i);
        cr_expect_not(r.holds);
    }
    struct detector_result r;
    cr_assert_eq(detector_update(&s, &p, -100, 12, &r), DETECTOR_OK);
    cr_expect(r.judged && r.holds, "12 points make a baseline");
    cr_expect_eq(s.n_baseline, 13, "the point judged joined it");
}

Test(detector, screening_and_fixed_baseline)
{
    struct detector_params p;
    detector_params_init(&p);
    p.fix_after_n = 20;
    p.lag = 0;
    struct detector_state s;
    detector_reset(&s);
    /* 15 points 10/12, one at 40 (moving ranges 28 and 30 are screened), then 10/12 again */
    for (int i = 0; i < 30; i++) {
        double v = i == 15 ? 40 : (i % 2 ? 12 : 10);
        cr_assert_eq(detector_update(&s, &p, v, i, NULL), DETECTOR_OK);
    }
    cr_expect_eq(s.n_baseline, 20);
    cr_expect_eq(s.n_screened, 2);
    cr_expect_eq(s.n_ranges, 17);
    cr_expect(fabs(s.sum_ranges / s.n_ranges - 2) < 1e-12, "the screened mean mR is 2");
    /* the 40 joined the spread winsorised: the 15 points before it (8 tens, 7 twelves) have
       mean 164 / 15 = 10.933333 and sigma sqrt(16 / 15) = 1.032796, so it counted as
       10.933333 + 3.5 x 1.032796 = 14.548118, not 40; the 20 points' sum of squares is then 19 x
       sigma^2 of {8 x 10, 7 x 12, 14.548120, 2 x 12 + 2 x 10 (points 16 to 19)} */
    double joined[20];
    for (int i = 0; i < 20; i++)
        joined[i] = i == 15 ? 164.0 / 15 + 3.5 * sqrt(16.0 / 15) : (i % 2 ? 12 : 10);
    double mean = 0, squares = 0;
    for (int i = 0; i < 20; i++)
        mean += joined[i] / 20;
    for (int i = 0; i < 20; i++)
        squares += (joined[i] - mean) * (joined[i] - mean);
    cr_expect(fabs(s.sum_squares - squares) < 1e-9, "sum of squares %g, not %g", s.sum_squares,
              squares);
}

Test(detector, parameters_from_the_budget)
{
    struct detector_params p;
    detector_params_init(&p);
    double h_default = p.h;
    cr_expect(h_default > 3.75 && h_default < 4.25, "h %g", h_default);
    cr_assert(detector_params_for_budget(&p, 0.01));
    cr_expect(p.h > h_default, "a smaller budget waits longer");
    double h_small = p.h;
    detector_params_watch(&p, SPC_DIRECTION_NONE, false);
    cr_assert(detector_params_for_budget(&p, 0.02));
    cr_expect(fabs(p.h - h_small) < 1e-12, "two sides share the series' budget");
    cr_assert(detector_params_for_budget(&p, 1e-9));
    cr_expect_eq(p.h, 8.5, "clamped to the table");
    cr_expect_not(detector_params_for_budget(&p, 0));
    cr_expect_not(detector_params_for_budget(&p, NAN));
    /* a programme of 1,000 series that accepts 1 false alert a month */
    cr_expect(fabs(detector_budget_per_series_year(1, 1000) - 0.012) < 1e-12);
    cr_expect_eq(detector_budget_per_series_year(1, 0), 0);
    /* Siegmund: the one-sided CUSUM k 0.5, h 4 has an in-control ARL of about 336 */
    double arl = detector_siegmund_arl(0.5, 4, 0);
    cr_expect(arl > 330 && arl < 345, "ARL0 %g", arl);
    cr_expect(detector_siegmund_arl(0.5, 4, 1) < 12, "ARL at 1 sigma %g", arl);
}

Test(detector, invalid_arguments)
{
    struct detector_params p;
    detector_params_init(&p);
    struct detector_state s;
    detector_reset(&s);
    p.h = 0;
    cr_expect_eq(detector_update(&s, &p, 1, 0, NULL), DETECTOR_ERR_ARGUMENT);
    detector_params_init(&p);
    cr_expect_eq(detector_rebuild(&s, &p, NULL, NULL, 3, NULL), DETECTOR_ERR_ARGUMENT);
    cr_expect_eq(detector_rebuild(&s, &p, NULL, NULL, 0, NULL), DETECTOR_OK);
    cr_expect_str_eq(detector_cause_name((enum detector_cause)7), "unknown");
}
