/*
 * Roadmap parsing and validation: the example roadmap parses into the values it states, and
 * each kind of mistake in a roadmap is reported with its code and JSONPath, all of them.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/roadmap_doc.h"

/* /work/shared/examples/roadmap-icp-be.json, verbatim. */
static const char example_roadmap[] =
    "{\n"
    "  \"programme\": \"icp-t2d-htn-be\",\n"
    "  \"label\": \"Roadmap 2025-2027, version of January 2025\",\n"
    "  \"baseline_date\": \"2025-01-01\",\n"
    "  \"themes\": [\n"
    "    { \"key\": \"practice-organisation\", \"name\": \"Primary care practice organisation\" "
    "},\n"
    "    { \"key\": \"data-monitoring\", \"name\": \"Data and monitoring\" },\n"
    "    { \"key\": \"financing\", \"name\": \"Healthcare financing\" }\n"
    "  ],\n"
    "  \"coverage\": {\n"
    "    \"numerator\": \"patients_enrolled\",\n"
    "    \"denominator\": \"eligible_population\",\n"
    "    \"baseline\": 0.04,\n"
    "    \"milestones\": [\n"
    "      { \"date\": \"2025-12-31\", \"target\": 0.15 },\n"
    "      { \"date\": \"2026-12-31\", \"target\": 0.30 },\n"
    "      { \"date\": \"2027-12-31\", \"target\": 0.50 }\n"
    "    ],\n"
    "    \"tolerance\": { \"behind\": 0.02, \"at_risk\": 0.05 }\n"
    "  },\n"
    "  \"expansion\": {\n"
    "    \"active_within_periods\": 3,\n"
    "    \"sites\": {\n"
    "      \"baseline\": 1,\n"
    "      \"milestones\": [ { \"date\": \"2025-12-31\", \"target\": 3 }, { \"date\": "
    "\"2027-12-31\", \"target\": 4 } ]\n"
    "    },\n"
    "    \"regions\": {\n"
    "      \"baseline\": 1,\n"
    "      \"milestones\": [ { \"date\": \"2026-06-30\", \"target\": 3 } ]\n"
    "    },\n"
    "    \"tolerance\": { \"behind\": 0.10, \"at_risk\": 0.25 }\n"
    "  },\n"
    "  \"institutionalisation\": {\n"
    "    \"items\": [\n"
    "      { \"key\": \"fee-code\", \"theme\": \"financing\", \"indicator\": \"inst_fee_code\", "
    "\"target\": 4, \"due\": \"2027-06-30\",\n"
    "        \"name\": \"Fee code for the package in the nomenclature\" },\n"
    "      { \"key\": \"national-indicators\", \"theme\": \"data-monitoring\", \"indicator\": "
    "\"inst_national_indicators\", \"target\": 4, \"due\": \"2026-12-31\",\n"
    "        \"name\": \"Package indicators in the national primary-care data system\" },\n"
    "      { \"key\": \"nurse-role\", \"theme\": \"practice-organisation\", \"indicator\": "
    "\"inst_nurse_role\", \"target\": 3, \"due\": \"2027-12-31\",\n"
    "        \"name\": \"Practice-nurse role in job classification\" }\n"
    "    ],\n"
    "    \"baseline\": 0.10,\n"
    "    \"milestones\": [ { \"date\": \"2026-06-30\", \"target\": 0.40 }, { \"date\": "
    "\"2027-12-31\", \"target\": 0.85 } ],\n"
    "    \"tolerance\": { \"behind\": 0.05, \"at_risk\": 0.15 }\n"
    "  }\n"
    "}\n";

/* The indicators of /work/shared/examples/programme-icp-be.json, plus three that exist only to
 * be wrong: a yearly coverage denominator, and an institutionalisation count. */
static const struct {
    const char *code;
    struct roadmap_indicator_info info;
} programme_indicators[] = {
    {"patients_enrolled", {ROADMAP_DIMENSION_COVERAGE, ROADMAP_VALUE_COUNT, PERIOD_MONTHLY}},
    {"eligible_population", {ROADMAP_DIMENSION_COVERAGE, ROADMAP_VALUE_COUNT, PERIOD_MONTHLY}},
    {"hba1c_tested_pct", {ROADMAP_DIMENSION_NONE, ROADMAP_VALUE_PERCENTAGE, PERIOD_MONTHLY}},
    {"bp_controlled_pct", {ROADMAP_DIMENSION_NONE, ROADMAP_VALUE_PERCENTAGE, PERIOD_MONTHLY}},
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
    (void)ctx;
    for (size_t i = 0; i < sizeof programme_indicators / sizeof programme_indicators[0]; i++) {
        if (strcmp(programme_indicators[i].code, code) == 0) {
            *out = programme_indicators[i].info;
            return true;
        }
    }
    return false;
}

static const struct roadmap_indicator_lookup lookup = {NULL, find_indicator};

static enum roadmap_status parse_text(const char *text, struct roadmap **out,
                                      struct roadmap_errors *errs)
{
    return roadmap_parse(text, strlen(text), &lookup, out, errs);
}

static char *describe_errors(const struct roadmap_errors *errs, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < errs->count && used < size; i++) {
        int n = snprintf(buf + used, size - used, " [%s %s: %s]",
                         roadmap_error_code_name(errs->items[i].code), errs->items[i].path,
                         errs->items[i].message);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

Test(roadmap, example_parses_into_what_it_says)
{
    struct roadmap *roadmap = NULL;
    struct roadmap_errors errs;
    char buf[2048];

    cr_assert_eq(parse_text(example_roadmap, &roadmap, &errs), ROADMAP_OK, "errors:%s",
                 describe_errors(&errs, buf, sizeof buf));
    cr_assert_not_null(roadmap);
    cr_expect_str_eq(roadmap->programme, "icp-t2d-htn-be");
    cr_expect_str_eq(roadmap->label, "Roadmap 2025-2027, version of January 2025");
    /* 2025-01-01: 55 years after 1970 with 14 leap days (1972..2024) = 55*365 + 14 = 20089 */
    cr_expect_eq(roadmap->baseline_date, 20089);
    cr_assert_eq(roadmap->n_themes, 3);
    cr_expect_str_eq(roadmap->themes[2].key, "financing");
    cr_expect_str_eq(roadmap->themes[2].name, "Healthcare financing");

    const struct roadmap_coverage *coverage = &roadmap->coverage;
    cr_expect(coverage->present);
    cr_expect_str_eq(coverage->numerator, "patients_enrolled");
    cr_expect_str_eq(coverage->denominator, "eligible_population");
    cr_expect_eq(coverage->target_population, 0.0);
    cr_expect_eq(coverage->plan.baseline, 0.04);
    cr_assert_eq(coverage->plan.n_milestones, 3);
    /* 2025-12-31 = 20089 + 364 = 20453; 2026-12-31 = 20453 + 365 = 20818;
     * 2027-12-31 = 20818 + 365 = 21183 */
    cr_expect_eq(coverage->plan.milestones[0].date, 20453);
    cr_expect_eq(coverage->plan.milestones[1].date, 20818);
    cr_expect_eq(coverage->plan.milestones[2].date, 21183);
    cr_expect_eq(coverage->plan.milestones[1].target, 0.30);
    cr_expect_eq(roadmap_plan_final_target(&coverage->plan), 0.50);
    cr_expect_eq(coverage->tolerance.behind, 0.02);
    cr_expect_eq(coverage->tolerance.at_risk, 0.05);

    const struct roadmap_expansion *expansion = &roadmap->expansion;
    cr_expect(expansion->present);
    cr_expect_eq(expansion->active_within_periods, 3);
    cr_expect_eq(expansion->sites.baseline, 1.0);
    cr_assert_eq(expansion->sites.n_milestones, 2);
    cr_expect_eq(roadmap_plan_final_target(&expansion->sites), 4.0);
    cr_assert_eq(expansion->regions.n_milestones, 1);
    /* 2026-06-30 = 2026-01-01 (20454) + 31+28+31+30+31 (151) + 29 = 20634 */
    cr_expect_eq(expansion->regions.milestones[0].date, 20634);
    cr_expect_eq(expansion->tolerance.behind, 0.10);
    cr_expect_eq(expansion->tolerance.at_risk, 0.25);

    const struct roadmap_institutionalisation *inst = &roadmap->institutionalisation;
    cr_expect(inst->present);
    cr_assert_eq(inst->n_items, 3);
    cr_expect_str_eq(inst->items[0].key, "fee-code");
    cr_expect_str_eq(inst->items[0].theme, "financing");
    cr_expect_str_eq(inst->items[0].indicator, "inst_fee_code");
    cr_expect_eq(inst->items[0].target, 4);
    cr_expect(inst->items[0].has_due);
    /* 2027-06-30 = 2027-01-01 (20819) + 151 + 29 = 20999 */
    cr_expect_eq(inst->items[0].due, 20999);
    cr_expect_str_eq(inst->items[2].name, "Practice-nurse role in job classification");
    cr_expect_eq(inst->items[2].target, 3);
    cr_expect_eq(inst->plan.baseline, 0.10);
    cr_expect_eq(roadmap_plan_final_target(&inst->plan), 0.85);
    cr_expect_eq(inst->tolerance.at_risk, 0.15);

    roadmap_free(&roadmap);
    cr_expect_null(roadmap, "roadmap_free must NULL the caller's pointer");
    roadmap_free(&roadmap); /* and a second free is harmless */
}

/* One change to the example: set the member at `path` ("a.b[1].c") to the JSON `value`, or
 * delete it when value is NULL. */
struct mutation {
    const char *path;
    const char *value;
};

struct expected_error {
    enum roadmap_error_code code;
    const char *path;
};

struct invalid_case {
    const char *name;
    struct mutation mutations[3];
    struct expected_error errors[3]; /* all the errors the document has, in order */
};

/* Reads the next segment of a mutation path: a member name or an [index]. */
static const char *next_segment(const char *cursor, char *key, size_t key_size, long *index)
{
    *index = -1;
    if (*cursor == '[') {
        char *end;
        *index = strtol(cursor + 1, &end, 10);
        cr_assert_eq(*end, ']', "bad mutation path at %s", cursor);
        cursor = end + 1;
    } else {
        size_t len = strcspn(cursor, ".[");
        cr_assert_lt(len, key_size);
        memcpy(key, cursor, len);
        key[len] = '\0';
        cursor += len;
    }
    return *cursor == '.' ? cursor + 1 : cursor;
}

static void apply_mutation(json_t *root, const struct mutation *mutation)
{
    const char *cursor = mutation->path;
    json_t *node = root;
    char key[64];
    long index;
    for (;;) {
        cursor = next_segment(cursor, key, sizeof key, &index);
        if (*cursor == '\0')
            break;
        node = index >= 0 ? json_array_get(node, (size_t)index) : json_object_get(node, key);
        cr_assert_not_null(node, "mutation path %s does not exist", mutation->path);
    }
    json_t *value = NULL;
    if (mutation->value) {
        json_error_t error;
        value = json_loads(mutation->value, JSON_DECODE_ANY, &error);
        cr_assert_not_null(value, "bad mutation value %s", mutation->value);
    }
    int rc;
    if (index >= 0)
        rc = value ? json_array_set_new(node, (size_t)index, value)
                   : json_array_remove(node, (size_t)index);
    else
        rc = value ? json_object_set_new(node, key, value) : json_object_del(node, key);
    cr_assert_eq(rc, 0, "could not apply mutation %s", mutation->path);
}

static char *mutated_example(const struct mutation *mutations, size_t n)
{
    json_error_t error;
    json_t *root = json_loads(example_roadmap, 0, &error);
    cr_assert_not_null(root);
    for (size_t i = 0; i < n && mutations[i].path; i++)
        apply_mutation(root, &mutations[i]);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    cr_assert_not_null(text);
    return text;
}

/* Each case breaks the example once (or a few times) and lists every error expected. */
static const struct invalid_case invalid_cases[] = {
    {"milestones out of date order",
     {{"coverage.milestones[1].date", "\"2025-06-30\""}},
     {{ROADMAP_ERR_ORDER, "$.coverage.milestones[1].date"}}},
    {"milestone on the same date as the previous one",
     {{"expansion.sites.milestones[1].date", "\"2025-12-31\""}},
     {{ROADMAP_ERR_ORDER, "$.expansion.sites.milestones[1].date"}}},
    {"milestone before baseline_date",
     {{"coverage.milestones[0].date", "\"2024-12-01\""}},
     {{ROADMAP_ERR_BEFORE_BASELINE, "$.coverage.milestones[0].date"}}},
    {"milestone on baseline_date",
     {{"expansion.regions.milestones[0].date", "\"2025-01-01\""}},
     {{ROADMAP_ERR_BEFORE_BASELINE, "$.expansion.regions.milestones[0].date"}}},
    {"coverage target written as a percentage",
     {{"coverage.milestones[2].target", "50"}},
     {{ROADMAP_ERR_RANGE, "$.coverage.milestones[2].target"}}},
    {"coverage baseline below 0",
     {{"coverage.baseline", "-0.1"}},
     {{ROADMAP_ERR_RANGE, "$.coverage.baseline"}}},
    {"institutionalisation target above 1",
     {{"institutionalisation.milestones[1].target", "1.2"}},
     {{ROADMAP_ERR_RANGE, "$.institutionalisation.milestones[1].target"}}},
    {"institutionalisation baseline above 1",
     {{"institutionalisation.baseline", "10"}},
     {{ROADMAP_ERR_RANGE, "$.institutionalisation.baseline"}}},
    {"expansion target negative",
     {{"expansion.sites.milestones[0].target", "-1"}},
     {{ROADMAP_ERR_RANGE, "$.expansion.sites.milestones[0].target"}}},
    {"expansion target not a whole number",
     {{"expansion.regions.milestones[0].target", "2.5"}},
     {{ROADMAP_ERR_NOT_INTEGER, "$.expansion.regions.milestones[0].target"}}},
    {"expansion baseline not a whole number",
     {{"expansion.sites.baseline", "1.5"}},
     {{ROADMAP_ERR_NOT_INTEGER, "$.expansion.sites.baseline"}}},
    {"negative tolerance",
     {{"coverage.tolerance.behind", "-0.01"}},
     {{ROADMAP_ERR_RANGE, "$.coverage.tolerance.behind"}}},
    {"at_risk smaller than behind",
     {{"expansion.tolerance.at_risk", "0.05"}},
     {{ROADMAP_ERR_TOLERANCE, "$.expansion.tolerance.at_risk"}}},
    {"tolerance without at_risk",
     {{"institutionalisation.tolerance.at_risk", NULL}},
     {{ROADMAP_ERR_MISSING, "$.institutionalisation.tolerance.at_risk"}}},
    {"numerator not in the programme",
     {{"coverage.numerator", "\"patients_enroled\""}},
     {{ROADMAP_ERR_UNKNOWN_INDICATOR, "$.coverage.numerator"}}},
    {"denominator not in the programme",
     {{"coverage.denominator", "\"eligible\""}},
     {{ROADMAP_ERR_UNKNOWN_INDICATOR, "$.coverage.denominator"}}},
    {"denominator of no dimension",
     {{"coverage.denominator", "\"hba1c_tested_pct\""}},
     {{ROADMAP_ERR_DIMENSION, "$.coverage.denominator"}}},
    {"numerator of the institutionalisation dimension",
     {{"coverage.numerator", "\"inst_fee_code\""}},
     {{ROADMAP_ERR_DIMENSION, "$.coverage.numerator"},
      {ROADMAP_ERR_PERIOD_TYPE, "$.coverage.denominator"}}},
    {"yearly denominator for a monthly numerator",
     {{"coverage.denominator", "\"eligible_population_yearly\""}},
     {{ROADMAP_ERR_PERIOD_TYPE, "$.coverage.denominator"}}},
    {"denominator and target_population both",
     {{"coverage.target_population", "12000"}},
     {{ROADMAP_ERR_CONFLICT, "$.coverage.target_population"}}},
    {"neither denominator nor target_population",
     {{"coverage.denominator", NULL}},
     {{ROADMAP_ERR_MISSING, "$.coverage.denominator"}}},
    {"target_population of 0",
     {{"coverage.denominator", NULL}, {"coverage.target_population", "0"}},
     {{ROADMAP_ERR_RANGE, "$.coverage.target_population"}}},
    {"item without indicator",
     {{"institutionalisation.items[0].indicator", NULL}},
     {{ROADMAP_ERR_MISSING, "$.institutionalisation.items[0].indicator"}}},
    {"item indicator not in the programme",
     {{"institutionalisation.items[1].indicator", "\"inst_unknown\""}},
     {{ROADMAP_ERR_UNKNOWN_INDICATOR, "$.institutionalisation.items[1].indicator"}}},
    {"item indicator is a coverage count",
     {{"institutionalisation.items[2].indicator", "\"patients_enrolled\""}},
     {{ROADMAP_ERR_DIMENSION, "$.institutionalisation.items[2].indicator"},
      {ROADMAP_ERR_VALUE_TYPE, "$.institutionalisation.items[2].indicator"}}},
    {"item indicator is not a score",
     {{"institutionalisation.items[2].indicator", "\"inst_budget_lines\""}},
     {{ROADMAP_ERR_VALUE_TYPE, "$.institutionalisation.items[2].indicator"}}},
    {"item target above 4",
     {{"institutionalisation.items[0].target", "5"}},
     {{ROADMAP_ERR_RANGE, "$.institutionalisation.items[0].target"}}},
    {"item target 0",
     {{"institutionalisation.items[1].target", "0"}},
     {{ROADMAP_ERR_RANGE, "$.institutionalisation.items[1].target"}}},
    {"item target not a whole score",
     {{"institutionalisation.items[1].target", "2.5"}},
     {{ROADMAP_ERR_NOT_INTEGER, "$.institutionalisation.items[1].target"}}},
    {"duplicate item key",
     {{"institutionalisation.items[2].key", "\"fee-code\""}},
     {{ROADMAP_ERR_DUPLICATE, "$.institutionalisation.items[2].key"}}},
    {"item without key",
     {{"institutionalisation.items[1].key", NULL}},
     {{ROADMAP_ERR_MISSING, "$.institutionalisation.items[1].key"}}},
    {"item of an unknown theme",
     {{"institutionalisation.items[1].theme", "\"governance\""}},
     {{ROADMAP_ERR_UNKNOWN_THEME, "$.institutionalisation.items[1].theme"}}},
    /* renaming theme 1 to "financing" duplicates theme 2 and leaves item 1's theme undefined */
    {"duplicate theme key",
     {{"themes[1].key", "\"financing\""}},
     {{ROADMAP_ERR_DUPLICATE, "$.themes[2].key"},
      {ROADMAP_ERR_UNKNOWN_THEME, "$.institutionalisation.items[1].theme"}}},
    {"no items",
     {{"institutionalisation.items", "[]"}},
     {{ROADMAP_ERR_RANGE, "$.institutionalisation.items"}}},
    {"active_within_periods 0",
     {{"expansion.active_within_periods", "0"}},
     {{ROADMAP_ERR_RANGE, "$.expansion.active_within_periods"}}},
    {"active_within_periods not whole",
     {{"expansion.active_within_periods", "1.5"}},
     {{ROADMAP_ERR_NOT_INTEGER, "$.expansion.active_within_periods"}}},
    {"no baseline_date", {{"baseline_date", NULL}}, {{ROADMAP_ERR_MISSING, "$.baseline_date"}}},
    {"impossible baseline_date",
     {{"baseline_date", "\"2025-02-30\""}},
     {{ROADMAP_ERR_DATE, "$.baseline_date"}}},
    {"impossible due date",
     {{"institutionalisation.items[0].due", "\"2027-13-01\""}},
     {{ROADMAP_ERR_DATE, "$.institutionalisation.items[0].due"}}},
    {"no coverage numerator",
     {{"coverage.numerator", NULL}},
     {{ROADMAP_ERR_MISSING, "$.coverage.numerator"}}},
    {"no coverage milestones",
     {{"coverage.milestones", NULL}},
     {{ROADMAP_ERR_MISSING, "$.coverage.milestones"}}},
    {"empty coverage milestones",
     {{"coverage.milestones", "[]"}},
     {{ROADMAP_ERR_RANGE, "$.coverage.milestones"}}},
    {"milestone without target",
     {{"coverage.milestones[0].target", NULL}},
     {{ROADMAP_ERR_MISSING, "$.coverage.milestones[0].target"}}},
    {"no expansion regions",
     {{"expansion.regions", NULL}},
     {{ROADMAP_ERR_MISSING, "$.expansion.regions"}}},
    {"no institutionalisation baseline",
     {{"institutionalisation.baseline", NULL}},
     {{ROADMAP_ERR_MISSING, "$.institutionalisation.baseline"}}},
    {"baseline as a string",
     {{"coverage.baseline", "\"0.04\""}},
     {{ROADMAP_ERR_TYPE, "$.coverage.baseline"}}},
    {"coverage as an array", {{"coverage", "[]"}}, {{ROADMAP_ERR_TYPE, "$.coverage"}}},
    {"no dimension at all",
     {{"coverage", NULL}, {"expansion", NULL}, {"institutionalisation", NULL}},
     {{ROADMAP_ERR_MISSING, "$"}}},
};

Test(roadmap, each_mistake_is_reported_with_its_path)
{
    for (size_t i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
        const struct invalid_case *c = &invalid_cases[i];
        char *text = mutated_example(c->mutations, 3);
        struct roadmap *roadmap = (struct roadmap *)1; /* must be reset to NULL */
        struct roadmap_errors errs;
        char buf[2048];
        size_t expected = 0;
        while (expected < 3 && c->errors[expected].path)
            expected++;

        cr_expect_eq(parse_text(text, &roadmap, &errs), ROADMAP_INVALID, "%s", c->name);
        cr_expect_null(roadmap, "%s: no roadmap on error", c->name);
        cr_expect_eq(errs.count, expected, "%s: %zu errors expected, got:%s", c->name, expected,
                     describe_errors(&errs, buf, sizeof buf));
        for (size_t e = 0; e < expected && e < errs.count; e++) {
            cr_expect_eq(errs.items[e].code, c->errors[e].code, "%s: error %zu is%s", c->name, e,
                         describe_errors(&errs, buf, sizeof buf));
            cr_expect_str_eq(errs.items[e].path, c->errors[e].path, "%s: error %zu", c->name, e);
            cr_expect_neq(errs.items[e].message[0], '\0', "%s: a message", c->name);
        }
        free(text);
    }
}

/* Valid variations of the example, each checked on the member it changes. */
Test(roadmap, optional_members_and_fixed_population)
{
    struct roadmap *roadmap = NULL;
    struct roadmap_errors errs;
    char buf[2048];
    const struct mutation fixed_population[] = {{"coverage.denominator", NULL},
                                                {"coverage.target_population", "12000"},
                                                {"coverage.tolerance", NULL}};
    char *text = mutated_example(fixed_population, 3);
    cr_assert_eq(parse_text(text, &roadmap, &errs), ROADMAP_OK, "errors:%s",
                 describe_errors(&errs, buf, sizeof buf));
    cr_expect_null(roadmap->coverage.denominator);
    cr_expect_eq(roadmap->coverage.target_population, 12000.0);
    cr_expect_eq(roadmap->coverage.tolerance.behind, ROADMAP_DEFAULT_FRACTION_BEHIND);
    cr_expect_eq(roadmap->coverage.tolerance.at_risk, ROADMAP_DEFAULT_FRACTION_AT_RISK);
    roadmap_free(&roadmap);
    free(text);

    const struct mutation bare[] = {{"expansion.active_within_periods", NULL},
                                    {"institutionalisation", NULL},
                                    {"expansion.sites.milestones[1].target", "4.0"}};
    text = mutated_example(bare, 3);
    cr_assert_eq(parse_text(text, &roadmap, &errs), ROADMAP_OK, "errors:%s",
                 describe_errors(&errs, buf, sizeof buf));
    cr_expect_eq(roadmap->expansion.active_within_periods, ROADMAP_DEFAULT_ACTIVE_WITHIN_PERIODS);
    cr_expect_not(roadmap->institutionalisation.present);
    cr_expect_eq(roadmap_plan_final_target(&roadmap->expansion.sites), 4.0);
    roadmap_free(&roadmap);
    free(text);
}

Test(roadmap, several_errors_are_all_reported_in_document_order)
{
    static const char doc[] =
        "{\"baseline_date\": \"2025-01-01\",\n"
        " \"themes\": [{\"key\": \"financing\"}],\n"
        " \"coverage\": {\"numerator\": \"patients_enrolled\", \"target_population\": 12000,\n"
        "   \"baseline\": 4, \"milestones\": [{\"date\": \"2026-01-01\", \"target\": 0.2},\n"
        "                                   {\"date\": \"2025-06-01\", \"target\": 0.3}]},\n"
        " \"expansion\": {\"active_within_periods\": 0, \"sites\": {\"baseline\": 1,\n"
        "   \"milestones\": [{\"date\": \"2026-01-01\", \"target\": 3}]},\n"
        "   \"tolerance\": {\"behind\": 0.3, \"at_risk\": 0.1}},\n"
        " \"institutionalisation\": {\"baseline\": 0, \"milestones\": [{\"date\": \"2027-01-01\",\n"
        "   \"target\": 1}], \"items\": [{\"key\": \"a\", \"indicator\": \"inst_fee_code\",\n"
        "   \"target\": 4, \"theme\": \"governance\"}, {\"key\": \"a\", \"indicator\": \"x\",\n"
        "   \"target\": 9}]}}\n";
    const struct expected_error expected[] = {
        {ROADMAP_ERR_RANGE, "$.coverage.baseline"},
        {ROADMAP_ERR_ORDER, "$.coverage.milestones[1].date"},
        {ROADMAP_ERR_RANGE, "$.expansion.active_within_periods"},
        {ROADMAP_ERR_MISSING, "$.expansion.regions"},
        {ROADMAP_ERR_TOLERANCE, "$.expansion.tolerance.at_risk"},
        {ROADMAP_ERR_UNKNOWN_THEME, "$.institutionalisation.items[0].theme"},
        {ROADMAP_ERR_DUPLICATE, "$.institutionalisation.items[1].key"},
        {ROADMAP_ERR_UNKNOWN_INDICATOR, "$.institutionalisation.items[1].indicator"},
        {ROADMAP_ERR_RANGE, "$.institutionalisation.items[1].target"},
    };
    const size_t n_expected = sizeof expected / sizeof expected[0];
    struct roadmap *roadmap = NULL;
    struct roadmap_errors errs;
    char buf[4096];

    cr_assert_eq(parse_text(doc, &roadmap, &errs), ROADMAP_INVALID);
    cr_assert_eq(errs.count, n_expected, "got:%s", describe_errors(&errs, buf, sizeof buf));
    cr_expect_eq(errs.dropped, 0);
    for (size_t i = 0; i < n_expected; i++) {
        cr_expect_eq(errs.items[i].code, expected[i].code, "error %zu:%s", i,
                     describe_errors(&errs, buf, sizeof buf));
        cr_expect_str_eq(errs.items[i].path, expected[i].path, "error %zu", i);
    }
}

Test(roadmap, errors_past_the_cap_are_counted)
{
    /* 70 items, each with target 9 (out of range): 70 errors, of which 64 are kept and 6 are
     * counted as dropped. */
    char doc[16384];
    size_t used = (size_t)snprintf(doc, sizeof doc,
                                   "{\"baseline_date\": \"2025-01-01\", \"institutionalisation\": "
                                   "{\"baseline\": 0, \"milestones\": [{\"date\": \"2026-01-01\", "
                                   "\"target\": 1}], \"items\": [");
    for (int i = 0; i < 70; i++)
        used += (size_t)snprintf(doc + used, sizeof doc - used,
                                 "%s{\"key\": \"k%d\", \"indicator\": \"inst_fee_code\", "
                                 "\"target\": 9}",
                                 i ? ", " : "", i);
    used += (size_t)snprintf(doc + used, sizeof doc - used, "]}}");
    cr_assert_lt(used, sizeof doc);

    struct roadmap *roadmap = NULL;
    struct roadmap_errors errs;
    cr_assert_eq(parse_text(doc, &roadmap, &errs), ROADMAP_INVALID);
    cr_expect_eq(errs.count, ROADMAP_MAX_ERRORS);
    cr_expect_eq(errs.dropped, 70 - ROADMAP_MAX_ERRORS);
    cr_expect_str_eq(errs.items[63].path, "$.institutionalisation.items[63].target");
}

struct syntax_case {
    const char *name;
    const char *text;
    int line;
    int column;
    size_t position;
};

Test(roadmap, syntax_errors_say_where)
{
    /* jansson stops just after the offending token: "  oops" ends at column 6 of line 3,
     * byte 2 ("{\n") + 16 ("  \"label\": \"x\",\n") + 6 = 24. */
    static const struct syntax_case cases[] = {
        {"stray word", "{\n  \"label\": \"x\",\n  oops\n}", 3, 6, 24},
        /* the second "a" ends at byte 12 of line 1 */
        {"duplicate member", "{\"a\": 1, \"a\": 2}", 1, 12, 12},
        /* "x" after the object ends at byte 10 */
        {"trailing garbage", "{\"a\": 1} x", 1, 10, 10},
        /* NaN is not JSON: the token "nan" ends at byte 9 */
        {"NaN", "{\"a\": nan}", 1, 9, 9},
        {"empty document", "", 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct roadmap *roadmap = NULL;
        struct roadmap_errors errs;
        cr_expect_eq(parse_text(cases[i].text, &roadmap, &errs), ROADMAP_SYNTAX, "%s",
                     cases[i].name);
        cr_expect_null(roadmap);
        cr_assert_eq(errs.count, 1, "%s", cases[i].name);
        cr_expect_eq(errs.items[0].code, ROADMAP_ERR_SYNTAX, "%s", cases[i].name);
        cr_expect_eq(errs.line, cases[i].line, "%s: line %d", cases[i].name, errs.line);
        cr_expect_eq(errs.column, cases[i].column, "%s: column %d", cases[i].name, errs.column);
        cr_expect_eq(errs.position, cases[i].position, "%s: position %zu", cases[i].name,
                     errs.position);
        cr_expect_neq(errs.items[0].message[0], '\0');
    }
}

Test(roadmap, a_document_that_is_not_an_object)
{
    struct roadmap *roadmap = NULL;
    struct roadmap_errors errs;
    cr_expect_eq(parse_text("[1, 2]", &roadmap, &errs), ROADMAP_INVALID);
    cr_assert_eq(errs.count, 1);
    cr_expect_eq(errs.items[0].code, ROADMAP_ERR_TYPE);
    cr_expect_str_eq(errs.items[0].path, "$");
}

Test(roadmap, without_lookup_indicator_codes_are_not_checked)
{
    const struct mutation unknown[] = {{"coverage.numerator", "\"not_an_indicator\""}};
    char *text = mutated_example(unknown, 1);
    struct roadmap *roadmap = NULL;
    struct roadmap_errors errs;
    cr_expect_eq(roadmap_parse(text, strlen(text), NULL, &roadmap, &errs), ROADMAP_OK);
    cr_expect_not_null(roadmap);
    roadmap_free(&roadmap);
    /* the same document checked against the programme is invalid */
    cr_expect_eq(parse_text(text, &roadmap, &errs), ROADMAP_INVALID);
    cr_expect_eq(errs.items[0].code, ROADMAP_ERR_UNKNOWN_INDICATOR);
    free(text);
}

Test(roadmap, error_code_names_are_stable)
{
    cr_expect_str_eq(roadmap_error_code_name(ROADMAP_ERR_MISSING), "missing_member");
    cr_expect_str_eq(roadmap_error_code_name(ROADMAP_ERR_BEFORE_BASELINE),
                     "milestone_before_baseline");
    cr_expect_str_eq(roadmap_error_code_name(ROADMAP_ERR_CONFLICT), "conflicting_members");
    cr_expect_str_eq(roadmap_error_code_name((enum roadmap_error_code)999), "unknown_error");
}

Test(roadmap, problems_of_the_422_are_the_errors_in_order)
{
    /* two problems: the coverage baseline out of range, then a milestone out of order */
    const struct mutation wrong[] = {{"coverage.baseline", "4"},
                                     {"coverage.milestones[1].date", "\"2025-06-01\""}};
    char *text = mutated_example(wrong, 2);
    struct roadmap *roadmap = NULL;
    struct roadmap_errors errs;
    cr_assert_eq(parse_text(text, &roadmap, &errs), ROADMAP_INVALID);
    json_t *problems = NULL;
    roadmap_errors_to_problems(&errs, &problems);
    cr_assert_eq(json_array_size(problems), 2);
    json_t *first = json_array_get(problems, 0), *second = json_array_get(problems, 1);
    cr_expect_str_eq(json_string_value(json_object_get(first, "path")), "$.coverage.baseline");
    cr_expect_str_eq(json_string_value(json_object_get(first, "code")), "out_of_range");
    cr_expect_str_eq(json_string_value(json_object_get(first, "message")), errs.items[0].message);
    cr_expect_str_eq(json_string_value(json_object_get(second, "code")), "milestone_order");
    json_decref(problems);
    free(text);
    /* a valid document has none: the list stays NULL */
    problems = NULL;
    cr_assert_eq(parse_text(example_roadmap, &roadmap, &errs), ROADMAP_OK);
    roadmap_errors_to_problems(&errs, &problems);
    cr_expect_null(problems);
    roadmap_free(&roadmap);
}
