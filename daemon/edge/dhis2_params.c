/* DHIS2's data value import parameters, one table: for each, the values scaleupd honours
 * (because it already behaves so) and, for the others, what it does instead. Names are
 * DHIS2's (ImportOptions and IdSchemes of dhis2-core, and the import parameters of its Web API
 * documentation); values compare as DHIS2 binds them, case-insensitively. */
#include "scaleupd/edge/dhis2_params.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scaleupd/edge/router.h"

enum param_kind {
    PARAM_BOOL,  /* true or false (or 1 / 0) */
    PARAM_WORDS, /* one of a list of words */
};

#define HONOUR_FALSE 1u
#define HONOUR_TRUE 2u

struct param {
    const char *name;
    enum param_kind kind;
    unsigned bools;           /* PARAM_BOOL: HONOUR_FALSE | HONOUR_TRUE */
    const char *const *words; /* PARAM_WORDS: the honoured values, NULL-terminated */
    const char *instead;      /* what scaleupd does, for a value it does not honour */
};

static const char *const STRATEGIES[] = {"CREATE_AND_UPDATE", "NEW_AND_UPDATES", NULL};
static const char *const CODE_SCHEME[] = {"CODE", NULL};
static const char *const NOTHING[] = {NULL};
static const char *const JSON_FORMAT[] = {"json", NULL};

#define BOOL_PARAM(name, honoured, instead)                                                        \
    {                                                                                              \
        name, PARAM_BOOL, honoured, NULL, instead                                                  \
    }
#define WORDS_PARAM(name, words, instead)                                                          \
    {                                                                                              \
        name, PARAM_WORDS, 0, words, instead                                                       \
    }

static const char STRICT_INSTEAD[] =
    "scaleupd checks only that the indicator and the site are the programme's";
static const char COMBO_INSTEAD[] =
    "category option combinations, attribute option combinations and data sets are not mapped";
static const char CODE_INSTEAD[] =
    "data elements are the programme's indicator codes and organisation units its site codes";

static const struct param PARAMS[] = {
    BOOL_PARAM("dryRun", HONOUR_FALSE | HONOUR_TRUE, ""),
    BOOL_PARAM("preheatCache", HONOUR_FALSE | HONOUR_TRUE, ""),
    BOOL_PARAM("async", HONOUR_FALSE, "the import runs while the request waits"),
    BOOL_PARAM("skipExistingCheck", HONOUR_FALSE, "every value is compared with the stored one"),
    BOOL_PARAM("skipAudit", HONOUR_FALSE, "every replaced value is kept as a revision"),
    BOOL_PARAM("force", HONOUR_FALSE, "no rule of the import can be overridden"),
    BOOL_PARAM("skipNotifications", HONOUR_FALSE, "an import is always evaluated for alerts"),
    BOOL_PARAM("firstRowIsHeader", HONOUR_TRUE, "this route takes JSON only"),
    BOOL_PARAM("strictPeriods", HONOUR_TRUE,
               "a period of another type than the indicator's is always rejected"),
    BOOL_PARAM("strictDataElements", HONOUR_FALSE, STRICT_INSTEAD),
    BOOL_PARAM("strictOrganisationUnits", HONOUR_FALSE, STRICT_INSTEAD),
    BOOL_PARAM("strictCategoryOptionCombos", HONOUR_FALSE, COMBO_INSTEAD),
    BOOL_PARAM("strictAttributeOptionCombos", HONOUR_FALSE, COMBO_INSTEAD),
    BOOL_PARAM("requireCategoryOptionCombo", HONOUR_FALSE, COMBO_INSTEAD),
    BOOL_PARAM("requireAttributeOptionCombo", HONOUR_FALSE, COMBO_INSTEAD),
    BOOL_PARAM("strictDataSetApproval", HONOUR_FALSE, "scaleupd has no data approval"),
    BOOL_PARAM("strictDataSetLocking", HONOUR_FALSE, "scaleupd has no data set locking"),
    BOOL_PARAM("strictDataSetInputPeriods", HONOUR_FALSE, "scaleupd has no data input periods"),
    WORDS_PARAM("importStrategy", STRATEGIES, "a value is created or updated, never deleted"),
    WORDS_PARAM("strategy", STRATEGIES, "a value is created or updated, never deleted"),
    WORDS_PARAM("idScheme", CODE_SCHEME, CODE_INSTEAD),
    WORDS_PARAM("dataElementIdScheme", CODE_SCHEME, CODE_INSTEAD),
    WORDS_PARAM("orgUnitIdScheme", CODE_SCHEME, CODE_INSTEAD),
    WORDS_PARAM("categoryOptionComboIdScheme", NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("attributeOptionComboIdScheme", NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("categoryOptionIdScheme", NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("categoryIdScheme", NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("dataSetIdScheme", NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("dataSet", NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("format", JSON_FORMAT, "this route takes JSON only"),
};

#define N_PARAMS (sizeof(PARAMS) / sizeof(PARAMS[0]))

/* Names the refused parameter and the code; the caller writes the message. */
static void refuse(struct dhis2_refusal *why, const char *name, const char *code)
{
    router_printable(name, why->parameter, sizeof(why->parameter));
    snprintf(why->code, sizeof(why->code), "%s", code);
}

/* Writes "A, B" (the honoured values of p) into buf. */
static const char *honoured_values(const struct param *p, char *buf, size_t size)
{
    if (p->kind == PARAM_BOOL)
        return p->bools == HONOUR_FALSE ? "false" : "true";
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; p->words[i] != NULL; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", p->words[i]);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* Whether the value is one p honours; false with *why filled when it is not. */
static bool value_honoured(const struct param *p, const char *value, bool *is_true,
                           struct dhis2_refusal *why)
{
    char shown[65];
    router_printable(value, shown, sizeof(shown));
    if (p->kind == PARAM_BOOL) {
        *is_true = strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0;
        if (!*is_true && strcasecmp(value, "false") != 0 && strcmp(value, "0") != 0) {
            refuse(why, p->name, "invalid_parameter");
            snprintf(why->message, sizeof(why->message), "%s=%s is not a boolean (true or false)",
                     p->name, shown);
            return false;
        }
        if (p->bools & (*is_true ? HONOUR_TRUE : HONOUR_FALSE))
            return true;
    } else {
        for (size_t i = 0; p->words[i] != NULL; i++)
            if (strcasecmp(value, p->words[i]) == 0)
                return true;
    }
    char list[160];
    refuse(why, p->name, "unsupported_parameter");
    if (p->kind == PARAM_WORDS && p->words[0] == NULL)
        snprintf(why->message, sizeof(why->message), "%s=%s is not supported: %s", p->name, shown,
                 p->instead);
    else
        snprintf(why->message, sizeof(why->message), "%s=%s is not supported: %s (honoured: %s)",
                 p->name, shown, p->instead, honoured_values(p, list, sizeof(list)));
    return false;
}

static const struct param *find_param(const char *name)
{
    for (size_t i = 0; i < N_PARAMS; i++)
        if (strcmp(PARAMS[i].name, name) == 0)
            return &PARAMS[i];
    return NULL;
}

static bool listed(const char *const *names, const char *name)
{
    for (size_t i = 0; names != NULL && names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

bool dhis2_params_read(const struct request_kv *query, size_t n, const char *const *ours,
                       struct dhis2_params *out, struct dhis2_refusal *why)
{
    memset(out, 0, sizeof(*out));
    /* every name is known before the next one is looked at, so the repeat check compares
     * against at most the table's size of earlier names */
    for (size_t i = 0; i < n; i++) {
        const char *name = query[i].key;
        const struct param *p = find_param(name);
        if (p == NULL && !listed(ours, name)) {
            refuse(why, name, "unknown_parameter");
            snprintf(why->message, sizeof(why->message),
                     "%s is not an import parameter that scaleupd knows", why->parameter);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(query[j].key, name) == 0) {
                refuse(why, name, "duplicate_parameter");
                snprintf(why->message, sizeof(why->message), "%s is given more than once",
                         why->parameter);
                return false;
            }
        bool is_true = false;
        if (p != NULL && !value_honoured(p, query[i].value, &is_true, why))
            return false;
        if (p != NULL && strcmp(p->name, "dryRun") == 0)
            out->dry_run = is_true, out->dry_run_given = true;
    }
    return true;
}
