/*
 * DHIS2's answers (core/dhis2_summary.c): the API versions a path may name, the E-code and
 * objects of each kind of rejected row, rejectedIndexes, and the envelope per version.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/dhis2_summary.h"

Test(dhis2_summary, api_versions)
{
    static const struct {
        const char *segment;
        int version; /* 0: refused */
    } cases[] = {{"28", 28}, {"38", 38}, {"42", 42}, {"27", 0}, {"43", 0}, {"v1", 0},
                 {"4", 0},   {"040", 0}, {"", 0},    {"4a", 0}, {"-40", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int v = -1;
        bool ok = dhis2_api_version_parse(cases[i].segment, &v);
        cr_expect_eq(ok, cases[i].version != 0, "%s", cases[i].segment);
        if (ok)
            cr_expect_eq(v, cases[i].version, "%s", cases[i].segment);
    }
}

Test(dhis2_summary, error_codes)
{
    static const struct {
        const char *field, *code, *error_code; /* NULL: DHIS2 has none */
    } cases[] = {
        {"dataElement", "unknown_indicator", "E7610"},
        {"dataElement", "missing_field", "E7610"},
        {"orgUnit", "unknown_site", "E7612"},
        {"orgUnit", "site_not_in_programme", "E7612"},
        {"period", "invalid_period", "E7611"},
        {"period", "period_type_mismatch", "E7632"},
        {"period", "future_period", "E7641"},
        {"value", "missing_field", "E7618"},
        {"value", "invalid_number", "E7619"},
        {"value", "out_of_range", "E7619"},
        {"comment", "too_long", "E7620"},
        {"dataElement", "duplicate_key", NULL},
        {"colour", "unknown_field", NULL},
        {"", "invalid_type", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct obs_reject r = {.row = 1};
        snprintf(r.field, sizeof(r.field), "%s", cases[i].field);
        snprintf(r.code, sizeof(r.code), "%s", cases[i].code);
        const char *got = dhis2_error_code(&r);
        if (cases[i].error_code == NULL)
            cr_expect_null(got, "%s %s: %s", cases[i].field, cases[i].code, got);
        else
            cr_expect_str_eq(got ? got : "(none)", cases[i].error_code, "%s %s", cases[i].field,
                             cases[i].code);
    }
}

/* A batch of three rows parsed from DHIS2 JSON: the second has an unknown data element's
 * problem, the third a period of the wrong type, added out of order as obs_validate may. */
static struct obs_batch *batch_with_rejects(void)
{
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    static const char body[] =
        "{\"dataValues\":[{\"dataElement\":\"a\",\"period\":\"202504\",\"orgUnit\":\"X\","
        "\"value\":\"1\"},{\"dataElement\":\"nope\",\"period\":\"202504\",\"orgUnit\":\"X\","
        "\"value\":\"1\"},{\"dataElement\":\"a\",\"period\":\"2025Q2\",\"orgUnit\":\"X\","
        "\"value\":\"1\"}]}";
    cr_assert_eq(obs_parse_dhis2(body, strlen(body), b, &err), OBS_PARSE_OK);
    cr_assert_eq(b->n_rows, 3);
    b->rejects = realloc(b->rejects, 2 * sizeof(*b->rejects));
    b->rejects[0] = (struct obs_reject){.row = 3};
    snprintf(b->rejects[0].field, 32, "period");
    snprintf(b->rejects[0].code, 32, "period_type_mismatch");
    snprintf(b->rejects[0].message, 200, "a quarter for a monthly indicator");
    b->rejects[1] = (struct obs_reject){.row = 2};
    snprintf(b->rejects[1].field, 32, "dataElement");
    snprintf(b->rejects[1].code, 32, "unknown_indicator");
    snprintf(b->rejects[1].message, 200, "no indicator \"nope\"");
    b->n_rejects = 2;
    b->rows[1].rejected = b->rows[2].rejected = true;
    return b;
}

Test(dhis2_summary, conflicts_name_their_objects)
{
    struct obs_batch *b = batch_with_rejects();
    struct dhis2_counts counts = {1, 0, 2, 0};
    json_t *s = dhis2_summary(b, &counts, false);
    cr_expect_str_eq(json_string_value(json_object_get(s, "status")), "WARNING");
    json_t *c0 = json_array_get(json_object_get(s, "conflicts"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(c0, "errorCode")), "E7632");
    cr_expect_str_eq(json_string_value(json_object_get(c0, "object")), "2025Q2");
    json_t *objects = json_object_get(c0, "objects");
    cr_expect_str_eq(json_string_value(json_object_get(objects, "dataElement")), "a");
    cr_expect_null(json_object_get(c0, "property"), "E7632 has no property in DHIS2");
    cr_expect_eq(json_integer_value(json_array_get(json_object_get(c0, "indexes"), 0)), 2);
    json_t *c1 = json_array_get(json_object_get(s, "conflicts"), 1);
    cr_expect_str_eq(json_string_value(json_object_get(c1, "object")), "nope");
    cr_expect_str_eq(json_string_value(json_object_get(c1, "property")), "dataElement");
    json_t *rejected = json_object_get(s, "rejectedIndexes");
    cr_expect_eq(json_array_size(rejected), 2);
    cr_expect_eq(json_integer_value(json_array_get(rejected, 0)), 1, "ascending");
    cr_expect_eq(json_integer_value(json_array_get(rejected, 1)), 2);
    json_decref(s);
    obs_batch_free(&b);
}

/* Two values for one key, at indexes 0 and 2 (202504 and 2025-04 are one month): each
 * conflict names the other value by the 0-based index DHIS2's clients count by, as indexes
 * does, while the native reject keeps naming the other's 1-based row. */
Test(dhis2_summary, a_duplicate_names_the_other_value_by_its_index)
{
    static const char body[] =
        "{\"dataValues\":[{\"dataElement\":\"a\",\"period\":\"202504\",\"orgUnit\":\"X\","
        "\"value\":\"1\"},{\"dataElement\":\"a\",\"period\":\"202505\",\"orgUnit\":\"X\","
        "\"value\":\"2\"},{\"dataElement\":\"a\",\"period\":\"2025-04\",\"orgUnit\":\"X\","
        "\"value\":\"3\"}]}";
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_dhis2(body, strlen(body), b, &err), OBS_PARSE_OK, "%s", err.message);
    struct catalog *cat = catalog_new();
    cr_assert(catalog_add_indicator(cat, "a", 1, VALUE_COUNT, PERIOD_MONTHLY));
    cr_assert(catalog_add_site(cat, "X", 2, true));
    cr_assert(obs_validate(b, cat, 20089 + 365)); /* 2026-01-01 */
    cr_assert_eq(b->n_rejects, 2);
    cr_expect_str_eq(b->rejects[0].message,
                     "row 3 has the same indicator, site and period (a, X, 2025-04)");
    struct dhis2_counts counts = {1, 0, 2, 0};
    json_t *s = dhis2_summary(b, &counts, true);
    json_t *conflicts = json_object_get(s, "conflicts");
    static const struct {
        int index;
        const char *value;
    } want[] = {
        {0, "data value at index 2 has the same data element, org unit and period (a, X, 202504)"},
        {2, "data value at index 0 has the same data element, org unit and period (a, X, 202504)"},
    };
    cr_assert_eq(json_array_size(conflicts), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *c = json_array_get(conflicts, i);
        cr_expect_eq(json_integer_value(json_array_get(json_object_get(c, "indexes"), 0)),
                     want[i].index);
        cr_expect_str_eq(json_string_value(json_object_get(c, "value")), want[i].value);
        cr_expect_str_eq(json_string_value(json_object_get(c, "object")), "202504");
        cr_expect_null(json_object_get(c, "errorCode"), "DHIS2 has no code for it");
    }
    json_decref(s);
    obs_batch_free(&b);
    catalog_free(&cat);
}

/* A period that is not one is named as given in E7611's object and objects (DHIS2's
 * PERIOD_NOT_VALID names the period), in JSON, CSV and ADX alike. */
Test(dhis2_summary, an_invalid_period_is_named_as_given)
{
    static const char json[] = "{\"dataValues\":[{\"dataElement\":\"a\",\"period\":\"202613\","
                               "\"orgUnit\":\"X\",\"value\":\"1\"},{\"dataElement\":\"a\","
                               "\"period\":\"2025010101010101\",\"orgUnit\":\"X\","
                               "\"value\":\"1\"}]}";
    static const char csv[] = "dataelement,period,orgunit,categoryoptioncombo,"
                              "attributeoptioncombo,value\n"
                              "bp_controlled_pct,202613,BE-VLG-GP003,,,50\n";
    static const char adx[] =
        "<adx xmlns=\"urn:ihe:qrph:adx:2015\"><group orgUnit=\"X\" period=\"2026-11-05/P1M\">"
        "<dataValue dataElement=\"a\" value=\"1\"/></group></adx>";
    static const struct {
        int syntax; /* 0 JSON, 1 CSV, 2 ADX */
        size_t index;
        const char *period;
    } cases[] = {
        {0, 0, "202613"}, {0, 1, "2025010101010101"}, {1, 0, "202613"}, {2, 0, "2026-11-05/P1M"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct obs_batch *b = obs_batch_new();
        struct obs_parse_error err;
        enum obs_parse_status st =
            cases[i].syntax == 0   ? obs_parse_dhis2(json, strlen(json), b, &err)
            : cases[i].syntax == 1 ? obs_parse_dhis2_csv(csv, strlen(csv), true, b, &err)
                                   : obs_parse_dhis2_adx(adx, strlen(adx), b, &err);
        cr_assert_eq(st, OBS_PARSE_OK, "%s", err.message);
        struct dhis2_counts counts = {0, 0, b->n_rows, 0};
        json_t *s = dhis2_summary(b, &counts, true);
        json_t *c = json_array_get(json_object_get(s, "conflicts"), cases[i].index);
        cr_assert_not_null(c, "case %zu", i);
        cr_expect_str_eq(json_string_value(json_object_get(c, "errorCode")), "E7611");
        cr_expect_str_eq(json_string_value(json_object_get(c, "property")), "period");
        const char *object = json_string_value(json_object_get(c, "object"));
        cr_expect_str_eq(object ? object : "(none)", cases[i].period, "case %zu", i);
        json_t *objects = json_object_get(c, "objects");
        const char *period = json_string_value(json_object_get(objects, "period"));
        cr_expect_str_eq(period ? period : "(none)", cases[i].period, "case %zu", i);
        cr_expect_eq(json_object_size(objects), 1, "only the period, as E7611 names");
        json_decref(s);
        obs_batch_free(&b);
    }
}

Test(dhis2_summary, envelope_per_version)
{
    struct obs_batch *b = batch_with_rejects();
    struct dhis2_counts counts = {1, 0, 2, 0};
    static const struct {
        int version, status;
        bool wrapped;
    } cases[] = {{28, 200, false},
                 {37, 200, false},
                 {38, 409, true},
                 {42, 409, true},
                 {DHIS2_API_UNVERSIONED, 409, true}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = 0;
        json_t *a =
            dhis2_import_answer(dhis2_summary(b, &counts, false), cases[i].version, &status);
        cr_expect_eq(status, cases[i].status, "version %d", cases[i].version);
        json_t *summary = cases[i].wrapped ? json_object_get(a, "response") : a;
        cr_expect_str_eq(json_string_value(json_object_get(summary, "responseType")),
                         "ImportSummary", "version %d", cases[i].version);
        if (cases[i].wrapped) {
            cr_expect_eq(json_integer_value(json_object_get(a, "httpStatusCode")), 409);
            cr_expect_str_eq(json_string_value(json_object_get(a, "status")), "WARNING");
            cr_expect_str_eq(json_string_value(json_object_get(a, "httpStatus")), "Conflict");
        }
        json_decref(a);
    }
    /* nothing rejected: 200 OK */
    b->n_rejects = 0;
    int status = 0;
    json_t *a = dhis2_import_answer(dhis2_summary(b, &counts, false), 40, &status);
    cr_expect_eq(status, 200);
    cr_expect_str_eq(json_string_value(json_object_get(a, "status")), "OK");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(a, "response"), "status")),
                     "SUCCESS");
    json_decref(a);
    obs_batch_free(&b);
}

Test(dhis2_summary, refusal_is_a_400_web_message_naming_the_parameter)
{
    int status = 0;
    json_t *a = dhis2_refusal_answer("idScheme", "unsupported_parameter",
                                     "idScheme=NAME is not supported", &status);
    cr_expect_eq(status, 400);
    cr_expect_eq(json_integer_value(json_object_get(a, "httpStatusCode")), 400);
    cr_expect_str_eq(json_string_value(json_object_get(a, "status")), "ERROR");
    json_t *c = json_array_get(json_object_get(json_object_get(a, "response"), "conflicts"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(c, "object")), "idScheme");
    cr_expect_str_eq(json_string_value(json_object_get(c, "errorCode")), "unsupported_parameter");
    json_decref(a);
}

/* A job's notifications as DHIS2 lists them, newest first, per status; the summary of a
 * failed import. */
Test(dhis2_summary, job_notifications)
{
    json_t *notes =
        dhis2_job_notifications("Abcdefghij1", "RUNNING", "2026-12-02T04:00:00.000", "", NULL);
    cr_assert_eq(json_array_size(notes), 1);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(notes, 0), "message")),
                     "Process started");
    cr_expect(json_is_false(json_object_get(json_array_get(notes, 0), "completed")));
    json_decref(notes);
    notes = dhis2_job_notifications("Abcdefghij1", "COMPLETED", "a", "b", NULL);
    cr_assert_eq(json_array_size(notes), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(notes, 0), "message")),
                     "Import done");
    cr_expect(json_is_true(json_object_get(json_array_get(notes, 0), "completed")));
    json_decref(notes);
    notes = dhis2_job_notifications("Abcdefghij1", "ERROR", "a", "b", "it broke");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(notes, 0), "level")),
                     "ERROR");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(notes, 0), "message")),
                     "Process failed: it broke");
    json_decref(notes);
    json_t *failed = dhis2_failed_summary("the daemon stopped");
    cr_expect_str_eq(json_string_value(json_object_get(failed, "status")), "ERROR");
    cr_expect_str_eq(json_string_value(json_object_get(failed, "description")),
                     "The import process failed: the daemon stopped");
    json_decref(failed);
}

/* Data sets: DHIS2's period identifiers of a registration, the aborted import's summary, and
 * the set-level members a summary gets. */
Test(dhis2_summary, data_sets)
{
    static const struct {
        struct period p;
        const char *id;
    } periods[] = {{{PERIOD_MONTHLY, 2025, 5}, "202505"},
                   {{PERIOD_QUARTERLY, 2025, 2}, "2025Q2"},
                   {{PERIOD_WEEKLY, 2025, 7}, "2025W7"},
                   {{PERIOD_YEARLY, 2025, 1}, "2025"}};
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        char id[16];
        cr_assert(dhis2_period_id(periods[i].p, id, sizeof(id)));
        cr_expect_str_eq(id, periods[i].id);
    }
    json_t *aborted = dhis2_data_set_not_found("xxxxxxxxxxx");
    json_t *c = json_array_get(json_object_get(aborted, "conflicts"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(c, "errorCode")), "E7600");
    cr_expect_str_eq(json_string_value(json_object_get(c, "property")), "dataSet");
    cr_expect_str_eq(json_string_value(json_object_get(aborted, "status")), "ERROR");
    int status;
    json_t *answer = dhis2_import_answer(aborted, DHIS2_API_UNVERSIONED, &status);
    cr_expect_eq(status, 409);
    json_decref(answer);
    json_t *summary =
        json_pack("{s:[{s:s}],s:s}", "conflicts", "value", "a value's", "dataSetComplete", "false");
    json_t *set = json_pack("[o]", dhis2_set_conflict("Period", "", "needed", NULL, "period"));
    dhis2_summary_set_level(summary, "2025-05-31", set);
    cr_expect_str_eq(json_string_value(json_object_get(summary, "dataSetComplete")), "2025-05-31");
    cr_assert_eq(json_array_size(json_object_get(summary, "conflicts")), 2);
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(summary, "conflicts"), 0), "value")),
                     "needed");
    json_decref(set);
    json_decref(summary);
}
