/*
 * FHIR MeasureReports as a feed: the reports HL7 and the WHO SMART guidelines publish
 * (tests/fixtures/fhir, SOURCES.md) become the rows their mapping in the test programme
 * (programme-fhir-test.json) says; what the route must refuse is refused by name, with a
 * FHIRPath expression that points at the element; hostile bodies are document errors.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/catalog.h"
#include "scaleupd/core/fhir_map.h"
#include "scaleupd/core/fhir_outcome.h"
#include "scaleupd/core/parse_fhir.h"
#include "scaleupd/core/programme_doc.h"

#define TODAY 20254 /* 2025-06-15 */

static char *fixture(const char *name)
{
    const char *dir = getenv("SCALEUPD_SOURCE_DIR");
    cr_assert_not_null(dir, "SCALEUPD_SOURCE_DIR is set by ctest");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/fixtures/fhir/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static json_t *programme(void)
{
    char *text = fixture("programme-fhir-test.json");
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    cr_assert_not_null(doc);
    return doc;
}

static struct fhir_map *test_map(void)
{
    json_t *doc = programme(), *problems = NULL;
    struct fhir_map *map = fhir_map_from_doc(doc, &problems);
    cr_assert_not_null(map);
    cr_assert_null(problems);
    json_decref(doc);
    return map;
}

static struct catalog *test_catalog(void)
{
    struct catalog *cat = catalog_new();
    cr_assert(catalog_add_indicator(cat, "art_new", 1, VALUE_COUNT, PERIOD_MONTHLY));
    cr_assert(
        catalog_add_indicator(cat, "strep_tested_pct", 2, VALUE_PERCENTAGE, PERIOD_QUARTERLY));
    cr_assert(catalog_add_indicator(cat, "anc_contact1", 3, VALUE_COUNT, PERIOD_MONTHLY));
    cr_assert(catalog_add_site(cat, "ROOT", 10, false));
    cr_assert(catalog_add_site(cat, "ZW01", 11, true));
    cr_assert(catalog_add_site(cat, "GHH", 12, true));
    cr_assert(catalog_add_site(cat, "ANC-ORG", 13, true));
    return cat;
}

/* Parses, validates and applies the whole-report rule, as the ingest service does. */
static struct obs_batch *ingest(const char *body, enum fhir_expect expect,
                                enum obs_parse_status want)
{
    struct fhir_map *map = test_map();
    struct catalog *cat = test_catalog();
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    enum obs_parse_status st = obs_parse_fhir(body, strlen(body), expect, map, b, &err);
    cr_assert_eq(st, want, "status %d (%s: %s), want %d", st, err.code, err.message, want);
    if (st == OBS_PARSE_OK) {
        cr_assert(obs_validate(b, cat, TODAY));
        obs_fhir_reject_partial_entries(b);
    }
    catalog_free(&cat);
    fhir_map_free(&map);
    return b;
}

static struct obs_batch *ingest_fixture(const char *name)
{
    char *body = fixture(name);
    struct obs_batch *b = ingest(body, FHIR_EXPECT_MEASURE_REPORT, OBS_PARSE_OK);
    free(body);
    return b;
}

/* The answer's first error issue: "code expression diagnostics". */
static void first_issue(const struct obs_batch *b, char *buf, size_t size, int *status)
{
    struct fhir_counts none = {0, 0, 0};
    json_t *outcome = fhir_outcome(b, &none, NULL, false, false, status);
    cr_assert_not_null(outcome);
    json_t *issue = json_array_get(json_object_get(outcome, "issue"), 1);
    snprintf(buf, size, "%s %s %s", json_string_value(json_object_get(issue, "code")),
             json_string_value(json_array_get(json_object_get(issue, "expression"), 0)),
             json_string_value(json_object_get(issue, "diagnostics")));
    json_decref(outcome);
}

Test(parse_fhir, hl7_cms146_summary_is_a_quarter_with_its_counts)
{
    struct obs_batch *b =
        ingest_fixture("hl7-MeasureReport-measurereport-cms146-cat3-example.json");
    cr_assert_eq(b->n_rows, 1);
    cr_assert_eq(b->n_rejects, 0, "reject: %s", b->n_rejects ? b->rejects[0].message : "");
    const struct obs_row *r = &b->rows[0];
    cr_expect_str_eq(r->indicator, "strep_tested_pct");
    cr_expect_str_eq(r->site, "GHH");
    cr_expect(r->period.type == PERIOD_QUARTERLY && r->period.year == 2014 && r->period.index == 1);
    cr_expect(r->has_numerator && r->numerator == 200 && r->has_denominator &&
              r->denominator == 500);
    cr_expect_float_eq(r->value, 40.0, 1e-9); /* 200 / 500 x 100 */
    obs_batch_free(&b);
}

Test(parse_fhir, who_anc_ind_01_report_is_a_month_of_first_contacts)
{
    struct obs_batch *b = ingest_fixture("who-smart-anc-measurereport-ancind01.json");
    cr_assert_eq(b->n_rows, 1);
    cr_assert_eq(b->n_rejects, 0, "reject: %s", b->n_rejects ? b->rejects[0].message : "");
    const struct obs_row *r = &b->rows[0];
    cr_expect_str_eq(r->indicator, "anc_contact1");
    cr_expect_str_eq(r->site, "ANC-ORG");
    cr_expect(r->period.type == PERIOD_MONTHLY && r->period.year == 2021 && r->period.index == 7);
    cr_expect(r->value == 1 && r->numerator == 1 && r->denominator == 1);
    obs_batch_free(&b);
}

Test(parse_fhir, hl7_hiv_indicators_three_groups_of_one_code_are_duplicates)
{
    struct obs_batch *b = ingest_fixture("hl7-MeasureReport-hiv-indicators.json");
    cr_assert_eq(b->n_rows, 3);
    cr_assert_eq(b->n_rejects, 3);
    for (size_t i = 0; i < 3; i++)
        cr_expect_str_eq(b->rejects[i].code, "duplicate_key");
    char issue[400];
    int status;
    first_issue(b, issue, sizeof(issue), &status);
    cr_expect_eq(status, 422);
    cr_expect_str_eq(issue, "duplicate MeasureReport.group[0] MeasureReport.group[1] has the same "
                            "indicator, site and period (art_new, ZW01, 2018-01): neither is "
                            "stored");
    obs_batch_free(&b);
}

Test(parse_fhir, reports_about_patients_are_refused_by_type)
{
    static const char *const files[][2] = {
        {"hl7-MeasureReport-measurereport-cms146-cat1-example.json", "type individual"},
        {"hl7-MeasureReport-measurereport-cms146-cat2-example.json", "type subject-list"},
        {"who-smart-anc-measurereport-numerator-charity-otala-1.json", "type individual"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct obs_batch *b = ingest_fixture(files[i][0]);
        cr_assert_eq(b->n_rows, 1);
        cr_assert_eq(b->n_rejects, 1);
        cr_expect_str_eq(b->rejects[0].code, "unsupported_type");
        char issue[400];
        int status;
        first_issue(b, issue, sizeof(issue), &status);
        cr_expect_eq(status, 400);
        char want[100];
        snprintf(want, sizeof(want), "not-supported MeasureReport.type %s", files[i][1]);
        cr_expect(strncmp(issue, want, strlen(want)) == 0, "%s: %s", files[i][0], issue);
        obs_batch_free(&b);
    }
}

/* A MeasureReport of the ANC measure with the given members after "resourceType". */
#define ANC(members)                                                                               \
    "{\"resourceType\":\"MeasureReport\"," members ",\"group\":[{\"id\":\"group-1\","              \
    "\"population\":[{\"code\":{\"coding\":[{\"code\":\"numerator\"}]},\"count\":7},"              \
    "{\"code\":{\"coding\":[{\"code\":\"denominator\"}]},\"count\":9}]}]}"
#define ANC_MEASURE "\"measure\":\"http://fhir.org/guides/who/anc-cds/Measure/anc-ind-01\""
#define ANC_REPORTER "\"reporter\":{\"reference\":\"Organization/anc-organization-example\"}"
#define ANC_OK(period)                                                                             \
    ANC("\"status\":\"complete\",\"type\":\"summary\"," ANC_MEASURE "," ANC_REPORTER               \
        ",\"period\":" period)

static const struct {
    const char *body;
    const char *want; /* "" for accepted, else "issue-code expression diagnostics-prefix" */
} report_cases[] = {
    {ANC_OK("{\"start\":\"2021-07-01\",\"end\":\"2021-07-31\"}"), ""},
    {ANC_OK("{\"start\":\"2021-07-01T00:00:00Z\",\"end\":\"2021-07-31T23:59:59.999+02:00\"}"), ""},
    {ANC_OK("{\"start\":\"2021-07\",\"end\":\"2021-07\"}"), ""},
    {ANC_OK("{\"start\":\"2021-07-01\",\"end\":\"2021-07-30\"}"),
     "business-rule MeasureReport.period period 2021-07-01 to 2021-07-30 is not one monthly "
     "period of indicator anc_contact1"},
    {ANC_OK("{\"start\":\"2021-07-01\",\"end\":\"2021-09-30\"}"),
     "business-rule MeasureReport.period period 2021-07-01 to 2021-09-30 is not one monthly"},
    {ANC_OK("{\"start\":\"2021-07-01T08:00:00Z\",\"end\":\"2021-07-31\"}"),
     "value MeasureReport.period period is not a span of whole days"},
    {ANC_OK("{\"start\":\"2021-07-01\"}"), "value MeasureReport.period period needs a start"},
    {ANC_OK("{\"start\":\"2031-07-01\",\"end\":\"2031-07-31\"}"),
     "business-rule MeasureReport.period "},
    {ANC("\"status\":\"pending\",\"type\":\"summary\"," ANC_MEASURE "," ANC_REPORTER),
     "not-supported MeasureReport.status status pending"},
    {ANC("\"status\":\"complete\",\"type\":\"data-collection\"," ANC_MEASURE "," ANC_REPORTER),
     "not-supported MeasureReport.type type data-collection"},
    {ANC("\"status\":\"complete\",\"type\":\"summary\"," ANC_REPORTER),
     "required MeasureReport.measure measure must be"},
    {ANC("\"status\":\"complete\",\"type\":\"summary\",\"measure\":\"http://x/Measure/"
         "other\"," ANC_REPORTER),
     "not-found MeasureReport.measure measure \"http://x/Measure/other\" is not mapped"},
    {ANC("\"status\":\"complete\",\"type\":\"summary\"," ANC_MEASURE
         ",\"reporter\":{\"reference\":\"Organization/nobody\"}"),
     "not-found MeasureReport.reporter reporter \"Organization/nobody\" is not mapped"},
    {ANC("\"status\":\"complete\",\"type\":\"summary\"," ANC_MEASURE
         ",\"reporter\":{\"identifier\":{\"system\":\"http://example.org/fhir/anc-facility\","
         "\"value\":\"ANC-0001\"}},\"period\":{\"start\":\"2021-08-01\",\"end\":\"2021-08-31\"}"),
     ""},
    {ANC("\"status\":\"complete\",\"type\":\"summary\",\"measure\":\"Measure/v2\"," ANC_REPORTER),
     "not-found MeasureReport.measure measure \"Measure/v2\" is mapped for given versions only"},
    {ANC("\"status\":\"complete\",\"type\":\"summary\",\"measure\":\"Measure/"
         "v2|1.0\"," ANC_REPORTER),
     "not-found MeasureReport.measure version \"1.0\" of measure \"Measure/v2\" is not mapped"},
    {ANC("\"status\":\"complete\",\"type\":\"summary\",\"measure\":\"Measure/v2|2.0\"," ANC_REPORTER
         ",\"period\":{\"start\":\"2021-07-01\",\"end\":\"2021-07-31\"}"),
     ""},
    {"{\"resourceType\":\"MeasureReport\",\"status\":\"complete\",\"type\":\"summary\","
     "\"measure\":\"http://ohie.org/Measure/hiv-indicators|4.0.1\","
     "\"reporter\":{\"reference\":\"Organization/ZW01\"},"
     "\"period\":{\"start\":\"2018-01-01\",\"end\":\"2018-01-31\"},"
     "\"group\":[{\"code\":{\"coding\":[{\"code\":\"QRPH_ADX_ART1_N\"}]}}]}",
     "required MeasureReport.group[0].measureScore.value measureScore.value must be a number"},
    {"{\"resourceType\":\"MeasureReport\",\"status\":\"complete\",\"type\":\"summary\","
     "\"measure\":\"http://ohie.org/Measure/hiv-indicators\","
     "\"reporter\":{\"reference\":\"Organization/ZW01\"},"
     "\"period\":{\"start\":\"2018-01-01\",\"end\":\"2018-01-31\"},"
     "\"group\":[{\"code\":{\"coding\":[{\"code\":\"QRPH_ADX_ART1_N\"}]},\"measureScore\":"
     "{\"value\":12}},{\"code\":{\"coding\":[{\"code\":\"OTHER\"}]}}]}",
     "processing MeasureReport.group[0] not stored: a MeasureReport is stored whole, and its "
     "group[1] was rejected"},
};

Test(parse_fhir, each_report_is_taken_or_refused_naming_the_element)
{
    for (size_t i = 0; i < sizeof(report_cases) / sizeof(report_cases[0]); i++) {
        struct obs_batch *b =
            ingest(report_cases[i].body, FHIR_EXPECT_MEASURE_REPORT, OBS_PARSE_OK);
        char issue[400] = "";
        int status = 200;
        if (b->n_rejects > 0)
            first_issue(b, issue, sizeof(issue), &status);
        const char *want = report_cases[i].want;
        if (want[0] == '\0')
            cr_expect_eq(b->n_rejects, 0, "case %zu: %s", i, issue);
        else
            cr_expect(strncmp(issue, want, strlen(want)) == 0, "case %zu: got %s\nwant %s", i,
                      issue, want);
        obs_batch_free(&b);
    }
}

static const struct {
    const char *body;
    enum fhir_expect expect;
    enum obs_parse_status status;
    const char *code;
} document_cases[] = {
    {"", FHIR_EXPECT_MEASURE_REPORT, OBS_PARSE_EMPTY, "empty_body"},
    {" \n", FHIR_EXPECT_BUNDLE, OBS_PARSE_EMPTY, "empty_body"},
    {"{\"resourceType\":", FHIR_EXPECT_MEASURE_REPORT, OBS_PARSE_MALFORMED, "malformed_json"},
    {"{\"a\":1,\"a\":2}", FHIR_EXPECT_MEASURE_REPORT, OBS_PARSE_MALFORMED, "malformed_json"},
    {"[1]", FHIR_EXPECT_MEASURE_REPORT, OBS_PARSE_INVALID_SHAPE, "invalid_document"},
    {"{\"resourceType\":\"Bundle\",\"type\":\"batch\"}", FHIR_EXPECT_MEASURE_REPORT,
     OBS_PARSE_INVALID_SHAPE, "invalid_document"},
    {"{\"resourceType\":\"MeasureReport\"}", FHIR_EXPECT_BUNDLE, OBS_PARSE_INVALID_SHAPE,
     "invalid_document"},
    {"{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{}]}", FHIR_EXPECT_BUNDLE,
     OBS_PARSE_INVALID_SHAPE, "invalid_document"},
    {"{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":{}}", FHIR_EXPECT_BUNDLE,
     OBS_PARSE_INVALID_SHAPE, "invalid_document"},
    {"{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[]}", FHIR_EXPECT_BUNDLE,
     OBS_PARSE_EMPTY, "empty_batch"},
    {"{\"resourceType\":\"Bundle\",\"type\":\"transaction\"}", FHIR_EXPECT_BUNDLE, OBS_PARSE_EMPTY,
     "empty_batch"},
};

Test(parse_fhir, unusable_bodies_are_document_errors)
{
    for (size_t i = 0; i < sizeof(document_cases) / sizeof(document_cases[0]); i++) {
        struct obs_batch *b =
            ingest(document_cases[i].body, document_cases[i].expect, document_cases[i].status);
        cr_expect_eq(b->n_rows, 0, "case %zu", i);
        obs_batch_free(&b);
    }
}

/* Nesting and value counts beyond the bounds fail before jansson builds a tree. */
Test(parse_fhir, hostile_bodies_are_bounded)
{
    struct fhir_map *map = test_map();
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    cr_expect_eq(obs_parse_fhir(deep, 2 * depth, FHIR_EXPECT_BUNDLE, map, b, &err),
                 OBS_PARSE_INVALID_SHAPE);
    cr_expect_str_eq(err.code, "too_deep");
    cr_expect_eq(err.offset, FHIR_DEPTH_MAX); /* the bracket one level too deep */
    free(deep);
    size_t n = FHIR_VALUES_MAX + 1;
    char *wide = malloc(2 * n + 2);
    wide[0] = '[';
    for (size_t i = 0; i < n; i++)
        wide[1 + 2 * i] = '0', wide[2 + 2 * i] = ',';
    wide[2 * n] = ']';
    cr_expect_eq(obs_parse_fhir(wide, 2 * n + 1, FHIR_EXPECT_BUNDLE, map, b, &err),
                 OBS_PARSE_TOO_LARGE);
    cr_expect_str_eq(err.code, "too_large");
    free(wide);
    obs_batch_free(&b);
    fhir_map_free(&map);
}

/* A Bundle of type `type` with four entries: cms146 cat3 (taken), cat1 (individual), the ANC
 * report under a DELETE, the ANC report without a request (taken). */
static struct obs_batch *four_entries(const char *type)
{
    char *cat3 = fixture("hl7-MeasureReport-measurereport-cms146-cat3-example.json");
    char *cat1 = fixture("hl7-MeasureReport-measurereport-cms146-cat1-example.json");
    char *anc = fixture("who-smart-anc-measurereport-ancind01.json");
    size_t size = strlen(cat3) + strlen(cat1) + 2 * strlen(anc) + 512;
    char *body = malloc(size);
    snprintf(body, size,
             "{\"resourceType\":\"Bundle\",\"type\":\"%s\",\"entry\":["
             "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"MeasureReport\"}},"
             "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"MeasureReport\"}},"
             "{\"resource\":%s,\"request\":{\"method\":\"DELETE\",\"url\":\"MeasureReport/1\"}},"
             "{\"resource\":%s}]}",
             type, cat3, cat1, anc, anc);
    struct obs_batch *b = ingest(body, FHIR_EXPECT_BUNDLE, OBS_PARSE_OK);
    free(body);
    free(cat3);
    free(cat1);
    free(anc);
    return b;
}

/* The expression of the first issue of entry i of a response Bundle. */
static const char *entry_expression(const json_t *answer, size_t i)
{
    const json_t *response =
        json_object_get(json_array_get(json_object_get(answer, "entry"), i), "response");
    const json_t *issue =
        json_array_get(json_object_get(json_object_get(response, "outcome"), "issue"), 0);
    return json_string_value(json_array_get(json_object_get(issue, "expression"), 0));
}

/* A batch Bundle: each entry on its own, answered entry by entry. */
Test(parse_fhir, a_batch_answers_each_entry)
{
    struct obs_batch *b = four_entries("batch");
    cr_assert_eq(b->fhir->kind, FHIR_KIND_BATCH);
    cr_assert_eq(b->n_rows, 4);
    cr_assert_eq(obs_batch_accepted(b), 2);
    struct fhir_counts counts = {1, 1, 0};
    bool existed[4] = {false, false, false, true}; /* entry 0 new, entry 3 stored before */
    int status;
    json_t *answer = fhir_outcome(b, &counts, existed, true, false, &status);
    cr_expect_eq(status, 200);
    cr_expect_str_eq(json_string_value(json_object_get(answer, "type")), "batch-response");
    json_t *entries = json_object_get(answer, "entry");
    cr_assert_eq(json_array_size(entries), 4);
    const char *want[] = {"201 Created", "400 Bad Request", "400 Bad Request", "200 OK"};
    for (size_t i = 0; i < 4; i++)
        cr_expect_str_eq(json_string_value(json_object_get(
                             json_object_get(json_array_get(entries, i), "response"), "status")),
                         want[i], "entry %zu", i);
    cr_expect_str_eq(entry_expression(answer, 1), "Bundle.entry[1].resource.type");
    cr_expect_str_eq(entry_expression(answer, 2), "Bundle.entry[2].request");
    json_t *ext = json_array_get(json_object_get(json_object_get(answer, "meta"), "extension"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(ext, "url")), FHIR_IMPORT_COUNTS_URL);
    json_decref(answer);
    obs_batch_free(&b);
}

/* The same entries as a transaction: one OperationOutcome with every issue, nothing stored. */
Test(parse_fhir, a_transaction_with_a_refused_entry_is_one_outcome)
{
    struct obs_batch *b = four_entries("transaction");
    cr_assert_eq(b->fhir->kind, FHIR_KIND_TRANSACTION);
    struct fhir_counts counts = {0, 0, 0};
    bool existed[4] = {false, false, false, false};
    int status;
    json_t *answer = fhir_outcome(b, &counts, existed, false, false, &status);
    cr_expect_eq(status, 400);
    cr_expect_str_eq(json_string_value(json_object_get(answer, "resourceType")),
                     "OperationOutcome");
    cr_expect_eq(json_array_size(json_object_get(answer, "issue")), 3); /* counts + 2 */
    json_decref(answer);
    obs_batch_free(&b);
}

/* A lone report answers 201 when it stored a new value, 200 when it only updated or repeated
 * stored ones, and 200 in a dry run, which creates nothing. */
Test(parse_fhir, a_report_that_stored_a_new_value_is_created)
{
    struct obs_batch *b = ingest_fixture("who-smart-anc-measurereport-ancind01.json");
    cr_assert_eq(obs_batch_accepted(b), 1);
    static const struct {
        bool existed, dry_run;
        int status;
    } cases[] = {{false, false, 201}, {true, false, 200}, {false, true, 200}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fhir_counts counts = {cases[i].existed ? 0 : 1, cases[i].existed ? 1 : 0, 0};
        bool existed[1] = {cases[i].existed};
        int status;
        json_t *answer = fhir_outcome(b, &counts, existed, true, cases[i].dry_run, &status);
        cr_expect_eq(status, cases[i].status, "case %zu", i);
        cr_expect_str_eq(json_string_value(json_object_get(answer, "resourceType")),
                         "OperationOutcome");
        json_decref(answer);
    }
    obs_batch_free(&b);
}

static const struct {
    const char *fhir;
    const char *want; /* the first problem: "path code" */
} mapping_cases[] = {
    {"[]", "$.fhir invalid_type"},
    {"{\"measure\":[]}", "$.fhir.measure unknown_member"},
    {"{\"measures\":[{\"url\":\"u\",\"groups\":[{\"indicator\":\"nope\"}]}]}",
     "$.fhir.measures[0].groups[0].indicator unknown_indicator"},
    {"{\"measures\":[{\"url\":\"u\",\"groups\":[]}]}", "$.fhir.measures[0].groups invalid_type"},
    {"{\"measures\":[{\"url\":\"u|1\",\"groups\":[{\"indicator\":\"art_new\"}]}]}",
     "$.fhir.measures[0] invalid_value"},
    {"{\"measures\":[{\"url\":\"u\",\"groups\":[{\"indicator\":\"art_new\",\"value\":\"sum\"}]}]}",
     "$.fhir.measures[0].groups[0].value invalid_value"},
    {"{\"measures\":[{\"url\":\"u\",\"groups\":[{\"indicator\":\"art_new\",\"scale\":0}]}]}",
     "$.fhir.measures[0].groups[0].scale out_of_range"},
    {"{\"measures\":[{\"url\":\"u\",\"groups\":[{\"code\":\"a\",\"indicator\":\"art_new\"},"
     "{\"code\":\"a\",\"indicator\":\"anc_contact1\"}]}]}",
     "$.fhir.measures[0].groups[1] duplicate_code"},
    {"{\"measures\":[{\"url\":\"u\",\"groups\":[{\"indicator\":\"art_new\"}]},"
     "{\"url\":\"u\",\"groups\":[{\"indicator\":\"art_new\"}]}]}",
     "$.fhir.measures[1] duplicate_code"},
    {"{\"organizations\":[{\"site\":\"NOPE\",\"reference\":\"Organization/1\"}]}",
     "$.fhir.organizations[0].site unknown_site"},
    {"{\"organizations\":[{\"site\":\"GHH\"}]}", "$.fhir.organizations[0] invalid_value"},
    {"{\"organizations\":[{\"site\":\"GHH\",\"identifier\":{\"system\":\"s\"}}]}",
     "$.fhir.organizations[0].identifier.value missing_field"},
    {"{\"organizations\":[{\"site\":\"GHH\",\"reference\":\"r\"},{\"site\":\"ZW01\","
     "\"reference\":\"r\"}]}",
     "$.fhir.organizations[1] duplicate_code"},
};

Test(parse_fhir, the_programme_mapping_is_checked_whole)
{
    json_t *problems = programme_doc_validate(programme());
    cr_expect_null(problems, "the test programme is valid");
    for (size_t i = 0; i < sizeof(mapping_cases) / sizeof(mapping_cases[0]); i++) {
        json_t *doc = programme();
        json_t *fhir = json_loads(mapping_cases[i].fhir, JSON_DECODE_ANY, NULL);
        cr_assert_not_null(fhir, "case %zu", i);
        json_object_set_new(doc, "fhir", fhir);
        problems = programme_doc_validate(doc);
        json_t *first = json_array_get(problems, 0);
        char got[200];
        snprintf(got, sizeof(got), "%s %s", json_string_value(json_object_get(first, "path")),
                 json_string_value(json_object_get(first, "code")));
        cr_expect_str_eq(got, mapping_cases[i].want, "case %zu", i);
        json_decref(problems);
        json_decref(doc);
    }
}
