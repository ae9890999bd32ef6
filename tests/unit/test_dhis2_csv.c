/*
 * DHIS2's CSV of data values (core/parse_dhis2_csv.c): DHIS2's columns by position, with or
 * without the header row, and what each kind of record becomes.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "scaleupd/core/obs_parse.h"

#define HEADER                                                                                     \
    "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,"          \
    "lastupdated,comment,followup,deleted\n"

Test(dhis2_csv, with_and_without_header)
{
    static const struct {
        const char *body;
        bool first_row_is_header;
        size_t rows, rejects;
    } cases[] = {
        {HEADER "fbfJHSPpUQD,202501,DiszpKrYNg8,HllvX50cXC0,HllvX50cXC0,12,admin,,,false,\n", true,
         1, 0},
        {"fbfJHSPpUQD,202501,DiszpKrYNg8,,,12\nfbfJHSPpUQD,202502,DiszpKrYNg8,,,13\n", true, 2, 0},
        {"de,pe,ou,coc,aoc,value\nfbfJHSPpUQD,202501,DiszpKrYNg8,,,12\n", true, 1, 0},
        {"de,pe,ou,coc,aoc,value\nfbfJHSPpUQD,202501,DiszpKrYNg8,,,12\n", false, 2, 1},
        {"\xEF\xBB\xBF" HEADER "a,2025W5,b,,,1\n\n\r\n", true, 1, 0},
        /* a short record's missing columns are empty: a value missing is the ingest's to
         * judge (a delete by key, else E7618) */
        {HEADER "a,202501,b\n", true, 1, 0},
        {"a,202501,b\n", true, 1, 0},
        {"a,202501,b\na,202502,b,,\n", true, 2, 0},
        {"a\n", false, 1, 1},
        {HEADER "a,202501,b,,,x\n", true, 1, 1},
        {HEADER "a,202501,b,,xYerKDKCefk,1\n", true, 1, 1},
        {HEADER "a,202513,b,,,1\n", true, 1, 1},
        {HEADER "\"a\",\"202501\",\"b\",\"\",\"\",\"1\",\"\",\"\",\"a, \"\"quoted\"\" note\","
                "\"false\",\"true\",\"extra\"\n",
         true, 1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct obs_batch *b = obs_batch_new();
        struct obs_parse_error err;
        enum obs_parse_status st = obs_parse_dhis2_csv(cases[i].body, strlen(cases[i].body),
                                                       cases[i].first_row_is_header, b, &err);
        cr_assert_eq(st, OBS_PARSE_OK, "case %zu: %s", i, err.message);
        cr_expect_eq(b->n_rows, cases[i].rows, "case %zu", i);
        cr_expect_eq(b->n_rejects, cases[i].rejects, "case %zu: %s", i,
                     b->n_rejects ? b->rejects[0].message : "");
        obs_batch_free(&b);
    }
}

Test(dhis2_csv, fields)
{
    static const char body[] = HEADER "fbfJHSPpUQD,2025Q1,DiszpKrYNg8,Prlt0C1RF0s,,\"1,5\",admin,"
                                      "2025-04-01,\"a, note\",true,TRUE\n"
                                      "fbfJHSPpUQD,202501,DiszpKrYNg8,,,2.5\n";
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_dhis2_csv(body, strlen(body), true, b, &err), OBS_PARSE_OK);
    cr_assert_eq(b->n_rows, 2);
    /* "1,5" is no number: the first row is rejected for its value, named as DHIS2 names it */
    cr_assert_eq(b->n_rejects, 1);
    cr_expect_str_eq(b->rejects[0].field, "value");
    const struct obs_row *r = &b->rows[1];
    cr_expect_str_eq(r->indicator, "fbfJHSPpUQD");
    cr_expect_str_eq(r->site, "DiszpKrYNg8");
    cr_expect_eq(r->period.type, PERIOD_MONTHLY);
    cr_expect_eq(r->value, 2.5);
    cr_expect(!r->deleted);
    obs_batch_free(&b);
    static const char second[] = "a,202501,b,Prlt0C1RF0s,,7,,,\"a, note\",,true\n";
    b = obs_batch_new();
    cr_assert_eq(obs_parse_dhis2_csv(second, strlen(second), true, b, &err), OBS_PARSE_OK);
    cr_assert_eq(b->n_rows, 1);
    cr_expect_str_eq(b->rows[0].category_option_combo, "Prlt0C1RF0s");
    cr_expect_str_eq(b->rows[0].comment, "a, note");
    cr_expect(b->rows[0].deleted);
    obs_batch_free(&b);
    /* a record that stops after the organisation unit: a key without a value, first row or
     * not (its period is no header's) */
    static const char short_record[] = "a,202501,b\n";
    b = obs_batch_new();
    cr_assert_eq(obs_parse_dhis2_csv(short_record, strlen(short_record), true, b, &err),
                 OBS_PARSE_OK);
    cr_assert_eq(b->n_rows, 1);
    cr_expect_eq(b->n_rejects, 0);
    cr_expect(b->rows[0].value_missing);
    cr_expect_str_eq(b->rows[0].site, "b");
    obs_batch_free(&b);
}

Test(dhis2_csv, document_errors)
{
    static const struct {
        const char *body;
        const char *code;
    } cases[] = {
        {"", "empty_batch"},
        {HEADER, "empty_batch"},
        {"a,\"202501,b,,,1\n", "malformed_csv"},
        {"a,20\"25,b,,,1\n", "malformed_csv"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct obs_batch *b = obs_batch_new();
        struct obs_parse_error err;
        enum obs_parse_status st =
            obs_parse_dhis2_csv(cases[i].body, strlen(cases[i].body), true, b, &err);
        cr_expect_neq(st, OBS_PARSE_OK, "case %zu", i);
        cr_expect_str_eq(err.code, cases[i].code, "case %zu: %s", i, err.message);
        obs_batch_free(&b);
    }
}
