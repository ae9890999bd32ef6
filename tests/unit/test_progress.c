/*
 * Scale-up progress: planned trajectories, status against the example roadmap's tolerances,
 * forecasts, coverage/expansion/institutionalisation aggregation and roadmap versions, each
 * against values worked out by hand (the arithmetic is in the comments).
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/progress.h"
#include "scaleupd/core/roadmap_doc.h"

#define EPS 1e-9

struct ymd {
    int year, month, day;
};

static int32_t day_of(struct ymd date)
{
    return date_from_ymd(date.year, date.month, date.day);
}

static char *show(int32_t day, char *buf)
{
    if (!date_format(day, buf, DATE_FORMAT_MAX))
        buf[0] = '\0';
    return buf;
}

/* The plans and tolerances of /work/shared/examples/roadmap-icp-be.json (baseline 2025-01-01).
 * Useful spans: 2025-01-01 -> 2025-12-31 is 364 days; 2025-12-31 -> 2026-12-31 is 365;
 * 2026-06-30 -> 2027-12-31 is 184 + 365 = 549; 2025-12-31 -> 2027-12-31 is 730. */
static struct roadmap_milestone coverage_milestones[] = {
    {0, 0.15}, {0, 0.30}, {0, 0.50}}; /* dates set in setup() */
static struct roadmap_milestone sites_milestones[] = {{0, 3}, {0, 4}};
static struct roadmap_milestone regions_milestones[] = {{0, 3}};
static struct roadmap_milestone inst_milestones[] = {{0, 0.40}, {0, 0.85}};

static const struct roadmap_tolerance coverage_tolerance = {0.02, 0.05};
static const struct roadmap_tolerance expansion_tolerance = {0.10, 0.25};
static const struct roadmap_tolerance inst_tolerance = {0.05, 0.15};

static struct roadmap_plan coverage_plan = {0.04, 3, coverage_milestones};
static struct roadmap_expansion expansion = {
    .present = true,
    .active_within_periods = 3,
    .sites = {1, 2, sites_milestones},
    .regions = {1, 1, regions_milestones},
    .tolerance = {0.10, 0.25},
};
static struct roadmap_plan inst_plan = {0.10, 2, inst_milestones};
static int32_t baseline_date;

static void setup(void)
{
    baseline_date = date_from_ymd(2025, 1, 1);
    coverage_milestones[0].date = date_from_ymd(2025, 12, 31);
    coverage_milestones[1].date = date_from_ymd(2026, 12, 31);
    coverage_milestones[2].date = date_from_ymd(2027, 12, 31);
    sites_milestones[0].date = date_from_ymd(2025, 12, 31);
    sites_milestones[1].date = date_from_ymd(2027, 12, 31);
    regions_milestones[0].date = date_from_ymd(2026, 6, 30);
    inst_milestones[0].date = date_from_ymd(2026, 6, 30);
    inst_milestones[1].date = date_from_ymd(2027, 12, 31);
}

TestSuite(progress, .init = setup);

/* ---- periods ---------------------------------------------------------------------------- */

struct complete_period_case {
    enum period_type type;
    struct ymd date;
    const char *expected;
};

Test(progress, latest_complete_period_ends_before_the_date)
{
    static const struct complete_period_case cases[] = {
        {PERIOD_MONTHLY, {2025, 4, 1}, "2025-03"},  /* March ends 03-31 < 04-01 */
        {PERIOD_MONTHLY, {2025, 3, 31}, "2025-02"}, /* March not over on its last day */
        {PERIOD_MONTHLY, {2025, 1, 15}, "2024-12"},
        {PERIOD_QUARTERLY, {2025, 4, 1}, "2025Q1"},
        {PERIOD_QUARTERLY, {2025, 3, 31}, "2024Q4"},
        {PERIOD_YEARLY, {2025, 1, 1}, "2024"},
        /* 2025W01 runs Monday 2024-12-30 to Sunday 2025-01-05 */
        {PERIOD_WEEKLY, {2025, 1, 5}, "2024W52"},
        {PERIOD_WEEKLY, {2025, 1, 6}, "2025W01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[PERIOD_FORMAT_MAX];
        struct period period =
            progress_latest_complete_period(cases[i].type, day_of(cases[i].date));
        cr_assert(period_format(period, text, sizeof text));
        cr_expect_str_eq(text, cases[i].expected, "case %zu", i);
    }
}

struct window_case {
    enum period_type type;
    int periods;
    struct ymd date;
    struct ymd expected;
};

Test(progress, activity_window_covers_the_last_n_complete_periods)
{
    static const struct window_case cases[] = {
        {PERIOD_MONTHLY, 3, {2025, 10, 15}, {2025, 7, 1}}, /* July, August, September */
        {PERIOD_MONTHLY, 3, {2025, 10, 1}, {2025, 7, 1}},  /* September is complete on 10-01 */
        {PERIOD_MONTHLY, 3, {2025, 9, 30}, {2025, 6, 1}},  /* ... but not on 09-30 */
        {PERIOD_MONTHLY, 1, {2025, 10, 15}, {2025, 9, 1}},
        {PERIOD_QUARTERLY, 1, {2025, 4, 1}, {2025, 1, 1}},
        {PERIOD_QUARTERLY, 2, {2025, 4, 1}, {2024, 10, 1}},
        /* at Wednesday 2025-01-08 the latest complete week is 2025W01 (from Monday 2024-12-30),
         * and the one before it 2024W52 (from Monday 2024-12-23) */
        {PERIOD_WEEKLY, 2, {2025, 1, 8}, {2024, 12, 23}},
        {PERIOD_YEARLY, 1, {2025, 6, 1}, {2024, 1, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[DATE_FORMAT_MAX], want[DATE_FORMAT_MAX];
        int32_t start =
            progress_activity_window_start(cases[i].type, cases[i].periods, day_of(cases[i].date));
        cr_expect_eq(start, day_of(cases[i].expected), "case %zu: %s, expected %s", i,
                     show(start, got), show(day_of(cases[i].expected), want));
    }
}

/* ---- planned trajectory ------------------------------------------------------------------ */

struct planned_case {
    const char *name;
    const struct roadmap_plan *plan;
    struct ymd date;
    double expected;
};

Test(progress, planned_interpolates_between_milestones)
{
    const struct planned_case cases[] = {
        {"coverage before the baseline date", &coverage_plan, {2024, 6, 1}, 0.04},
        {"coverage on the baseline date", &coverage_plan, {2025, 1, 1}, 0.04},
        /* 2025-07-02 is 182 days after 2025-01-01, half of the 364 to the first milestone:
         * 0.04 + 0.5 * (0.15 - 0.04) = 0.095 */
        {"coverage half way to the first milestone", &coverage_plan, {2025, 7, 2}, 0.095},
        {"coverage on the first milestone", &coverage_plan, {2025, 12, 31}, 0.15},
        /* 2026-07-01 is 182 days after 2025-12-31, of 365: 0.15 + 0.15 * 182 / 365 */
        {"coverage between milestones", &coverage_plan, {2026, 7, 1}, 0.15 + 0.15 * 182.0 / 365.0},
        {"coverage on the second milestone", &coverage_plan, {2026, 12, 31}, 0.30},
        {"coverage on the last milestone", &coverage_plan, {2027, 12, 31}, 0.50},
        {"coverage after the last milestone", &coverage_plan, {2030, 1, 1}, 0.50},
        /* 2026-12-31 is 365 of the 730 days from 3 sites to 4: 3.5 */
        {"sites between milestones", &expansion.sites, {2026, 12, 31}, 3.5},
        {"sites one day after the baseline", &expansion.sites, {2025, 1, 2}, 1.0 + 2.0 / 364.0},
        /* regions' only milestone is 2026-06-30 (target 3): flat after it */
        {"regions after the only milestone", &expansion.regions, {2027, 1, 1}, 3.0},
        /* 2027-01-15 is 199 days (184 to 12-31, + 15) of the 549 from 0.40 to 0.85 */
        {"institutionalisation", &inst_plan, {2027, 1, 15}, 0.40 + 0.45 * 199.0 / 549.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double planned = progress_planned(cases[i].plan, baseline_date, day_of(cases[i].date));
        cr_expect_float_eq(planned, cases[i].expected, EPS, "%s: %.12f, expected %.12f",
                           cases[i].name, planned, cases[i].expected);
    }
}

Test(progress, planned_without_milestones_is_the_baseline)
{
    const struct roadmap_plan flat = {0.2, 0, NULL};
    cr_expect_eq(progress_planned(&flat, baseline_date, baseline_date - 10), 0.2);
    cr_expect_eq(progress_planned(&flat, baseline_date, baseline_date + 1000), 0.2);
}

/* ---- status ------------------------------------------------------------------------------ */

struct status_case {
    const char *name;
    enum progress_tolerance_mode mode;
    const struct roadmap_tolerance *tolerance;
    double planned;
    double actual;
    enum progress_status expected;
};

Test(progress, status_boundaries_use_the_example_tolerances)
{
    const struct roadmap_tolerance *cov = &coverage_tolerance, *exp = &expansion_tolerance,
                                   *inst = &inst_tolerance;
    const enum progress_tolerance_mode abs = PROGRESS_TOLERANCE_ABSOLUTE,
                                       rel = PROGRESS_TOLERANCE_RELATIVE;
    const struct status_case cases[] = {
        /* coverage: behind 0.02, at_risk 0.05, planned 0.15 */
        {"coverage on plan", abs, cov, 0.15, 0.15, PROGRESS_STATUS_ON_TRACK},
        {"coverage ahead", abs, cov, 0.15, 0.20, PROGRESS_STATUS_ON_TRACK},
        {"coverage gap -0.02 is not beyond behind", abs, cov, 0.15, 0.13, PROGRESS_STATUS_ON_TRACK},
        {"coverage gap -0.0201", abs, cov, 0.15, 0.1299, PROGRESS_STATUS_BEHIND},
        {"coverage gap -0.05 is not beyond at_risk", abs, cov, 0.15, 0.10, PROGRESS_STATUS_BEHIND},
        {"coverage gap -0.0501", abs, cov, 0.15, 0.0999, PROGRESS_STATUS_AT_RISK},
        /* institutionalisation: behind 0.05, at_risk 0.15, planned 0.40 */
        {"inst gap -0.05", abs, inst, 0.40, 0.35, PROGRESS_STATUS_ON_TRACK},
        {"inst gap -0.0501", abs, inst, 0.40, 0.3499, PROGRESS_STATUS_BEHIND},
        {"inst gap -0.15", abs, inst, 0.40, 0.25, PROGRESS_STATUS_BEHIND},
        {"inst gap -0.1501", abs, inst, 0.40, 0.2499, PROGRESS_STATUS_AT_RISK},
        /* expansion: shortfall (planned - actual) / planned; behind 0.10, at_risk 0.25 */
        {"sites (10 - 9) / 10 = 0.10", rel, exp, 10, 9, PROGRESS_STATUS_ON_TRACK},
        {"sites (10 - 8.9) / 10 = 0.11", rel, exp, 10, 8.9, PROGRESS_STATUS_BEHIND},
        {"sites (4 - 3) / 4 = 0.25", rel, exp, 4, 3, PROGRESS_STATUS_BEHIND},
        {"sites (10 - 7.4) / 10 = 0.26", rel, exp, 10, 7.4, PROGRESS_STATUS_AT_RISK},
        {"sites (4 - 2) / 4 = 0.5", rel, exp, 4, 2, PROGRESS_STATUS_AT_RISK},
        {"sites ahead", rel, exp, 4, 5, PROGRESS_STATUS_ON_TRACK},
        {"nothing planned yet", rel, exp, 0, 0, PROGRESS_STATUS_ON_TRACK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct status_case *c = &cases[i];
        enum progress_status status =
            progress_status_of(c->mode, c->tolerance, c->planned, c->actual);
        cr_expect_eq(status, c->expected, "%s: %s, expected %s", c->name,
                     progress_status_name(status), progress_status_name(c->expected));
    }
}

Test(progress, worse_status_and_names)
{
    cr_expect_eq(progress_status_worse(PROGRESS_STATUS_ON_TRACK, PROGRESS_STATUS_AT_RISK),
                 PROGRESS_STATUS_AT_RISK);
    cr_expect_eq(progress_status_worse(PROGRESS_STATUS_BEHIND, PROGRESS_STATUS_ON_TRACK),
                 PROGRESS_STATUS_BEHIND);
    cr_expect_eq(progress_status_worse(PROGRESS_STATUS_AT_RISK, PROGRESS_STATUS_BEHIND),
                 PROGRESS_STATUS_AT_RISK);
    cr_expect_eq(progress_status_worse(PROGRESS_STATUS_ON_TRACK, PROGRESS_STATUS_NO_DATA),
                 PROGRESS_STATUS_NO_DATA);
    cr_expect_str_eq(progress_status_name(PROGRESS_STATUS_ON_TRACK), "on_track");
    cr_expect_str_eq(progress_status_name(PROGRESS_STATUS_AT_RISK), "at_risk");
    cr_expect_str_eq(progress_status_name(PROGRESS_STATUS_NO_DATA), "no_data");
}

/* ---- one measure and expansion ----------------------------------------------------------- */

struct measure_case {
    const char *name;
    const struct roadmap_plan *plan;
    const struct roadmap_tolerance *tolerance;
    struct ymd date;
    bool has_actual;
    double actual;
    double planned, progress, gap;
    enum progress_status status;
};

static struct roadmap_milestone same_milestone[] = {{20500, 0.5}}; /* 2026-02-16 */
static const struct roadmap_plan degenerate = {0.5, 1, same_milestone};
#define COV_PLANNED (0.15 + 0.15 * 182.0 / 365.0)  /* 0.2247945..., see above */
#define INST_PLANNED (0.40 + 0.45 * 199.0 / 549.0) /* 0.5631147... */
static const struct measure_case measure_cases[] = {
    /* progress (0.20 - 0.04) / (0.50 - 0.04) = 0.16 / 0.46; gap 0.20 - 0.2248 = -0.0248,
     * beyond behind (0.02), not at_risk (0.05) */
    {"coverage behind",
     &coverage_plan,
     &coverage_tolerance,
     {2026, 7, 1},
     true,
     0.20,
     COV_PLANNED,
     0.16 / 0.46,
     0.20 - COV_PLANNED,
     PROGRESS_STATUS_BEHIND},
    {"coverage not reported",
     &coverage_plan,
     &coverage_tolerance,
     {2026, 7, 1},
     false,
     0.0,
     COV_PLANNED,
     0.0,
     0.0,
     PROGRESS_STATUS_NO_DATA},
    /* before the baseline date: planned 0.04, actual 0.03, progress -0.01 / 0.46 */
    {"coverage before the baseline",
     &coverage_plan,
     &coverage_tolerance,
     {2024, 12, 1},
     true,
     0.03,
     0.04,
     -0.01 / 0.46,
     -0.01,
     PROGRESS_STATUS_ON_TRACK},
    /* past the final target: progress (0.6 - 0.04) / 0.46 > 1, not clamped */
    {"coverage past the target",
     &coverage_plan,
     &coverage_tolerance,
     {2028, 1, 1},
     true,
     0.6,
     0.5,
     0.56 / 0.46,
     0.1,
     PROGRESS_STATUS_ON_TRACK},
    /* mean of ratios 0.5 (see institutionalisation test), progress (0.5 - 0.1) / 0.75,
     * gap 0.5 - 0.5631 = -0.0631: beyond 0.05, not 0.15 */
    {"institutionalisation behind",
     &inst_plan,
     &inst_tolerance,
     {2027, 1, 15},
     true,
     0.5,
     INST_PLANNED,
     0.4 / 0.75,
     0.5 - INST_PLANNED,
     PROGRESS_STATUS_BEHIND},
    /* final target == baseline: progress 1 once reached, 0 below it */
    {"flat plan reached",
     &degenerate,
     &coverage_tolerance,
     {2026, 1, 1},
     true,
     0.6,
     0.5,
     1.0,
     0.1,
     PROGRESS_STATUS_ON_TRACK},
    {"flat plan missed",
     &degenerate,
     &coverage_tolerance,
     {2026, 1, 1},
     true,
     0.4,
     0.5,
     0.0,
     -0.1,
     PROGRESS_STATUS_AT_RISK},
};

Test(progress, measure_reports_planned_progress_gap_and_status)
{
    for (size_t i = 0; i < sizeof measure_cases / sizeof measure_cases[0]; i++) {
        const struct measure_case *c = &measure_cases[i];
        struct progress_measure m;
        progress_measure_evaluate(c->plan, baseline_date, c->tolerance, PROGRESS_TOLERANCE_ABSOLUTE,
                                  day_of(c->date), c->has_actual, c->actual, &m);
        cr_expect_eq(m.has_actual, c->has_actual, "%s", c->name);
        cr_expect_float_eq(m.planned, c->planned, EPS, "%s: planned %.12f", c->name, m.planned);
        cr_expect_float_eq(m.progress, c->progress, EPS, "%s: progress %.12f", c->name, m.progress);
        cr_expect_float_eq(m.gap, c->gap, EPS, "%s: gap %.12f", c->name, m.gap);
        cr_expect_eq(m.status, c->status, "%s: %s", c->name, progress_status_name(m.status));
        cr_expect_eq(m.baseline, c->plan->baseline, "%s", c->name);
        cr_expect_eq(m.final_target, roadmap_plan_final_target(c->plan), "%s", c->name);
    }
}

struct expansion_case {
    const char *name;
    size_t sites, regions;
    enum progress_status sites_status, regions_status, status;
    double progress;
};

Test(progress, expansion_is_the_worse_of_sites_and_regions)
{
    /* At 2026-12-31 the plan is 3.5 sites (see planned test) and 3 regions (flat after
     * 2026-06-30). Sites progress = (sites - 1) / (4 - 1). */
    static const struct expansion_case cases[] = {
        /* sites (3.5 - 3) / 3.5 = 0.143: behind; regions (3 - 2) / 3 = 0.333: at risk */
        {"regions hold it back", 3, 2, PROGRESS_STATUS_BEHIND, PROGRESS_STATUS_AT_RISK,
         PROGRESS_STATUS_AT_RISK, 2.0 / 3.0},
        /* regions on plan, sites behind */
        {"sites hold it back", 3, 3, PROGRESS_STATUS_BEHIND, PROGRESS_STATUS_ON_TRACK,
         PROGRESS_STATUS_BEHIND, 2.0 / 3.0},
        /* sites (3.5 - 4) < 0, regions 0: on track, progress 3 / 3 */
        {"on plan", 4, 3, PROGRESS_STATUS_ON_TRACK, PROGRESS_STATUS_ON_TRACK,
         PROGRESS_STATUS_ON_TRACK, 1.0},
        /* sites (3.5 - 1) / 3.5 = 0.71, regions (3 - 1) / 3 = 0.67: both at risk */
        {"at baseline", 1, 1, PROGRESS_STATUS_AT_RISK, PROGRESS_STATUS_AT_RISK,
         PROGRESS_STATUS_AT_RISK, 0.0},
    };
    int32_t date = date_from_ymd(2026, 12, 31);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct expansion_case *c = &cases[i];
        struct progress_expansion result;
        progress_expansion_evaluate(&expansion, baseline_date, date, c->sites, c->regions, &result);
        cr_expect_float_eq(result.sites.planned, 3.5, EPS, "%s", c->name);
        cr_expect_float_eq(result.regions.planned, 3.0, EPS, "%s", c->name);
        cr_expect_eq(result.sites.actual, (double)c->sites, "%s", c->name);
        cr_expect_eq(result.regions.actual, (double)c->regions, "%s", c->name);
        cr_expect_eq(result.sites.status, c->sites_status, "%s: sites %s", c->name,
                     progress_status_name(result.sites.status));
        cr_expect_eq(result.regions.status, c->regions_status, "%s: regions %s", c->name,
                     progress_status_name(result.regions.status));
        cr_expect_eq(result.status, c->status, "%s", c->name);
        cr_expect_float_eq(result.progress, c->progress, EPS, "%s", c->name);
    }
}

/* ---- forecast ---------------------------------------------------------------------------- */

struct forecast_case {
    const char *name;
    struct progress_point points[6];
    size_t n;
    size_t window;
    double target;
    enum progress_forecast_kind kind;
    int32_t date; /* days after day 0 of the series, when kind is DATE */
};

/* Dates are days counted from an arbitrary day 0 (2025-01-01 added below). */
static const struct forecast_case forecast_cases[] = {
    /* exactly linear, 0.03 per 30 days = 0.001 per day; from 0.19 at day 90 the 0.31
     * left take 310 days: day 400 */
    {"rising",
     {{0, 0.10}, {30, 0.13}, {60, 0.16}, {90, 0.19}},
     4,
     6,
     0.50,
     PROGRESS_FORECAST_DATE,
     400},
    /* the same with two older, wild points that the window of 4 leaves out */
    {"rising, older points outside the window",
     {{-60, 0.90}, {-30, 0.0}, {0, 0.10}, {30, 0.13}, {60, 0.16}, {90, 0.19}},
     6,
     4,
     0.50,
     PROGRESS_FORECAST_DATE,
     400},
    /* mean date 5, mean value 0.15, slope 0.03: 5 + (0.5 - 0.15) / 0.03 = 16.67 -> 17 */
    {"rounded to the nearest day", {{0, 0.0}, {10, 0.3}}, 2, 6, 0.5, PROGRESS_FORECAST_DATE, 17},
    /* mean date 10, mean value 0.48333, sxx 200, sxy 4.5, slope 0.0225: the line reaches
     * 0.5 at day 10.74, before the latest point (day 20, value 0.45): due now, day 20 */
    {"fit already past the target",
     {{0, 0.0}, {10, 1.0}, {20, 0.45}},
     3,
     6,
     0.5,
     PROGRESS_FORECAST_DATE,
     20},
    {"flat", {{0, 0.2}, {30, 0.2}, {60, 0.2}}, 3, 6, 0.5, PROGRESS_FORECAST_NOT_AT_THIS_RATE, 0},
    {"falling",
     {{0, 0.3}, {30, 0.25}, {60, 0.2}},
     3,
     6,
     0.5,
     PROGRESS_FORECAST_NOT_AT_THIS_RATE,
     0},
    /* 1e-7 per 30 days: 0.4 more would take 1.2e8 days, beyond 50 years */
    {"too slow", {{0, 0.1}, {30, 0.1000001}}, 2, 6, 0.5, PROGRESS_FORECAST_NOT_AT_THIS_RATE, 0},
    /* slope 1 per day from (0, 0), (1, 1): target 18263 is reached on day 18263, exactly
     * the horizon (18262 days) after the latest point; 18264 is one day beyond it */
    {"on the horizon", {{0, 0.0}, {1, 1.0}}, 2, 6, 18263.0, PROGRESS_FORECAST_DATE, 18263},
    {"beyond the horizon",
     {{0, 0.0}, {1, 1.0}},
     2,
     6,
     18264.0,
     PROGRESS_FORECAST_NOT_AT_THIS_RATE,
     0},
    /* the latest value meets the target, whatever the trend */
    {"reached", {{0, 0.6}, {30, 0.55}}, 2, 6, 0.5, PROGRESS_FORECAST_REACHED, 0},
    {"reached with a single point", {{0, 0.5}}, 1, 6, 0.5, PROGRESS_FORECAST_REACHED, 0},
    {"single point", {{0, 0.2}}, 1, 6, 0.5, PROGRESS_FORECAST_INSUFFICIENT, 0},
    {"two points on one date", {{0, 0.2}, {0, 0.3}}, 2, 6, 0.5, PROGRESS_FORECAST_INSUFFICIENT, 0},
    {"window of one", {{0, 0.1}, {30, 0.2}}, 2, 1, 0.5, PROGRESS_FORECAST_INSUFFICIENT, 0},
    {"no points", {{0, 0.0}}, 0, 6, 0.5, PROGRESS_FORECAST_INSUFFICIENT, 0},
};

Test(progress, forecast_at_the_recent_rate)
{
    int32_t day0 = date_from_ymd(2025, 1, 1);
    for (size_t i = 0; i < sizeof forecast_cases / sizeof forecast_cases[0]; i++) {
        const struct forecast_case *c = &forecast_cases[i];
        struct progress_point points[6];
        for (size_t p = 0; p < c->n; p++)
            points[p] = (struct progress_point){day0 + c->points[p].date, c->points[p].value};
        struct progress_forecast forecast;
        progress_forecast(points, c->n, c->window, c->target, &forecast);
        cr_expect_eq(forecast.kind, c->kind, "%s: kind %d, expected %d", c->name, forecast.kind,
                     c->kind);
        if (c->kind == PROGRESS_FORECAST_DATE)
            cr_expect_eq(forecast.date - day0, c->date, "%s: day %d, expected %d", c->name,
                         forecast.date - day0, c->date);
    }
}

Test(progress, forecast_reports_the_fitted_slope)
{
    struct progress_point points[] = {{100, 0.10}, {130, 0.13}, {160, 0.16}};
    struct progress_forecast forecast;
    progress_forecast(points, 3, 6, 0.5, &forecast);
    cr_expect(forecast.has_slope);
    cr_expect_float_eq(forecast.slope_per_day, 0.001, EPS); /* 0.03 per 30 days */

    struct progress_point falling[] = {{100, 0.3}, {130, 0.25}, {160, 0.2}};
    progress_forecast(falling, 3, 6, 0.5, &forecast);
    cr_expect(forecast.has_slope);
    cr_expect_float_eq(forecast.slope_per_day, -0.05 / 30.0, EPS);
}

/* ---- coverage ---------------------------------------------------------------------------- */

/* Sites of the example programme: 1, 2 in Flanders (region 10), 3 in Wallonia (20), 4 in
 * Brussels (30). One period's rows: numerator patients_enrolled, denominator
 * eligible_population. */
enum { FLANDERS = 10, WALLONIA = 20, BRUSSELS = 30 };

struct coverage_case {
    const char *name;
    struct progress_coverage_row rows[4];
    size_t n;
    int64_t region; /* 0: the whole programme */
    bool has_value;
    double value;
    size_t covered, in_scope;
};

static const struct coverage_case coverage_cases[] = {
    /* (120 + 30 + 10) / (1000 + 600 + 400) = 160 / 2000 = 0.08 (a mean of the sites'
     * percentages would be (0.12 + 0.05 + 0.025) / 3 = 0.065) */
    {"all sites report",
     {{1, FLANDERS, true, 120, true, 1000},
      {2, FLANDERS, true, 30, true, 600},
      {3, WALLONIA, true, 10, true, 400}},
     3,
     0,
     true,
     0.08,
     3,
     3},
    /* site 2 did not report March: it is left out, not read as 0:
     * (120 + 10) / (1000 + 400) = 130 / 1400 (as a zero it would be 130 / 2000) */
    {"a site missed the period",
     {{1, FLANDERS, true, 120, true, 1000},
      {2, FLANDERS, false, 0, false, 0},
      {3, WALLONIA, true, 10, true, 400}},
     3,
     0,
     true,
     130.0 / 1400.0,
     2,
     3},
    /* site 2 sent its numerator only: left out of both sums */
    {"a site reported the numerator only",
     {{1, FLANDERS, true, 120, true, 1000},
      {2, FLANDERS, true, 30, false, 0},
      {3, WALLONIA, true, 10, true, 400}},
     3,
     0,
     true,
     130.0 / 1400.0,
     2,
     3},
    {"denominators sum to zero",
     {{1, FLANDERS, true, 0, true, 0}, {3, WALLONIA, true, 0, true, 0}},
     2,
     0,
     false,
     0.0,
     2,
     2},
    {"nobody reported", {{1, FLANDERS, false, 0, false, 0}}, 1, 0, false, 0.0, 0, 1},
    {"no rows", {{0}}, 0, 0, false, 0.0, 0, 0},
    /* Flanders: (120 + 30) / (1000 + 600) = 150 / 1600 = 0.09375 */
    {"one region",
     {{1, FLANDERS, true, 120, true, 1000},
      {2, FLANDERS, true, 30, true, 600},
      {3, WALLONIA, true, 10, true, 400}},
     3,
     FLANDERS,
     true,
     0.09375,
     2,
     2},
    /* Wallonia: 10 / 400 = 0.025 */
    {"another region",
     {{1, FLANDERS, true, 120, true, 1000},
      {2, FLANDERS, true, 30, true, 600},
      {3, WALLONIA, true, 10, true, 400}},
     3,
     WALLONIA,
     true,
     0.025,
     1,
     1},
    {"a region without rows",
     {{1, FLANDERS, true, 120, true, 1000}, {3, WALLONIA, true, 10, true, 400}},
     2,
     BRUSSELS,
     false,
     0.0,
     0,
     0},
};

Test(progress, coverage_sums_numerators_and_denominators)
{
    for (size_t i = 0; i < sizeof coverage_cases / sizeof coverage_cases[0]; i++) {
        const struct coverage_case *c = &coverage_cases[i];
        struct progress_coverage coverage;
        if (c->region)
            progress_coverage_region(c->rows, c->n, c->region, &coverage);
        else
            progress_coverage_total(c->rows, c->n, &coverage);
        cr_expect_eq(coverage.has_value, c->has_value, "%s", c->name);
        cr_expect_float_eq(coverage.value, c->value, EPS, "%s: %.12f", c->name, coverage.value);
        cr_expect_eq(coverage.sites_covered, c->covered, "%s: covered %zu", c->name,
                     coverage.sites_covered);
        cr_expect_eq(coverage.sites_in_scope, c->in_scope, "%s", c->name);
    }
}

Test(progress, coverage_against_a_fixed_target_population)
{
    const struct progress_coverage_row rows[] = {
        {1, FLANDERS, true, 120, false, 0},
        {2, FLANDERS, false, 0, false, 0},
        {3, WALLONIA, true, 10, true, 400},
    };
    struct progress_coverage coverage;
    /* (120 + 10) / 12000; site 2 did not report and counts for nothing */
    progress_coverage_fixed(rows, 3, 12000, &coverage);
    cr_expect(coverage.has_value);
    cr_expect_float_eq(coverage.value, 130.0 / 12000.0, EPS);
    cr_expect_eq(coverage.sites_covered, 2);
    cr_expect_eq(coverage.sites_in_scope, 3);

    progress_coverage_fixed(rows + 1, 1, 12000, &coverage);
    cr_expect_not(coverage.has_value, "no site reported: no value, not 0");
    progress_coverage_fixed(rows, 3, 0, &coverage);
    cr_expect_not(coverage.has_value);
}

/* ---- expansion --------------------------------------------------------------------------- */

struct site_case {
    const char *name;
    bool has_adopted;
    struct ymd adopted;
    enum progress_site_status status;
    bool has_withdrawn;
    struct ymd withdrawn;
    bool has_last_reported;
    struct ymd last_reported;
    int64_t region;
    bool active; /* at 2025-10-15, monthly, 3 periods: window from 2025-07-01 */
};

static const struct site_case site_cases[] = {
    {"adopted, reported September",
     true,
     {2025, 1, 1},
     PROGRESS_SITE_ACTIVE,
     false,
     {0},
     true,
     {2025, 9, 1},
     FLANDERS,
     true},
    {"adopted, silent since June",
     true,
     {2025, 4, 1},
     PROGRESS_SITE_ACTIVE,
     false,
     {0},
     true,
     {2025, 6, 1},
     FLANDERS,
     false},
    {"adopted in September, mid-series",
     true,
     {2025, 9, 1},
     PROGRESS_SITE_ACTIVE,
     false,
     {0},
     true,
     {2025, 9, 1},
     WALLONIA,
     true},
    {"planned", false, {0}, PROGRESS_SITE_PLANNED, false, {0}, false, {0}, BRUSSELS, false},
    {"withdrawn in August",
     true,
     {2025, 2, 1},
     PROGRESS_SITE_WITHDRAWN,
     true,
     {2025, 8, 15},
     true,
     {2025, 7, 1},
     FLANDERS,
     false},
    {"withdrawn in November, after the date",
     true,
     {2025, 3, 1},
     PROGRESS_SITE_WITHDRAWN,
     true,
     {2025, 11, 30},
     true,
     {2025, 8, 1},
     WALLONIA,
     true},
    {"withdrawn on the date",
     true,
     {2025, 3, 1},
     PROGRESS_SITE_WITHDRAWN,
     true,
     {2025, 10, 15},
     true,
     {2025, 9, 1},
     WALLONIA,
     false},
    {"withdrawn, date unknown",
     true,
     {2025, 3, 1},
     PROGRESS_SITE_WITHDRAWN,
     false,
     {0},
     true,
     {2025, 9, 1},
     WALLONIA,
     false},
    {"adopted after the date",
     true,
     {2025, 10, 16},
     PROGRESS_SITE_ACTIVE,
     false,
     {0},
     true,
     {2025, 9, 1},
     BRUSSELS,
     false},
    /* its July data was sent before it formally adopted the package */
    {"adopted on the date",
     true,
     {2025, 10, 15},
     PROGRESS_SITE_ACTIVE,
     false,
     {0},
     true,
     {2025, 7, 1},
     BRUSSELS,
     true},
    {"never reported",
     true,
     {2025, 1, 1},
     PROGRESS_SITE_ACTIVE,
     false,
     {0},
     false,
     {0},
     BRUSSELS,
     false},
};
#define N_SITE_CASES (sizeof site_cases / sizeof site_cases[0])

static void build_sites(struct progress_site *sites)
{
    for (size_t i = 0; i < N_SITE_CASES; i++) {
        const struct site_case *c = &site_cases[i];
        sites[i] = (struct progress_site){
            .site_id = (int64_t)i + 1,
            .region_id = c->region,
            .has_adopted = c->has_adopted,
            .adopted = c->has_adopted ? day_of(c->adopted) : 0,
            .status = c->status,
            .has_withdrawn = c->has_withdrawn,
            .withdrawn = c->has_withdrawn ? day_of(c->withdrawn) : 0,
            .has_last_reported = c->has_last_reported,
            .last_reported = c->has_last_reported ? day_of(c->last_reported) : 0,
        };
    }
}

Test(progress, site_is_active_when_adopted_not_withdrawn_and_reporting)
{
    struct progress_site sites[N_SITE_CASES];
    int32_t date = date_from_ymd(2025, 10, 15);
    int32_t window = progress_activity_window_start(PERIOD_MONTHLY, 3, date);
    cr_assert_eq(window, date_from_ymd(2025, 7, 1));
    build_sites(sites);
    for (size_t i = 0; i < N_SITE_CASES; i++)
        cr_expect_eq(progress_site_active(&sites[i], date, window), site_cases[i].active, "%s",
                     site_cases[i].name);
}

Test(progress, expansion_counts_active_sites_and_regions)
{
    struct progress_site sites[N_SITE_CASES];
    struct progress_expansion_count count;
    int32_t date = date_from_ymd(2025, 10, 15);
    int32_t window = date_from_ymd(2025, 7, 1);
    build_sites(sites);
    /* active: "reported September" (Flanders), "mid-series" and "withdrawn in November"
     * (Wallonia), "adopted on the date" (Brussels): 4 sites in 3 regions */
    progress_expansion_count(sites, N_SITE_CASES, date, window, &count);
    cr_expect_eq(count.active_sites, 4);
    cr_expect_eq(count.active_regions, 3);
    cr_expect_eq(progress_expansion_region_sites(sites, N_SITE_CASES, FLANDERS, date, window), 1);
    cr_expect_eq(progress_expansion_region_sites(sites, N_SITE_CASES, WALLONIA, date, window), 2);
    cr_expect_eq(progress_expansion_region_sites(sites, N_SITE_CASES, BRUSSELS, date, window), 1);

    /* a day earlier, "adopted on the date" has not adopted yet and "withdrawn on the date"
     * has not left: Flanders 1, Wallonia 3, Brussels 0 = 4 sites in 2 regions */
    progress_expansion_count(sites, N_SITE_CASES, date - 1, window, &count);
    cr_expect_eq(count.active_sites, 4);
    cr_expect_eq(count.active_regions, 2);

    progress_expansion_count(sites, 0, date, window, &count);
    cr_expect_eq(count.active_sites, 0);
    cr_expect_eq(count.active_regions, 0);
}

/* The mid-series site through time: adopted 2025-09-01, monthly, N = 3; last_reported is what
 * the site had reported as of each date. */
struct mid_series_case {
    struct ymd date;
    bool has_last_reported;
    struct ymd last_reported;
    bool active;
};

Test(progress, site_that_adopted_mid_series)
{
    static const struct mid_series_case cases[] = {
        {{2025, 8, 15}, false, {0}, false},         /* not adopted yet */
        {{2025, 9, 15}, false, {0}, false},         /* adopted, nothing reported yet */
        {{2025, 10, 20}, true, {2025, 9, 1}, true}, /* window Jul-Sep, reported September */
        {{2026, 1, 10}, true, {2025, 9, 1}, false}, /* window Oct-Dec: September too old */
        {{2026, 1, 10}, true, {2025, 10, 1}, true}, /* window Oct-Dec, reported October */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct mid_series_case *c = &cases[i];
        struct progress_site site = {
            .site_id = 3,
            .region_id = WALLONIA,
            .has_adopted = true,
            .adopted = date_from_ymd(2025, 9, 1),
            .status = PROGRESS_SITE_ACTIVE,
            .has_last_reported = c->has_last_reported,
            .last_reported = c->has_last_reported ? day_of(c->last_reported) : 0,
        };
        int32_t date = day_of(c->date);
        int32_t window = progress_activity_window_start(PERIOD_MONTHLY, 3, date);
        cr_expect_eq(progress_site_active(&site, date, window), c->active, "case %zu", i);
    }
}

/* ---- institutionalisation ---------------------------------------------------------------- */

struct inst_case {
    const char *name;
    struct ymd date;
    struct progress_item_score scores[3];
    double value;
    size_t unscored;
    double ratios[3];
    bool overdue[3];
};

Test(progress, institutionalisation_is_the_mean_of_capped_ratios)
{
    /* The example's items: fee-code (target 4, due 2027-06-30), national-indicators (target
     * 4, due 2026-12-31), nurse-role (target 3, due 2027-12-31). */
    struct roadmap_item items[3] = {
        {.key = "fee-code", .target = 4, .has_due = true, .due = date_from_ymd(2027, 6, 30)},
        {.key = "national-indicators",
         .target = 4,
         .has_due = true,
         .due = date_from_ymd(2026, 12, 31)},
        {.key = "nurse-role", .target = 3, .has_due = true, .due = date_from_ymd(2027, 12, 31)},
    };
    const struct roadmap_institutionalisation inst = {
        .present = true, .n_items = 3, .items = items};
    static const struct inst_case cases[] = {
        /* 2/4 = 0.5, 4/4 = 1, no score = 0: (0.5 + 1 + 0) / 3 = 0.5; national-indicators
         * is past due but complete, so not overdue */
        {"one item not scored yet",
         {2027, 1, 15},
         {{true, 2}, {true, 4}, {false, 0}},
         0.5,
         1,
         {0.5, 1.0, 0.0},
         {false, false, false}},
        /* 3/4 = 0.75 (due 06-30, overdue), 3/4 = 0.75 (overdue), 4/3 capped at 1:
         * (0.75 + 0.75 + 1) / 3 = 2.5 / 3 */
        {"capped and overdue",
         {2027, 7, 1},
         {{true, 3}, {true, 3}, {true, 4}},
         2.5 / 3.0,
         0,
         {0.75, 0.75, 1.0},
         {true, true, false}},
        /* on its due date an item is not overdue yet */
        {"on the due date",
         {2027, 6, 30},
         {{true, 3}, {true, 4}, {true, 0}},
         (0.75 + 1.0) / 3.0,
         0,
         {0.75, 1.0, 0.0},
         {false, false, false}},
        {"nothing scored",
         {2025, 6, 1},
         {{false, 0}, {false, 0}, {false, 0}},
         0.0,
         3,
         {0.0, 0.0, 0.0},
         {false, false, false}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct inst_case *c = &cases[i];
        struct progress_item_detail details[3];
        struct progress_institutionalisation result;
        progress_institutionalisation_evaluate(&inst, c->scores, day_of(c->date), details, &result);
        /* nothing scored yet is no value (the dimension has no data), never 0 % */
        cr_expect_eq(result.has_value, c->unscored < 3, "%s", c->name);
        if (result.has_value)
            cr_expect_float_eq(result.value, c->value, EPS, "%s: %.12f", c->name, result.value);
        cr_expect_eq(result.items_unscored, c->unscored, "%s", c->name);
        cr_expect_eq(result.items_scored, 3 - c->unscored, "%s", c->name);
        for (size_t k = 0; k < 3; k++) {
            cr_expect_str_eq(details[k].key, items[k].key, "%s", c->name);
            cr_expect_eq(details[k].has_score, c->scores[k].has_score, "%s: item %zu", c->name, k);
            cr_expect_eq(details[k].target, items[k].target, "%s: item %zu", c->name, k);
            cr_expect_float_eq(details[k].ratio, c->ratios[k], EPS, "%s: item %zu", c->name, k);
            cr_expect_eq(details[k].overdue, c->overdue[k], "%s: item %zu overdue", c->name, k);
            cr_expect_eq(details[k].due, items[k].due, "%s: item %zu", c->name, k);
        }
    }
}

/* ---- roadmap versions -------------------------------------------------------------------- */

struct version_case {
    struct ymd date;
    size_t expected;
};

Test(progress, version_in_force_is_the_latest_created_by_the_date)
{
    /* versions created 2025-01-10, 2025-07-01, 2026-01-15 (in upload order) */
    const int32_t created[] = {date_from_ymd(2025, 1, 10), date_from_ymd(2025, 7, 1),
                               date_from_ymd(2026, 1, 15)};
    static const struct version_case cases[] = {
        {{2024, 12, 1}, 0}, /* before the first version: the first one */
        {{2025, 1, 10}, 0}, {{2025, 6, 30}, 0}, {{2025, 7, 1}, 1},
        {{2026, 1, 14}, 1}, {{2026, 1, 15}, 2}, {{2030, 1, 1}, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t index = 99;
        cr_assert(progress_version_in_force(created, 3, day_of(cases[i].date), &index));
        cr_expect_eq(index, cases[i].expected, "case %zu: %zu", i, index);
    }

    /* not in date order: the rule is by created_at, not by position */
    const int32_t shuffled[] = {created[2], created[0], created[1]};
    size_t index = 99;
    cr_assert(progress_version_in_force(shuffled, 3, date_from_ymd(2025, 8, 1), &index));
    cr_expect_eq(index, 2);
    cr_assert(progress_version_in_force(shuffled, 3, date_from_ymd(2024, 1, 1), &index));
    cr_expect_eq(index, 1);

    /* two versions uploaded the same day: the later upload */
    const int32_t same_day[] = {created[0], created[0]};
    cr_assert(progress_version_in_force(same_day, 2, created[0], &index));
    cr_expect_eq(index, 1);

    cr_expect_not(progress_version_in_force(created, 0, created[0], &index));
}

struct history_case {
    struct ymd date;
    double actual;
    size_t version;
    double planned;
    enum progress_status status;
};

Test(progress, history_follows_the_version_in_force)
{
    /* version 0 (created 2025-01-01) is the example's coverage plan; version 1 (created
     * 2025-07-01) lowers the first two milestones to 0.10 and 0.25. */
    static struct roadmap_milestone revised[] = {{0, 0.10}, {0, 0.25}, {0, 0.50}};
    revised[0].date = coverage_milestones[0].date;
    revised[1].date = coverage_milestones[1].date;
    revised[2].date = coverage_milestones[2].date;
    const struct roadmap_plan plans[] = {coverage_plan, {0.04, 3, revised}};
    const int32_t created[] = {date_from_ymd(2025, 1, 1), date_from_ymd(2025, 7, 1)};
    static const struct history_case cases[] = {
        /* 2025-04-01 is day 90 of 364: v0 planned 0.04 + 0.11 * 90 / 364 = 0.0672;
         * actual 0.06, gap -0.0072: on track */
        {{2025, 4, 1}, 0.06, 0, 0.04 + 0.11 * 90.0 / 364.0, PROGRESS_STATUS_ON_TRACK},
        /* 2025-07-01, the day v1 is created, day 181: 0.04 + 0.06 * 181 / 364 = 0.0698 */
        {{2025, 7, 1}, 0.07, 1, 0.04 + 0.06 * 181.0 / 364.0, PROGRESS_STATUS_ON_TRACK},
        /* 2025-10-01 is day 273 = 3/4 of 364: v1 planned 0.04 + 0.06 * 0.75 = 0.085, gap
         * +0.005: on track (against v0's 0.04 + 0.11 * 0.75 = 0.1225 it would be behind by
         * 0.0325) */
        {{2025, 10, 1}, 0.09, 1, 0.085, PROGRESS_STATUS_ON_TRACK},
        /* 2026-07-01, 182 of 365 days between v1's 0.10 and 0.25:
         * 0.10 + 0.15 * 182 / 365 = 0.1748; actual 0.12, gap -0.0548: at risk */
        {{2026, 7, 1}, 0.12, 1, 0.10 + 0.15 * 182.0 / 365.0, PROGRESS_STATUS_AT_RISK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct history_case *c = &cases[i];
        size_t version;
        struct progress_measure m;
        int32_t date = day_of(c->date);
        cr_assert(progress_version_in_force(created, 2, date, &version));
        cr_expect_eq(version, c->version, "case %zu: version %zu", i, version);
        progress_measure_evaluate(&plans[version], baseline_date, &coverage_tolerance,
                                  PROGRESS_TOLERANCE_ABSOLUTE, date, true, c->actual, &m);
        cr_expect_float_eq(m.planned, c->planned, EPS, "case %zu: planned %.12f", i, m.planned);
        cr_expect_eq(m.status, c->status, "case %zu: %s", i, progress_status_name(m.status));
    }
    /* and v0 would have said behind on 2025-10-01 */
    cr_expect_eq(progress_status_of(
                     PROGRESS_TOLERANCE_ABSOLUTE, &coverage_tolerance,
                     progress_planned(&plans[0], baseline_date, date_from_ymd(2025, 10, 1)), 0.09),
                 PROGRESS_STATUS_BEHIND);
}
