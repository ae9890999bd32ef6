/*
 * DHIS2 identifiers (core/dhis2_map.c, core/programme_dhis2.c): which rows each id scheme
 * rewrites, leaves or rejects, and what a programme document may declare.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "scaleupd/core/dhis2_map.h"
#include "scaleupd/core/programme_dhis2.h"

static struct dhis2_map *example_map(void)
{
    struct dhis2_map *m = dhis2_map_new();
    dhis2_map_add_data_element(m, "fbfJHSPpUQD", "", "enrolled");
    dhis2_map_add_data_element(m, "cYeuwXTCPkU", "Prlt0C1RF0s", "visits_fixed");
    dhis2_map_add_data_element(m, "cYeuwXTCPkU", "V6L425pT3A0", "visits_outreach");
    dhis2_map_add_org_unit(m, "DiszpKrYNg8", "GP001");
    return m;
}

Test(dhis2_map, schemes)
{
    static const struct {
        enum dhis2_id_scheme scheme;
        const char *de, *coc, *ou;
        const char *indicator, *site; /* after, or NULL when rejected */
        const char *field, *code;     /* the reject */
    } cases[] = {
        {DHIS2_SCHEME_UID, "fbfJHSPpUQD", "", "DiszpKrYNg8", "enrolled", "GP001", NULL, NULL},
        {DHIS2_SCHEME_UID, "fbfJHSPpUQD", "HllvX50cXC0", "DiszpKrYNg8", "enrolled", "GP001", NULL,
         NULL},
        {DHIS2_SCHEME_UID, "fbfJHSPpUQD", "default", "DiszpKrYNg8", "enrolled", "GP001", NULL,
         NULL},
        {DHIS2_SCHEME_UID, "cYeuwXTCPkU", "V6L425pT3A0", "DiszpKrYNg8", "visits_outreach", "GP001",
         NULL, NULL},
        {DHIS2_SCHEME_UID, "cYeuwXTCPkU", "", "DiszpKrYNg8", NULL, NULL, "categoryOptionCombo",
         "missing_field"},
        {DHIS2_SCHEME_UID, "cYeuwXTCPkU", "xxxxxxxxxxx", "DiszpKrYNg8", NULL, NULL,
         "categoryOptionCombo", "not_mapped"},
        {DHIS2_SCHEME_UID, "enrolled", "", "DiszpKrYNg8", NULL, NULL, "dataElement", "not_mapped"},
        {DHIS2_SCHEME_UID, "fbfJHSPpUQD", "", "GP001", NULL, NULL, "orgUnit", "not_mapped"},
        {DHIS2_SCHEME_DEFAULT, "enrolled", "", "GP001", "enrolled", "GP001", NULL, NULL},
        {DHIS2_SCHEME_DEFAULT, "fbfJHSPpUQD", "", "GP001", "enrolled", "GP001", NULL, NULL},
        {DHIS2_SCHEME_DEFAULT, "enrolled", "Prlt0C1RF0s", "GP001", NULL, NULL,
         "categoryOptionCombo", "not_mapped"},
        {DHIS2_SCHEME_CODE, "fbfJHSPpUQD", "", "DiszpKrYNg8", "fbfJHSPpUQD", "DiszpKrYNg8", NULL,
         NULL},
        {DHIS2_SCHEME_CODE, "enrolled", "Prlt0C1RF0s", "GP001", NULL, NULL, "categoryOptionCombo",
         "not_mapped"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct obs_batch *b = obs_batch_new();
        struct obs_parse_error err;
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"dataValues\":[{\"dataElement\":\"%s\",\"categoryOptionCombo\":\"%s\","
                 "\"orgUnit\":\"%s\",\"period\":\"202501\",\"value\":\"1\"}]}",
                 cases[i].de, cases[i].coc, cases[i].ou);
        cr_assert_eq(obs_parse_dhis2(body, strlen(body), b, &err), OBS_PARSE_OK, "%s", body);
        struct dhis2_map *m = example_map();
        dhis2_map_apply(b, m, cases[i].scheme, cases[i].scheme);
        if (cases[i].indicator != NULL) {
            cr_expect(!b->rows[0].rejected, "case %zu: %s", i,
                      b->n_rejects ? b->rejects[0].message : "");
            cr_expect_str_eq(b->rows[0].indicator, cases[i].indicator, "case %zu", i);
            cr_expect_str_eq(b->rows[0].site, cases[i].site, "case %zu", i);
        } else {
            cr_assert_eq(b->n_rejects, 1, "case %zu", i);
            cr_expect_str_eq(b->rejects[0].field, cases[i].field, "case %zu", i);
            cr_expect_str_eq(b->rejects[0].code, cases[i].code, "case %zu", i);
        }
        dhis2_map_free(&m);
        obs_batch_free(&b);
    }
}

Test(dhis2_map, attribute_option_combo_and_deleted)
{
    static const char body[] =
        "{\"dataValues\":[{\"dataElement\":\"a\",\"orgUnit\":\"b\",\"period\":\"202501\","
        "\"value\":\"1\",\"attributeOptionCombo\":\"HllvX50cXC0\",\"deleted\":true},"
        "{\"dataElement\":\"a\",\"orgUnit\":\"b\",\"period\":\"202502\",\"value\":\"1\","
        "\"attributeOptionCombo\":\"xYerKDKCefk\"},"
        "{\"dataElement\":\"a\",\"orgUnit\":\"b\",\"period\":\"202503\",\"value\":\"1\","
        "\"deleted\":\"yes\"}]}";
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    cr_assert_eq(obs_parse_dhis2(body, strlen(body), b, &err), OBS_PARSE_OK);
    cr_expect(!b->rows[0].rejected && b->rows[0].deleted);
    cr_assert_eq(b->n_rejects, 2);
    cr_expect_str_eq(b->rejects[0].field, "attributeOptionCombo");
    cr_expect_str_eq(b->rejects[0].code, "not_mapped");
    cr_expect_str_eq(b->rejects[1].field, "deleted");
    cr_expect_str_eq(b->rejects[1].code, "invalid_type");
    obs_batch_free(&b);
}

Test(dhis2_map, uids)
{
    cr_expect(dhis2_uid_valid("fbfJHSPpUQD"));
    cr_expect(!dhis2_uid_valid("1bfJHSPpUQD"), "a digit first");
    cr_expect(!dhis2_uid_valid("fbfJHSPpUQ"), "10 characters");
    cr_expect(!dhis2_uid_valid("fbfJHSPpUQD1"), "12 characters");
    cr_expect(!dhis2_uid_valid("fbfJHSP-UQD"));
    cr_expect(!dhis2_uid_valid(NULL));
}

/* An indicator's categoryOptions: the combination key ADX's category attributes are matched
 * by, whatever the order the document gives them in; what may not be one. */
Test(dhis2_map, categories_key)
{
    char key[64];
    json_t *options = json_pack("{s:s,s:s}", "SEX", "F", "AGE", "0-4");
    cr_assert(dhis2_categories_key(options, key, sizeof(key)));
    cr_expect_str_eq(key, "{AGE=0-4,SEX=F}");
    json_decref(options);
    static const char *const bad[] = {"{}",
                                      "{\"SEX\": 1}",
                                      "{\"SEX\": \"a,b\"}",
                                      "{\"S=X\": \"F\"}",
                                      "{\"SEX\": \"\"}",
                                      "{\"A\": \"0123456789012345678901234567890\", "
                                      "\"B\": \"0123456789012345678901234567890\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        options = json_loads(bad[i], 0, NULL);
        cr_assert_not_null(options, "%s", bad[i]);
        cr_expect_not(dhis2_categories_key(options, key, sizeof(key)), "%s", bad[i]);
        json_decref(options);
    }
    /* the map finds the key as it finds a combination's UID */
    struct dhis2_map *m = dhis2_map_new();
    dhis2_map_add_data_element(m, "cYeuwXTCPkU", "{SERVICE=OUTREACH}", "visits_outreach");
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    static const char adx[] =
        "<adx><group orgUnit=\"GP001\" period=\"202504\"><dataValue dataElement=\"cYeuwXTCPkU\" "
        "SERVICE=\"OUTREACH\" value=\"2\"/><dataValue dataElement=\"cYeuwXTCPkU\" "
        "SERVICE=\"FIXED\" value=\"2\"/></group></adx>";
    cr_assert_eq(obs_parse_dhis2_adx(adx, strlen(adx), b, &err), OBS_PARSE_OK, "%s", err.message);
    dhis2_map_apply(b, m, DHIS2_SCHEME_DEFAULT, DHIS2_SCHEME_DEFAULT);
    cr_expect_str_eq(b->rows[0].indicator, "visits_outreach");
    cr_expect_not(b->rows[0].rejected);
    cr_assert_eq(b->n_rejects, 1);
    cr_expect_str_eq(b->rejects[0].field, "categoryOptionCombo");
    cr_expect_str_eq(b->rejects[0].code, "not_mapped");
    obs_batch_free(&b);
    dhis2_map_free(&m);
}
