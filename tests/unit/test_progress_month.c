/*
 * The evaluation of one month of progress snapshots (core/progress_month.c), without a
 * database: the programme of tests/pg/test_progress_service.c — Flanders with A (adopted
 * January 2025) and B (April), Wallonia with C (March) and D (planned) — with the same
 * observations, plus a November 2024 value of A (a month before the baseline) and a July
 * 2025 one (after the last milestone). Every figure is worked out by hand in the comments:
 * the roadmap's baseline date is 2025-01-01 and its milestones 2025-07-01, 181 days later.
 * A month's snapshot speaks for the day after it ends (June's for 2025-07-01).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/progress.h"
#include "scaleupd/core/progress_month.h"
#include "scaleupd/core/roadmap_doc.h"

#define EPS 1e-9
#define VLG 10 /* Flanders */
#define WAL 20 /* Wallonia */
#define NONE -1.0

/* tests/pg/test_progress_service.c's version 1, verbatim. */
static const char roadmap_v1[] =
    "{\"programme\":\"prog\",\"label\":\"v1\",\"baseline_date\":\"2025-01-01\","
    "\"coverage\":{\"numerator\":\"enrolled\",\"denominator\":\"eligible\",\"baseline\":0.10,"
    "\"milestones\":[{\"date\":\"2025-07-01\",\"target\":0.40}],"
    "\"tolerance\":{\"behind\":0.02,\"at_risk\":0.05}},"
    "\"expansion\":{\"active_within_periods\":2,"
    "\"sites\":{\"baseline\":1,\"milestones\":[{\"date\":\"2025-07-01\",\"target\":4}]},"
    "\"regions\":{\"baseline\":1,\"milestones\":[{\"date\":\"2025-07-01\",\"target\":2}]},"
    "\"tolerance\":{\"behind\":0.10,\"at_risk\":0.25}},"
    "\"institutionalisation\":{\"items\":["
    "{\"key\":\"fee-code\",\"indicator\":\"fee\",\"target\":4,\"due\":\"2025-06-30\"},"
    "{\"key\":\"nurse-role\",\"indicator\":\"nurse\",\"target\":2}],"
    "\"baseline\":0.0,\"milestones\":[{\"date\":\"2025-07-01\",\"target\":0.5}],"
    "\"tolerance\":{\"behind\":0.05,\"at_risk\":0.15}}}";

/* Coverage against a fixed target population of 500 instead of a denominator. */
static const char roadmap_fixed[] =
    "{\"baseline_date\":\"2025-01-01\","
    "\"coverage\":{\"numerator\":\"enrolled\",\"target_population\":500,\"baseline\":0.10,"
    "\"milestones\":[{\"date\":\"2025-07-01\",\"target\":0.40}]}}";

/* Monthly values (numerator enrolled, denominator eligible; -1 when not reported). */
static const struct {
    int year, month;
    int64_t site;
    double numerator, denominator;
} values_table[] = {
    {2024, 11, 1, 8, 100}, /* A, before the baseline date */
    {2025, 1, 1, 10, 100}, {2025, 2, 1, 20, 100}, {2025, 3, 1, 30, 100},
    {2025, 3, 3, 2, 100},  {2025, 4, 1, 40, 100}, {2025, 4, 2, 5, 50},
    {2025, 4, 3, 4, 100},  {2025, 5, 1, 45, 100}, {2025, 5, 2, 10, 50},
    {2025, 5, 3, 6, -1}, /* C's May has no denominator */
    {2025, 6, 1, 50, 100}, {2025, 6, 2, 15, 50},  {2025, 6, 3, 10, 100},
    {2025, 7, 1, 60, 100}, /* A, after the last milestone */
};
#define N_VALUES (sizeof(values_table) / sizeof(values_table[0]))

static struct progress_month_coverage_value values[N_VALUES];
static struct progress_month_coverage_value fixed_values[N_VALUES];
static struct progress_month_coverage pairs[2];
static int32_t reported_a[8], reported_b[3], reported_c[4];
static struct progress_month_site sites[4];
static const int64_t regions[] = {VLG, WAL};
static struct progress_month_score scores[3];
static struct progress_month_inputs inputs;
static struct roadmap *v1, *fixed;

static int32_t day(int year, int month, int d)
{
    return date_from_ymd(year, month, d);
}

static struct progress_site site(int64_t id, int64_t region, enum progress_site_status status,
                                 int32_t adopted)
{
    return (struct progress_site){.site_id = id,
                                  .region_id = region,
                                  .has_adopted = adopted != 0,
                                  .adopted = adopted,
                                  .status = status};
}

static struct roadmap *parse(const char *text)
{
    struct roadmap *rm = NULL;
    struct roadmap_errors errs;
    cr_assert_eq(roadmap_parse(text, strlen(text), NULL, &rm, &errs), ROADMAP_OK, "%s",
                 errs.count ? errs.items[0].message : "");
    return rm;
}

static void setup_values(void)
{
    for (size_t i = 0; i < N_VALUES; i++) {
        struct progress_month_coverage_value *v = &values[i];
        v->period_start = day(values_table[i].year, values_table[i].month, 1);
        v->row.site_id = values_table[i].site;
        v->row.region_id = values_table[i].site == 3 ? WAL : VLG;
        v->row.has_numerator = values_table[i].numerator >= 0;
        v->row.numerator = v->row.has_numerator ? values_table[i].numerator : 0;
        v->row.has_denominator = values_table[i].denominator >= 0;
        v->row.denominator = v->row.has_denominator ? values_table[i].denominator : 0;
        fixed_values[i] = *v; /* the (enrolled, none) pair reads no denominator */
        fixed_values[i].row.has_denominator = false;
        fixed_values[i].row.denominator = 0;
    }
    pairs[0] =
        (struct progress_month_coverage){"enrolled", "eligible", PERIOD_MONTHLY, N_VALUES, values};
    pairs[1] =
        (struct progress_month_coverage){"enrolled", NULL, PERIOD_MONTHLY, N_VALUES, fixed_values};
}

static void setup_sites(void)
{
    /* the periods each site reported: A November 2024 and January to July 2025, B April
     * to June, C March to June, D nothing */
    reported_a[0] = day(2024, 11, 1);
    for (int m = 1; m <= 7; m++)
        reported_a[m] = day(2025, m, 1);
    for (int m = 4; m <= 6; m++)
        reported_b[m - 4] = day(2025, m, 1);
    for (int m = 3; m <= 6; m++)
        reported_c[m - 3] = day(2025, m, 1);
    sites[0] = (struct progress_month_site){site(1, VLG, PROGRESS_SITE_ACTIVE, day(2025, 1, 1)),
                                            reported_a, 8};
    sites[1] = (struct progress_month_site){site(2, VLG, PROGRESS_SITE_ACTIVE, day(2025, 4, 1)),
                                            reported_b, 3};
    sites[2] = (struct progress_month_site){site(3, WAL, PROGRESS_SITE_ACTIVE, day(2025, 3, 1)),
                                            reported_c, 4};
    sites[3] = (struct progress_month_site){site(4, WAL, PROGRESS_SITE_PLANNED, 0), NULL, 0};
}

static void setup(void)
{
    setup_values();
    setup_sites();
    /* quarterly scores in order of indicator, period, reception */
    scores[0] =
        (struct progress_month_score){"fee", day(2025, 1, 1), day(2025, 3, 31), 2, "draft decree"};
    scores[1] = (struct progress_month_score){"fee", day(2025, 4, 1), day(2025, 6, 30), 2,
                                              "stalled in committee"};
    scores[2] = (struct progress_month_score){"nurse", day(2025, 1, 1), day(2025, 3, 31), 1, NULL};
    inputs = (struct progress_month_inputs){sites, 4, regions, 2, pairs, 2, scores, 3};
    v1 = parse(roadmap_v1);
    fixed = parse(roadmap_fixed);
}

static void teardown(void)
{
    roadmap_free(&v1);
    roadmap_free(&fixed);
}

TestSuite(progress_month, .init = setup, .fini = teardown);

static const struct progress_month_row *find_row(const struct progress_month *m,
                                                 enum roadmap_dimension dimension, int64_t region)
{
    for (size_t i = 0; i < m->n_rows; i++)
        if (m->rows[i].dimension == dimension && m->rows[i].region_id == region)
            return &m->rows[i];
    return NULL;
}

/* One expected row: actual NONE means no actual (never a zero). */
struct row_case {
    const char *name;
    int year, month;
    enum roadmap_dimension dimension;
    int64_t region;
    double actual, planned, gap, progress;
    enum progress_status status;
};

#define COV ROADMAP_DIMENSION_COVERAGE
#define EXP ROADMAP_DIMENSION_EXPANSION
#define INST ROADMAP_DIMENSION_INSTITUTIONALISATION
#define ON PROGRESS_STATUS_ON_TRACK
#define BEHIND PROGRESS_STATUS_BEHIND
#define RISK PROGRESS_STATUS_AT_RISK
#define NO_DATA PROGRESS_STATUS_NO_DATA

static const struct row_case cases[] = {
    /* June, full data: (50 + 15 + 10) / (100 + 50 + 100) = 0.30 against 0.40, gap -0.10 is
     * beyond at_risk 0.05; progress (0.30 - 0.10) / (0.40 - 0.10) = 2/3 */
    {"june coverage", 2025, 6, COV, 0, 0.30, 0.40, -0.10, 2.0 / 3.0, RISK},
    /* June per region: Flanders (50 + 15) / (100 + 50), Wallonia 10 / 100 */
    {"june coverage flanders", 2025, 6, COV, VLG, 65.0 / 150.0, 0.40, 65.0 / 150.0 - 0.40,
     (65.0 / 150.0 - 0.10) / 0.30, ON},
    {"june coverage wallonia", 2025, 6, COV, WAL, 0.10, 0.40, -0.30, 0.0, RISK},
    /* June expansion, window May-June: A, B, C active (D planned), 3 against 4 is 25 %
     * short: behind, at risk only beyond 25 %; progress (3 - 1) / (4 - 1) */
    {"june expansion", 2025, 6, EXP, 0, 3, 4, -1, 2.0 / 3.0, BEHIND},
    /* a region's expansion: its active sites against the ones adopted by then */
    {"june expansion flanders", 2025, 6, EXP, VLG, 2, 2, 0, 1, ON},
    {"june expansion wallonia", 2025, 6, EXP, WAL, 1, 1, 0, 1, ON},
    /* June institutionalisation: fee 2/4 (Q2), nurse 1/2 (Q1), mean 0.5 = planned */
    {"june institutionalisation", 2025, 6, INST, 0, 0.5, 0.5, 0, 1, ON},
    /* May, C sent no denominator: it is left out of both sums, (45 + 10) / (100 + 50);
     * planned on 2025-06-01 (day 151) 0.10 + 0.30 * 151/181 */
    {"may coverage, a site missing", 2025, 5, COV, 0, 55.0 / 150.0, 0.10 + 0.30 * 151 / 181,
     55.0 / 150.0 - (0.10 + 0.30 * 151 / 181), (55.0 / 150.0 - 0.10) / 0.30, ON},
    /* Wallonia in May is C alone, without a denominator: no value, not a zero */
    {"may coverage wallonia, nothing complete", 2025, 5, COV, WAL, NONE, 0.10 + 0.30 * 151 / 181, 0,
     0, NO_DATA},
    /* February (as of 2025-03-01, day 59): only A had adopted and reported in the window
     * January-February (C adopted on 03-01 but had reported nothing before): 1 site against
     * 1 + 3 * 59/181 = 1.978, 49 % short */
    {"february expansion", 2025, 2, EXP, 0, 1, 1.0 + 3.0 * 59 / 181, -3.0 * 59 / 181, 0.0, RISK},
    {"february expansion wallonia", 2025, 2, EXP, WAL, 0, 1, -1, 0, RISK},
    /* no quarter had ended by 2025-03-01: no item is scored yet, so there is no value (never
     * 0 %), against 0.5 * 59/181 planned */
    {"february institutionalisation", 2025, 2, INST, 0, NONE, 0.5 * 59 / 181, 0, 0, NO_DATA},
    /* April (as of 2025-05-01, day 120): fee Q1 2/4, nurse Q1 1/2 = 0.5 against 0.5*120/181 */
    {"april institutionalisation", 2025, 4, INST, 0, 0.5, 0.5 * 120 / 181, 0.5 - 0.5 * 120 / 181, 1,
     ON},
    /* November 2024, before the baseline date: planned is the baseline; A's 8/100 is 0.02
     * below it, which is not beyond behind 0.02; progress is negative, not clamped */
    {"before the baseline, coverage", 2024, 11, COV, 0, 0.08, 0.10, -0.02, -0.02 / 0.30, ON},
    /* nobody had adopted by 2024-12-01: 0 sites against the baseline 1 */
    {"before the baseline, expansion", 2024, 11, EXP, 0, 0, 1, -1, -1.0 / 3.0, RISK},
    /* July (as of 2025-08-01), after the last milestone: planned stays at 0.40; A alone
     * reported, 60/100, above the final target: progress (0.60 - 0.10) / 0.30 past 1 */
    {"after the last milestone, coverage", 2025, 7, COV, 0, 0.60, 0.40, 0.20, 0.50 / 0.30, ON},
    /* window June-July: A, B and C reported in it, 3 against the flat 4 */
    {"after the last milestone, expansion", 2025, 7, EXP, 0, 3, 4, -1, 2.0 / 3.0, BEHIND},
    /* August: nobody reported in July-August but A (July): 1 against 4 */
    {"after the last milestone, sites go quiet", 2025, 8, EXP, 0, 1, 4, -3, 0, RISK},
    /* no coverage value for August at all: no data, never a zero */
    {"after the last milestone, no data", 2025, 8, COV, 0, NONE, 0.40, 0, 0, NO_DATA},
};

static void expect_row(const struct row_case *c, const struct progress_month_row *row)
{
    cr_assert_not_null(row, "%s: no row", c->name);
    const struct progress_measure *m = &row->measure;
    cr_expect_eq(row->roadmap_version, 1, "%s", c->name);
    if (c->actual == NONE) {
        cr_expect_not(m->has_actual, "%s: a missing value is no value", c->name);
    } else {
        cr_expect(m->has_actual, "%s: an actual", c->name);
        cr_expect_float_eq(m->actual, c->actual, EPS, "%s: actual %g", c->name, m->actual);
        cr_expect_float_eq(m->gap, c->gap, EPS, "%s: gap %g", c->name, m->gap);
        cr_expect_float_eq(m->progress, c->progress, EPS, "%s: progress %g", c->name, m->progress);
    }
    cr_expect_float_eq(m->planned, c->planned, EPS, "%s: planned %g", c->name, m->planned);
    cr_expect_eq(row->status, c->status, "%s: status %s", c->name,
                 progress_status_name(row->status));
}

Test(progress_month, rows_match_hand_computed_figures)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct row_case *c = &cases[i];
        struct progress_month month;
        progress_month_evaluate(&inputs, v1, 1, day(c->year, c->month, 1), &month);
        expect_row(c, find_row(&month, c->dimension, c->region));
        progress_month_release(&month);
    }
}

Test(progress_month, a_month_has_the_programme_then_its_regions_per_dimension)
{
    struct progress_month month;
    progress_month_evaluate(&inputs, v1, 1, day(2025, 6, 17), &month);
    cr_expect_eq(month.period_start, day(2025, 6, 1), "any day of the month names it");
    cr_expect_eq(month.as_of, day(2025, 7, 1));
    static const struct {
        enum roadmap_dimension dimension;
        int64_t region;
        enum progress_month_detail_kind kind;
    } order[] = {
        {COV, 0, PROGRESS_MONTH_DETAIL_COVERAGE},
        {COV, VLG, PROGRESS_MONTH_DETAIL_COVERAGE},
        {COV, WAL, PROGRESS_MONTH_DETAIL_COVERAGE},
        {EXP, 0, PROGRESS_MONTH_DETAIL_EXPANSION},
        {EXP, VLG, PROGRESS_MONTH_DETAIL_REGION_EXPANSION},
        {EXP, WAL, PROGRESS_MONTH_DETAIL_REGION_EXPANSION},
        {INST, 0, PROGRESS_MONTH_DETAIL_INSTITUTIONALISATION},
    };
    cr_assert_eq(month.n_rows, sizeof(order) / sizeof(order[0]));
    for (size_t i = 0; i < month.n_rows; i++) {
        cr_expect_eq(month.rows[i].dimension, order[i].dimension, "row %zu", i);
        cr_expect_eq(month.rows[i].region_id, order[i].region, "row %zu", i);
        cr_expect_eq(month.rows[i].kind, order[i].kind, "row %zu", i);
    }
    /* the programme's expansion: regions 2 against 2 on track, the sites behind */
    const struct progress_month_row *exp = &month.rows[3];
    cr_expect_eq(exp->detail.expansion.active_sites, 3);
    cr_expect_eq(exp->detail.expansion.active_regions, 2);
    cr_expect_float_eq(exp->detail.expansion.regions_planned, 2, EPS);
    cr_expect_eq(exp->detail.expansion.sites_status, BEHIND);
    cr_expect_eq(exp->detail.expansion.regions_status, ON);
    /* Wallonia: C adopted and active, D planned */
    const struct progress_month_row *wal = &month.rows[5];
    cr_expect_eq(wal->detail.region_expansion.active_sites, 1);
    cr_expect_eq(wal->detail.region_expansion.adopted_sites, 1);
    cr_expect_eq(wal->detail.region_expansion.planned_sites, 1);
    progress_month_release(&month);
    cr_expect_null(month.rows, "release zeroes the month");
}

Test(progress_month, the_missing_site_is_counted_in_scope_not_covered)
{
    struct progress_month month;
    progress_month_evaluate(&inputs, v1, 1, day(2025, 5, 1), &month);
    const struct progress_month_row *cov = find_row(&month, COV, 0);
    cr_assert_not_null(cov);
    cr_expect_float_eq(cov->detail.coverage.value.numerator_sum, 55, EPS);
    cr_expect_float_eq(cov->detail.coverage.value.denominator_sum, 150, EPS);
    cr_expect_eq(cov->detail.coverage.value.sites_covered, 2);
    cr_expect_eq(cov->detail.coverage.value.sites_in_scope, 3);
    json_t *detail = progress_month_row_detail(cov);
    cr_expect_str_eq(json_string_value(json_object_get(detail, "data_period")), "2025-05");
    cr_expect_eq(json_integer_value(json_object_get(detail, "sites_covered")), 2);
    cr_expect_float_eq(json_number_value(json_object_get(detail, "denominator")), 150, EPS);
    json_decref(detail);
    progress_month_release(&month);
}

Test(progress_month, items_carry_the_latest_score_of_a_period_that_ended)
{
    struct progress_month month;
    progress_month_evaluate(&inputs, v1, 1, day(2025, 6, 1), &month);
    const struct progress_month_row *inst = find_row(&month, INST, 0);
    cr_assert_not_null(inst);
    cr_assert_eq(inst->detail.institutionalisation.n_items, 2);
    const struct progress_month_item *fee = &inst->detail.institutionalisation.items[0];
    cr_expect_str_eq(fee->indicator, "fee");
    cr_expect(fee->has_score);
    cr_expect_eq(fee->period_start, day(2025, 4, 1), "Q2 ended on 06-30, before 07-01");
    cr_expect_str_eq(fee->comment, "stalled in committee");
    json_t *detail = progress_month_row_detail(inst);
    json_t *nurse = json_array_get(json_object_get(detail, "items"), 1);
    cr_expect_str_eq(json_string_value(json_object_get(nurse, "indicator")), "nurse");
    cr_expect_float_eq(json_number_value(json_object_get(nurse, "score")), 1, EPS);
    cr_expect_str_eq(json_string_value(json_object_get(nurse, "period_start")), "2025-01-01");
    cr_expect(json_is_null(json_object_get(nurse, "comment")), "no comment: null");
    json_decref(detail);
    progress_month_release(&month);
    /* in February no quarter had ended: the items have no score (null, not 0) */
    progress_month_evaluate(&inputs, v1, 1, day(2025, 2, 1), &month);
    inst = find_row(&month, INST, 0);
    cr_expect_not(inst->detail.institutionalisation.items[0].has_score);
    detail = progress_month_row_detail(inst);
    json_t *unscored = json_array_get(json_object_get(detail, "items"), 0);
    cr_expect(json_is_null(json_object_get(unscored, "score")));
    cr_expect(json_is_null(json_object_get(unscored, "period_start")));
    json_decref(detail);
    progress_month_release(&month);
}

Test(progress_month, a_target_population_has_no_region_rows)
{
    struct progress_month month;
    progress_month_evaluate(&inputs, fixed, 3, day(2025, 6, 1), &month);
    /* the numerators 50 + 15 + 10 = 75 of 500 people: 0.15 against 0.40 */
    cr_assert_eq(month.n_rows, 1, "coverage of the programme only");
    const struct progress_measure *m = &month.rows[0].measure;
    cr_expect_eq(month.rows[0].roadmap_version, 3);
    cr_expect_float_eq(m->actual, 0.15, EPS);
    cr_expect_float_eq(m->planned, 0.40, EPS);
    cr_expect_eq(month.rows[0].status, RISK);
    /* May: C's numerator counts, its missing denominator does not matter: 61 / 500 */
    progress_month_release(&month);
    progress_month_evaluate(&inputs, fixed, 3, day(2025, 5, 1), &month);
    cr_expect_float_eq(month.rows[0].measure.actual, 61.0 / 500.0, EPS);
    progress_month_release(&month);
}

Test(progress_month, without_data_every_dimension_says_no_data_or_zero_activity)
{
    struct progress_month_inputs empty = {0};
    struct progress_month month;
    progress_month_evaluate(&empty, v1, 1, day(2025, 6, 1), &month);
    cr_assert_eq(month.n_rows, 3, "no region: one row per dimension");
    cr_expect_not(month.rows[0].measure.has_actual, "coverage without values");
    cr_expect_eq(month.rows[0].status, NO_DATA);
    /* expansion counts sites: none active is a count of 0 */
    cr_expect(month.rows[1].measure.has_actual);
    cr_expect_float_eq(month.rows[1].measure.actual, 0, EPS);
    progress_month_release(&month);
}

/* ---- which months ------------------------------------------------------------------- */

struct plan_case {
    const char *name;
    struct progress_month_state state; /* dates filled in as day offsets below */
    bool expected;
    int32_t from, first, last;
};

static struct roadmap_versions one_version(struct roadmap *rm, struct roadmap_version *v,
                                           int32_t *created)
{
    *v = (struct roadmap_version){1, NULL, day(2025, 1, 1), rm};
    *created = v->created_day;
    return (struct roadmap_versions){1, v, created};
}

Test(progress_month, plan_picks_the_months_to_recompute)
{
    struct roadmap_version version;
    int32_t created;
    struct roadmap_versions versions = one_version(v1, &version, &created);
    int32_t today = day(2025, 7, 15);
    const struct plan_case plans[] = {
        /* nothing stored: from the first observed month (before the baseline date) to June */
        {"first run",
         {today, false, 0, false, 0, true, day(2024, 11, 5)},
         true,
         day(2024, 11, 1),
         day(2024, 11, 1),
         day(2025, 6, 1)},
        /* June is stored and nothing is dirty: nothing to do */
        {"up to date",
         {today, false, 0, true, day(2025, 6, 1), true, day(2024, 11, 1)},
         false,
         day(2025, 7, 1),
         day(2024, 11, 1),
         day(2025, 6, 1)},
        /* a late revision of 2025-03-15: March to June */
        {"dirty since March",
         {today, true, day(2025, 3, 15), true, day(2025, 6, 1), false, 0},
         true,
         day(2025, 3, 1),
         day(2025, 1, 1),
         day(2025, 6, 1)},
        /* a mark for everything (a new roadmap version) */
        {"dirty everything",
         {today, true, INT32_MIN, true, day(2025, 6, 1), false, 0},
         true,
         day(2025, 1, 1),
         day(2025, 1, 1),
         day(2025, 6, 1)},
        /* a mark for a month not complete yet: nothing to compute, but a mark to clear */
        {"dirty this month",
         {today, true, day(2025, 7, 10), true, day(2025, 6, 1), false, 0},
         true,
         day(2025, 7, 1),
         day(2025, 1, 1),
         day(2025, 6, 1)},
        /* May is stored, the month since then is June */
        {"a month passed",
         {today, false, 0, true, day(2025, 5, 1), false, 0},
         true,
         day(2025, 6, 1),
         day(2025, 1, 1),
         day(2025, 6, 1)},
        /* data from 1990: at most 240 months back from June 2025, July 2005 */
        {"capped",
         {today, false, 0, false, 0, true, day(1990, 1, 1)},
         true,
         day(2005, 7, 1),
         day(2005, 7, 1),
         day(2025, 6, 1)},
    };
    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        const struct plan_case *c = &plans[i];
        struct progress_month_range range;
        bool todo = progress_month_plan(&c->state, &versions, &range);
        cr_expect_eq(todo, c->expected, "%s", c->name);
        cr_expect_eq(range.from, c->from, "%s: from", c->name);
        cr_expect_eq(range.first, c->first, "%s: first", c->name);
        cr_expect_eq(range.last, c->last, "%s: last", c->name);
    }
}

Test(progress_month, versions_in_force)
{
    struct roadmap_version list[2] = {{1, NULL, day(2025, 1, 1), v1},
                                      {2, NULL, day(2025, 5, 15), fixed}};
    int32_t created[2] = {list[0].created_day, list[1].created_day};
    struct roadmap_versions versions = {2, list, created};
    /* April's snapshot speaks for 2025-05-01: version 1; May's for 2025-06-01: version 2;
     * before the first upload, the first version */
    cr_expect_eq(roadmap_versions_in_force(&versions, day(2025, 5, 1))->version, 1);
    cr_expect_eq(roadmap_versions_in_force(&versions, day(2025, 6, 1))->version, 2);
    cr_expect_eq(roadmap_versions_in_force(&versions, day(2024, 12, 1))->version, 1);
    struct roadmap_versions none = {0, NULL, NULL};
    cr_expect_null(roadmap_versions_in_force(&none, day(2025, 6, 1)));
}
