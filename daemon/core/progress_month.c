/* The evaluation of one month of progress snapshots (progress_month.h): from the member
 * sites, coverage values and scores the caller read, each dimension's actual, planned,
 * progress, gap and status for the programme and its regions, with progress.c doing the
 * arithmetic; and the range of months a refresh recomputes. Pure: no I/O. */
#include "scaleupd/core/progress_month.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"

static bool same_code(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

const struct progress_month_coverage *
progress_month_coverage_of(const struct progress_month_inputs *in,
                           const struct roadmap_coverage *coverage)
{
    for (size_t k = 0; k < in->n_coverage; k++)
        if (same_code(in->coverage[k].numerator, coverage->numerator) &&
            same_code(in->coverage[k].denominator, coverage->denominator))
            return &in->coverage[k];
    return NULL;
}

/* The period type of the coverage data, which sets expansion's activity window too. */
static enum period_type activity_type(const struct progress_month_inputs *in,
                                      const struct roadmap *rm)
{
    const struct progress_month_coverage *cov =
        rm->coverage.present ? progress_month_coverage_of(in, &rm->coverage) : NULL;
    return cov != NULL ? cov->period_type : PERIOD_MONTHLY;
}

static struct progress_month_row *add_row(struct progress_month *out, enum roadmap_dimension dim,
                                          int64_t region_id, int version,
                                          enum progress_month_detail_kind kind)
{
    struct progress_month_row *row = &out->rows[out->n_rows++];
    memset(row, 0, sizeof(*row));
    row->dimension = dim;
    row->region_id = region_id;
    row->roadmap_version = version;
    row->kind = kind;
    return row;
}

/* ---- coverage ------------------------------------------------------------------------ */

/* The rows of the period starting period_start, copied into a new array the caller frees
 * (*count of them). */
static struct progress_coverage_row *coverage_period_rows(const struct progress_month_coverage *cov,
                                                          int32_t period_start, size_t *count)
{
    size_t lo = 0, hi = cov != NULL ? cov->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cov->values[mid].period_start < period_start)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (cov != NULL && end < cov->n && cov->values[end].period_start == period_start)
        end++;
    *count = end - lo;
    struct progress_coverage_row *rows = xcalloc(*count ? *count : 1, sizeof(*rows));
    for (size_t i = lo; i < end; i++)
        rows[i - lo] = cov->values[i].row;
    return rows;
}

static void add_coverage_row(struct progress_month *out, const struct roadmap *rm, int version,
                             int64_t region_id, const struct progress_coverage *value,
                             struct period data_period)
{
    const struct roadmap_coverage *c = &rm->coverage;
    struct progress_month_row *row = add_row(out, ROADMAP_DIMENSION_COVERAGE, region_id, version,
                                             PROGRESS_MONTH_DETAIL_COVERAGE);
    progress_measure_evaluate(&c->plan, rm->baseline_date, &c->tolerance,
                              PROGRESS_TOLERANCE_ABSOLUTE, out->as_of, value->has_value,
                              value->value, &row->measure);
    row->status = row->measure.status;
    row->detail.coverage.value = *value;
    row->detail.coverage.data_period = data_period;
}

static void evaluate_coverage(const struct progress_month_inputs *in, const struct roadmap *rm,
                              int version, struct progress_month *out)
{
    const struct roadmap_coverage *c = &rm->coverage;
    const struct progress_month_coverage *cov = progress_month_coverage_of(in, c);
    struct period data_period = progress_latest_complete_period(activity_type(in, rm), out->as_of);
    size_t n;
    struct progress_coverage_row *buf = coverage_period_rows(cov, period_start(data_period), &n);
    struct progress_coverage total;
    if (c->denominator != NULL)
        progress_coverage_total(buf, n, &total);
    else
        progress_coverage_fixed(buf, n, c->target_population, &total);
    add_coverage_row(out, rm, version, 0, &total, data_period);
    for (size_t r = 0; c->denominator != NULL && r < in->n_regions; r++) {
        struct progress_coverage region;
        progress_coverage_region(buf, n, in->regions[r], &region);
        add_coverage_row(out, rm, version, in->regions[r], &region, data_period);
    }
    free(buf);
}

/* ---- expansion ----------------------------------------------------------------------- */

/* The site with its latest reported period that started before `date`. */
static struct progress_site site_at(const struct progress_month_site *s, int32_t date)
{
    size_t lo = 0, hi = s->n_reported;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->reported[mid] < date)
            lo = mid + 1;
        else
            hi = mid;
    }
    struct progress_site site = s->site;
    site.has_last_reported = lo > 0;
    site.last_reported = lo > 0 ? s->reported[lo - 1] : 0;
    return site;
}

/* Sites of a region that should be active at `date` by their membership alone; *planned
 * counts the ones not adopted by then. */
static size_t region_adopted(const struct progress_site *sites, size_t n, int64_t region_id,
                             int32_t date, size_t *planned)
{
    size_t adopted = 0;
    *planned = 0;
    for (size_t i = 0; i < n; i++) {
        const struct progress_site *s = &sites[i];
        if (s->region_id != region_id)
            continue;
        bool gone =
            s->status == PROGRESS_SITE_WITHDRAWN && (!s->has_withdrawn || s->withdrawn <= date);
        if (s->status == PROGRESS_SITE_PLANNED || !s->has_adopted || s->adopted > date)
            (*planned)++;
        else if (!gone)
            adopted++;
    }
    return adopted;
}

static void add_region_expansion_row(struct progress_month *out, const struct roadmap *rm,
                                     int version, int64_t region_id,
                                     const struct progress_site *sites, size_t n, int32_t window)
{
    size_t planned_sites, adopted = region_adopted(sites, n, region_id, out->as_of, &planned_sites);
    size_t active = progress_expansion_region_sites(sites, n, region_id, out->as_of, window);
    struct progress_month_row *row = add_row(out, ROADMAP_DIMENSION_EXPANSION, region_id, version,
                                             PROGRESS_MONTH_DETAIL_REGION_EXPANSION);
    row->measure = (struct progress_measure){
        .has_actual = true,
        .actual = (double)active,
        .planned = (double)adopted,
        .baseline = 0.0,
        .final_target = (double)adopted,
        .progress = adopted ? (double)active / (double)adopted : 1.0,
        .gap = (double)active - (double)adopted,
    };
    row->measure.status = progress_status_of(PROGRESS_TOLERANCE_RELATIVE, &rm->expansion.tolerance,
                                             row->measure.planned, row->measure.actual);
    row->status = row->measure.status;
    row->detail.region_expansion.active_sites = active;
    row->detail.region_expansion.adopted_sites = adopted;
    row->detail.region_expansion.planned_sites = planned_sites;
}

static void evaluate_expansion(const struct progress_month_inputs *in, const struct roadmap *rm,
                               int version, struct progress_month *out)
{
    const struct roadmap_expansion *e = &rm->expansion;
    int32_t window =
        progress_activity_window_start(activity_type(in, rm), e->active_within_periods, out->as_of);
    struct progress_site *sites = xcalloc(in->n_sites ? in->n_sites : 1, sizeof(*sites));
    for (size_t i = 0; i < in->n_sites; i++)
        sites[i] = site_at(&in->sites[i], out->as_of);
    struct progress_expansion_count count;
    progress_expansion_count(sites, in->n_sites, out->as_of, window, &count);
    struct progress_expansion ex;
    progress_expansion_evaluate(e, rm->baseline_date, out->as_of, count.active_sites,
                                count.active_regions, &ex);
    struct progress_month_row *row =
        add_row(out, ROADMAP_DIMENSION_EXPANSION, 0, version, PROGRESS_MONTH_DETAIL_EXPANSION);
    row->measure = ex.sites;
    row->status = ex.status;
    row->detail.expansion.active_sites = count.active_sites;
    row->detail.expansion.active_regions = count.active_regions;
    row->detail.expansion.regions_planned = ex.regions.planned;
    row->detail.expansion.regions_gap = ex.regions.gap;
    row->detail.expansion.sites_status = ex.sites.status;
    row->detail.expansion.regions_status = ex.regions.status;
    for (size_t r = 0; r < in->n_regions; r++)
        add_region_expansion_row(out, rm, version, in->regions[r], sites, in->n_sites, window);
    free(sites);
}

/* ---- institutionalisation ------------------------------------------------------------ */

/* The latest score of an indicator for a period that ended before `date`, or NULL. */
static const struct progress_month_score *latest_score(const struct progress_month_inputs *in,
                                                       const char *indicator, int32_t date)
{
    const struct progress_month_score *found = NULL;
    for (size_t i = 0; i < in->n_scores; i++)
        if (strcmp(in->scores[i].indicator, indicator) == 0 && in->scores[i].period_end < date)
            found = &in->scores[i];
    return found;
}

static void evaluate_institutionalisation(const struct progress_month_inputs *in,
                                          const struct roadmap *rm, int version,
                                          struct progress_month *out)
{
    const struct roadmap_institutionalisation *inst = &rm->institutionalisation;
    struct progress_item_score *scores =
        xcalloc(inst->n_items ? inst->n_items : 1, sizeof(*scores));
    struct progress_month_item *items = xcalloc(inst->n_items ? inst->n_items : 1, sizeof(*items));
    for (size_t i = 0; i < inst->n_items; i++) {
        const struct progress_month_score *s =
            latest_score(in, inst->items[i].indicator, out->as_of);
        scores[i] = (struct progress_item_score){s != NULL, s ? s->value : 0.0};
        items[i] =
            (struct progress_month_item){inst->items[i].indicator, s != NULL, s ? s->value : 0.0,
                                         s ? s->period_start : 0, s ? s->comment : NULL};
    }
    struct progress_institutionalisation value;
    progress_institutionalisation_evaluate(inst, scores, out->as_of, NULL, &value);
    free(scores);
    struct progress_month_row *row = add_row(out, ROADMAP_DIMENSION_INSTITUTIONALISATION, 0,
                                             version, PROGRESS_MONTH_DETAIL_INSTITUTIONALISATION);
    progress_measure_evaluate(&inst->plan, rm->baseline_date, &inst->tolerance,
                              PROGRESS_TOLERANCE_ABSOLUTE, out->as_of, value.has_value, value.value,
                              &row->measure);
    row->status = row->measure.status;
    row->detail.institutionalisation.n_items = inst->n_items;
    row->detail.institutionalisation.items = items;
}

/* ---- a month ------------------------------------------------------------------------- */

void progress_month_evaluate(const struct progress_month_inputs *in, const struct roadmap *rm,
                             int version, int32_t month, struct progress_month *out)
{
    struct period p = period_containing(PERIOD_MONTHLY, month);
    memset(out, 0, sizeof(*out));
    out->period_start = period_start(p);
    out->as_of = period_end(p) + 1;
    /* at most a programme row and a row per region for coverage and expansion, one more */
    out->rows = xcalloc(3 + 2 * in->n_regions, sizeof(*out->rows));
    if (rm->coverage.present)
        evaluate_coverage(in, rm, version, out);
    if (rm->expansion.present)
        evaluate_expansion(in, rm, version, out);
    if (rm->institutionalisation.present)
        evaluate_institutionalisation(in, rm, version, out);
}

void progress_month_release(struct progress_month *month)
{
    for (size_t i = 0; i < month->n_rows; i++)
        if (month->rows[i].kind == PROGRESS_MONTH_DETAIL_INSTITUTIONALISATION)
            free(month->rows[i].detail.institutionalisation.items);
    free(month->rows);
    memset(month, 0, sizeof(*month));
}

/* ---- details as stored --------------------------------------------------------------- */

static json_t *coverage_detail(const struct progress_coverage *c, struct period data_period)
{
    char label[PERIOD_FORMAT_MAX];
    if (!period_format(data_period, label, sizeof(label)))
        label[0] = '\0';
    return json_pack("{s:f,s:f,s:I,s:I,s:s}", "numerator", c->numerator_sum, "denominator",
                     c->denominator_sum, "sites_covered", (json_int_t)c->sites_covered,
                     "sites_in_scope", (json_int_t)c->sites_in_scope, "data_period", label);
}

static json_t *items_detail(const struct progress_month_item *items, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct progress_month_item *it = &items[i];
        char day[DATE_FORMAT_MAX] = "";
        if (it->has_score && !date_format(it->period_start, day, sizeof(day)))
            day[0] = '\0';
        json_array_append_new(list,
                              json_pack("{s:s,s:o,s:s?,s:s?}", "indicator", it->indicator, "score",
                                        it->has_score ? json_real(it->score) : json_null(),
                                        "period_start", it->has_score ? day : NULL, "comment",
                                        it->has_score ? it->comment : NULL));
    }
    return json_pack("{s:o}", "items", list);
}

json_t *progress_month_row_detail(const struct progress_month_row *row)
{
    switch (row->kind) {
    case PROGRESS_MONTH_DETAIL_COVERAGE:
        return coverage_detail(&row->detail.coverage.value, row->detail.coverage.data_period);
    case PROGRESS_MONTH_DETAIL_EXPANSION:
        return json_pack("{s:I,s:I,s:f,s:f,s:s,s:s}", "active_sites",
                         (json_int_t)row->detail.expansion.active_sites, "active_regions",
                         (json_int_t)row->detail.expansion.active_regions, "regions_planned",
                         row->detail.expansion.regions_planned, "regions_gap",
                         row->detail.expansion.regions_gap, "sites_status",
                         progress_status_name(row->detail.expansion.sites_status), "regions_status",
                         progress_status_name(row->detail.expansion.regions_status));
    case PROGRESS_MONTH_DETAIL_REGION_EXPANSION:
        return json_pack("{s:I,s:I,s:I}", "active_sites",
                         (json_int_t)row->detail.region_expansion.active_sites, "adopted_sites",
                         (json_int_t)row->detail.region_expansion.adopted_sites, "planned_sites",
                         (json_int_t)row->detail.region_expansion.planned_sites);
    case PROGRESS_MONTH_DETAIL_INSTITUTIONALISATION:
        return items_detail(row->detail.institutionalisation.items,
                            row->detail.institutionalisation.n_items);
    }
    return json_object();
}

/* ---- which months -------------------------------------------------------------------- */

bool progress_month_plan(const struct progress_month_state *st,
                         const struct roadmap_versions *versions, struct progress_month_range *out)
{
    struct period end = progress_latest_complete_period(PERIOD_MONTHLY, st->today);
    int32_t start = versions->versions[0].plan->baseline_date;
    for (size_t i = 1; i < versions->n; i++)
        if (versions->versions[i].plan->baseline_date < start)
            start = versions->versions[i].plan->baseline_date;
    if (st->has_first_data && st->first_data < start)
        start = st->first_data;
    int32_t oldest = period_start(period_add(end, -(PROGRESS_MONTH_MAX_PERIODS - 1)));
    out->first = period_start(period_containing(PERIOD_MONTHLY, start < oldest ? oldest : start));
    out->last = period_start(end);
    int32_t next =
        st->has_last
            ? period_start(period_add(period_containing(PERIOD_MONTHLY, st->last_snapshot), 1))
            : out->first;
    if (st->dirty) {
        int32_t since = st->dirty_since < out->first ? out->first : st->dirty_since;
        since = period_start(period_containing(PERIOD_MONTHLY, since));
        if (since < next)
            next = since;
    }
    out->from = next < out->first ? out->first : next;
    return out->from <= out->last || st->dirty;
}
