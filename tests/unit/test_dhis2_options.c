/*
 * DHIS2's import options (core/dhis2_options.c). In the query: the values scaleupd honours
 * pass (dryRun sets a dry run), every other value, an unknown parameter, a repeat and a value
 * that is not of its type are refused naming the parameter; our own parameters of the route
 * pass. In the data value set: the same table, a member's type checked, and its dryRun winning
 * over the query's.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "scaleupd/core/dhis2_options.h"

static const char *const OURS[] = {"programme", "dry_run", "atomic", NULL};

/* Reads "k=v&k=v" (no escapes) through dhis2_options_read_query. */
static bool read_query(const char *text, struct dhis2_options *out, struct dhis2_refusal *why)
{
    static char copy[512];
    static struct dhis2_query_param kvs[16];
    size_t n = 0;
    snprintf(copy, sizeof(copy), "%s", text);
    for (char *p = copy; *p != '\0' && n < 16;) {
        char *amp = strchr(p, '&'), *eq;
        if (amp != NULL)
            *amp = '\0';
        eq = strchr(p, '=');
        cr_assert_not_null(eq, "%s", text);
        *eq = '\0';
        kvs[n].name = p, kvs[n].value = eq + 1;
        n++;
        p = amp ? amp + 1 : p + strlen(p);
    }
    memset(why, 0, sizeof(*why));
    return dhis2_options_read_query(kvs, n, OURS, out, why);
}

Test(dhis2_options, honoured)
{
    static const char *const queries[] = {
        "",
        "dryRun=false",
        "importStrategy=CREATE_AND_UPDATE",
        "importStrategy=create_and_update&strategy=NEW_AND_UPDATES",
        "idScheme=CODE&dataElementIdScheme=code&orgUnitIdScheme=Code",
        "async=false&preheatCache=true&skipExistingCheck=false&skipAudit=false&force=false",
        "preheatCache=false&strictPeriods=true&strictDataElements=false",
        "strictOrganisationUnits=false&strictCategoryOptionCombos=false",
        "strictAttributeOptionCombos=0&requireCategoryOptionCombo=FALSE",
        "requireAttributeOptionCombo=false&skipNotifications=false&firstRowIsHeader=true",
        "strictDataSetApproval=false&strictDataSetLocking=false&strictDataSetInputPeriods=false",
        "format=json&programme=icp&dry_run=false&atomic=true",
    };
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        struct dhis2_options p;
        struct dhis2_refusal why;
        cr_expect(read_query(queries[i], &p, &why), "%s: %s %s", queries[i], why.parameter,
                  why.message);
        cr_expect(!p.dry_run, "%s", queries[i]);
    }
}

Test(dhis2_options, schemes_and_strategies)
{
    static const struct {
        const char *query;
        enum dhis2_id_scheme data_element, org_unit;
        enum dhis2_strategy strategy;
    } cases[] = {
        {"", DHIS2_SCHEME_DEFAULT, DHIS2_SCHEME_DEFAULT, DHIS2_STRATEGY_CREATE_AND_UPDATE},
        {"idScheme=UID", DHIS2_SCHEME_UID, DHIS2_SCHEME_UID, DHIS2_STRATEGY_CREATE_AND_UPDATE},
        {"idScheme=code&orgUnitIdScheme=UID", DHIS2_SCHEME_CODE, DHIS2_SCHEME_UID,
         DHIS2_STRATEGY_CREATE_AND_UPDATE},
        {"dataElementIdScheme=UID&idScheme=CODE", DHIS2_SCHEME_UID, DHIS2_SCHEME_CODE,
         DHIS2_STRATEGY_CREATE_AND_UPDATE},
        {"importStrategy=CREATE", DHIS2_SCHEME_DEFAULT, DHIS2_SCHEME_DEFAULT,
         DHIS2_STRATEGY_CREATE},
        {"importStrategy=NEW", DHIS2_SCHEME_DEFAULT, DHIS2_SCHEME_DEFAULT, DHIS2_STRATEGY_CREATE},
        {"importStrategy=updates", DHIS2_SCHEME_DEFAULT, DHIS2_SCHEME_DEFAULT,
         DHIS2_STRATEGY_UPDATE},
        {"importStrategy=DELETE", DHIS2_SCHEME_DEFAULT, DHIS2_SCHEME_DEFAULT,
         DHIS2_STRATEGY_DELETE},
        {"strategy=DELETES", DHIS2_SCHEME_DEFAULT, DHIS2_SCHEME_DEFAULT, DHIS2_STRATEGY_DELETE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dhis2_options p;
        struct dhis2_refusal why;
        cr_assert(read_query(cases[i].query, &p, &why), "%s: %s", cases[i].query, why.message);
        cr_expect_eq(dhis2_options_data_element_scheme(&p), cases[i].data_element, "%s",
                     cases[i].query);
        cr_expect_eq(dhis2_options_org_unit_scheme(&p), cases[i].org_unit, "%s", cases[i].query);
        cr_expect_eq(p.strategy, cases[i].strategy, "%s", cases[i].query);
    }
}

Test(dhis2_options, dry_run)
{
    struct dhis2_options p;
    struct dhis2_refusal why;
    cr_assert(read_query("dryRun=true", &p, &why));
    cr_expect(p.dry_run && p.dry_run_given);
    cr_assert(read_query("dryRun=TRUE&importStrategy=CREATE_AND_UPDATE", &p, &why));
    cr_expect(p.dry_run);
    cr_assert(read_query("dryRun=1", &p, &why));
    cr_expect(p.dry_run);
    cr_assert(read_query("dryRun=false", &p, &why));
    cr_expect(!p.dry_run && p.dry_run_given);
    cr_assert(read_query("dry_run=true", &p, &why)); /* ours: the route reads it */
    cr_expect(!p.dry_run && !p.dry_run_given);
}

struct refused_case {
    const char *query;
    const char *parameter;
    const char *code;
    const char *in_message; /* a part of the message */
};

Test(dhis2_options, refused)
{
    static const struct refused_case cases[] = {
        {"importStrategy=MERGE", "importStrategy", "unsupported_parameter", "CREATE_AND_UPDATE"},
        {"strategy=SYNC", "strategy", "unsupported_parameter", "DELETE"},
        {"idScheme=NAME", "idScheme", "unsupported_parameter", "honoured: UID, CODE"},
        {"dataElementIdScheme=ATTRIBUTE:abc", "dataElementIdScheme", "unsupported_parameter",
         "CODE"},
        {"orgUnitIdScheme=ATTRIBUTE:abc", "orgUnitIdScheme", "unsupported_parameter", "CODE"},
        {"categoryOptionComboIdScheme=CODE", "categoryOptionComboIdScheme", "unsupported_parameter",
         "by UID"},
        {"dataSetIdScheme=NAME", "dataSetIdScheme", "unsupported_parameter", "declares"},
        {"async=maybe", "async", "invalid_parameter", "async=maybe"},
        {"skipAudit=true", "skipAudit", "unsupported_parameter", "revision"},
        {"skipExistingCheck=true", "skipExistingCheck", "unsupported_parameter", "compared"},
        {"force=true", "force", "unsupported_parameter", "force=true"},
        {"strictPeriods=false", "strictPeriods", "unsupported_parameter", "honoured: true"},
        {"strictOrganisationUnits=true", "strictOrganisationUnits", "unsupported_parameter",
         "honoured: false"},
        {"requireCategoryOptionCombo=true", "requireCategoryOptionCombo", "unsupported_parameter",
         "not mapped"},
        {"format=xml", "format", "unsupported_parameter", "JSON, CSV or ADX"},
        {"dryRun=maybe", "dryRun", "invalid_parameter", "not a boolean"},
        {"dryRun=", "dryRun", "invalid_parameter", "not a boolean"},
        {"dryRun=yes", "dryRun", "invalid_parameter", "not a boolean"},
        {"dryrun=true", "dryrun", "unknown_parameter", "dryrun is not"},
        {"mergeMode=MERGE", "mergeMode", "unknown_parameter", "not an import parameter"},
        {"colour=red", "colour", "unknown_parameter", "colour"},
        {"dryRun=true&dryRun=false", "dryRun", "duplicate_parameter", "more than once"},
        {"programme=a&programme=b", "programme", "duplicate_parameter", "more than once"},
        /* the first refused parameter is named */
        {"dryRun=true&idScheme=NAME&async=true", "idScheme", "unsupported_parameter", "NAME"},
        /* a hostile name or value is quoted printable */
        {"a\"b=1", "a?b", "unknown_parameter", "a?b is not"},
        {"importStrategy=D\xc3\xa9LETE", "importStrategy", "unsupported_parameter", "D??LETE"},
        /* %FF decoded: names nothing, and the database would refuse the text (it was a 500) */
        {"dataSet=a\xff", "dataSet", "invalid_encoding", "not UTF-8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dhis2_options p;
        struct dhis2_refusal why;
        cr_expect(!read_query(cases[i].query, &p, &why), "%s passed", cases[i].query);
        cr_expect_str_eq(why.parameter, cases[i].parameter, "%s", cases[i].query);
        cr_expect_str_eq(why.code, cases[i].code, "%s", cases[i].query);
        cr_expect_not_null(strstr(why.message, cases[i].in_message), "%s: %s", cases[i].query,
                           why.message);
        cr_expect_not_null(strstr(why.message, cases[i].parameter), "%s: %s", cases[i].query,
                           why.message);
    }
}

/* ---- the data value set's own members --------------------------------------------------- */

Test(dhis2_options, set_members_fit_the_batch_and_are_known)
{
    const char *names[64];
    size_t n = dhis2_options_set_members(names, 64);
    cr_assert(n > 0 && n <= OBS_SET_OPTIONS_MAX, "%zu set members, room for %d", n,
              OBS_SET_OPTIONS_MAX);
    static const char *const dhis2_reads[] = {"idScheme",
                                              "dataElementIdScheme",
                                              "orgUnitIdScheme",
                                              "categoryOptionComboIdScheme",
                                              "dataSetIdScheme",
                                              "attributeOptionComboIdScheme",
                                              "categoryIdScheme",
                                              "categoryOptionIdScheme",
                                              "dryRun",
                                              "strategy",
                                              "dataSet",
                                              "completeDate",
                                              "attributeOptionCombo",
                                              "attributeCategoryOptions",
                                              "deletion"};
    cr_expect_eq(n, sizeof(dhis2_reads) / sizeof(dhis2_reads[0]));
    for (size_t i = 0; i < sizeof(dhis2_reads) / sizeof(dhis2_reads[0]); i++) {
        bool found = false;
        for (size_t j = 0; j < n; j++)
            found = found || strcmp(names[j], dhis2_reads[i]) == 0;
        cr_expect(found, "%s is not a set member", dhis2_reads[i]);
    }
    for (size_t j = 0; j < n; j++) /* the parser decodes escaped keys up to 31 bytes */
        cr_expect(strlen(names[j]) <= 31, "%s", names[j]);
    /* every member the parser collects is in the table: none is refused as unknown */
    for (size_t j = 0; j < n; j++) {
        struct obs_set_option m = {.name = names[j], .type = OBS_JSON_STRING};
        snprintf(m.value, sizeof(m.value), "CODE");
        struct dhis2_options options = {0};
        struct dhis2_refusal why;
        memset(&why, 0, sizeof(why));
        if (!dhis2_options_read_set(&m, 1, &options, &why))
            cr_expect_str_neq(why.code, "unknown_parameter", "%s", names[j]);
    }
    cr_expect_eq(dhis2_options_set_members(names, 2), 2);
}

static struct obs_set_option member(const char *name, enum obs_json_type type, const char *value)
{
    struct obs_set_option m = {.name = name, .type = type};
    snprintf(m.value, sizeof(m.value), "%s", value);
    return m;
}

Test(dhis2_options, set_members_honoured)
{
    struct obs_set_option set[] = {
        member("idScheme", OBS_JSON_STRING, "CODE"),
        member("dataElementIdScheme", OBS_JSON_STRING, "code"),
        member("orgUnitIdScheme", OBS_JSON_STRING, "Code"),
        member("strategy", OBS_JSON_STRING, "NEW_AND_UPDATES"),
        member("dryRun", OBS_JSON_BOOLEAN, "false"),
        member("attributeOptionCombo", OBS_JSON_STRING, "HllvX50cXC0"), /* the default */
    };
    struct dhis2_options options = {0};
    struct dhis2_refusal why;
    cr_expect(dhis2_options_read_set(set, 6, &options, &why), "%s", why.message);
    cr_expect(!options.dry_run && options.dry_run_given);
    cr_expect(dhis2_options_read_set(set, 0, &options, &why));
}

Test(dhis2_options, set_dry_run_wins_over_the_query)
{
    struct dhis2_options options;
    struct dhis2_refusal why;
    struct obs_set_option yes = member("dryRun", OBS_JSON_BOOLEAN, "true");
    struct obs_set_option no = member("dryRun", OBS_JSON_BOOLEAN, "false");
    cr_assert(read_query("dryRun=false", &options, &why));
    cr_assert(dhis2_options_read_set(&yes, 1, &options, &why));
    cr_expect(options.dry_run && options.dry_run_given);
    cr_assert(read_query("dryRun=true", &options, &why));
    cr_assert(dhis2_options_read_set(&no, 1, &options, &why));
    cr_expect(!options.dry_run && options.dry_run_given);
    /* a set without dryRun leaves the query's */
    struct obs_set_option scheme = member("idScheme", OBS_JSON_STRING, "CODE");
    cr_assert(read_query("dryRun=true", &options, &why));
    cr_assert(dhis2_options_read_set(&scheme, 1, &options, &why));
    cr_expect(options.dry_run && options.dry_run_given);
}

Test(dhis2_options, set_members_refused)
{
    static const struct {
        const char *name;
        enum obs_json_type type;
        const char *value, *code, *in_message;
    } cases[] = {
        {"strategy", OBS_JSON_STRING, "MERGE", "unsupported_parameter",
         "the data value set's strategy \"MERGE\" is not supported: not one of DHIS2's import "
         "strategies (honoured: "
         "CREATE_AND_UPDATE, NEW_AND_UPDATES, CREATE, NEW, UPDATE, UPDATES, DELETE, DELETES)"},
        {"idScheme", OBS_JSON_STRING, "NAME", "unsupported_parameter", "honoured: UID, CODE"},
        {"idScheme", OBS_JSON_STRING, "", "unsupported_parameter", "idScheme \"\""},
        {"orgUnitIdScheme", OBS_JSON_STRING, "NAME", "unsupported_parameter", "NAME"},
        {"categoryOptionComboIdScheme", OBS_JSON_STRING, "CODE", "unsupported_parameter", "by UID"},
        {"dataSetIdScheme", OBS_JSON_STRING, "NAME", "unsupported_parameter", "declares"},
        {"categoryIdScheme", OBS_JSON_STRING, "UID", "unsupported_parameter", "not mapped"},
        {"dataSet", OBS_JSON_NUMBER, "12", "invalid_parameter",
         "dataSet must be a string, not a number"},
        {"dataSet", OBS_JSON_BOOLEAN, "true", "invalid_parameter", "must be a string"},
        {"completeDate", OBS_JSON_STRING, "2025-06-31", "invalid_parameter",
         "completeDate \"2025-06-31\" is not a date (YYYY-MM-DD), true or false"},
        {"completeDate", OBS_JSON_STRING, "yesterday", "invalid_parameter", "not a date"},
        {"attributeOptionCombo", OBS_JSON_STRING, "Xy1234567ab", "unsupported_parameter",
         "attributeOptionCombo \"Xy1234567ab\" is not supported"},
        {"attributeOptionCombo", OBS_JSON_OBJECT, "", "invalid_parameter",
         "attributeOptionCombo must be a string, not an object"},
        {"attributeCategoryOptions", OBS_JSON_ARRAY, "", "unsupported_parameter", "an array"},
        {"deletion", OBS_JSON_OBJECT, "", "unsupported_parameter", "importStrategy=DELETE"},
        /* not of the member's type */
        {"dryRun", OBS_JSON_STRING, "true", "invalid_parameter",
         "dryRun must be a boolean (true or false), not a string"},
        {"dryRun", OBS_JSON_NUMBER, "1", "invalid_parameter", "not a number"},
        {"dryRun", OBS_JSON_ARRAY, "", "invalid_parameter", "not an array"},
        {"idScheme", OBS_JSON_NUMBER, "5", "invalid_parameter", "must be a string, not a number"},
        {"strategy", OBS_JSON_BOOLEAN, "true", "invalid_parameter", "must be a string"},
        /* a hostile value is quoted printable */
        {"idScheme", OBS_JSON_STRING, "\"C\\\xc3\xa9", "unsupported_parameter", "\"?C???\""},
        /* a name the table does not know (the parser never collects one) */
        {"async", OBS_JSON_BOOLEAN, "true", "unknown_parameter", "async"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct obs_set_option set[2] = {member("idScheme", OBS_JSON_STRING, "CODE"),
                                        member(cases[i].name, cases[i].type, cases[i].value)};
        struct dhis2_options options = {0};
        struct dhis2_refusal why;
        cr_expect(!dhis2_options_read_set(set, 2, &options, &why), "%s %s passed", cases[i].name,
                  cases[i].value);
        cr_expect_str_eq(why.parameter, cases[i].name);
        cr_expect_str_eq(why.code, cases[i].code, "%s %s", cases[i].name, cases[i].value);
        cr_expect_not_null(strstr(why.message, cases[i].in_message), "%s", why.message);
        cr_expect_not_null(strstr(why.message, "the data value set's"), "%s", why.message);
    }
}

/* dataSet (query or set: the set's wins), dataSetIdScheme and the set's completeDate are
 * honoured: the ingest service resolves the data set against the programme. */
Test(dhis2_options, data_set_and_complete_date)
{
    const struct dhis2_query_param query[] = {{"dataSet", "pBOMPrpg1QX"},
                                              {"dataSetIdScheme", "code"}};
    struct dhis2_options options;
    struct dhis2_refusal why;
    cr_assert(dhis2_options_read_query(query, 2, NULL, &options, &why), "%s", why.message);
    cr_expect_str_eq(options.data_set, "pBOMPrpg1QX");
    cr_expect_eq(dhis2_options_data_set_scheme(&options), DHIS2_SCHEME_CODE);
    struct obs_set_option set[] = {member("dataSet", OBS_JSON_STRING, "ICP_MONTHLY"),
                                   member("completeDate", OBS_JSON_BOOLEAN, "true"),
                                   member("idScheme", OBS_JSON_STRING, "UID")};
    cr_assert(dhis2_options_read_set(set, 3, &options, &why), "%s", why.message);
    cr_expect_str_eq(options.data_set, "ICP_MONTHLY");
    cr_expect_str_eq(options.complete_date, "true");
    cr_expect_eq(dhis2_options_data_set_scheme(&options), DHIS2_SCHEME_CODE); /* its own wins */
    static const struct {
        const char *value;
        bool valid;
    } dates[] = {{"2025-06-30", true},       {"TRUE", true},       {"false", true},
                 {"2025-02-29", false},      {"2025-6-30", false}, {"", false},
                 {"2025-06-30T00:00", false}};
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++)
        cr_expect_eq(dhis2_complete_date_valid(dates[i].value), dates[i].valid, "%s",
                     dates[i].value);
}
