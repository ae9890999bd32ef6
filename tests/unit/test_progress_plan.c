/*
 * Which months a background refresh recomputes (core/progress_plan.c), table-driven: a
 * programme with a baseline of 2025-01-01, snapshots of January to June 2025 and today
 * 2025-07-15 (June is the latest complete month), and one change each; the months expected
 * are worked out from what each month reads (core/progress_month.c).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/progress_plan.h"
#include "scaleupd/core/roadmap_doc.h"

#define D(y, m, d) date_from_ymd(y, m, d)

struct plan_case {
    const char *what;
    enum period_type activity_type;
    int window;
    struct progress_change change;
    const char *expected; /* one letter per month January to June: x recomputed */
};

static void check(const struct plan_case *c)
{
    struct roadmap rm;
    memset(&rm, 0, sizeof(rm));
    rm.baseline_date = D(2025, 1, 1);
    struct roadmap_version version = {1, NULL, D(2025, 1, 1), &rm};
    int32_t created = version.created_day;
    struct roadmap_versions versions = {1, &version, &created};
    struct progress_plan_reads reads = {c->activity_type, c->window};
    struct progress_plan_state st = {D(2025, 7, 15), true, D(2025, 1, 1),
                                     D(2025, 6, 1),  true, D(2025, 1, 1)};
    struct progress_plan plan;
    progress_plan_months(&st, &versions, &reads, &c->change, 1, &plan);
    cr_assert_eq(plan.first, D(2025, 1, 1), "%s", c->what);
    cr_assert_eq(plan.last, D(2025, 6, 1), "%s", c->what);
    cr_assert_eq(plan.n_months, 6, "%s", c->what);
    char got[7] = "";
    for (size_t i = 0; i < 6; i++)
        got[i] = plan.todo[i] ? 'x' : '.';
    cr_expect_str_eq(got, c->expected, "%s", c->what);
}

Test(progress_plan, months_a_change_affects)
{
    const struct plan_case cases[] = {
        {"a monthly value of March, a window of 2 months: March and April read it",
         PERIOD_MONTHLY,
         2,
         {D(2025, 3, 1), true, D(2025, 3, 1), false, 0, false},
         "..xx.."},
        {"the same with a window of 1: March alone",
         PERIOD_MONTHLY,
         1,
         {D(2025, 3, 1), true, D(2025, 3, 1), false, 0, false},
         "..x..."},
        {"June, the latest month",
         PERIOD_MONTHLY,
         3,
         {D(2025, 6, 1), true, D(2025, 6, 1), false, 0, false},
         ".....x"},
        {"a batch of January to February, window 2",
         PERIOD_MONTHLY,
         2,
         {D(2025, 1, 1), true, D(2025, 2, 1), false, 0, false},
         "xxx..."},
        {"a quarterly activity: Q1 reported from January, read until May",
         PERIOD_QUARTERLY,
         1,
         {D(2025, 1, 1), true, D(2025, 1, 1), false, 0, false},
         "xxxxx."},
        {"a score of 2025Q1 stands until another comes: every month from January",
         PERIOD_MONTHLY,
         1,
         {D(2025, 1, 1), true, D(2025, 1, 1), true, D(2025, 1, 1), false},
         "xxxxxx"},
        {"a batch of January values and a 2025Q2 score",
         PERIOD_MONTHLY,
         1,
         {D(2025, 1, 1), true, D(2025, 4, 1), true, D(2025, 4, 1), false},
         "xxxxxx"},
        {"a March value and a later score",
         PERIOD_MONTHLY,
         1,
         {D(2025, 3, 1), true, D(2025, 3, 1), true, D(2025, 5, 1), false},
         "..x.xx"},
        {"no until (a deletion, an old mark): from since on",
         PERIOD_MONTHLY,
         1,
         {D(2025, 4, 1), false, 0, false, 0, false},
         "...xxx"},
        {"everything (a hierarchy or a roadmap changed)",
         PERIOD_MONTHLY,
         1,
         {INT32_MIN, false, 0, false, 0, false},
         "xxxxxx"},
        {"exact months a refresh left",
         PERIOD_MONTHLY,
         3,
         {D(2025, 2, 1), true, D(2025, 3, 1), false, 0, true},
         ".xx..."},
        {"a week's report in April, a window of 2 months",
         PERIOD_MONTHLY,
         2,
         {D(2025, 4, 14), true, D(2025, 4, 14), false, 0, false},
         "...xx."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(&cases[i]);
}

Test(progress_plan, months_without_a_snapshot)
{
    struct roadmap rm;
    memset(&rm, 0, sizeof(rm));
    rm.baseline_date = D(2025, 1, 1);
    struct roadmap_version version = {1, NULL, D(2025, 1, 1), &rm};
    int32_t created = version.created_day;
    struct roadmap_versions versions = {1, &version, &created};
    struct progress_plan_reads reads = {PERIOD_MONTHLY, 1};
    /* snapshots of February to May; data from November 2024: November to January and June */
    struct progress_plan_state st = {D(2025, 7, 15), true, D(2025, 2, 1),
                                     D(2025, 5, 1),  true, D(2024, 11, 1)};
    struct progress_plan plan;
    progress_plan_months(&st, &versions, &reads, NULL, 0, &plan);
    cr_assert_eq(plan.first, D(2024, 11, 1));
    cr_assert_eq(plan.n_months, 8);
    cr_expect_eq(plan.n_todo, 4);
    bool expected[8] = {true, true, true, false, false, false, false, true};
    for (size_t i = 0; i < 8; i++)
        cr_expect_eq(plan.todo[i], expected[i], "month %zu", i);
    /* no snapshot at all: every month */
    st.has_snapshots = false;
    progress_plan_months(&st, &versions, &reads, NULL, 0, &plan);
    cr_expect_eq(plan.n_todo, 8);
    /* a baseline after the latest complete month: no month yet */
    rm.baseline_date = D(2025, 9, 1);
    st.has_first_data = false;
    progress_plan_months(&st, &versions, &reads, NULL, 0, &plan);
    cr_expect_eq(plan.n_months, 0);
    cr_expect_eq(plan.n_todo, 0);
}

Test(progress_plan, what_a_month_reads)
{
    struct progress_plan_reads reads[] = {{PERIOD_MONTHLY, 3}, {PERIOD_QUARTERLY, 1}};
    /* June 2025 (as of 2025-07-01): a monthly window of April to June, or Q2 */
    cr_expect_eq(progress_plan_reads_from(reads, 1, D(2025, 6, 1)), D(2025, 4, 1));
    cr_expect_eq(progress_plan_reads_from(&reads[1], 1, D(2025, 5, 1)), D(2025, 1, 1));
    cr_expect_eq(progress_plan_reads_from(reads, 2, D(2025, 5, 1)), D(2025, 1, 1));
    /* March read until May with a window of 3 months, until May with Q1 (Q2 ends June) */
    cr_expect_eq(progress_plan_last_affected(reads, 1, D(2025, 3, 1)), D(2025, 5, 1));
    cr_expect_eq(progress_plan_last_affected(&reads[1], 1, D(2025, 3, 1)), D(2025, 5, 1));
}
