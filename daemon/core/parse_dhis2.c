/*
 * DHIS2 dataValueSets JSON: the set's own period and orgUnit are the defaults of its data
 * values, which are read by the JSON row reader (parse_json.c) with DHIS2's field names; the
 * set's import options (dryRun, strategy, idScheme, ...) are collected into the batch for the
 * ingest service to honour or refuse (dhis2_options.h).
 */
#include "scaleupd/core/dhis2_options.h"

#include "parse_json_doc.h"
#include "parse_scalar.h"

enum { KEY_DATA_VALUES, KEY_PERIOD, KEY_ORG_UNIT, KEY_OPTIONS }; /* the options follow */

/* The members looked up in the set: ours, then dhis2_options_set_members. */
static int set_keys(struct field_key keys[KEY_OPTIONS + OBS_SET_OPTIONS_MAX])
{
    static const struct field_key ours[KEY_OPTIONS] = {FIELD_KEY("dataValues"), FIELD_KEY("period"),
                                                       FIELD_KEY("orgUnit")};
    const char *names[OBS_SET_OPTIONS_MAX];
    size_t n = dhis2_options_set_members(names, OBS_SET_OPTIONS_MAX);
    for (int i = 0; i < KEY_OPTIONS; i++)
        keys[i] = ours[i];
    for (size_t i = 0; i < n; i++)
        keys[KEY_OPTIONS + i] = (struct field_key){names[i], strlen(names[i])};
    return KEY_OPTIONS + (int)n;
}

static enum obs_json_type json_type(const struct json_doc *d, int tok)
{
    switch (d->t[tok].type) {
    case JSMN_STRING:
        return OBS_JSON_STRING;
    case JSMN_ARRAY:
        return OBS_JSON_ARRAY;
    case JSMN_OBJECT:
        return OBS_JSON_OBJECT;
    default:
        break;
    }
    char first = d->body[d->t[tok].start];
    return first == 't' || first == 'f' ? OBS_JSON_BOOLEAN : OBS_JSON_NUMBER;
}

/* Keeps the member `name` whose value is token tok (not null) in the batch. */
static void collect_option(struct obs_batch *b, const struct json_doc *d, const char *name, int tok)
{
    struct obs_set_option *m = &b->set_options[b->n_set_options++];
    m->name = name;
    m->type = json_type(d, tok);
    m->value[0] = '\0';
    if (m->type == OBS_JSON_ARRAY || m->type == OBS_JSON_OBJECT)
        return;
    size_t n, len;
    const char *raw = json_doc_raw(d, tok, &n);
    if (m->type == OBS_JSON_STRING &&
        scalar_json_unescape(raw, n, true, m->value, OBS_SET_OPTION_VALUE_MAX, &len) == TEXT_OK)
        return;
    /* a boolean or number as written, or a string as a message quotes it (never honoured) */
    char shown[SHOWN_MAX];
    parse_shown(shown, raw, n);
    memcpy(m->value, shown, strlen(shown) + 1);
}

/* The text of string member tok (-1: absent, "") into dst; false when it does not fit or is
 * not a string of UTF-8 text. */
static bool group_member(const struct json_doc *d, int tok, char *dst, size_t size)
{
    size_t n, len;
    dst[0] = '\0';
    if (tok < 0 || json_doc_is_null(d, tok))
        return true;
    if (d->t[tok].type != JSMN_STRING)
        return false;
    const char *raw = json_doc_raw(d, tok, &n);
    if (scalar_json_unescape(raw, n, true, dst, size - 1, &len) != TEXT_OK) {
        dst[0] = '\0';
        return false;
    }
    dst[len] = '\0';
    return true;
}

/* The data value set as the one group of its values: its own period and orgUnit. */
static void set_group(struct obs_batch *b, const struct json_doc *d, int period, int org_unit)
{
    struct obs_dhis2_group *g = parse_group_add(b);
    bool ok = group_member(d, period, g->period, sizeof(g->period));
    ok = group_member(d, org_unit, g->org_unit, sizeof(g->org_unit)) && ok;
    g->too_long = !ok;
}

static enum obs_parse_status dhis2_data_values(struct obs_batch *b, const char *body, size_t len,
                                               struct obs_parse_error *err)
{
    struct field_key keys[KEY_OPTIONS + OBS_SET_OPTIONS_MAX];
    int vals[KEY_OPTIONS + OBS_SET_OPTIONS_MAX], bad_key;
    int n_keys = set_keys(keys);
    struct json_doc d;
    enum obs_parse_status status = json_doc_open(b, body, len, &d, err);
    if (status != OBS_PARSE_OK)
        return status;
    if (json_doc_members(&d, 0, keys, n_keys, false, vals, &bad_key) != MEMBERS_OK)
        return json_doc_duplicate_key(&d, bad_key, err);
    for (int i = KEY_OPTIONS; i < n_keys; i++)
        if (vals[i] >= 0 && !json_doc_is_null(&d, vals[i]))
            collect_option(b, &d, keys[i].text, vals[i]);
    set_group(b, &d, vals[KEY_PERIOD], vals[KEY_ORG_UNIT]);
    struct dhis2_defaults defaults = {.period = vals[KEY_PERIOD], .org_unit = vals[KEY_ORG_UNIT]};
    return parse_json_rows(b, &d, vals[KEY_DATA_VALUES], "dataValues", &defaults, err);
}

/* DHIS2's default category option combination, by UID and by code. */
static bool default_combo(const char *text)
{
    return strcmp(text, "HllvX50cXC0") == 0 || strcmp(text, "default") == 0;
}

/* A DHIS2 option combination member (tok, -1 when absent) into dst ("" when absent or null). */
static bool combo_member(const struct json_doc *d, const struct obs_row *row, const char *name,
                         int tok, char dst[OBS_CODE_MAX + 1], struct obs_reject *pr)
{
    size_t n, len;
    dst[0] = '\0';
    if (tok < 0 || json_doc_is_null(d, tok))
        return true;
    if (d->t[tok].type != JSMN_STRING)
        return parse_problem(pr, row, name, "invalid_type", "%s must be a string, not %s", name,
                             json_doc_type_name(d, tok));
    const char *raw = json_doc_raw(d, tok, &n);
    enum text_status status = scalar_json_unescape(raw, n, true, dst, OBS_CODE_MAX, &len);
    if (status == TEXT_OK)
        return true;
    char shown[SHOWN_MAX];
    return parse_problem(pr, row, name, status == TEXT_TOO_LONG ? "too_long" : "invalid_value",
                         "%s \"%s\" is not an identifier", name, parse_shown(shown, raw, n));
}

/* A boolean member (tok, -1 when absent; null is absent) into *value (*given: present). */
static bool json_flag(const struct json_doc *d, const struct obs_row *row, const char *name,
                      int tok, bool *value, bool *given, struct obs_reject *pr)
{
    *value = false;
    if (given != NULL)
        *given = false;
    if (tok < 0 || json_doc_is_null(d, tok))
        return true;
    const char *raw = d->body + d->t[tok].start;
    if (d->t[tok].type != JSMN_PRIMITIVE || (raw[0] != 't' && raw[0] != 'f'))
        return parse_problem(pr, row, name, "invalid_type", "%s must be a boolean, not %s", name,
                             json_doc_type_name(d, tok));
    *value = raw[0] == 't';
    if (given != NULL)
        *given = true;
    return true;
}

/* storedBy (tok, -1 when absent) into the row, in the batch's arena. */
static bool stored_by_member(struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                             int tok, struct obs_reject *pr)
{
    size_t n, len;
    row->stored_by = NULL;
    if (tok < 0 || json_doc_is_null(d, tok))
        return true;
    if (d->t[tok].type != JSMN_STRING)
        return parse_problem(pr, row, "storedBy", "invalid_type",
                             "storedBy must be a string, not %s", json_doc_type_name(d, tok));
    const char *raw = json_doc_raw(d, tok, &n);
    char *text = parse_arena_alloc(b, OBS_STORED_BY_MAX + 1);
    enum text_status status = scalar_json_unescape(raw, n, false, text, OBS_STORED_BY_MAX, &len);
    if (status == TEXT_TOO_LONG)
        return parse_problem(pr, row, "storedBy", "too_long", "storedBy is longer than %d bytes",
                             OBS_STORED_BY_MAX);
    if (status != TEXT_OK)
        return parse_problem(pr, row, "storedBy", "invalid_value",
                             "storedBy is not UTF-8 text without control characters");
    text[len] = '\0';
    row->stored_by = len > 0 ? text : NULL;
    return true;
}

bool parse_dhis2_row_extras(struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                            int obj, struct obs_reject *pr)
{
    enum { COC, AOC, DELETED, STORED_BY, FOLLOWUP, N_EXTRAS };
    static const struct field_key keys[N_EXTRAS] = {
        FIELD_KEY("categoryOptionCombo"), FIELD_KEY("attributeOptionCombo"), FIELD_KEY("deleted"),
        FIELD_KEY("storedBy"), FIELD_KEY("followup")};
    int vals[N_EXTRAS], after;
    char aoc[OBS_CODE_MAX + 1], shown[SHOWN_MAX];
    if (json_doc_members(d, obj, keys, N_EXTRAS, false, vals, &after) != MEMBERS_OK) {
        size_t n;
        const char *raw = json_doc_raw(d, after, &n);
        parse_shown(shown, raw, n);
        return parse_problem(pr, row, shown, "duplicate_field",
                             "field \"%s\" appears more than once", shown);
    }
    if (!combo_member(d, row, "categoryOptionCombo", vals[COC], row->category_option_combo, pr) ||
        !combo_member(d, row, "attributeOptionCombo", vals[AOC], aoc, pr))
        return false;
    if (aoc[0] != '\0' && !default_combo(aoc))
        return parse_problem(pr, row, "attributeOptionCombo", "not_mapped",
                             "attributeOptionCombo \"%s\" is not mapped: scaleupd takes the "
                             "default attribute option combination only",
                             parse_shown(shown, aoc, strlen(aoc)));
    return json_flag(d, row, "deleted", vals[DELETED], &row->deleted, NULL, pr) &&
           json_flag(d, row, "followup", vals[FOLLOWUP], &row->followup, &row->has_followup, pr) &&
           stored_by_member(b, d, row, vals[STORED_BY], pr);
}

enum obs_parse_status obs_parse_dhis2(const char *body, size_t len, struct obs_batch *batch,
                                      struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_DHIS2);
    return parse_end(batch, dhis2_data_values(batch, body, len, err));
}
