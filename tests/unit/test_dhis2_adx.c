/*
 * ADX (core/parse_dhis2_adx.c): groups and their values, ADX periods, the comment in an
 * annotation, what is not mapped, and the documents refused: a DTD (and so every entity
 * trick), nesting past the bound, a root that is not adx, XML that is not well-formed.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/obs_parse.h"

#define ADX_OPEN "<?xml version=\"1.0\" encoding=\"UTF-8\"?><adx xmlns=\"urn:ihe:qrph:adx:2015\">"

Test(dhis2_adx, groups_and_values)
{
    static const char body[] =
        ADX_OPEN "<group orgUnit=\"DiszpKrYNg8\" period=\"2025-04-01/P1M\" dataSet=\"pBOMPrpg1QX\">"
                 "<dataValue dataElement=\"fbfJHSPpUQD\" value=\"12\">"
                 "<annotation>seen &amp; checked</annotation></dataValue>"
                 "<dataValue dataElement=\"cYeuwXTCPkU\" value=\"3\"/></group>"
                 "<group orgUnit=\"Rp268JB6Ne4\" period=\"2025-04-01/P3M\" dataSet=\"x\">"
                 "<dataValue dataElement=\"fbfJHSPpUQD\" value=\"x\"/>"
                 "<dataValue dataElement=\"fbfJHSPpUQD\" SEX=\"F\" AGE=\"0-4\" value=\"1\"/>"
                 "</group>"
                 "<group orgUnit=\"Rp268JB6Ne4\" period=\"2025-03-31/P7D\" dataSet=\"x\" "
                 "AGE=\"old\"><dataValue dataElement=\"fbfJHSPpUQD\" value=\"1\"/></group>"
                 "<group orgUnit=\"Rp268JB6Ne4\" period=\"2025-03-30/P7D\" dataSet=\"x\">"
                 "<dataValue dataElement=\"a\" value=\"1\"/></group>"
                 "<group orgUnit=\"Rp268JB6Ne4\" period=\"2025-01-01/P1Y\" dataSet=\"x\" "
                 "attributeOptionCombo=\"HllvX50cXC0\" completeDate=\"2025-02-01\">"
                 "<dataValue dataElement=\"a\" value=\"1\"/>"
                 "<dataValue dataElement=\"a\" categoryOptionCombo=\"V6L425pT3A0\" SEX=\"F\" "
                 "value=\"1\"/></group>"
                 "<group orgUnit=\"Rp268JB6Ne4\" period=\"2025-01-01/P1Y\" "
                 "attributeOptionCombo=\"Xy1234567ab\"><dataValue dataElement=\"a\" "
                 "value=\"1\"/></group></adx>";
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_dhis2_adx(body, strlen(body), b, &err), OBS_PARSE_OK, "%s", err.message);
    cr_assert_eq(b->n_rows, 9);
    cr_expect_str_eq(b->rows[0].indicator, "fbfJHSPpUQD");
    cr_expect_str_eq(b->rows[0].site, "DiszpKrYNg8");
    cr_expect_eq(b->rows[0].period.type, PERIOD_MONTHLY);
    cr_expect_eq(b->rows[0].period.index, 4);
    cr_expect_str_eq(b->rows[0].comment, "seen & checked");
    cr_expect_eq(b->rows[1].value, 3);
    cr_expect_eq(b->rows[6].period.type, PERIOD_YEARLY);
    /* categories name the combination by key, in category order, as the programme maps them;
       a categoryOptionCombo given wins over them; the default attribute combination is taken */
    cr_expect_str_eq(b->rows[3].category_option_combo, "{AGE=0-4,SEX=F}");
    cr_expect_not(b->rows[6].rejected);
    cr_expect_str_eq(b->rows[7].category_option_combo, "V6L425pT3A0");
    /* the groups, for completing their data sets */
    cr_assert_eq(b->n_groups, 6);
    cr_expect_str_eq(b->groups[0].data_set, "pBOMPrpg1QX");
    cr_expect_str_eq(b->groups[0].period, "202504");
    cr_expect_str_eq(b->groups[0].org_unit, "DiszpKrYNg8");
    cr_expect_str_eq(b->groups[1].period, "2025Q2");
    cr_expect_str_eq(b->groups[4].complete_date, "2025-02-01");
    cr_expect_str_eq(b->groups[4].period, "2025");
    cr_expect_str_eq(b->groups[5].complete_date, "");
    static const struct {
        uint32_t row;
        const char *field, *code;
    } rejects[] = {
        {3, "value", "invalid_number"},
        {5, "attributeOptionCombo", "not_mapped"},
        {6, "period", "invalid_period"}, /* a week starts on a Monday */
        {9, "attributeOptionCombo", "not_mapped"},
    };
    cr_assert_eq(b->n_rejects, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(b->rejects[i].row, rejects[i].row, "%zu", i);
        cr_expect_str_eq(b->rejects[i].field, rejects[i].field, "%zu", i);
        cr_expect_str_eq(b->rejects[i].code, rejects[i].code, "%zu", i);
    }
    /* the message quotes the period sent, not a fixed example */
    cr_expect(strstr(b->rejects[2].message, "\"2025-03-30/P7D\"") != NULL, "%s",
              b->rejects[2].message);
    obs_batch_free(&b);
}

/* The attributes DHIS2's ADX reader reads of a dataValue besides its key and value are not
 * categories: comment (an annotation wins over it), storedBy, followup, deleted (booleans in
 * any case), created and lastUpdated (ignored). */
Test(dhis2_adx, value_properties)
{
    static const char body[] =
        ADX_OPEN "<group orgUnit=\"DiszpKrYNg8\" period=\"2025-04-01/P1M\">"
                 "<dataValue dataElement=\"fbfJHSPpUQD\" value=\"12\" comment=\"checked\" "
                 "storedBy=\"district-officer\" followup=\"TRUE\" created=\"2025-05-01\" "
                 "lastUpdated=\"2025-05-02\"/>"
                 "<dataValue dataElement=\"fbfJHSPpUQD\" value=\"1\" comment=\"a\" "
                 "deleted=\"True\" followup=\"no\"><annotation>b</annotation></dataValue>"
                 "<dataValue dataElement=\"cYeuwXTCPkU\" SEX=\"F\" storedBy=\"x\" value=\"2\"/>"
                 "<dataValue dataElement=\"cYeuwXTCPkU\" storedBy=\"%s\" value=\"2\"/>"
                 "</group></adx>";
    char long_name[300], doc[sizeof(body) + sizeof(long_name)];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0'; /* longer than OBS_STORED_BY_MAX */
    snprintf(doc, sizeof(doc), body, long_name);
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_dhis2_adx(doc, strlen(doc), b, &err), OBS_PARSE_OK, "%s", err.message);
    cr_assert_eq(b->n_rows, 4);
    const struct obs_row *r = &b->rows[0];
    cr_expect_str_eq(r->comment, "checked");
    cr_expect_str_eq(r->stored_by, "district-officer");
    cr_expect(r->has_followup && r->followup);
    cr_expect_str_eq(r->category_option_combo, "");
    cr_expect_not(r->deleted);
    r = &b->rows[1];
    cr_expect_str_eq(r->comment, "b");
    cr_expect(r->deleted);
    cr_expect(r->has_followup && !r->followup);
    cr_expect_null(r->stored_by);
    cr_expect_str_eq(b->rows[2].category_option_combo, "{SEX=F}");
    cr_expect_str_eq(b->rows[2].stored_by, "x");
    cr_assert_eq(b->n_rejects, 1);
    cr_expect_eq(b->rejects[0].row, 4);
    cr_expect_str_eq(b->rejects[0].field, "storedBy");
    cr_expect_str_eq(b->rejects[0].code, "too_long");
    obs_batch_free(&b);
}

/* A tag of very many attributes is refused before libxml2 reads it (it adds them in quadratic
 * time: 300,000 took nine minutes), also when they hide behind comments and quoted '>'s, while
 * 64 (and '=' in values, text and comments) are read. */
Test(dhis2_adx, a_tag_of_too_many_attributes_is_refused_before_it_is_parsed)
{
    size_t n = 200000, cap = n * 12 + 512, len = 0;
    char *body = malloc(cap);
    cr_assert_not_null(body);
    len += (size_t)snprintf(body + len, cap - len,
                            ADX_OPEN "<!-- a > b = c --><group orgUnit=\"a\" period=\"202501\" "
                                     "x=\">=\"");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len, " a%zu=\"v\"", i);
    len += (size_t)snprintf(body + len, cap - len,
                            "><dataValue dataElement=\"x\" value=\"1\"/></group></adx>");
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_expect_neq(obs_parse_dhis2_adx(body, len, b, &err), OBS_PARSE_OK);
    cr_expect_str_eq(err.code, "too_many_attributes", "%s", err.message);
    obs_batch_free(&b);
    /* 62 category attributes beside orgUnit and period: read (the categories are refused
       per value, not the document) */
    len = (size_t)snprintf(body, cap, ADX_OPEN "<group orgUnit=\"a\" period=\"202501\"");
    for (size_t i = 0; i < 62; i++)
        len += (size_t)snprintf(body + len, cap - len, " c%zu=\"a=b\"", i);
    len += (size_t)snprintf(body + len, cap - len,
                            "><dataValue dataElement=\"x\" value=\"1\"><annotation>x = y = z"
                            "</annotation></dataValue></group></adx>");
    b = obs_batch_new();
    enum obs_parse_status st = obs_parse_dhis2_adx(body, len, b, &err);
    cr_expect(st == OBS_PARSE_OK || strcmp(err.code, "too_many_attributes") != 0, "%s",
              err.message);
    obs_batch_free(&b);
    free(body);
}

Test(dhis2_adx, refused_documents)
{
    static const struct {
        const char *body;
        const char *code;
    } cases[] = {
        {"<?xml version=\"1.0\"?><!DOCTYPE adx [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
         "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><adx><group orgUnit=\"&b;\" period=\"202501\">"
         "<dataValue dataElement=\"x\" value=\"1\"/></group></adx>",
         "invalid_document"},
        {"<?xml version=\"1.0\"?><!DOCTYPE adx SYSTEM \"file:///etc/passwd\"><adx/>",
         "invalid_document"},
        {"<?xml version=\"1.0\"?><!DOCTYPE adx [<!ENTITY x SYSTEM \"http://example.org/x\">]>"
         "<adx>&x;</adx>",
         "invalid_document"},
        {"<dataValueSet><dataValue/></dataValueSet>", "invalid_document"},
        {ADX_OPEN "<group orgUnit=\"a\" period=\"202501\"><dataValue dataElement=\"x\" value=\"1\">"
                  "<annotation><a><b><c><d><e><f>deep</f></e></d></c></b></a></annotation>"
                  "</dataValue></group></adx>",
         "too_deep"},
        {ADX_OPEN "<group orgUnit=\"a\"", "malformed_xml"},
        {ADX_OPEN "</adx>", "empty_batch"},
        {"", "malformed_xml"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct obs_batch *b = obs_batch_new();
        struct obs_parse_error err;
        enum obs_parse_status st =
            obs_parse_dhis2_adx(cases[i].body, strlen(cases[i].body), b, &err);
        cr_expect_neq(st, OBS_PARSE_OK, "case %zu", i);
        cr_expect_str_eq(err.code, cases[i].code, "case %zu: %s", i, err.message);
        obs_batch_free(&b);
    }
}
