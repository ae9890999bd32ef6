/* DHIS2's data value import options, one table for the query parameters and the members of
 * the data value set: for each, where DHIS2 reads it, the values scaleupd honours (because it
 * already behaves so) and, for the others, what it does instead. Names are DHIS2's
 * (ImportOptions, IdSchemes and DataValueSet of dhis2-core, and the import parameters of its
 * Web API documentation); values compare case-insensitively, as DHIS2 binds parameters. */
#include "scaleupd/core/dhis2_options.h"

#include "scaleupd/core/period.h"
#include "scaleupd/core/utf8.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum param_kind {
    PARAM_BOOL,  /* true or false (or 1 / 0 in the query; a JSON boolean in the set) */
    PARAM_WORDS, /* one of a list of words (a JSON string in the set) */
    PARAM_TEXT,  /* any text its check takes (a JSON string, or a boolean, in the set) */
};

#define HONOUR_FALSE 1u
#define HONOUR_TRUE 2u

/* Where DHIS2 reads an option: a query parameter, a member of the data value set, or both. */
#define IN_QUERY 1u
#define IN_SET 2u
#define IN_BOTH (IN_QUERY | IN_SET)

struct param {
    const char *name;
    unsigned where; /* IN_QUERY | IN_SET */
    enum param_kind kind;
    unsigned bools;                   /* PARAM_BOOL: HONOUR_FALSE | HONOUR_TRUE */
    const char *const *words;         /* PARAM_WORDS: the honoured values, NULL-terminated */
    const char *instead;              /* what scaleupd does, for a value it does not honour */
    bool (*check)(const char *value); /* PARAM_TEXT: whether value is one (NULL: any) */
};

/* ImportStrategy's names, the old ones (NEW_AND_UPDATES, NEW, UPDATES, DELETES) included */
static const char *const STRATEGIES[] = {
    "CREATE_AND_UPDATE", "NEW_AND_UPDATES", "CREATE",  "NEW", "UPDATE",
    "UPDATES",           "DELETE",          "DELETES", NULL};
static const char *const ID_SCHEMES[] = {"UID", "CODE", NULL};
static const char *const UID_SCHEME[] = {"UID", NULL};
static const char *const NOTHING[] = {NULL};
static const char *const FORMATS[] = {"json", "csv", "adx", NULL};
/* the default attribute option combination, the only one scaleupd maps */
static const char *const DEFAULT_COMBO[] = {"HllvX50cXC0", "default", NULL};

#define BOOL_PARAM(name, where, honoured, instead)                                                 \
    {                                                                                              \
        name, where, PARAM_BOOL, honoured, NULL, instead, NULL                                     \
    }
#define WORDS_PARAM(name, where, words, instead)                                                   \
    {                                                                                              \
        name, where, PARAM_WORDS, 0, words, instead, NULL                                          \
    }
#define TEXT_PARAM(name, where, check, instead)                                                    \
    {                                                                                              \
        name, where, PARAM_TEXT, 0, NULL, instead, check                                           \
    }

/* completeDate as DHIS2 reads it (getCompletionDate): "true" (today), "false" (none), or a
 * date YYYY-MM-DD (a future one is today). */
bool dhis2_complete_date_valid(const char *value)
{
    if (strcasecmp(value, "true") == 0 || strcasecmp(value, "false") == 0)
        return true;
    int32_t day;
    return strlen(value) == 10 && date_parse(value, 10, &day);
}

static const char STRICT_INSTEAD[] =
    "scaleupd checks only that the indicator and the site are the programme's";
static const char COMBO_INSTEAD[] =
    "category options and attribute option combinations are not mapped";
static const char CODE_INSTEAD[] =
    "data elements and organisation units are named by UID (the programme's dhis2 identifiers) "
    "or by the programme's indicator and site codes";
static const char UID_INSTEAD[] = "option combinations are named by UID";
static const char DATA_SET_INSTEAD[] = "data sets are named by the UID or the code the programme "
                                       "declares (\"dhis2\": {\"dataSets\"})";
static const char NEVER_DELETED[] = "values are deleted by importStrategy=DELETE or a data value's "
                                    "\"deleted\": true";

/* The query's are ImportOptions and IdSchemes; the set's are the members that DataValueSet
 * (and DataEntryInput.fromJson) read besides dataValues, period and orgUnit, where a given
 * member wins over the query parameter. A member DHIS2 does not read is not listed: DHIS2
 * ignores it (its JSON reader does not fail on unknown properties), and so do we. */
static const struct param PARAMS[] = {
    BOOL_PARAM("dryRun", IN_BOTH, HONOUR_FALSE | HONOUR_TRUE, ""),
    BOOL_PARAM("preheatCache", IN_QUERY, HONOUR_FALSE | HONOUR_TRUE, ""),
    BOOL_PARAM("async", IN_QUERY, HONOUR_FALSE | HONOUR_TRUE, ""),
    BOOL_PARAM("skipExistingCheck", IN_QUERY, HONOUR_FALSE,
               "every value is compared with the stored one"),
    BOOL_PARAM("skipAudit", IN_QUERY, HONOUR_FALSE, "every replaced value is kept as a revision"),
    BOOL_PARAM("force", IN_QUERY, HONOUR_FALSE, "no rule of the import can be overridden"),
    BOOL_PARAM("skipNotifications", IN_QUERY, HONOUR_FALSE,
               "an import is always evaluated for alerts"),
    BOOL_PARAM("firstRowIsHeader", IN_QUERY, HONOUR_FALSE | HONOUR_TRUE, ""),
    BOOL_PARAM("strictPeriods", IN_QUERY, HONOUR_TRUE,
               "a period of another type than the indicator's is always rejected"),
    BOOL_PARAM("strictDataElements", IN_QUERY, HONOUR_FALSE, STRICT_INSTEAD),
    BOOL_PARAM("strictOrganisationUnits", IN_QUERY, HONOUR_FALSE, STRICT_INSTEAD),
    BOOL_PARAM("strictCategoryOptionCombos", IN_QUERY, HONOUR_FALSE, COMBO_INSTEAD),
    BOOL_PARAM("strictAttributeOptionCombos", IN_QUERY, HONOUR_FALSE, COMBO_INSTEAD),
    BOOL_PARAM("requireCategoryOptionCombo", IN_QUERY, HONOUR_FALSE, COMBO_INSTEAD),
    BOOL_PARAM("requireAttributeOptionCombo", IN_QUERY, HONOUR_FALSE, COMBO_INSTEAD),
    BOOL_PARAM("strictDataSetApproval", IN_QUERY, HONOUR_FALSE, "scaleupd has no data approval"),
    BOOL_PARAM("strictDataSetLocking", IN_QUERY, HONOUR_FALSE, "scaleupd has no data set locking"),
    BOOL_PARAM("strictDataSetInputPeriods", IN_QUERY, HONOUR_FALSE,
               "scaleupd has no data input periods"),
    WORDS_PARAM("importStrategy", IN_QUERY, STRATEGIES, "not one of DHIS2's import strategies"),
    WORDS_PARAM("strategy", IN_BOTH, STRATEGIES, "not one of DHIS2's import strategies"),
    WORDS_PARAM("idScheme", IN_BOTH, ID_SCHEMES, CODE_INSTEAD),
    WORDS_PARAM("dataElementIdScheme", IN_BOTH, ID_SCHEMES, CODE_INSTEAD),
    WORDS_PARAM("orgUnitIdScheme", IN_BOTH, ID_SCHEMES, CODE_INSTEAD),
    WORDS_PARAM("categoryOptionComboIdScheme", IN_BOTH, UID_SCHEME, UID_INSTEAD),
    WORDS_PARAM("attributeOptionComboIdScheme", IN_BOTH, UID_SCHEME, UID_INSTEAD),
    WORDS_PARAM("categoryOptionIdScheme", IN_BOTH, NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("categoryIdScheme", IN_BOTH, NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("dataSetIdScheme", IN_BOTH, ID_SCHEMES, DATA_SET_INSTEAD),
    TEXT_PARAM("dataSet", IN_BOTH, NULL, ""),
    WORDS_PARAM("format", IN_QUERY, FORMATS, "the body is JSON, CSV or ADX (its Content-Type)"),
    /* set-level properties that only the set carries */
    TEXT_PARAM("completeDate", IN_SET, dhis2_complete_date_valid, ""),
    WORDS_PARAM("attributeOptionCombo", IN_SET, DEFAULT_COMBO, COMBO_INSTEAD),
    WORDS_PARAM("attributeCategoryOptions", IN_SET, NOTHING, COMBO_INSTEAD),
    WORDS_PARAM("deletion", IN_SET, NOTHING, NEVER_DELETED),
};

#define N_PARAMS (sizeof(PARAMS) / sizeof(PARAMS[0]))

/* Names the refused option and the code; the caller writes the message. */
static void refuse(struct dhis2_refusal *why, const char *name, const char *code)
{
    text_printable(name, why->parameter, sizeof(why->parameter));
    snprintf(why->code, sizeof(why->code), "%s", code);
}

/* Writes "A, B" (the honoured values of p) into buf. */
static const char *honoured_values(const struct param *p, char *buf, size_t size)
{
    if (p->kind == PARAM_BOOL)
        return p->bools == HONOUR_FALSE  ? "false"
               : p->bools == HONOUR_TRUE ? "true"
                                         : "true, false";
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

/* Whether value is one that p honours (*is_true: a boolean's value); false with *why filled
 * when it is not. subject names the option and its value in the message ("idScheme=UID"). */
static bool value_honoured(const struct param *p, const char *value, const char *subject,
                           bool *is_true, struct dhis2_refusal *why)
{
    if (p->kind == PARAM_TEXT && !utf8_valid(value)) {
        /* %FF: free text (dataSet) names nothing, and the database refuses such text; a word
           or a boolean is compared with its list and refused as unsupported below */
        refuse(why, p->name, "invalid_encoding");
        snprintf(why->message, sizeof(why->message), "%s is not UTF-8 text", p->name);
        return false;
    }
    if (p->kind == PARAM_BOOL) {
        *is_true = strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0;
        if (!*is_true && strcasecmp(value, "false") != 0 && strcmp(value, "0") != 0) {
            refuse(why, p->name, "invalid_parameter");
            snprintf(why->message, sizeof(why->message), "%s is not a boolean (true or false)",
                     subject);
            return false;
        }
        if (p->bools & (*is_true ? HONOUR_TRUE : HONOUR_FALSE))
            return true;
    } else if (p->kind == PARAM_TEXT) {
        if (p->check == NULL || p->check(value))
            return true;
        refuse(why, p->name, "invalid_parameter");
        snprintf(why->message, sizeof(why->message), "%s is not a date (YYYY-MM-DD), true or false",
                 subject);
        return false;
    } else {
        for (size_t i = 0; p->words[i] != NULL; i++)
            if (strcasecmp(value, p->words[i]) == 0)
                return true;
    }
    char list[160];
    refuse(why, p->name, "unsupported_parameter");
    if (p->kind == PARAM_WORDS && p->words[0] == NULL)
        snprintf(why->message, sizeof(why->message), "%s is not supported: %s", subject,
                 p->instead);
    else
        snprintf(why->message, sizeof(why->message), "%s is not supported: %s (honoured: %s)",
                 subject, p->instead, honoured_values(p, list, sizeof(list)));
    return false;
}

static enum dhis2_id_scheme scheme_of(const char *value)
{
    return strcasecmp(value, "UID") == 0 ? DHIS2_SCHEME_UID : DHIS2_SCHEME_CODE;
}

static enum dhis2_strategy strategy_of(const char *value)
{
    if (strncasecmp(value, "DELETE", 6) == 0)
        return DHIS2_STRATEGY_DELETE;
    if (strcasecmp(value, "CREATE") == 0 || strcasecmp(value, "NEW") == 0)
        return DHIS2_STRATEGY_CREATE;
    if (strcasecmp(value, "UPDATE") == 0 || strcasecmp(value, "UPDATES") == 0)
        return DHIS2_STRATEGY_UPDATE;
    return DHIS2_STRATEGY_CREATE_AND_UPDATE;
}

/* Keeps what an honoured value of p asks in *out (a later call, the set's, wins). */
static void apply_value(const struct param *p, const char *value, bool is_true,
                        struct dhis2_options *out)
{
    if (strcmp(p->name, "dryRun") == 0)
        out->dry_run = is_true, out->dry_run_given = true;
    else if (strcmp(p->name, "firstRowIsHeader") == 0)
        out->first_row_is_header_off = !is_true;
    else if (strcmp(p->name, "async") == 0)
        out->async = is_true;
    else if (strcmp(p->name, "idScheme") == 0)
        out->id_scheme = scheme_of(value);
    else if (strcmp(p->name, "dataElementIdScheme") == 0)
        out->data_element_scheme = scheme_of(value);
    else if (strcmp(p->name, "orgUnitIdScheme") == 0)
        out->org_unit_scheme = scheme_of(value);
    else if (strcmp(p->name, "importStrategy") == 0 || strcmp(p->name, "strategy") == 0)
        out->strategy = strategy_of(value);
    else if (strcmp(p->name, "dataSetIdScheme") == 0)
        out->data_set_scheme = scheme_of(value);
    else if (strcmp(p->name, "dataSet") == 0)
        snprintf(out->data_set, sizeof(out->data_set), "%s", value);
    else if (strcmp(p->name, "completeDate") == 0)
        snprintf(out->complete_date, sizeof(out->complete_date), "%s", value);
}

enum dhis2_id_scheme dhis2_options_data_element_scheme(const struct dhis2_options *options)
{
    return options->data_element_scheme != DHIS2_SCHEME_DEFAULT ? options->data_element_scheme
                                                                : options->id_scheme;
}

enum dhis2_id_scheme dhis2_options_data_set_scheme(const struct dhis2_options *options)
{
    return options->data_set_scheme != DHIS2_SCHEME_DEFAULT ? options->data_set_scheme
                                                            : options->id_scheme;
}

enum dhis2_id_scheme dhis2_options_org_unit_scheme(const struct dhis2_options *options)
{
    return options->org_unit_scheme != DHIS2_SCHEME_DEFAULT ? options->org_unit_scheme
                                                            : options->id_scheme;
}

static const struct param *find_param(const char *name, unsigned where)
{
    for (size_t i = 0; i < N_PARAMS; i++)
        if ((PARAMS[i].where & where) && strcmp(PARAMS[i].name, name) == 0)
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

/* The checks of one query parameter, query[i], against the ones before it. */
static bool read_query_param(const struct dhis2_query_param *query, size_t i,
                             const char *const *ours, struct dhis2_options *out,
                             struct dhis2_refusal *why)
{
    const char *name = query[i].name;
    const struct param *p = find_param(name, IN_QUERY);
    if (p == NULL && !listed(ours, name)) {
        refuse(why, name, "unknown_parameter");
        snprintf(why->message, sizeof(why->message),
                 "%s is not an import parameter that scaleupd knows", why->parameter);
        return false;
    }
    for (size_t j = 0; j < i; j++)
        if (strcmp(query[j].name, name) == 0) {
            refuse(why, name, "duplicate_parameter");
            snprintf(why->message, sizeof(why->message), "%s is given more than once",
                     why->parameter);
            return false;
        }
    if (p == NULL)
        return true;
    char shown[65], subject[160];
    snprintf(subject, sizeof(subject), "%s=%s", p->name,
             text_printable(query[i].value, shown, sizeof(shown)));
    bool is_true = false;
    if (!value_honoured(p, query[i].value, subject, &is_true, why))
        return false;
    apply_value(p, query[i].value, is_true, out);
    return true;
}

bool dhis2_options_read_query(const struct dhis2_query_param *query, size_t n,
                              const char *const *ours, struct dhis2_options *out,
                              struct dhis2_refusal *why)
{
    memset(out, 0, sizeof(*out));
    /* every name is known before the next one is looked at, so the repeat check compares
     * against at most the table's size of earlier names */
    for (size_t i = 0; i < n; i++)
        if (!read_query_param(query, i, ours, out, why))
            return false;
    return true;
}

size_t dhis2_options_set_members(const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < N_PARAMS && n < max; i++)
        if (PARAMS[i].where & IN_SET)
            names[n++] = PARAMS[i].name;
    return n;
}

static const char *json_type_name(enum obs_json_type type)
{
    switch (type) {
    case OBS_JSON_STRING:
        return "a string";
    case OBS_JSON_BOOLEAN:
        return "a boolean";
    case OBS_JSON_NUMBER:
        return "a number";
    case OBS_JSON_ARRAY:
        return "an array";
    case OBS_JSON_OBJECT:
        return "an object";
    }
    return "a value";
}

/* The type p takes in the set: a boolean, a string, or anything when no value is honoured. */
static bool set_type_fits(const struct param *p, enum obs_json_type type)
{
    if (p->kind == PARAM_BOOL)
        return type == OBS_JSON_BOOLEAN;
    if (p->kind == PARAM_TEXT) /* completeDate: Jackson reads a boolean as its text */
        return type == OBS_JSON_STRING || (p->check != NULL && type == OBS_JSON_BOOLEAN);
    return p->words[0] == NULL || type == OBS_JSON_STRING;
}

/* The checks of one member of the set. */
static bool read_set_member(const struct obs_set_option *m, struct dhis2_options *options,
                            struct dhis2_refusal *why)
{
    const struct param *p = find_param(m->name, IN_SET);
    if (p == NULL) { /* obs_parse_dhis2 collects only the names of dhis2_options_set_members */
        refuse(why, m->name, "unknown_parameter");
        snprintf(why->message, sizeof(why->message),
                 "the data value set's %s is not an import option that scaleupd knows",
                 why->parameter);
        return false;
    }
    if (!set_type_fits(p, m->type)) {
        refuse(why, p->name, "invalid_parameter");
        snprintf(why->message, sizeof(why->message), "the data value set's %s must be %s, not %s",
                 p->name,
                 p->kind == PARAM_BOOL ? "a boolean (true or false)"
                 : p->check != NULL    ? "a string or a boolean"
                                       : "a string",
                 json_type_name(m->type));
        return false;
    }
    char shown[OBS_SET_OPTION_VALUE_MAX + 1], subject[200];
    if (m->type == OBS_JSON_ARRAY || m->type == OBS_JSON_OBJECT)
        snprintf(subject, sizeof(subject), "the data value set's %s (%s)", p->name,
                 json_type_name(m->type));
    else
        snprintf(subject, sizeof(subject),
                 m->type == OBS_JSON_STRING ? "the data value set's %s \"%s\""
                                            : "the data value set's %s %s",
                 p->name, text_printable(m->value, shown, sizeof(shown)));
    bool is_true = false;
    if (!value_honoured(p, m->value, subject, &is_true, why))
        return false;
    apply_value(p, m->value, is_true, options); /* the set's wins over the query's, as in DHIS2 */
    return true;
}

bool dhis2_options_read_set(const struct obs_set_option *set, size_t n,
                            struct dhis2_options *options, struct dhis2_refusal *why)
{
    for (size_t i = 0; i < n; i++)
        if (!read_set_member(&set[i], options, why))
            return false;
    return true;
}
