/*
 * libFuzzer target: roadmap_parse (core/roadmap_doc.c) on any body, with the indicators of
 * tests/unit/test_roadmap.c (as PUT …/roadmap runs it) and without a lookup (as the stored
 * versions are re-read). Checks the documented contract of the result and of the errors.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/roadmap_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    const char *code;
    struct roadmap_indicator_info info;
} indicators[] = {
    {"patients_enrolled", {ROADMAP_DIMENSION_COVERAGE, ROADMAP_VALUE_COUNT, PERIOD_MONTHLY}},
    {"eligible_population", {ROADMAP_DIMENSION_COVERAGE, ROADMAP_VALUE_COUNT, PERIOD_MONTHLY}},
    {"hba1c_tested_pct", {ROADMAP_DIMENSION_NONE, ROADMAP_VALUE_PERCENTAGE, PERIOD_MONTHLY}},
    {"inst_fee_code",
     {ROADMAP_DIMENSION_INSTITUTIONALISATION, ROADMAP_VALUE_SCORE, PERIOD_QUARTERLY}},
    {"inst_national_indicators",
     {ROADMAP_DIMENSION_INSTITUTIONALISATION, ROADMAP_VALUE_SCORE, PERIOD_QUARTERLY}},
    {"inst_nurse_role",
     {ROADMAP_DIMENSION_INSTITUTIONALISATION, ROADMAP_VALUE_SCORE, PERIOD_QUARTERLY}},
    {"eligible_population_yearly",
     {ROADMAP_DIMENSION_COVERAGE, ROADMAP_VALUE_COUNT, PERIOD_YEARLY}},
    {"inst_budget_lines",
     {ROADMAP_DIMENSION_INSTITUTIONALISATION, ROADMAP_VALUE_COUNT, PERIOD_QUARTERLY}},
};

static bool find_indicator(void *ctx, const char *code, struct roadmap_indicator_info *out)
{
    FUZZ_CHECK(ctx == NULL && code != NULL);
    for (size_t i = 0; i < sizeof indicators / sizeof indicators[0]; i++) {
        if (strcmp(indicators[i].code, code) == 0) {
            *out = indicators[i].info;
            return true;
        }
    }
    return false;
}

static const struct roadmap_indicator_lookup lookup = {NULL, find_indicator};

/* Milestones strictly increasing in date, all after the baseline date. */
static void check_plan(const struct roadmap_plan *plan, int32_t baseline_date)
{
    FUZZ_CHECK(plan->n_milestones >= 1 && plan->milestones != NULL);
    int32_t last = baseline_date;
    for (size_t i = 0; i < plan->n_milestones; i++) {
        FUZZ_CHECK(plan->milestones[i].date > last);
        last = plan->milestones[i].date;
    }
    double final = roadmap_plan_final_target(plan);
    FUZZ_CHECK(final == plan->milestones[plan->n_milestones - 1].target);
}

static void check_tolerance(const struct roadmap_tolerance *t)
{
    FUZZ_CHECK(t->behind >= 0 && t->behind <= t->at_risk);
}

static void check_roadmap(const struct roadmap *rm)
{
    FUZZ_CHECK(rm->coverage.present || rm->expansion.present || rm->institutionalisation.present);
    if (rm->coverage.present) {
        check_plan(&rm->coverage.plan, rm->baseline_date);
        check_tolerance(&rm->coverage.tolerance);
        FUZZ_CHECK(rm->coverage.numerator != NULL);
        FUZZ_CHECK(rm->coverage.denominator != NULL || rm->coverage.target_population > 0);
    }
    if (rm->expansion.present) {
        check_plan(&rm->expansion.sites, rm->baseline_date);
        check_plan(&rm->expansion.regions, rm->baseline_date);
        check_tolerance(&rm->expansion.tolerance);
        FUZZ_CHECK(rm->expansion.active_within_periods >= 1);
    }
    if (rm->institutionalisation.present) {
        const struct roadmap_institutionalisation *inst = &rm->institutionalisation;
        check_plan(&inst->plan, rm->baseline_date);
        check_tolerance(&inst->tolerance);
        FUZZ_CHECK(inst->n_items >= 1 && inst->items != NULL);
        for (size_t i = 0; i < inst->n_items; i++)
            FUZZ_CHECK(inst->items[i].target >= 1 && inst->items[i].target <= 4);
    }
}

static void check_errors(enum roadmap_status st, const struct roadmap_errors *errs)
{
    FUZZ_CHECK(errs->count <= ROADMAP_MAX_ERRORS);
    FUZZ_CHECK(st != ROADMAP_OK || errs->count == 0);
    FUZZ_CHECK(st != ROADMAP_SYNTAX || errs->count == 1);
    FUZZ_CHECK(st != ROADMAP_INVALID || errs->count >= 1);
    for (size_t i = 0; i < errs->count; i++) {
        const struct roadmap_error *e = &errs->items[i];
        FUZZ_CHECK(fuzz_terminated(e->path, sizeof e->path) && e->path[0] == '$');
        FUZZ_CHECK(fuzz_terminated(e->message, sizeof e->message));
        FUZZ_CHECK(fuzz_utf8_valid(e->path) && fuzz_utf8_valid(e->message));
        FUZZ_CHECK(roadmap_error_code_name(e->code) != NULL);
    }
}

static enum roadmap_status parse_once(const char *body, size_t size,
                                      const struct roadmap_indicator_lookup *with)
{
    struct roadmap_errors *errs = malloc(sizeof *errs);
    FUZZ_CHECK(errs != NULL);
    struct roadmap *rm = NULL;
    enum roadmap_status st = roadmap_parse(body, size, with, &rm, errs);
    /* the 400/422 answer: one problem per error, none lost to json_pack */
    json_t *problems = NULL;
    roadmap_errors_to_problems(errs, &problems);
    FUZZ_CHECK(json_array_size(problems) == errs->count);
    fuzz_check_problems(problems, errs->count == 0, "");
    json_decref(problems);
    check_errors(st, errs);
    FUZZ_CHECK((st == ROADMAP_OK) == (rm != NULL));
    if (rm != NULL)
        check_roadmap(rm);
    roadmap_free(&rm);
    FUZZ_CHECK(rm == NULL);
    free(errs);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1); /* exactly the body: ASan sees a read past its end */
    FUZZ_CHECK(body != NULL);
    memcpy(body, data, size);
    enum roadmap_status with = parse_once(body, size, &lookup);
    enum roadmap_status without = parse_once(body, size, NULL);
    /* the lookup only adds indicator problems: valid with it means valid without it */
    FUZZ_CHECK(with != ROADMAP_OK || without == ROADMAP_OK);
    FUZZ_CHECK((with == ROADMAP_SYNTAX) == (without == ROADMAP_SYNTAX));
    free(body);
    return 0;
}
