/*
 * DHIS2's import parameters (edge/dhis2_params.c): the values scaleupd honours pass (dryRun
 * sets a dry run), every other value, an unknown parameter, a repeat and a value that is not
 * of its type are refused naming the parameter; our own parameters of the route pass.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "scaleupd/edge/dhis2_params.h"

static const char *const OURS[] = {"programme", "dry_run", "atomic", NULL};

/* Reads "k=v&k=v" (no escapes) through dhis2_params_read. */
static bool read_query(const char *text, struct dhis2_params *out, struct dhis2_refusal *why)
{
    static char copy[512];
    static struct request_kv kvs[16];
    size_t n = 0;
    snprintf(copy, sizeof(copy), "%s", text);
    for (char *p = copy; *p != '\0' && n < 16;) {
        char *amp = strchr(p, '&'), *eq;
        if (amp != NULL)
            *amp = '\0';
        eq = strchr(p, '=');
        cr_assert_not_null(eq, "%s", text);
        *eq = '\0';
        kvs[n].key = p, kvs[n].value = eq + 1;
        n++;
        p = amp ? amp + 1 : p + strlen(p);
    }
    memset(why, 0, sizeof(*why));
    return dhis2_params_read(kvs, n, OURS, out, why);
}

Test(dhis2_params, honoured)
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
        struct dhis2_params p;
        struct dhis2_refusal why;
        cr_expect(read_query(queries[i], &p, &why), "%s: %s %s", queries[i], why.parameter,
                  why.message);
        cr_expect(!p.dry_run, "%s", queries[i]);
    }
}

Test(dhis2_params, dry_run)
{
    struct dhis2_params p;
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

Test(dhis2_params, refused)
{
    static const struct refused_case cases[] = {
        {"importStrategy=DELETE", "importStrategy", "unsupported_parameter", "DELETE"},
        {"importStrategy=CREATE", "importStrategy", "unsupported_parameter", "CREATE_AND_UPDATE"},
        {"importStrategy=UPDATE", "importStrategy", "unsupported_parameter", "not supported"},
        {"strategy=DELETE", "strategy", "unsupported_parameter", "never deleted"},
        {"idScheme=UID", "idScheme", "unsupported_parameter", "honoured: CODE"},
        {"idScheme=NAME", "idScheme", "unsupported_parameter", "idScheme=NAME"},
        {"dataElementIdScheme=uid", "dataElementIdScheme", "unsupported_parameter", "CODE"},
        {"orgUnitIdScheme=ATTRIBUTE:abc", "orgUnitIdScheme", "unsupported_parameter", "CODE"},
        {"categoryOptionComboIdScheme=CODE", "categoryOptionComboIdScheme", "unsupported_parameter",
         "not mapped"},
        {"dataSet=pBOMPrpg1QX", "dataSet", "unsupported_parameter", "not mapped"},
        {"async=true", "async", "unsupported_parameter", "async=true"},
        {"skipAudit=true", "skipAudit", "unsupported_parameter", "revision"},
        {"skipExistingCheck=true", "skipExistingCheck", "unsupported_parameter", "compared"},
        {"force=true", "force", "unsupported_parameter", "force=true"},
        {"strictPeriods=false", "strictPeriods", "unsupported_parameter", "honoured: true"},
        {"strictOrganisationUnits=true", "strictOrganisationUnits", "unsupported_parameter",
         "honoured: false"},
        {"requireCategoryOptionCombo=true", "requireCategoryOptionCombo", "unsupported_parameter",
         "not mapped"},
        {"format=csv", "format", "unsupported_parameter", "JSON"},
        {"dryRun=maybe", "dryRun", "invalid_parameter", "not a boolean"},
        {"dryRun=", "dryRun", "invalid_parameter", "not a boolean"},
        {"dryRun=yes", "dryRun", "invalid_parameter", "not a boolean"},
        {"dryrun=true", "dryrun", "unknown_parameter", "dryrun is not"},
        {"mergeMode=MERGE", "mergeMode", "unknown_parameter", "not an import parameter"},
        {"colour=red", "colour", "unknown_parameter", "colour"},
        {"dryRun=true&dryRun=false", "dryRun", "duplicate_parameter", "more than once"},
        {"programme=a&programme=b", "programme", "duplicate_parameter", "more than once"},
        /* the first refused parameter is named */
        {"dryRun=true&idScheme=UID&async=true", "idScheme", "unsupported_parameter", "UID"},
        /* a hostile name or value is quoted printable */
        {"a\"b=1", "a?b", "unknown_parameter", "a?b is not"},
        {"importStrategy=D\xc3\xa9LETE", "importStrategy", "unsupported_parameter", "D??LETE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dhis2_params p;
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
