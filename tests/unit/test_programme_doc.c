/* Programme documents (core/programme_doc.c): every problem code with its JSON path, in
 * document order, and the shipped example as a valid document. Table-driven. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/programme_doc.h"

/* "path code" of each problem, in order, ';'-separated ("" for none); every problem must
 * carry a message. */
static void describe(const json_t *problems, char *out, size_t size)
{
    size_t used = 0, k;
    const json_t *p;
    out[0] = '\0';
    json_array_foreach(problems, k, p)
    {
        const char *message = json_string_value(json_object_get(p, "message"));
        cr_expect(message != NULL && message[0] != '\0', "problem without a message");
        int n = snprintf(out + used, size - used, "%s%s %s", used ? ";" : "",
                         json_string_value(json_object_get(p, "path")),
                         json_string_value(json_object_get(p, "code")));
        cr_assert(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

#define SITE(code, extra) "{\"code\":\"" code "\",\"name\":\"n\",\"level\":\"l\"" extra "}"
#define PROG(members) "{\"slug\":\"ok\",\"name\":\"x\"," members "}"
#define IND(code, extra)                                                                           \
    "{\"code\":\"" code "\",\"name\":\"n\",\"value_type\":\"count\",\"period_type\":"              \
    "\"monthly\"" extra "}"

static const struct {
    const char *doc;
    const char *want;
} cases[] = {
    {"[]", "$ invalid_type"},
    {"\"icp\"", "$ invalid_type"},
    {"{}", "$.slug missing_field;$.name missing_field"},
    {"{\"slug\":\"Bad Slug\",\"name\":\"x\"}", "$.slug invalid_slug"},
    {"{\"slug\":\"-lead\",\"name\":\"\"}", "$.slug invalid_slug;$.name invalid_type"},
    {"{\"slug\":\"a234567890123456789012345678901234567890123456789012345678901234\","
     "\"name\":\"x\"}",
     "$.slug invalid_slug"},
    {"{\"slug\":\"a23456789012345678901234567890123456789012345678901234567890123\","
     "\"name\":\"x\"}",
     ""},
    {"{\"slug\":3,\"name\":\"x\"}", "$.slug invalid_type"},
    {PROG("\"time_zone\":5"), "$.time_zone invalid_type"},
    {PROG("\"time_zone\":\"Europe/Atlantis\""), ""}, /* only the database knows zones */
    {PROG("\"teams\":{}"), "$.teams invalid_type"},
    {PROG("\"sites\":{},\"indicators\":\"no\""), "$.sites invalid_type;$.indicators invalid_type"},
    {PROG("\"sites\":[" SITE("A", "") "," SITE("A", ",\"parent\":\"Z\"") "]"),
     "$.sites[1] duplicate_code;$.sites[1].parent unknown_site"},
    {PROG("\"sites\":[" SITE("A", ",\"adopted\":\"2025-02-30\"") "]"),
     "$.sites[0].adopted invalid_date"},
    {PROG("\"sites\":[" SITE("A", ",\"status\":\"gone\"") "]"), "$.sites[0].status invalid_value"},
    {PROG("\"sites\":[" SITE("A", ",\"parent\":\"A\"") "]"), "$.sites[0].parent invalid_value"},
    {PROG("\"sites\":[{\"code\":\"A\"},7,{\"code\":\"has space\",\"name\":\"n\",\"level\":\"l\","
          "\"adopted\":20250101}]"),
     "$.sites[0].name missing_field;$.sites[0].level missing_field;$.sites[1] "
     "invalid_type;$.sites[2] invalid_code;$.sites[2].adopted invalid_date"},
    {PROG("\"sites\":[" SITE("A", ",\"parent\":\"B\"") "," SITE("B", ",\"parent\":\"A\"") "]"),
     "$.sites[0].parent parent_cycle;$.sites[1].parent parent_cycle"},
    {PROG("\"sites\":[" SITE("R", "") "," SITE("A", ",\"parent\":\"C\"") "," SITE(
         "B", ",\"parent\":\"A\"") "," SITE("C", ",\"parent\":\"B\"") "]"),
     "$.sites[1].parent parent_cycle;$.sites[2].parent parent_cycle;$.sites[3].parent "
     "parent_cycle"},
    /* a chain listed child first is a tree */
    {PROG("\"sites\":[" SITE("C", ",\"parent\":\"B\"") "," SITE("B", ",\"parent\":\"A\"") "," SITE(
         "A", "") "]"),
     ""},
    {PROG("\"indicators\":[{\"code\":\"x\",\"name\":\"n\",\"value_type\":\"count\"}]"),
     "$.indicators[0].period_type missing_field"},
    {PROG("\"indicators\":[7]"), "$.indicators[0] invalid_type"},
    {PROG("\"indicators\":[{\"code\":\"x\",\"name\":\"n\",\"value_type\":\"money\","
          "\"period_type\":\"daily\",\"direction\":\"sideways\",\"aggregate\":\"max\","
          "\"dimension\":\"fun\",\"target\":\"high\"}]"),
     "$.indicators[0].value_type invalid_value;$.indicators[0].period_type "
     "invalid_value;$.indicators[0].direction invalid_value;$.indicators[0].aggregate "
     "invalid_value;$.indicators[0].dimension invalid_value;$.indicators[0].target "
     "invalid_type"},
    {PROG("\"indicators\":[" IND("x", "") "," IND("x", "") "]"), "$.indicators[1] duplicate_code"},
    {PROG("\"indicators\":[" IND("a,b", "") "]"), "$.indicators[0] invalid_code"},
    {PROG("\"indicators\":[" IND("x", ",\"target\":80,\"direction\":\"up\"") "]"), ""},
    /* the false-alert budget of the spc rules (core/detector.h) */
    {PROG("\"alert_budget\":{\"false_alerts_per_100_series_years\":2}"), ""},
    {PROG("\"alert_budget\":{\"false_alerts_per_100_series_years\":0.25}"), ""},
    {PROG("\"alert_budget\":{\"false_alerts_per_100_series_years\":12}"), ""},
    {PROG("\"alert_budget\":2"), "$.alert_budget invalid_type"},
    {PROG("\"alert_budget\":{}"), "$.alert_budget.false_alerts_per_100_series_years missing_field"},
    {PROG("\"alert_budget\":{\"false_alerts_per_100_series_years\":0}"),
     "$.alert_budget.false_alerts_per_100_series_years out_of_range"},
    {PROG("\"alert_budget\":{\"false_alerts_per_100_series_years\":12.5}"),
     "$.alert_budget.false_alerts_per_100_series_years out_of_range"},
    {PROG("\"alert_budget\":{\"false_alerts_per_100_series_years\":\"2\"}"),
     "$.alert_budget.false_alerts_per_100_series_years invalid_type"},
    {PROG("\"alert_budget\":{\"false_alerts_per_100_series_years\":2,\"per_month\":1}"),
     "$.alert_budget.per_month unknown_member"},
};

Test(programme_doc, each_problem_names_its_path_and_code)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t error;
        json_t *doc = json_loads(cases[i].doc, JSON_DECODE_ANY, &error);
        cr_assert_not_null(doc, "case %zu does not parse: %s", i, error.text);
        json_t *problems = programme_doc_validate(doc);
        cr_expect(problems == NULL || json_array_size(problems) > 0,
                  "case %zu: an empty list instead of none", i);
        char got[1024];
        describe(problems, got, sizeof(got));
        cr_expect_str_eq(got, cases[i].want, "document %zu: %.160s", i, cases[i].doc);
        json_decref(problems);
        json_decref(doc);
    }
}

Test(programme_doc, the_shipped_example_is_valid)
{
    const char *dir = getenv("SCALEUPD_SOURCE_DIR");
    cr_assert_not_null(dir, "SCALEUPD_SOURCE_DIR is set by ctest");
    char path[1024];
    snprintf(path, sizeof(path), "%s/config/programme-icp-be.json", dir);
    json_error_t error;
    json_t *doc = json_load_file(path, 0, &error);
    cr_assert_not_null(doc, "%s: %s", path, error.text);
    json_t *problems = programme_doc_validate(doc);
    char *dump = problems ? json_dumps(problems, JSON_COMPACT) : NULL;
    cr_expect_null(problems, "problems: %s", dump ? dump : "");
    free(dump);
    json_decref(problems);
    json_decref(doc);
}
