/*
 * Scale-up progress: planned trajectories, status against tolerances, forecasts, and the
 * aggregation of coverage, expansion and institutionalisation from values the caller read.
 * Pure arithmetic on caller-owned arrays; the only allocation is progress_expansion_count's.
 */
#include "scaleupd/core/progress.h"

#include <math.h>
#include <stdlib.h>

#include "scaleupd/core/alloc.h"

/* Slack allowed when comparing a gap with a tolerance, so that a gap equal to the tolerance
 * on paper (0.13 - 0.15 against 0.02) is not beyond it because of binary rounding. */
#define PROGRESS_EPSILON 1e-9

struct period progress_latest_complete_period(enum period_type type, int32_t date)
{
    return period_add(period_containing(type, date), -1);
}

int32_t progress_activity_window_start(enum period_type type, int periods, int32_t date)
{
    struct period latest = progress_latest_complete_period(type, date);
    if (periods < 1)
        periods = 1;
    return period_start(period_add(latest, -(periods - 1)));
}

bool progress_version_in_force(const int32_t *created_at, size_t n, int32_t date, size_t *index)
{
    if (n == 0)
        return false;
    size_t in_force = n;
    size_t earliest = 0;
    for (size_t i = 0; i < n; i++) {
        if (created_at[i] < created_at[earliest])
            earliest = i;
        if (created_at[i] <= date && (in_force == n || created_at[i] >= created_at[in_force]))
            in_force = i;
    }
    *index = in_force == n ? earliest : in_force;
    return true;
}

static double interpolate(int32_t from_date, double from_value, int32_t to_date, double to_value,
                          int32_t date)
{
    double share = (double)(date - from_date) / (double)(to_date - from_date);
    return from_value + share * (to_value - from_value);
}

double progress_planned(const struct roadmap_plan *plan, int32_t baseline_date, int32_t date)
{
    int32_t from_date = baseline_date;
    double from_value = plan->baseline;
    if (date <= baseline_date)
        return plan->baseline;
    for (size_t i = 0; i < plan->n_milestones; i++) {
        const struct roadmap_milestone *milestone = &plan->milestones[i];
        if (date <= milestone->date) {
            if (milestone->date <= from_date)
                return milestone->target;
            return interpolate(from_date, from_value, milestone->date, milestone->target, date);
        }
        from_date = milestone->date;
        from_value = milestone->target;
    }
    return from_value;
}

const char *progress_status_name(enum progress_status status)
{
    switch (status) {
    case PROGRESS_STATUS_NO_DATA:
        return "no_data";
    case PROGRESS_STATUS_ON_TRACK:
        return "on_track";
    case PROGRESS_STATUS_BEHIND:
        return "behind";
    case PROGRESS_STATUS_AT_RISK:
        return "at_risk";
    }
    return "unknown";
}

static int status_severity(enum progress_status status)
{
    switch (status) {
    case PROGRESS_STATUS_ON_TRACK:
        return 0;
    case PROGRESS_STATUS_NO_DATA:
        return 1;
    case PROGRESS_STATUS_BEHIND:
        return 2;
    case PROGRESS_STATUS_AT_RISK:
        return 3;
    }
    return 1;
}

enum progress_status progress_status_worse(enum progress_status a, enum progress_status b)
{
    return status_severity(b) > status_severity(a) ? b : a;
}

enum progress_status progress_status_of(enum progress_tolerance_mode mode,
                                        const struct roadmap_tolerance *tolerance, double planned,
                                        double actual)
{
    double shortfall; /* how far below the plan, in the tolerance's units */
    if (mode == PROGRESS_TOLERANCE_RELATIVE) {
        if (planned <= 0.0)
            return PROGRESS_STATUS_ON_TRACK;
        shortfall = (planned - actual) / planned;
    } else {
        shortfall = planned - actual;
    }
    if (shortfall > tolerance->at_risk + PROGRESS_EPSILON)
        return PROGRESS_STATUS_AT_RISK;
    if (shortfall > tolerance->behind + PROGRESS_EPSILON)
        return PROGRESS_STATUS_BEHIND;
    return PROGRESS_STATUS_ON_TRACK;
}

static double progress_share(double baseline, double final_target, double actual)
{
    if (final_target == baseline)
        return actual >= final_target ? 1.0 : 0.0;
    return (actual - baseline) / (final_target - baseline);
}

void progress_measure_evaluate(const struct roadmap_plan *plan, int32_t baseline_date,
                               const struct roadmap_tolerance *tolerance,
                               enum progress_tolerance_mode mode, int32_t date, bool has_actual,
                               double actual, struct progress_measure *out)
{
    out->has_actual = has_actual;
    out->actual = has_actual ? actual : 0.0;
    out->planned = progress_planned(plan, baseline_date, date);
    out->baseline = plan->baseline;
    out->final_target = roadmap_plan_final_target(plan);
    out->progress = 0.0;
    out->gap = 0.0;
    out->status = PROGRESS_STATUS_NO_DATA;
    if (!has_actual)
        return;
    out->progress = progress_share(out->baseline, out->final_target, actual);
    out->gap = actual - out->planned;
    out->status = progress_status_of(mode, tolerance, out->planned, actual);
}

void progress_expansion_evaluate(const struct roadmap_expansion *expansion, int32_t baseline_date,
                                 int32_t date, size_t active_sites, size_t active_regions,
                                 struct progress_expansion *out)
{
    progress_measure_evaluate(&expansion->sites, baseline_date, &expansion->tolerance,
                              PROGRESS_TOLERANCE_RELATIVE, date, true, (double)active_sites,
                              &out->sites);
    progress_measure_evaluate(&expansion->regions, baseline_date, &expansion->tolerance,
                              PROGRESS_TOLERANCE_RELATIVE, date, true, (double)active_regions,
                              &out->regions);
    out->status = progress_status_worse(out->sites.status, out->regions.status);
    out->progress = out->sites.progress;
}

/* Least-squares line through points[0..n) about the mean date; false with < 2 distinct
 * dates. The line is value = mean_value + slope * (date - mean_date). */
static bool fit_line(const struct progress_point *points, size_t n, double *mean_date,
                     double *mean_value, double *slope)
{
    double sum_date = 0.0, sum_value = 0.0, sxx = 0.0, sxy = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum_date += points[i].date;
        sum_value += points[i].value;
    }
    *mean_date = sum_date / (double)n;
    *mean_value = sum_value / (double)n;
    for (size_t i = 0; i < n; i++) {
        double dx = points[i].date - *mean_date;
        sxx += dx * dx;
        sxy += dx * (points[i].value - *mean_value);
    }
    if (sxx <= 0.0)
        return false;
    *slope = sxy / sxx;
    return true;
}

void progress_forecast(const struct progress_point *points, size_t n, size_t window,
                       double final_target, struct progress_forecast *out)
{
    double mean_date, mean_value, slope;
    *out = (struct progress_forecast){.kind = PROGRESS_FORECAST_INSUFFICIENT};
    if (n == 0)
        return;
    const struct progress_point *latest = &points[n - 1];
    if (latest->value >= final_target) {
        out->kind = PROGRESS_FORECAST_REACHED;
        return;
    }
    size_t count = window < n ? window : n;
    if (count < 2 || !fit_line(points + (n - count), count, &mean_date, &mean_value, &slope))
        return;
    out->has_slope = true;
    out->slope_per_day = slope;
    out->kind = PROGRESS_FORECAST_NOT_AT_THIS_RATE;
    if (!(slope > 0.0))
        return;
    double reach = mean_date + (final_target - mean_value) / slope;
    if (reach < latest->date)
        reach = latest->date;
    if (!(reach <= (double)latest->date + PROGRESS_FORECAST_HORIZON_DAYS))
        return;
    out->kind = PROGRESS_FORECAST_DATE;
    out->date = (int32_t)floor(reach + 0.5);
}

static void coverage_init(struct progress_coverage *out)
{
    *out = (struct progress_coverage){.has_value = false};
}

static void coverage_add(struct progress_coverage *out, const struct progress_coverage_row *row)
{
    out->sites_in_scope++;
    if (!row->has_numerator || !row->has_denominator || !isfinite(row->numerator) ||
        !isfinite(row->denominator))
        return;
    out->numerator_sum += row->numerator;
    out->denominator_sum += row->denominator;
    out->sites_covered++;
}

static void coverage_finish(struct progress_coverage *out)
{
    if (out->sites_covered == 0 || out->denominator_sum == 0.0)
        return;
    out->value = out->numerator_sum / out->denominator_sum;
    out->has_value = isfinite(out->value);
    if (!out->has_value)
        out->value = 0.0;
}

void progress_coverage_total(const struct progress_coverage_row *rows, size_t n,
                             struct progress_coverage *out)
{
    coverage_init(out);
    for (size_t i = 0; i < n; i++)
        coverage_add(out, &rows[i]);
    coverage_finish(out);
}

void progress_coverage_region(const struct progress_coverage_row *rows, size_t n, int64_t region_id,
                              struct progress_coverage *out)
{
    coverage_init(out);
    for (size_t i = 0; i < n; i++)
        if (rows[i].region_id == region_id)
            coverage_add(out, &rows[i]);
    coverage_finish(out);
}

void progress_coverage_fixed(const struct progress_coverage_row *rows, size_t n,
                             double target_population, struct progress_coverage *out)
{
    coverage_init(out);
    for (size_t i = 0; i < n; i++) {
        out->sites_in_scope++;
        if (!rows[i].has_numerator || !isfinite(rows[i].numerator))
            continue;
        out->numerator_sum += rows[i].numerator;
        out->sites_covered++;
    }
    if (!(target_population > 0.0) || !isfinite(target_population))
        return;
    out->denominator_sum = target_population;
    coverage_finish(out);
}

bool progress_site_active(const struct progress_site *site, int32_t date, int32_t window_start)
{
    if (!site->has_adopted || site->adopted > date || site->status == PROGRESS_SITE_PLANNED)
        return false;
    if (site->status == PROGRESS_SITE_WITHDRAWN &&
        (!site->has_withdrawn || site->withdrawn <= date))
        return false;
    return site->has_last_reported && site->last_reported >= window_start;
}

static int compare_region(const void *a, const void *b)
{
    int64_t left = *(const int64_t *)a, right = *(const int64_t *)b;
    return (left > right) - (left < right);
}

void progress_expansion_count(const struct progress_site *sites, size_t n, int32_t date,
                              int32_t window_start, struct progress_expansion_count *out)
{
    *out = (struct progress_expansion_count){0};
    if (n == 0)
        return;
    int64_t *regions = xmalloc(n * sizeof *regions);
    for (size_t i = 0; i < n; i++)
        if (progress_site_active(&sites[i], date, window_start))
            regions[out->active_sites++] = sites[i].region_id;
    qsort(regions, out->active_sites, sizeof *regions, compare_region);
    for (size_t i = 0; i < out->active_sites; i++)
        if (i == 0 || regions[i] != regions[i - 1])
            out->active_regions++;
    free(regions);
}

size_t progress_expansion_region_sites(const struct progress_site *sites, size_t n,
                                       int64_t region_id, int32_t date, int32_t window_start)
{
    size_t active = 0;
    for (size_t i = 0; i < n; i++)
        if (sites[i].region_id == region_id && progress_site_active(&sites[i], date, window_start))
            active++;
    return active;
}

static void item_evaluate(const struct roadmap_item *item, const struct progress_item_score *score,
                          int32_t date, struct progress_item_detail *detail)
{
    detail->key = item->key;
    detail->has_score = score->has_score && isfinite(score->score);
    detail->score = detail->has_score ? score->score : 0.0;
    detail->target = item->target;
    detail->ratio = 0.0;
    if (detail->has_score && item->target > 0)
        detail->ratio = fmin(fmax(detail->score / item->target, 0.0), 1.0);
    detail->has_due = item->has_due;
    detail->due = item->has_due ? item->due : 0;
    detail->overdue = item->has_due && item->due < date && detail->ratio < 1.0;
}

void progress_institutionalisation_evaluate(const struct roadmap_institutionalisation *inst,
                                            const struct progress_item_score *scores, int32_t date,
                                            struct progress_item_detail *details,
                                            struct progress_institutionalisation *out)
{
    double sum = 0.0;
    *out = (struct progress_institutionalisation){.has_value = false};
    for (size_t i = 0; i < inst->n_items; i++) {
        struct progress_item_detail detail;
        item_evaluate(&inst->items[i], &scores[i], date, &detail);
        sum += detail.ratio;
        if (detail.has_score)
            out->items_scored++;
        else
            out->items_unscored++;
        if (details)
            details[i] = detail;
    }
    if (out->items_scored == 0)
        return; /* nothing scored yet: no data, not 0 % */
    out->has_value = true;
    out->value = sum / (double)inst->n_items;
}
