/*
 * Ingest parsing and validation: the example feeds parse into the right rows; every kind of
 * bad input is refused with the code and position (document) or row, field and code (row)
 * a client needs, while the valid rows next to it survive.
 *
 * The catalog mirrors /work/shared/examples/programme-icp-be.json, plus a ratio and a weekly
 * indicator and a site of another programme. "Today" is Sunday 2025-06-15:
 * 2025-01-01 is day 20089 (55*365 + 14 leap days), + 165 = 20254.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/catalog.h"
#include "scaleupd/core/obs_parse.h"

#define D_2025_01_01 20089
#define TODAY (D_2025_01_01 + 165)

/* ------------------------------------------------------------------------------------ */
/* The example files of /work/shared/examples, verbatim. */

static const char example_json[] =
    "{\n"
    "  \"observations\": [\n"
    "    { \"indicator\": \"patients_enrolled\", \"site\": \"BE-VLG-GP001\", \"period\": "
    "\"2025-03\", \"value\": 143 },\n"
    "    { \"indicator\": \"eligible_population\", \"site\": \"BE-VLG-GP001\", \"period\": "
    "\"2025-03\", \"value\": 1210 },\n"
    "    { \"indicator\": \"hba1c_tested_pct\", \"site\": \"BE-VLG-GP001\", \"period\": "
    "\"2025-03\", \"value\": 78.5, \"numerator\": 62, \"denominator\": 79 },\n"
    "    { \"indicator\": \"inst_fee_code\", \"site\": \"BE\", \"period\": \"2025Q1\", \"value\": "
    "1 }\n"
    "  ]\n"
    "}\n";

static const char example_csv[] = "indicator,site,period,value,numerator,denominator\n"
                                  "patients_enrolled,BE-VLG-GP002,2025-04,37,,\n"
                                  "eligible_population,BE-VLG-GP002,2025-04,884,,\n"
                                  "bp_controlled_pct,BE-VLG-GP002,2025-04,61.2,19,31\n";

static const char example_dhis2[] =
    "{\n"
    "  \"dataValues\": [\n"
    "    { \"dataElement\": \"patients_enrolled\", \"period\": \"202505\", \"orgUnit\": "
    "\"BE-VLG-GP001\", \"value\": \"151\" },\n"
    "    { \"dataElement\": \"eligible_population\", \"period\": \"202505\", \"orgUnit\": "
    "\"BE-VLG-GP001\", \"value\": \"1214\" }\n"
    "  ]\n"
    "}\n";

/* ------------------------------------------------------------------------------------ */
/* Helpers */

static struct catalog *example_catalog(void)
{
    struct catalog *cat = catalog_new();
    cr_assert_not_null(cat);
    cr_assert(catalog_add_indicator(cat, "patients_enrolled", 1, VALUE_COUNT, PERIOD_MONTHLY));
    cr_assert(catalog_add_indicator(cat, "eligible_population", 2, VALUE_COUNT, PERIOD_MONTHLY));
    cr_assert(catalog_add_indicator(cat, "hba1c_tested_pct", 3, VALUE_PERCENTAGE, PERIOD_MONTHLY));
    cr_assert(catalog_add_indicator(cat, "bp_controlled_pct", 4, VALUE_PERCENTAGE, PERIOD_MONTHLY));
    cr_assert(catalog_add_indicator(cat, "inst_fee_code", 5, VALUE_SCORE, PERIOD_QUARTERLY));
    cr_assert(catalog_add_indicator(cat, "nurses_per_gp", 6, VALUE_RATIO, PERIOD_YEARLY));
    cr_assert(catalog_add_indicator(cat, "flu_visits", 7, VALUE_COUNT, PERIOD_WEEKLY));
    cr_assert(catalog_add_site(cat, "BE", 100, true));
    cr_assert(catalog_add_site(cat, "BE-VLG", 101, true));
    cr_assert(catalog_add_site(cat, "BE-VLG-GP001", 110, true));
    cr_assert(catalog_add_site(cat, "BE-VLG-GP002", 111, true));
    cr_assert(catalog_add_site(cat, "NL-GP001", 900, false));
    return cat;
}

enum fmt { FMT_JSON, FMT_CSV, FMT_DHIS2 };

static enum obs_parse_status parse_as(enum fmt fmt, const char *body, size_t len,
                                      struct obs_batch *batch, struct obs_parse_error *err)
{
    switch (fmt) {
    case FMT_JSON:
        return obs_parse_json(body, len, batch, err);
    case FMT_CSV:
        return obs_parse_csv(body, len, batch, err);
    case FMT_DHIS2:
        break;
    }
    return obs_parse_dhis2(body, len, batch, err);
}

/* Parses (must succeed) and validates against the example catalog. */
static struct obs_batch *parse_and_validate(enum fmt fmt, const char *body, size_t len)
{
    struct obs_batch *batch = obs_batch_new();
    struct obs_parse_error err;
    struct catalog *cat = example_catalog();
    cr_assert_not_null(batch);
    enum obs_parse_status status = parse_as(fmt, body, len, batch, &err);
    cr_assert_eq(status, OBS_PARSE_OK, "parse failed: %s: %s (line %u column %u)", err.code,
                 err.message, err.line, err.column);
    if (fmt == FMT_DHIS2) /* as ingest does under the default strategy */
        obs_dhis2_require_values(batch, false);
    cr_assert(obs_validate(batch, cat, TODAY));
    catalog_free(&cat);
    cr_assert_null(cat);
    return batch;
}

static bool valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        int extra = *u < 0x80             ? 0
                    : (*u & 0xE0) == 0xC0 ? 1
                    : (*u & 0xF0) == 0xE0 ? 2
                    : (*u & 0xF8) == 0xF0 ? 3
                                          : -1;
        if (extra < 0)
            return false;
        u++;
        for (int i = 0; i < extra; i++, u++) {
            if ((*u & 0xC0) != 0x80)
                return false;
        }
    }
    return true;
}

static const struct obs_reject *reject_of_row(const struct obs_batch *b, uint32_t row)
{
    for (size_t i = 0; i < b->n_rejects; i++) {
        if (b->rejects[i].row == row)
            return &b->rejects[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* The example feeds */

Test(obs_parse, example_json_parses_into_its_four_rows)
{
    struct obs_batch *b = parse_and_validate(FMT_JSON, example_json, strlen(example_json));
    cr_assert_eq(b->n_rows, 4);
    cr_expect_eq(b->n_rejects, 0, "first reject: %s", b->n_rejects ? b->rejects[0].message : "");
    static const struct {
        const char *indicator, *site;
        enum period_type type;
        int year, index;
        double value;
        int64_t indicator_id, site_id;
        int32_t period_start;
    } want[] = {
        /* 2025-03-01 = 2025-01-01 + 31 + 28 */
        {"patients_enrolled", "BE-VLG-GP001", PERIOD_MONTHLY, 2025, 3, 143, 1, 110,
         D_2025_01_01 + 59},
        {"eligible_population", "BE-VLG-GP001", PERIOD_MONTHLY, 2025, 3, 1210, 2, 110,
         D_2025_01_01 + 59},
        {"hba1c_tested_pct", "BE-VLG-GP001", PERIOD_MONTHLY, 2025, 3, 78.5, 3, 110,
         D_2025_01_01 + 59},
        {"inst_fee_code", "BE", PERIOD_QUARTERLY, 2025, 1, 1, 5, 100, D_2025_01_01},
    };
    for (size_t i = 0; i < 4; i++) {
        const struct obs_row *r = &b->rows[i];
        cr_expect_eq(r->row, i + 1);
        cr_expect_str_eq(r->indicator, want[i].indicator);
        cr_expect_str_eq(r->site, want[i].site);
        cr_expect(r->period.type == want[i].type && r->period.year == want[i].year &&
                      r->period.index == want[i].index,
                  "row %zu period", i + 1);
        cr_expect_eq(r->value, want[i].value, "row %zu value %g", i + 1, r->value);
        cr_expect_eq(r->indicator_id, want[i].indicator_id);
        cr_expect_eq(r->site_id, want[i].site_id);
        cr_expect_eq(r->period_start, want[i].period_start);
        cr_expect_not(r->rejected);
        cr_expect_null(r->comment);
        cr_expect_eq(r->has_numerator, i == 2);
        cr_expect_eq(r->has_denominator, i == 2);
    }
    cr_expect_eq(b->rows[2].numerator, 62);
    cr_expect_eq(b->rows[2].denominator, 79);
    cr_expect_eq(obs_batch_accepted(b), 4);
    obs_batch_free(&b);
    cr_expect_null(b);
}

Test(obs_parse, example_csv_parses_into_its_three_rows)
{
    struct obs_batch *b = parse_and_validate(FMT_CSV, example_csv, strlen(example_csv));
    cr_assert_eq(b->n_rows, 3);
    cr_expect_eq(b->n_rejects, 0, "first reject: %s", b->n_rejects ? b->rejects[0].message : "");
    static const struct {
        const char *indicator;
        double value;
        bool has_ratio;
        double numerator, denominator;
    } want[] = {
        {"patients_enrolled", 37, false, 0, 0},
        {"eligible_population", 884, false, 0, 0},
        {"bp_controlled_pct", 61.2, true, 19, 31},
    };
    for (size_t i = 0; i < 3; i++) {
        const struct obs_row *r = &b->rows[i];
        cr_expect_eq(r->row, i + 1);
        cr_expect_str_eq(r->indicator, want[i].indicator);
        cr_expect_str_eq(r->site, "BE-VLG-GP002");
        cr_expect(r->period.type == PERIOD_MONTHLY && r->period.year == 2025 &&
                  r->period.index == 4);
        cr_expect_eq(r->value, want[i].value);
        cr_expect_eq(r->has_numerator, want[i].has_ratio);
        cr_expect_eq(r->has_denominator, want[i].has_ratio);
        cr_expect_eq(r->numerator, want[i].numerator);
        cr_expect_eq(r->denominator, want[i].denominator);
        /* 2025-04-01 = 2025-01-01 + 31 + 28 + 31 */
        cr_expect_eq(r->period_start, D_2025_01_01 + 90);
        cr_expect_eq(r->site_id, 111);
    }
    obs_batch_free(&b);
}

Test(obs_parse, example_dhis2_parses_into_its_two_rows)
{
    struct obs_batch *b = parse_and_validate(FMT_DHIS2, example_dhis2, strlen(example_dhis2));
    cr_assert_eq(b->n_rows, 2);
    cr_expect_eq(b->n_rejects, 0, "first reject: %s", b->n_rejects ? b->rejects[0].message : "");
    cr_expect_str_eq(b->rows[0].indicator, "patients_enrolled");
    cr_expect_str_eq(b->rows[0].site, "BE-VLG-GP001");
    cr_expect_eq(b->rows[0].value, 151); /* from the string "151" */
    cr_expect_str_eq(b->rows[1].indicator, "eligible_population");
    cr_expect_eq(b->rows[1].value, 1214);
    for (int i = 0; i < 2; i++) {
        cr_expect(b->rows[i].period.type == PERIOD_MONTHLY && b->rows[i].period.year == 2025 &&
                  b->rows[i].period.index == 5);
        /* 2025-05-01 = 2025-01-01 + 31 + 28 + 31 + 30 */
        cr_expect_eq(b->rows[i].period_start, D_2025_01_01 + 120);
    }
    obs_batch_free(&b);
}

Test(obs_parse, dhis2_defaults_numbers_comments_and_ignored_fields)
{
    static const char body[] =
        "{\"dataSet\":\"pBOMPrpg1QX\",\"completeDate\":\"2025-06-01\",\"period\":\"2025W5\","
        "\"orgUnit\":\"BE-VLG-GP002\",\"attributeOptionCombo\":\"HllvX50cXC0\",\"dataValues\":["
        "{\"dataElement\":\"flu_visits\",\"value\":12,\"categoryOptionCombo\":\"HllvX50cXC0\","
        "\"storedBy\":\"admin\",\"followup\":false,\"created\":\"2025-02-03T10:00:00.000\"},"
        "{\"dataElement\":\"flu_visits\",\"orgUnit\":\"BE-VLG-GP001\",\"period\":\"2025W06\","
        "\"value\":\"7\",\"comment\":\"closed two days\"},"
        "{\"dataElement\":\"flu_visits\",\"period\":\"2025W07\",\"value\":\"abc\"},"
        "{\"dataElement\":\"flu_visits\",\"period\":\"2025W08\",\"value\":\"\"},"
        "{\"dataElement\":\"flu_visits\",\"period\":\"2025W09\",\"value\":true},"
        "{\"orgUnit\":\"BE\",\"value\":\"1\"},"
        "{\"dataElement\":\"nobody\",\"value\":\"1\"},"
        "{\"dataElement\":\"flu_visits\",\"period\":\"20250105\",\"value\":\"1\"},"
        "{\"dataElement\":\"flu_visits\",\"period\":\"2025W10\",\"value\":\"NaN\"},"
        "{\"dataElement\":\"flu_visits\",\"period\":\"2025W11\",\"value\":\" 1\"}"
        "]}";
    struct obs_batch *b = parse_and_validate(FMT_DHIS2, body, strlen(body));
    cr_assert_eq(b->n_rows, 10);
    cr_assert_eq(b->n_groups, 1); /* the set, whose data set a completeDate registers */
    cr_expect_str_eq(b->groups[0].period, "2025W5");
    cr_expect_str_eq(b->groups[0].org_unit, "BE-VLG-GP002");
    cr_expect_str_eq(b->rows[0].site, "BE-VLG-GP002"); /* the set's orgUnit */
    cr_expect(b->rows[0].period.type == PERIOD_WEEKLY && b->rows[0].period.index == 5);
    cr_expect_eq(b->rows[0].value, 12);
    cr_expect_not(b->rows[0].rejected);
    cr_expect_str_eq(b->rows[1].site, "BE-VLG-GP001"); /* its own orgUnit wins */
    cr_expect_eq(b->rows[1].period.index, 6);
    cr_expect_eq(b->rows[1].value, 7);
    cr_assert_not_null(b->rows[1].comment);
    cr_expect_str_eq(b->rows[1].comment, "closed two days");
    cr_expect_not(b->rows[1].rejected);
    static const struct {
        uint32_t row;
        const char *field, *code;
    } want[] = {
        {3, "value", "invalid_number"},
        {4, "value", "missing_field"},
        {5, "value", "invalid_type"},
        {6, "dataElement", "missing_field"},
        {7, "dataElement", "unknown_indicator"},
        {8, "period", "invalid_period"},
        {9, "value", "not_finite"},
        {10, "value", "invalid_number"},
    };
    cr_assert_eq(b->n_rejects, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct obs_reject *r = &b->rejects[i];
        cr_expect_eq(r->row, want[i].row);
        cr_expect_str_eq(r->field, want[i].field, "row %u", r->row);
        cr_expect_str_eq(r->code, want[i].code, "row %u: %s", r->row, r->message);
    }
    cr_expect_str_eq(b->rejects[4].message,
                     "dataElement \"nobody\" is not defined in this programme");
    obs_batch_free(&b);
}

/* The member named name among the set options the parse collected, or NULL. */
static const struct obs_set_option *set_option(const struct obs_batch *b, const char *name)
{
    for (size_t i = 0; i < b->n_set_options; i++)
        if (strcmp(b->set_options[i].name, name) == 0)
            return &b->set_options[i];
    return NULL;
}

Test(obs_parse, dhis2_set_options_are_collected_with_their_types)
{
    static const char body[] =
        "{\"dryRun\":true,\"strategy\":\"DELETE\",\"id\\u0053cheme\":\"C\\u004fDE\","
        "\"dataElementIdScheme\":\"\",\"orgUnitIdScheme\":null,\"dataSet\":12,"
        "\"attributeCategoryOptions\":[\"a\",\"b\"],\"deletion\":{\"orgUnits\":[]},"
        "\"completeDate\":\"2025-06-01\",\"categoryOptionComboIdScheme\":\"\\u0001x\","
        "\"attributeOptionCombo\":\"" /* 70 bytes: longer than the value kept */
        "0123456789012345678901234567890123456789012345678901234567890123456789\","
        "\"dataSetIdScheme\":\"\xff\xfe\","
        "\"async\":true,\"dryrun\":true,\"importStrategy\":\"DELETE\",\"storedBy\":\"x\","
        "\"period\":\"202505\",\"orgUnit\":\"BE\","
        "\"dataValues\":[{\"dataElement\":\"patients_enrolled\",\"value\":\"1\"}]}";
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_dhis2(body, strlen(body), b, &err), OBS_PARSE_OK, "%s", err.message);
    cr_expect_eq(b->n_rows, 1);
    static const struct {
        const char *name;
        enum obs_json_type type;
        const char *value;
    } want[] = {
        {"dryRun", OBS_JSON_BOOLEAN, "true"},
        {"strategy", OBS_JSON_STRING, "DELETE"},
        {"idScheme", OBS_JSON_STRING, "CODE"}, /* key and value decoded */
        {"dataElementIdScheme", OBS_JSON_STRING, ""},
        {"dataSet", OBS_JSON_NUMBER, "12"},
        {"attributeCategoryOptions", OBS_JSON_ARRAY, ""},
        {"deletion", OBS_JSON_OBJECT, ""},
        {"completeDate", OBS_JSON_STRING, "2025-06-01"},
        /* a control character, a cut and invalid UTF-8 are kept as quoted */
        {"categoryOptionComboIdScheme", OBS_JSON_STRING, "\\u0001x"},
        {"attributeOptionCombo", OBS_JSON_STRING, "0123456789012345678901234567890123456789..."},
        {"dataSetIdScheme", OBS_JSON_STRING, "??"},
    };
    size_t n_want = sizeof want / sizeof want[0];
    cr_expect_eq(b->n_set_options, n_want);
    for (size_t i = 0; i < n_want; i++) {
        const struct obs_set_option *m = set_option(b, want[i].name);
        cr_assert_not_null(m, "%s not collected", want[i].name);
        cr_expect_eq(m->type, want[i].type, "%s", want[i].name);
        cr_expect_str_eq(m->value, want[i].value, "%s", want[i].name);
    }
    /* null is not given; members DHIS2 does not read in a set are not collected */
    static const char *const absent[] = {"orgUnitIdScheme", "async",  "dryrun",  "importStrategy",
                                         "storedBy",        "period", "orgUnit", "dataValues"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        cr_expect_null(set_option(b, absent[i]), "%s collected", absent[i]);
    /* the next parse forgets them, whatever its format or outcome */
    cr_assert_eq(obs_parse_dhis2(example_dhis2, strlen(example_dhis2), b, &err), OBS_PARSE_OK);
    cr_expect_eq(b->n_set_options, 0);
    cr_assert_eq(obs_parse_dhis2(body, strlen(body), b, &err), OBS_PARSE_OK);
    cr_assert_eq(obs_parse_json(example_json, strlen(example_json), b, &err), OBS_PARSE_OK);
    cr_expect_eq(b->n_set_options, 0);
    static const char failing[] = "{\"dryRun\":true,\"dataValues\":[]}";
    cr_assert_eq(obs_parse_dhis2(failing, strlen(failing), b, &err), OBS_PARSE_EMPTY);
    cr_expect_eq(b->n_set_options, 0);
    obs_batch_free(&b);
}

Test(obs_parse, dhis2_set_option_given_twice_fails_the_document)
{
    static const char body[] = "{\"dryRun\":false,\"dataValues\":[{\"dataElement\":\"x\","
                               "\"value\":\"1\"}],\"dry\\u0052un\":true}";
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_dhis2(body, strlen(body), b, &err), OBS_PARSE_INVALID_SHAPE);
    cr_expect_str_eq(err.code, "invalid_document");
    cr_expect_not_null(strstr(err.message, "dry\\u0052un"), "%s", err.message);
    cr_expect_eq(b->n_set_options, 0);
    cr_expect_eq(b->n_rows, 0);
    obs_batch_free(&b);
}

/* ------------------------------------------------------------------------------------ */
/* Row-level problems: one bad row next to a good one */

struct row_case {
    const char *name;
    const char *input; /* the second row: a JSON object, or a CSV line */
    const char *field; /* NULL: the row is accepted */
    const char *code;
};

#define GOOD_JSON                                                                                  \
    "{\"indicator\":\"patients_enrolled\",\"site\":\"BE-VLG-GP001\",\"period\":\"2025-03\","       \
    "\"value\":143}"
#define OBS(ind, site, period, rest)                                                               \
    "{\"indicator\":\"" ind "\",\"site\":\"" site "\",\"period\":\"" period "\"" rest "}"
#define CODE64 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234"

static const struct row_case json_row_cases[] = {
    /* accepted, at the edges of what is valid */
    {"percentage 100", OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", ",\"value\":100"), NULL,
     NULL},
    {"percentage 0 with numerator 0 of 0",
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04",
         ",\"value\":0,\"numerator\":0,\"denominator\":0"),
     NULL, NULL},
    {"score 4", OBS("inst_fee_code", "BE", "2025Q2", ",\"value\":4"), NULL, NULL},
    {"score 0", OBS("inst_fee_code", "BE", "2025Q2", ",\"value\":0.0"), NULL, NULL},
    {"ratio above 1 with numerator > denominator",
     OBS("nurses_per_gp", "BE", "2024", ",\"value\":1.5,\"numerator\":3,\"denominator\":2"), NULL,
     NULL},
    {"count with exponent", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":1.2e3"),
     NULL, NULL},
    {"current month", OBS("patients_enrolled", "BE-VLG-GP001", "2025-06", ",\"value\":5"), NULL,
     NULL},
    {"current ISO week", OBS("flu_visits", "BE-VLG-GP001", "2025W24", ",\"value\":5"), NULL, NULL},
    {"current year", OBS("nurses_per_gp", "BE", "2025", ",\"value\":0.5"), NULL, NULL},
    {"month as 202504", OBS("patients_enrolled", "BE-VLG-GP001", "202504", ",\"value\":5"), NULL,
     NULL},
    {"null optional fields",
     OBS("patients_enrolled", "BE-VLG-GP001", "2025-04",
         ",\"value\":5,\"numerator\":null,\"denominator\":null,\"comment\":null"),
     NULL, NULL},
    {"escaped key and code",
     "{\"indic\\u0061tor\":\"patients\\u005fenrolled\",\"site\":\"BE-VLG-GP001\","
     "\"period\":\"2025-04\",\"value\":5}",
     NULL, NULL},
    {"key order does not matter",
     "{\"value\":5,\"period\":\"2025-04\",\"site\":\"BE-VLG-GP001\",\"indicator\":"
     "\"patients_enrolled\"}",
     NULL, NULL},
    /* shape */
    {"not an object", "[1,2]", "", "invalid_type"},
    {"unknown field", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"valeur\":5"),
     "valeur", "unknown_field"},
    {"same field twice",
     OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":5,\"value\":6"), "value",
     "duplicate_field"},
    /* missing and mistyped */
    {"missing value", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ""), "value",
     "missing_field"},
    {"missing site", "{\"indicator\":\"patients_enrolled\",\"period\":\"2025-04\",\"value\":5}",
     "site", "missing_field"},
    {"empty indicator", OBS("", "BE-VLG-GP001", "2025-04", ",\"value\":5"), "indicator",
     "missing_field"},
    {"value as string", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":\"5\""),
     "value", "invalid_type"},
    {"value as boolean", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":true"),
     "value", "invalid_type"},
    {"value null", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":null"), "value",
     "missing_field"},
    {"value as object", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":{}"),
     "value", "invalid_type"},
    {"value as array", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":[5]"),
     "value", "invalid_type"},
    {"indicator as number",
     "{\"indicator\":7,\"site\":\"BE-VLG-GP001\",\"period\":\"2025-04\",\"value\":5}", "indicator",
     "invalid_type"},
    {"period as number",
     "{\"indicator\":\"patients_enrolled\",\"site\":\"BE-VLG-GP001\",\"period\":202504,"
     "\"value\":5}",
     "period", "invalid_type"},
    {"numerator as string",
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", ",\"value\":5,\"numerator\":\"1\""),
     "numerator", "invalid_type"},
    {"comment as number",
     OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":5,\"comment\":5"), "comment",
     "invalid_type"},
    /* numbers that are not finite */
    {"NaN", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":NaN"), "value",
     "not_finite"},
    {"Infinity", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":Infinity"),
     "value", "not_finite"},
    {"-Infinity", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":-Infinity"),
     "value", "not_finite"},
    {"1e400 overflows", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":1e400"),
     "value", "not_finite"},
    {"denominator -1e400",
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", ",\"value\":5,\"denominator\":-1e400"),
     "denominator", "not_finite"},
    /* text */
    {"code of 64 bytes", OBS(CODE64, "BE-VLG-GP001", "2025-04", ",\"value\":5"), "indicator",
     "too_long"},
    {"raw invalid byte", OBS("patients_enrolled", "BE-\xff", "2025-04", ",\"value\":5"), "site",
     "invalid_utf8"},
    {"truncated sequence", OBS("patients_enrolled", "BE-\xc3(", "2025-04", ",\"value\":5"), "site",
     "invalid_utf8"},
    {"overlong slash", OBS("patients_enrolled", "BE-\xc0\xaf", "2025-04", ",\"value\":5"), "site",
     "invalid_utf8"},
    {"encoded surrogate", OBS("patients_enrolled", "BE-\xed\xa0\x80", "2025-04", ",\"value\":5"),
     "site", "invalid_utf8"},
    {"unpaired surrogate escape", OBS("patients_enrolled", "BE-\\ud800", "2025-04", ",\"value\":5"),
     "site", "invalid_utf8"},
    {"lone low surrogate escape",
     OBS("patients_enrolled", "BE-\\udc00x", "2025-04", ",\"value\":5"), "site", "invalid_utf8"},
    {"control character escape", OBS("patients_enrolled", "BE-\\u0001", "2025-04", ",\"value\":5"),
     "site", "invalid_value"},
    {"raw tab in a code", OBS("patients_enrolled", "BE-\t", "2025-04", ",\"value\":5"), "site",
     "invalid_value"},
    {"DEL in a code", OBS("patients_enrolled", "BE-VLG-GP001\x7f", "2025-04", ",\"value\":5"),
     "site", "invalid_value"},
    {"NUL escape in a comment",
     OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":5,\"comment\":\"a\\u0000\""),
     "comment", "invalid_value"},
    {"invalid UTF-8 in a comment",
     OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":5,\"comment\":\"\xfe\""),
     "comment", "invalid_utf8"},
    /* impossible periods */
    {"2025-13", OBS("patients_enrolled", "BE-VLG-GP001", "2025-13", ",\"value\":5"), "period",
     "invalid_period"},
    {"2025-00", OBS("patients_enrolled", "BE-VLG-GP001", "2025-00", ",\"value\":5"), "period",
     "invalid_period"},
    {"2025W54", OBS("flu_visits", "BE-VLG-GP001", "2025W54", ",\"value\":5"), "period",
     "invalid_period"},
    {"2021W53", OBS("flu_visits", "BE-VLG-GP001", "2021W53", ",\"value\":5"), "period",
     "invalid_period"},
    {"2025Q5", OBS("inst_fee_code", "BE", "2025Q5", ",\"value\":1"), "period", "invalid_period"},
    {"2025Q0", OBS("inst_fee_code", "BE", "2025Q0", ",\"value\":1"), "period", "invalid_period"},
    {"a long period", OBS("inst_fee_code", "BE", "2025-03-01T00:00:00Z", ",\"value\":1"), "period",
     "invalid_period"},
    {"empty period", OBS("inst_fee_code", "BE", "", ",\"value\":1"), "period", "missing_field"},
    /* catalog */
    {"unknown indicator", OBS("foo", "BE-VLG-GP001", "2025-04", ",\"value\":5"), "indicator",
     "unknown_indicator"},
    {"unknown site", OBS("patients_enrolled", "BE-XX", "2025-04", ",\"value\":5"), "site",
     "unknown_site"},
    {"site of another programme", OBS("patients_enrolled", "NL-GP001", "2025-04", ",\"value\":5"),
     "site", "site_not_in_programme"},
    {"quarter for a monthly indicator",
     OBS("patients_enrolled", "BE-VLG-GP001", "2025Q1", ",\"value\":5"), "period",
     "period_type_mismatch"},
    {"month for a weekly indicator", OBS("flu_visits", "BE-VLG-GP001", "2025-04", ",\"value\":5"),
     "period", "period_type_mismatch"},
    {"next month", OBS("patients_enrolled", "BE-VLG-GP001", "2025-07", ",\"value\":5"), "period",
     "future_period"},
    {"next ISO week", OBS("flu_visits", "BE-VLG-GP001", "2025W25", ",\"value\":5"), "period",
     "future_period"},
    {"next quarter", OBS("inst_fee_code", "BE", "2025Q3", ",\"value\":1"), "period",
     "future_period"},
    {"next year", OBS("nurses_per_gp", "BE", "2026", ",\"value\":1"), "period", "future_period"},
    /* ranges */
    {"negative count", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":-3"),
     "value", "out_of_range"},
    {"fractional count", OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":1.5"),
     "value", "out_of_range"},
    {"percentage above 100", OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", ",\"value\":100.5"),
     "value", "out_of_range"},
    {"negative percentage", OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", ",\"value\":-0.1"),
     "value", "out_of_range"},
    {"score 5", OBS("inst_fee_code", "BE", "2025Q2", ",\"value\":5"), "value", "out_of_range"},
    {"score 2.5", OBS("inst_fee_code", "BE", "2025Q2", ",\"value\":2.5"), "value", "out_of_range"},
    {"negative score", OBS("inst_fee_code", "BE", "2025Q2", ",\"value\":-1"), "value",
     "out_of_range"},
    {"negative ratio", OBS("nurses_per_gp", "BE", "2024", ",\"value\":-0.5"), "value",
     "out_of_range"},
    {"negative numerator",
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", ",\"value\":5,\"numerator\":-1"),
     "numerator", "out_of_range"},
    {"negative denominator",
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", ",\"value\":5,\"denominator\":-1"),
     "denominator", "out_of_range"},
    {"numerator above denominator",
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04",
         ",\"value\":5,\"numerator\":80,\"denominator\":79"),
     "numerator", "out_of_range"},
    /* the first problem wins: the indicator is checked before the value */
    {"two problems", OBS("foo", "BE-VLG-GP001", "2025-04", ",\"value\":-1"), "indicator",
     "unknown_indicator"},
};

static void check_row_case(const struct row_case *c, const struct obs_batch *b)
{
    cr_assert_eq(b->n_rows, 2, "%s: %zu rows", c->name, b->n_rows);
    cr_expect_not(b->rows[0].rejected, "%s: the good row was rejected: %s", c->name,
                  b->n_rejects ? b->rejects[0].message : "");
    cr_expect_eq(b->rows[1].row, 2);
    if (c->code == NULL) {
        cr_expect_not(b->rows[1].rejected, "%s: rejected: %s %s", c->name,
                      b->n_rejects ? b->rejects[0].code : "",
                      b->n_rejects ? b->rejects[0].message : "");
        cr_expect_eq(b->n_rejects, 0, "%s", c->name);
        return;
    }
    cr_expect(b->rows[1].rejected, "%s: accepted", c->name);
    cr_assert_eq(b->n_rejects, 1, "%s: %zu rejects", c->name, b->n_rejects);
    const struct obs_reject *r = &b->rejects[0];
    cr_expect_eq(r->row, 2, "%s", c->name);
    cr_expect_str_eq(r->code, c->code, "%s: %s (%s)", c->name, r->code, r->message);
    cr_expect_str_eq(r->field, c->field, "%s: field %s", c->name, r->field);
    cr_expect_gt(strlen(r->message), 10, "%s", c->name);
    cr_expect(valid_utf8(r->message), "%s: message not UTF-8", c->name);
}

Test(obs_parse, json_rows_are_rejected_one_by_one)
{
    char body[2048];
    for (size_t i = 0; i < sizeof json_row_cases / sizeof json_row_cases[0]; i++) {
        const struct row_case *c = &json_row_cases[i];
        int n = snprintf(body, sizeof body, "{\"observations\":[" GOOD_JSON ",%s]}", c->input);
        cr_assert(n > 0 && (size_t)n < sizeof body);
        struct obs_batch *b = parse_and_validate(FMT_JSON, body, (size_t)n);
        check_row_case(c, b);
        obs_batch_free(&b);
    }
}

#define CSV_HEADER "indicator,site,period,value,numerator,denominator,comment\n"
#define GOOD_CSV "patients_enrolled,BE-VLG-GP001,2025-03,143,,,\n"

static const struct row_case csv_row_cases[] = {
    {"plain", "patients_enrolled,BE-VLG-GP001,2025-04,5,,,", NULL, NULL},
    {"spaces around unquoted fields are trimmed",
     " patients_enrolled , BE-VLG-GP001 ,2025-04, 5 ,,,", NULL, NULL},
    {"leading plus", "patients_enrolled,BE-VLG-GP001,2025-04,+5,,,", NULL, NULL},
    {"quoted fields", "\"patients_enrolled\",\"BE-VLG-GP001\",\"2025-04\",\"5\",\"\",\"\",\"\"",
     NULL, NULL},
    {"too few fields", "patients_enrolled,BE-VLG-GP001,2025-04,5", "", "column_count"},
    {"too many fields", "patients_enrolled,BE-VLG-GP001,2025-04,5,,,,", "", "column_count"},
    {"empty value", "patients_enrolled,BE-VLG-GP001,2025-04,,,,", "value", "missing_field"},
    {"empty site", "patients_enrolled,,2025-04,5,,,", "site", "missing_field"},
    {"value not a number", "patients_enrolled,BE-VLG-GP001,2025-04,12abc,,,", "value",
     "invalid_number"},
    {"decimal comma", "patients_enrolled,BE-VLG-GP001,2025-04,\"12,5\",,,", "value",
     "invalid_number"},
    {"hex", "patients_enrolled,BE-VLG-GP001,2025-04,0x10,,,", "value", "invalid_number"},
    {"NaN", "patients_enrolled,BE-VLG-GP001,2025-04,NaN,,,", "value", "not_finite"},
    {"inf", "patients_enrolled,BE-VLG-GP001,2025-04,-inf,,,", "value", "not_finite"},
    {"1e400", "patients_enrolled,BE-VLG-GP001,2025-04,1e400,,,", "value", "not_finite"},
    {"numerator not a number", "hba1c_tested_pct,BE-VLG-GP001,2025-04,5,x,,", "numerator",
     "invalid_number"},
    {"invalid UTF-8", "patients_enrolled,BE-\xff,2025-04,5,,,", "site", "invalid_utf8"},
    {"impossible period", "patients_enrolled,BE-VLG-GP001,2025-13,5,,,", "period",
     "invalid_period"},
    {"code of 64 bytes", CODE64 ",BE-VLG-GP001,2025-04,5,,,", "indicator", "too_long"},
    {"period problem before value problem (field order)",
     "patients_enrolled,BE-VLG-GP001,2025W54,abc,,,", "period", "invalid_period"},
    {"negative count", "patients_enrolled,BE-VLG-GP001,2025-04,-1,,,", "value", "out_of_range"},
    {"unknown site", "patients_enrolled,BE-XX,2025-04,1,,,", "site", "unknown_site"},
    {"future", "patients_enrolled,BE-VLG-GP001,2026-01,1,,,", "period", "future_period"},
};

Test(obs_parse, csv_rows_are_rejected_one_by_one)
{
    char body[2048];
    for (size_t i = 0; i < sizeof csv_row_cases / sizeof csv_row_cases[0]; i++) {
        const struct row_case *c = &csv_row_cases[i];
        int n = snprintf(body, sizeof body, CSV_HEADER GOOD_CSV "%s\n", c->input);
        cr_assert(n > 0 && (size_t)n < sizeof body);
        struct obs_batch *b = parse_and_validate(FMT_CSV, body, (size_t)n);
        check_row_case(c, b);
        obs_batch_free(&b);
    }
}

/* Upper bounds per value type (OBS_COUNT_MAX, OBS_RATIO_MAX; issue 12: counts near 1e308
 * were stored and overflowed a region's aggregate). The second row of each body is the
 * case; the first, valid, must go in whatever happens to it. */
struct bound_case {
    const char *name;
    enum fmt fmt;
    const char *row;   /* a JSON observation, a DHIS2 data value or a CSV line */
    const char *field; /* NULL: accepted */
    const char *bound; /* text the message must hold: the bound it names */
};

#define DHIS2_VALUE(ind, value)                                                                    \
    "{\"dataElement\":\"" ind "\",\"orgUnit\":\"BE-VLG-GP001\",\"period\":\"202504\","             \
    "\"value\":\"" value "\"}"

static const struct bound_case bound_cases[] = {
    {"count at the bound", FMT_JSON,
     OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":10000000000"), NULL, NULL},
    {"count past the bound", FMT_JSON,
     OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":10000000001"), "value",
     "from 0 to 10000000000"},
    {"count near the largest double", FMT_JSON,
     OBS("patients_enrolled", "BE-VLG-GP001", "2025-04", ",\"value\":1.7e308"), "value",
     "from 0 to 10000000000"},
    {"count 1e12 in CSV", FMT_CSV, "patients_enrolled,BE-VLG-GP001,2025-04,1e12,,", "value",
     "from 0 to 10000000000"},
    {"count 1e300 from DHIS2", FMT_DHIS2, DHIS2_VALUE("patients_enrolled", "1e300"), "value",
     "from 0 to 10000000000"},
    {"ratio at the bound", FMT_JSON, OBS("nurses_per_gp", "BE", "2024", ",\"value\":1000000000"),
     NULL, NULL},
    {"ratio past the bound", FMT_JSON, OBS("nurses_per_gp", "BE", "2024", ",\"value\":1.5e9"),
     "value", "from 0 to 1000000000"},
    {"ratio numerator above its denominator, within bounds", FMT_JSON,
     OBS("nurses_per_gp", "BE", "2024",
         ",\"value\":2,\"numerator\":10000000000,\"denominator\":5000000000"),
     NULL, NULL},
    {"ratio numerator past the bound", FMT_JSON,
     OBS("nurses_per_gp", "BE", "2024", ",\"value\":2,\"numerator\":2e10,\"denominator\":1e10"),
     "numerator", "from 0 to 10000000000"},
    {"percentage numerator and denominator at the bound", FMT_JSON,
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04",
         ",\"value\":100,\"numerator\":1e10,\"denominator\":1e10"),
     NULL, NULL},
    {"percentage denominator past the bound", FMT_JSON,
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04",
         ",\"value\":50,\"numerator\":1,\"denominator\":1e300"),
     "denominator", "from 0 to 10000000000"},
    {"percentage numerator past the bound in CSV", FMT_CSV,
     "hba1c_tested_pct,BE-VLG-GP001,2025-04,50,1e11,2e11", "numerator", "from 0 to 10000000000"},
    {"percentage past 100", FMT_JSON,
     OBS("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", ",\"value\":1e300"), "value",
     "between 0 and 100"},
    {"score past 4", FMT_JSON, OBS("inst_fee_code", "BE", "2025Q1", ",\"value\":1e20"), "value",
     "from 0 to 4"},
};

static void bound_body(const struct bound_case *c, char *body, size_t size)
{
    int n = 0;
    switch (c->fmt) {
    case FMT_JSON:
        n = snprintf(body, size, "{\"observations\":[" GOOD_JSON ",%s]}", c->row);
        break;
    case FMT_CSV:
        n = snprintf(body, size,
                     "indicator,site,period,value,numerator,denominator\n"
                     "patients_enrolled,BE-VLG-GP001,2025-03,143,,\n%s\n",
                     c->row);
        break;
    case FMT_DHIS2:
        n = snprintf(body, size, "{\"dataValues\":[" DHIS2_VALUE("patients_enrolled", "1") ",%s]}",
                     c->row);
        break;
    }
    cr_assert(n > 0 && (size_t)n < size, "%s", c->name);
}

Test(obs_parse, values_are_bounded_per_value_type)
{
    char body[1024];
    for (size_t i = 0; i < sizeof bound_cases / sizeof bound_cases[0]; i++) {
        const struct bound_case *c = &bound_cases[i];
        bound_body(c, body, sizeof body);
        struct obs_batch *b = parse_and_validate(c->fmt, body, strlen(body));
        cr_assert_eq(b->n_rows, 2, "%s", c->name);
        cr_expect_not(b->rows[0].rejected, "%s: the good row went too", c->name);
        if (c->field == NULL) {
            cr_expect_eq(b->n_rejects, 0, "%s: %s", c->name,
                         b->n_rejects ? b->rejects[0].message : "");
        } else {
            cr_assert_eq(b->n_rejects, 1, "%s: accepted", c->name);
            cr_expect_eq(b->rejects[0].row, 2, "%s", c->name);
            cr_expect_str_eq(b->rejects[0].code, "out_of_range", "%s", c->name);
            cr_expect_str_eq(b->rejects[0].field, c->field, "%s", c->name);
            cr_expect(c->bound == NULL || strstr(b->rejects[0].message, c->bound) != NULL,
                      "%s: \"%s\" does not name the bound", c->name, b->rejects[0].message);
        }
        obs_batch_free(&b);
    }
}

Test(obs_parse, csv_reports_the_first_problem_by_field_not_by_column)
{
    /* value comes before period in this header, but a bad period is reported first */
    static const char body[] = "value,period,site,indicator\n"
                               "abc,2025W54,BE-VLG-GP001,patients_enrolled\n"
                               "5,2025-04,BE-VLG-GP001\x7f,patients_enrolled\n";
    struct obs_batch *b = parse_and_validate(FMT_CSV, body, strlen(body));
    cr_assert_eq(b->n_rejects, 2);
    cr_expect_str_eq(b->rejects[0].field, "period");
    cr_expect_str_eq(b->rejects[0].code, "invalid_period");
    cr_expect_str_eq(b->rejects[1].field, "site", "DEL is a control character");
    cr_expect_str_eq(b->rejects[1].code, "invalid_value");
    obs_batch_free(&b);
}

Test(obs_parse, csv_bom_crlf_column_order_quotes_and_blank_lines)
{
    static const char body[] =
        "\xEF\xBB\xBF"
        "Value,Period,SITE,indicator,comment\r\n"
        "5,2025-04,BE-VLG-GP001,patients_enrolled,\"a \"\"quoted\"\" comment, with a comma\"\r\n"
        "\r\n"
        ",,,,\r\n"
        "6,2025-05,BE-VLG-GP001,patients_enrolled,\"two\r\nlines\"\r\n"
        "7,2025-05,BE-VLG-GP002,patients_enrolled,\r\n"
        "\r\n\r\n";
    struct obs_batch *b = parse_and_validate(FMT_CSV, body, strlen(body));
    cr_assert_eq(b->n_rows, 3, "blank records are skipped");
    cr_expect_eq(b->n_rejects, 0, "%s", b->n_rejects ? b->rejects[0].message : "");
    cr_expect_eq(b->rows[0].value, 5);
    cr_expect_str_eq(b->rows[0].indicator, "patients_enrolled");
    cr_assert_not_null(b->rows[0].comment);
    cr_expect_str_eq(b->rows[0].comment, "a \"quoted\" comment, with a comma");
    cr_expect_eq(b->rows[1].row, 2, "blank records are not counted");
    cr_expect_str_eq(b->rows[1].comment, "two\r\nlines");
    cr_expect_eq(b->rows[1].period.index, 5);
    cr_expect_str_eq(b->rows[2].site, "BE-VLG-GP002");
    cr_expect_null(b->rows[2].comment, "an empty comment is absent");
    obs_batch_free(&b);
}

Test(obs_parse, json_escapes_and_comments_are_decoded)
{
    static const char body[] =
        "{\"observations\":[{\"indicator\":\"patients_enrolled\",\"site\":\"BE-VLG-GP001\","
        "\"period\":\"2025-04\",\"value\":5,"
        "\"comment\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\"\\n\\t\\/\\\\ \xc3\xa9\"},"
        "{\"indicator\":\"patients_enrolled\",\"site\":\"BE-VLG-GP001\",\"period\":\"2025-05\","
        "\"value\":5,\"comment\":\"\"}]}";
    struct obs_batch *b = parse_and_validate(FMT_JSON, body, strlen(body));
    cr_assert_eq(b->n_rows, 2);
    cr_assert_eq(b->n_rejects, 0, "%s", b->n_rejects ? b->rejects[0].message : "");
    cr_assert_not_null(b->rows[0].comment);
    /* é is C3 A9, U+1F600 is F0 9F 98 80 */
    cr_expect_str_eq(b->rows[0].comment, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\"\n\t/\\ \xc3\xa9");
    cr_expect_null(b->rows[1].comment);
    obs_batch_free(&b);
}

Test(obs_parse, comment_too_long)
{
    size_t cap = OBS_COMMENT_MAX + 512;
    char *body = malloc(cap);
    cr_assert_not_null(body);
    int n = snprintf(body, cap,
                     "{\"observations\":[" GOOD_JSON ",{\"indicator\":\"patients_enrolled\","
                     "\"site\":\"BE-VLG-GP001\",\"period\":\"2025-04\",\"value\":5,\"comment\":\"");
    memset(body + n, 'x', OBS_COMMENT_MAX + 1);
    n += OBS_COMMENT_MAX + 1;
    n += snprintf(body + n, cap - (size_t)n, "\"}]}");
    struct obs_batch *b = parse_and_validate(FMT_JSON, body, (size_t)n);
    const struct obs_reject *r = reject_of_row(b, 2);
    cr_assert_not_null(r);
    cr_expect_str_eq(r->code, "too_long");
    cr_expect_str_eq(r->field, "comment");
    cr_expect_not(b->rows[0].rejected);
    obs_batch_free(&b);
    free(body);
}

/* "indicator,site,period,value,comment", a good row, then a row whose comment is `size`
 * bytes of 'x' (quoted when asked), last and without a line end when asked, else followed
 * by another good row; *len gets the length. */
static char *csv_with_comment_of(size_t size, bool quoted, bool last, size_t *len)
{
    static const char head[] = "indicator,site,period,value,comment\n"
                               "patients_enrolled,BE-VLG-GP001,2025-03,4,\n"
                               "patients_enrolled,BE-VLG-GP001,2025-04,5,";
    static const char tail[] = "\npatients_enrolled,BE-VLG-GP001,2025-05,6,\n";
    char *body = malloc(sizeof head + size + 2 + sizeof tail);
    cr_assert_not_null(body);
    size_t n = sizeof head - 1;
    memcpy(body, head, n);
    if (quoted)
        body[n++] = '"';
    memset(body + n, 'x', size);
    n += size;
    if (quoted)
        body[n++] = '"';
    if (!last) {
        memcpy(body + n, tail, sizeof tail - 1);
        n += sizeof tail - 1;
    }
    *len = n;
    return body;
}

Test(obs_parse, csv_field_up_to_the_cap_is_read_and_over_it_fails_the_document)
{
    for (int variant = 0; variant < 4; variant++) {
        bool quoted = variant & 1, last = variant & 2;
        size_t len;
        char *body = csv_with_comment_of(OBS_CSV_FIELD_MAX, quoted, last, &len);
        struct obs_batch *b = parse_and_validate(FMT_CSV, body, len);
        const struct obs_reject *r = reject_of_row(b, 2);
        cr_assert_eq(b->n_rows, last ? 2 : 3);
        cr_assert_not_null(r, "a comment at the field cap is read, and too long as a comment");
        cr_expect_str_eq(r->code, "too_long");
        cr_expect_str_eq(r->field, "comment");
        cr_expect_not(b->rows[0].rejected);
        obs_batch_free(&b);
        free(body);

        body = csv_with_comment_of(OBS_CSV_FIELD_MAX + 1, quoted, last, &len);
        b = obs_batch_new();
        struct obs_parse_error err;
        cr_assert_eq(obs_parse_csv(body, len, b, &err), OBS_PARSE_TOO_LARGE,
                     "quoted %d, last %d: %s: %s", quoted, last, err.code, err.message);
        cr_expect_str_eq(err.code, "too_large");
        cr_expect(strstr(err.message, "row 2") != NULL || err.line == 3,
                  "names the row or its line: %s (line %u)", err.message, err.line);
        cr_expect_eq(b->n_rows, 0, "a failed parse leaves no rows");
        obs_batch_free(&b);
        free(body);

        /* far over the cap: libcsv's buffer stops growing, the error says where */
        body = csv_with_comment_of(4 * OBS_CSV_FIELD_MAX, quoted, last, &len);
        b = obs_batch_new();
        cr_assert_eq(obs_parse_csv(body, len, b, &err), OBS_PARSE_TOO_LARGE, "%s: %s", err.code,
                     err.message);
        cr_expect_str_eq(err.code, "too_large");
        cr_expect_eq(err.line, 3, "%s (line %u)", err.message, err.line);
        obs_batch_free(&b);
        free(body);
    }
}

Test(obs_parse, numbers_read_exactly_as_strtod_reads_them)
{
    /* decimals that a multiplication by 0.1 or a digit-by-digit sum would round wrongly
     * (0.3 is not 3 * 0.1), the 15-digit limit of the fast path, and past it */
    static const char *const numbers[] = {
        "0.3",
        "2.675",
        "1.15",
        "61.2",
        "78.5",
        "-0.7",
        "0",
        "-0",
        "100",
        "0.1",
        "9007199254740993",
        "123456789012.345",
        "1e-7",
        "1.5E3",
        "2e+2",
        "0.000001",
        "4.35",
        "999999999999999.9",
    };
    size_t count = sizeof numbers / sizeof numbers[0], j = 0, c = 0;
    char json[4096], csv[4096];
    j += (size_t)snprintf(json, sizeof json, "{\"observations\":[");
    c += (size_t)snprintf(csv, sizeof csv, "indicator,site,period,value\n");
    for (size_t i = 0; i < count; i++) {
        j += (size_t)snprintf(json + j, sizeof json - j,
                              "%s{\"indicator\":\"x\",\"site\":\"y\",\"period\":\"2025\","
                              "\"value\":%s}",
                              i ? "," : "", numbers[i]);
        c += (size_t)snprintf(csv + c, sizeof csv - c, "x,y,2025,%s\n", numbers[i]);
    }
    j += (size_t)snprintf(json + j, sizeof json - j, "]}");
    cr_assert(j < sizeof json && c < sizeof csv);
    for (enum fmt fmt = FMT_JSON; fmt <= FMT_CSV; fmt++) {
        struct obs_batch *b = obs_batch_new();
        struct obs_parse_error err;
        const char *body = fmt == FMT_JSON ? json : csv;
        cr_assert_eq(parse_as(fmt, body, strlen(body), b, &err), OBS_PARSE_OK, "%s", err.message);
        cr_assert_eq(b->n_rows, count);
        for (size_t i = 0; i < count; i++) {
            double want = strtod(numbers[i], NULL);
            cr_expect(memcmp(&b->rows[i].value, &want, sizeof want) == 0,
                      "%s: %.17g, strtod says %.17g", numbers[i], b->rows[i].value, want);
        }
        obs_batch_free(&b);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Duplicates and the order of rejects */

Test(obs_parse, duplicate_keys_reject_both_rows_naming_each_other)
{
    static const char body[] =
        "{\"observations\":["
        "{\"indicator\":\"patients_enrolled\",\"site\":\"BE-VLG-GP001\",\"period\":\"2025-03\","
        "\"value\":1},"
        "{\"indicator\":\"patients_enrolled\",\"site\":\"BE-VLG-GP002\",\"period\":\"2025-03\","
        "\"value\":2},"
        "{\"indicator\":\"patients_enrolled\",\"site\":\"BE-VLG-GP001\",\"period\":\"202503\","
        "\"value\":3},"
        "{\"indicator\":\"inst_fee_code\",\"site\":\"BE\",\"period\":\"2025Q1\",\"value\":1},"
        "{\"indicator\":\"inst_fee_code\",\"site\":\"BE\",\"period\":\"2025Q1\",\"value\":2},"
        "{\"indicator\":\"inst_fee_code\",\"site\":\"BE\",\"period\":\"2025Q1\",\"value\":3},"
        "{\"indicator\":\"inst_fee_code\",\"site\":\"BE\",\"period\":\"2025Q2\",\"value\":9}"
        "]}";
    struct obs_batch *b = parse_and_validate(FMT_JSON, body, strlen(body));
    cr_assert_eq(b->n_rows, 7);
    /* rows 1 and 3 share a key (202503 is 2025-03); rows 4, 5, 6 share one; row 7 is a
     * score out of range, and so is not a duplicate of anything */
    static const struct {
        uint32_t row;
        const char *code;
        const char *message;
    } want[] = {
        {1, "duplicate_key",
         "row 3 has the same indicator, site and period (patients_enrolled, BE-VLG-GP001, "
         "2025-03)"},
        {3, "duplicate_key",
         "row 1 has the same indicator, site and period (patients_enrolled, BE-VLG-GP001, "
         "2025-03)"},
        {4, "duplicate_key",
         "row 5 has the same indicator, site and period (inst_fee_code, BE, "
         "2025Q1)"},
        {5, "duplicate_key",
         "row 4 has the same indicator, site and period (inst_fee_code, BE, "
         "2025Q1)"},
        {6, "duplicate_key",
         "row 4 has the same indicator, site and period (inst_fee_code, BE, "
         "2025Q1)"},
        {7, "out_of_range", NULL},
    };
    cr_assert_eq(b->n_rejects, 6);
    for (size_t i = 0; i < 6; i++) {
        cr_expect_eq(b->rejects[i].row, want[i].row, "rejects sorted by row");
        cr_expect_str_eq(b->rejects[i].code, want[i].code);
        if (want[i].message)
            cr_expect_str_eq(b->rejects[i].message, want[i].message);
    }
    cr_expect_not(b->rows[1].rejected);
    cr_expect_eq(obs_batch_accepted(b), 1);
    obs_batch_free(&b);
}

Test(obs_parse, rejects_from_parse_and_validate_are_sorted_by_row)
{
    static const char body[] =
        "{\"observations\":[" OBS("foo", "BE", "2025-03", ",\"value\":1") "," OBS(
            "patients_enrolled", "BE", "2025-03",
            ",\"value\":\"x\"") "," OBS("patients_enrolled", "BE-XX", "2025-03",
                                        ",\"value\":1") "," OBS("patients_enrolled", "BE",
                                                                "2025-13",
                                                                ",\"value\":1") "," OBS("patients_"
                                                                                        "enrolled",
                                                                                        "BE",
                                                                                        "2025-03",
                                                                                        ",\"value\""
                                                                                        ":1") "]}";
    struct obs_batch *b = parse_and_validate(FMT_JSON, body, strlen(body));
    static const char *const codes[] = {"unknown_indicator", "invalid_type", "unknown_site",
                                        "invalid_period"};
    cr_assert_eq(b->n_rejects, 4);
    for (uint32_t i = 0; i < 4; i++) {
        cr_expect_eq(b->rejects[i].row, i + 1);
        cr_expect_str_eq(b->rejects[i].code, codes[i]);
    }
    cr_expect_str_eq(b->rejects[0].message, "indicator \"foo\" is not defined in this programme");
    cr_expect_not(b->rows[4].rejected);
    obs_batch_free(&b);
}

/* ------------------------------------------------------------------------------------ */
/* Document-level failures */

struct doc_case {
    const char *name;
    const char *body;
    size_t len; /* 0: strlen(body) */
    enum obs_parse_status status;
    const char *code;
    unsigned line; /* 0: no position expected */
    unsigned column;
    const char *in_message; /* a piece the message must name, or NULL */
};

static void check_doc_case(enum fmt fmt, const struct doc_case *c)
{
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    size_t len = c->len ? c->len : strlen(c->body);
    enum obs_parse_status status = parse_as(fmt, c->body, len, b, &err);
    cr_expect_eq(status, c->status, "%s: status %s, expected %s (%s: %s)", c->name,
                 obs_parse_status_name(status), obs_parse_status_name(c->status), err.code,
                 err.message);
    cr_expect_str_eq(err.code, c->code, "%s: code %s (%s)", c->name, err.code, err.message);
    cr_expect_eq(err.line, c->line, "%s: line %u, expected %u (%s)", c->name, err.line, c->line,
                 err.message);
    cr_expect_eq(err.column, c->column, "%s: column %u, expected %u (%s)", c->name, err.column,
                 c->column, err.message);
    if (c->in_message)
        cr_expect(strstr(err.message, c->in_message) != NULL, "%s: message \"%s\" lacks \"%s\"",
                  c->name, err.message, c->in_message);
    cr_expect(valid_utf8(err.message));
    cr_expect_eq(b->n_rows, 0, "%s: a failed parse leaves no rows", c->name);
    cr_expect_eq(b->n_rejects, 0);
    obs_batch_free(&b);
}

Test(obs_parse, json_document_errors_say_what_and_where)
{
    static const struct doc_case cases[] = {
        {"empty", "", 0, OBS_PARSE_EMPTY, "empty_body", 0, 0, NULL},
        {"whitespace", " \n\t", 0, OBS_PARSE_EMPTY, "empty_body", 0, 0, NULL},
        {"array root", "[]", 0, OBS_PARSE_INVALID_SHAPE, "invalid_document", 1, 1, NULL},
        {"no observations", "{\"data\":[]}", 0, OBS_PARSE_INVALID_SHAPE, "missing_field", 0, 0,
         "observations"},
        /* offset 16 is the '{' after "observations": */
        {"observations not an array", "{\"observations\":{}}", 0, OBS_PARSE_INVALID_SHAPE,
         "invalid_document", 1, 17, NULL},
        {"empty batch", "{\"observations\":[]}", 0, OBS_PARSE_EMPTY, "empty_batch", 0, 0, NULL},
        /* the second key starts at offset 21 */
        {"observations twice", "{\"observations\":[{}],\"observations\":[]}", 0,
         OBS_PARSE_INVALID_SHAPE, "invalid_document", 1, 22, NULL},
        {"unexpected end", "{\"observations\":[", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 18,
         "end of input"},
        /* '2' at offset 19 lacks the comma before it */
        {"missing comma", "{\"observations\":[1 2]}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1,
         20, "','"},
        {"leading comma", "{\"observations\":[,]}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 18,
         NULL},
        {"trailing comma on line 3", "{\n  \"observations\": [\n    {\"a\": 1,}\n  ]\n}", 0,
         OBS_PARSE_MALFORMED, "malformed_json", 3, 12, NULL},
        {"missing colon", "{\"a\" 1}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 2, NULL},
        {"two documents", "{\"a\":1}{\"b\":2}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 8,
         "after"},
        {"garbage after the document", "{\"observations\":[{\"a\":1}]} x", 0, OBS_PARSE_MALFORMED,
         "malformed_json", 1, 28, NULL},
        /* jsmn drops a ',' or ':' outside any value without a word: offset 8 */
        {"comma after the document", "{\"a\":1} ,", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 9,
         "after"},
        {"bare word", "{\"a\":tru}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 6, NULL},
        {"leading zero", "{\"a\":01}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 6, NULL},
        {"number with trailing dot", "{\"a\":1.}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 6,
         NULL},
        {"unquoted key", "{a:1}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 2, NULL},
        {"bad escape", "{\"a\":\"\\x\"}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 6, "escape"},
        {"unterminated string", "{\"a\":\"abc", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 6,
         "unterminated"},
        {"mismatched bracket", "{\"a\":[1}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 8, NULL},
        {"NUL byte", "{\"a\":1}\0", 8, OBS_PARSE_MALFORMED, "malformed_json", 1, 8, "NUL"},
        /* the ':' after the string at offset 0 is at offset 3 */
        {"a key with no object", "\"a\": 1", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 4, "':'"},
        {"colon in array", "{\"observations\":[\"a\":1]}", 0, OBS_PARSE_MALFORMED, "malformed_json",
         1, 21, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_doc_case(FMT_JSON, &cases[i]);
}

Test(obs_parse, dhis2_document_errors)
{
    static const struct doc_case cases[] = {
        {"no dataValues", "{\"dataSet\":\"x\"}", 0, OBS_PARSE_INVALID_SHAPE, "missing_field", 0, 0,
         "dataValues"},
        {"empty dataValues", "{\"dataValues\":[]}", 0, OBS_PARSE_EMPTY, "empty_batch", 0, 0, NULL},
        {"dataValues not an array", "{\"dataValues\":\"x\"}", 0, OBS_PARSE_INVALID_SHAPE,
         "invalid_document", 1, 15, NULL},
        {"malformed", "{\"dataValues\":[}", 0, OBS_PARSE_MALFORMED, "malformed_json", 1, 16, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_doc_case(FMT_DHIS2, &cases[i]);
}

Test(obs_parse, csv_document_errors_say_what_and_where)
{
    static const struct doc_case cases[] = {
        {"empty", "", 0, OBS_PARSE_EMPTY, "empty_body", 0, 0, NULL},
        {"only a BOM", "\xEF\xBB\xBF", 0, OBS_PARSE_EMPTY, "empty_body", 0, 0, NULL},
        {"blank lines", "\r\n\r\n", 0, OBS_PARSE_EMPTY, "empty_body", 0, 0, NULL},
        {"header only", "indicator,site,period,value\r\n", 0, OBS_PARSE_EMPTY, "empty_batch", 0, 0,
         NULL},
        {"missing value column", "indicator,site,period\nx,y,2025-03\n", 0, OBS_PARSE_INVALID_SHAPE,
         "missing_column", 0, 0, "\"value\""},
        {"unknown column", "indicator,site,period,value,valeur\nx,y,2025-03,1,2\n", 0,
         OBS_PARSE_INVALID_SHAPE, "unknown_column", 0, 0, "\"valeur\""},
        {"semicolons", "indicator;site;period;value\nx;y;2025-03;1\n", 0, OBS_PARSE_INVALID_SHAPE,
         "unknown_column", 0, 0, "separated by commas, not by semicolons"},
        {"tabs", "indicator\tsite\tperiod\tvalue\nx\ty\t2025-03\t1\n", 0, OBS_PARSE_INVALID_SHAPE,
         "unknown_column", 0, 0, "not by tabs"},
        {"unnamed column", "indicator,,site,period,value\nx,,y,2025-03,1\n", 0,
         OBS_PARSE_INVALID_SHAPE, "unknown_column", 0, 0, "column 2"},
        {"duplicate column", "indicator,site,period,value,Site\nx,y,2025-03,1,z\n", 0,
         OBS_PARSE_INVALID_SHAPE, "duplicate_column", 0, 0, "\"site\""},
        {"unknown eighth column",
         "indicator,site,period,value,numerator,denominator,comment,extra\nx,y,2025,1,,,,z\n", 0,
         OBS_PARSE_INVALID_SHAPE, "unknown_column", 0, 0, "\"extra\""},
        {"unnamed first of eight columns",
         ",indicator,site,period,value,numerator,denominator,comment\n,x,y,2025,1,,,\n", 0,
         OBS_PARSE_INVALID_SHAPE, "unknown_column", 0, 0, "column 1"},
        /* line 3 starts with "patients_enrolled," (18 bytes): the quote is column 19 */
        {"unterminated quote",
         "indicator,site,period,value\npatients_enrolled,BE-VLG-GP001,2025-03,1\n"
         "patients_enrolled,\"BE-VLG-GP001,2025-04,1\npatients_enrolled,BE,2025-05,1\n",
         0, OBS_PARSE_MALFORMED, "unterminated_quote", 3, 19, "line 3"},
        /* "patients_enrolled,BE" is 20 bytes: the stray quote is column 21 */
        {"quote inside an unquoted field",
         "indicator,site,period,value\npatients_enrolled,BE\"X,2025-03,1\n", 0, OBS_PARSE_MALFORMED,
         "malformed_csv", 2, 21, NULL},
        {"text after a closing quote", "indicator,site,period,value\n\"a\"b,x,2025-03,1\n", 0,
         OBS_PARSE_MALFORMED, "malformed_csv", 2, 4, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_doc_case(FMT_CSV, &cases[i]);
}

/* Builds a body of `rows` identical rows (the duplicate keys do not matter to the parser). */
static char *many_rows(enum fmt fmt, size_t rows, size_t *len)
{
    static const char json_row[] = "{\"indicator\":\"a\",\"site\":\"b\",\"period\":\"2025\","
                                   "\"value\":1},";
    static const char csv_row[] = "a,b,2025,1\n";
    const char *head = fmt == FMT_JSON ? "{\"observations\":[" : "indicator,site,period,value\n";
    const char *row = fmt == FMT_JSON ? json_row : csv_row;
    size_t row_len = strlen(row), head_len = strlen(head);
    char *body = malloc(head_len + rows * row_len + 8);
    cr_assert_not_null(body);
    memcpy(body, head, head_len);
    char *p = body + head_len;
    for (size_t i = 0; i < rows; i++, p += row_len)
        memcpy(p, row, row_len);
    if (fmt == FMT_JSON) {
        p[-1] = ']'; /* the last row's comma */
        *p++ = '}';
    }
    *len = (size_t)(p - body);
    return body;
}

Test(obs_parse, row_cap)
{
    for (enum fmt fmt = FMT_JSON; fmt <= FMT_CSV; fmt++) {
        struct obs_batch *b = obs_batch_new();
        struct obs_parse_error err;
        size_t len;
        char *body = many_rows(fmt, OBS_MAX_ROWS, &len);
        cr_expect_eq(parse_as(fmt, body, len, b, &err), OBS_PARSE_OK, "%d: %s", fmt, err.message);
        cr_expect_eq(b->n_rows, OBS_MAX_ROWS);
        free(body);
        body = many_rows(fmt, OBS_MAX_ROWS + 1, &len);
        cr_expect_eq(parse_as(fmt, body, len, b, &err), OBS_PARSE_TOO_MANY_ROWS, "%d", fmt);
        cr_expect_str_eq(err.code, "too_many_rows");
        cr_expect_eq(b->n_rows, 0);
        free(body);
        obs_batch_free(&b);
    }
}

Test(obs_parse, batch_is_reused_across_parses)
{
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_json(example_json, strlen(example_json), b, &err), OBS_PARSE_OK);
    cr_assert_eq(b->n_rows, 4);
    cr_assert_eq(obs_parse_csv(example_csv, strlen(example_csv), b, &err), OBS_PARSE_OK);
    cr_expect_eq(b->n_rows, 3);
    cr_expect_eq(b->format, OBS_FORMAT_CSV);
    cr_expect_str_eq(b->rows[0].site, "BE-VLG-GP002");
    cr_assert_eq(obs_parse_json("{\"observations\":[]}", 19, b, &err), OBS_PARSE_EMPTY);
    cr_expect_eq(b->n_rows, 0);
    obs_batch_reset(b);
    cr_expect_eq(b->n_rows, 0);
    obs_batch_free(&b);
    obs_batch_free(&b); /* NULL is fine */
}

Test(obs_parse, messages_quote_untrusted_text_safely)
{
    /* an unknown field whose name is invalid UTF-8 and long: the message stays valid text */
    static const char body[] =
        "{\"observations\":[{\"indicator\":\"a\",\"site\":\"b\",\"period\":\"2025\",\"value\":1,"
        "\"\xff\xfe-and-a-very-long-field-name-that-goes-on-and-on-and-on\":1}]}";
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_json(body, strlen(body), b, &err), OBS_PARSE_OK);
    cr_assert_eq(b->n_rejects, 1);
    cr_expect_str_eq(b->rejects[0].code, "unknown_field");
    cr_expect(valid_utf8(b->rejects[0].message), "%s", b->rejects[0].message);
    cr_expect(valid_utf8(b->rejects[0].field));
    cr_expect(strstr(b->rejects[0].message, "?"
                                            "?-and-a-very-long") != NULL,
              "%s", b->rejects[0].message);
    obs_batch_free(&b);

    /* a 63-byte code of two-byte characters cut by the 200-byte message stays UTF-8 */
    char code[64] = "x";
    for (int i = 1; i + 2 <= 63; i += 2)
        memcpy(code + i, "\xc3\xa9", 2);
    code[63] = '\0';
    char json[512];
    int n = snprintf(json, sizeof json,
                     "{\"observations\":[{\"indicator\":\"%s\",\"site\":\"BE\",\"period\":"
                     "\"2025Q1\",\"value\":9}]}",
                     code);
    struct catalog *cat = catalog_new();
    cr_assert(catalog_add_indicator(cat, code, 1, VALUE_SCORE, PERIOD_QUARTERLY));
    cr_assert(catalog_add_site(cat, "BE", 2, true));
    b = obs_batch_new();
    cr_assert_eq(obs_parse_json(json, (size_t)n, b, &err), OBS_PARSE_OK);
    cr_assert(obs_validate(b, cat, TODAY));
    cr_assert_eq(b->n_rejects, 1);
    cr_expect_str_eq(b->rejects[0].code, "out_of_range");
    cr_expect(valid_utf8(b->rejects[0].message), "%s", b->rejects[0].message);
    obs_batch_free(&b);
    catalog_free(&cat);
}

/* ------------------------------------------------------------------------------------ */
/* Catalog */

Test(catalog, thousands_of_sites)
{
    struct catalog *cat = catalog_new();
    char code[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(code, sizeof code, "S%05d", i);
        cr_assert(catalog_add_site(cat, code, 1000 + i, i % 2 == 0));
    }
    cr_expect_eq(catalog_site_count(cat), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(code, sizeof code, "S%05d", i);
        const struct catalog_site *site = catalog_find_site(cat, code, strlen(code));
        cr_assert_not_null(site, "%s", code);
        cr_expect_eq(site->id, 1000 + i);
        cr_expect_eq(site->member, i % 2 == 0);
        cr_expect_str_eq(site->code, code);
    }
    cr_expect_null(catalog_find_site(cat, "S05000", 6));
    cr_expect_null(catalog_find_site(cat, "S0000", 5), "a prefix is not a match");
    cr_expect_not_null(catalog_find_site(cat, "S00012xyz", 6), "only len bytes count");
    cr_expect_null(catalog_find_indicator(cat, "S00012", 6), "sites are not indicators");
    /* adding again replaces */
    cr_assert(catalog_add_site(cat, "S00001", 7, true));
    cr_expect_eq(catalog_site_count(cat), 5000);
    cr_expect_eq(catalog_find_site(cat, "S00001", 6)->id, 7);
    cr_expect(catalog_find_site(cat, "S00001", 6)->member);
    catalog_free(&cat);
    cr_expect_null(cat);
    catalog_free(&cat);
}

Test(catalog, codes_and_value_types)
{
    struct catalog *cat = catalog_new();
    cr_expect_not(catalog_add_indicator(cat, "", 1, VALUE_COUNT, PERIOD_MONTHLY));
    cr_expect_not(catalog_add_indicator(cat, CODE64, 1, VALUE_COUNT, PERIOD_MONTHLY));
    cr_expect(catalog_add_indicator(cat, CODE64 + 1, 1, VALUE_COUNT, PERIOD_MONTHLY), "63 bytes");
    cr_expect_eq(catalog_indicator_count(cat), 1);
    cr_expect_null(catalog_find_indicator(cat, CODE64, 64));
    const struct catalog_indicator *ind = catalog_find_indicator(cat, CODE64 + 1, 63);
    cr_assert_not_null(ind);
    cr_expect_eq(ind->period_type, PERIOD_MONTHLY);
    catalog_free(&cat);

    static const char *const names[] = {"count", "percentage", "ratio", "score"};
    for (int i = 0; i < 4; i++) {
        enum value_type type = VALUE_SCORE;
        cr_assert(value_type_from_name(names[i], &type));
        cr_expect_eq((int)type, i);
        cr_expect_str_eq(value_type_name(type), names[i]);
    }
    enum value_type type = VALUE_RATIO;
    cr_expect_not(value_type_from_name("percent", &type));
    cr_expect_eq(type, VALUE_RATIO);
}

/* DHIS2 deletes by key: a data value without a value (absent, null, "") is not a parse error
 * in JSON, CSV or ADX; it is rejected as missing_field unless the import strategy is DELETE
 * or the value is marked deleted. */
Test(obs_parse, dhis2_delete_needs_no_value)
{
    static const char json[] =
        "{\"orgUnit\":\"BE-VLG-GP001\",\"period\":\"2025W5\",\"dataValues\":["
        "{\"dataElement\":\"flu_visits\"},{\"dataElement\":\"flu_visits\",\"value\":null,"
        "\"period\":\"2025W6\"},{\"dataElement\":\"flu_visits\",\"value\":\"\","
        "\"period\":\"2025W7\",\"deleted\":true},{\"dataElement\":\"flu_visits\","
        "\"period\":\"2025W8\",\"value\":3}]}";
    static const char csv[] = "flu_visits,2025W5,BE-VLG-GP001,,,,\n"
                              "flu_visits,2025W6,BE-VLG-GP001,,,,,,,,true\n"
                              "flu_visits,2025W7,BE-VLG-GP001,,,3\n";
    static const char adx[] = "<adx><group orgUnit=\"BE-VLG-GP001\" period=\"2025W5\">"
                              "<dataValue dataElement=\"flu_visits\"/>"
                              "<dataValue dataElement=\"flu_visits\" value=\"\" deleted=\"true\"/>"
                              "<dataValue dataElement=\"flu_visits\" value=\"3\"/>"
                              "</group></adx>";
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    for (int strategy_delete = 0; strategy_delete < 2; strategy_delete++) {
        cr_assert_eq(obs_parse_dhis2(json, strlen(json), b, &err), OBS_PARSE_OK, "%s", err.message);
        cr_expect_eq(b->n_rejects, 0);
        cr_expect(b->rows[0].value_missing && b->rows[1].value_missing);
        cr_expect(b->rows[2].value_missing && !b->rows[3].value_missing);
        obs_dhis2_require_values(b, strategy_delete);
        /* the first two are neither deleted nor under DELETE; the third is marked deleted */
        cr_expect_eq(b->n_rejects, strategy_delete ? 0u : 2u);
        for (size_t i = 0; i < b->n_rejects; i++) {
            cr_expect_str_eq(b->rejects[i].field, "value");
            cr_expect_str_eq(b->rejects[i].code, "missing_field");
        }
        cr_assert_eq(obs_parse_dhis2_csv(csv, strlen(csv), false, b, &err), OBS_PARSE_OK, "%s",
                     err.message);
        cr_expect(b->rows[0].value_missing && b->rows[1].value_missing && b->rows[1].deleted);
        obs_dhis2_require_values(b, strategy_delete);
        cr_expect_eq(b->n_rejects, strategy_delete ? 0u : 1u);
        cr_assert_eq(obs_parse_dhis2_adx(adx, strlen(adx), b, &err), OBS_PARSE_OK, "%s",
                     err.message);
        cr_expect(b->rows[0].value_missing && b->rows[1].value_missing && b->rows[1].deleted);
        cr_expect(!b->rows[2].value_missing && b->rows[2].value == 3);
        obs_dhis2_require_values(b, strategy_delete);
        cr_expect_eq(b->n_rejects, strategy_delete ? 0u : 1u);
    }
    obs_batch_free(&b);
}
