/*
 * Our JSON observations format ({"observations":[{"indicator", "site", "period", "value",
 * ...}]}) and the row reader it shares with DHIS2's data values (parse_dhis2.c): each
 * field of a row read from its token, the first problem rejecting the row.
 */
#include "parse_json_doc.h"

#include "parse_scalar.h"

/* A required string field present and a string, or a problem. */
static bool json_need_string(const struct obs_batch *b, const struct json_doc *d,
                             const struct obs_row *row, enum obs_field f, int tok,
                             struct obs_reject *pr)
{
    if (tok >= 0 && d->t[tok].type == JSMN_STRING)
        return true;
    const char *name = parse_field_name(b, f);
    if (tok < 0)
        return parse_problem(pr, row, name, "missing_field", "%s is required", name);
    return parse_problem(pr, row, name, "invalid_type", "%s must be a string, not %s", name,
                         json_doc_type_name(d, tok));
}

static bool json_code(const struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                      enum obs_field f, int tok, char *dst, struct obs_reject *pr)
{
    size_t n, len;
    if (!json_need_string(b, d, row, f, tok, pr))
        return false;
    const char *raw = json_doc_raw(d, tok, &n);
    enum text_status status = scalar_json_unescape(raw, n, true, dst, OBS_CODE_MAX, &len);
    return scalar_code_status(b, row, f, status, len, pr);
}

static bool json_period(const struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                        int tok, struct obs_reject *pr)
{
    char text[16], quoted[SHOWN_MAX];
    size_t n, len;
    if (!json_need_string(b, d, row, FIELD_PERIOD, tok, pr))
        return false;
    const char *raw = json_doc_raw(d, tok, &n);
    enum text_status status = scalar_json_unescape(raw, n, true, text, sizeof text - 1, &len);
    if (status == TEXT_TOO_LONG) {
        parse_problem(pr, row, "period", "invalid_period", "period \"%s\" is not valid: %s",
                      parse_shown(quoted, raw, n),
                      period_parse_status_message(PERIOD_PARSE_SYNTAX));
        return parse_given(pr, quoted);
    }
    if (!scalar_code_status(b, row, FIELD_PERIOD, status, len, pr))
        return false;
    return scalar_put_period(b, row, text, len, pr);
}

/* A DHIS2 value written as a string: "151". */
static bool json_text_number(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
                             const char *raw, size_t n, double *dst, struct obs_reject *pr)
{
    char text[64];
    size_t len;
    if (scalar_json_unescape(raw, n, true, text, sizeof text - 1, &len) != TEXT_OK)
        return scalar_put_number(b, row, f, raw, n, true, dst, pr); /* shows it as not a number */
    if (len == 0)
        return parse_problem(pr, row, parse_field_name(b, f), "missing_field", "%s is empty",
                             parse_field_name(b, f));
    return scalar_put_number(b, row, f, text, len, true, dst, pr);
}

/* A number; DHIS2 values may also be strings holding a number. null is absent. */
static bool json_number(const struct obs_batch *b, const struct json_doc *d,
                        const struct obs_row *row, enum obs_field f, int tok, bool *has,
                        double *dst, struct obs_reject *pr)
{
    size_t n;
    bool required = f == FIELD_VALUE;
    *has = false;
    /* null is absent: fine for numerator and denominator, missing for the value */
    if (tok < 0 || json_doc_is_null(d, tok))
        return required ? parse_problem(pr, row, parse_field_name(b, f), "missing_field",
                                        "%s is required", parse_field_name(b, f))
                        : true;
    const char *raw = json_doc_raw(d, tok, &n);
    char c = raw[0];
    *has = true;
    if (d->t[tok].type == JSMN_PRIMITIVE && c != 't' && c != 'f' && c != 'n')
        return scalar_put_number(b, row, f, raw, n, false, dst, pr);
    if (d->t[tok].type == JSMN_STRING && b->format == OBS_FORMAT_DHIS2)
        return json_text_number(b, row, f, raw, n, dst, pr);
    *has = false;
    return parse_problem(pr, row, parse_field_name(b, f), "invalid_type",
                         "%s must be a number, not %s", parse_field_name(b, f),
                         json_doc_type_name(d, tok));
}

static bool json_comment(struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                         int tok, struct obs_reject *pr)
{
    size_t n, len;
    if (tok < 0 || json_doc_is_null(d, tok))
        return true;
    if (d->t[tok].type != JSMN_STRING)
        return parse_problem(pr, row, "comment", "invalid_type", "comment must be a string, not %s",
                             json_doc_type_name(d, tok));
    const char *raw = json_doc_raw(d, tok, &n);
    size_t max = n < OBS_COMMENT_MAX ? n : OBS_COMMENT_MAX;
    char *text = parse_arena_alloc(b, max + 1); /* decoding never lengthens */
    enum text_status status = scalar_json_unescape(raw, n, false, text, max, &len);
    if (!scalar_code_status(b, row, FIELD_COMMENT, status, len, pr))
        return false;
    row->comment = len > 0 ? text : NULL;
    return true;
}

/* Whether a DHIS2 data value gives no value (tok -1: absent; null; ""): the row is a delete
 * by key, or rejected later (obs_dhis2_require_values). */
static bool dhis2_value_absent(const struct json_doc *d, int tok)
{
    size_t n;
    if (tok < 0 || json_doc_is_null(d, tok))
        return true;
    json_doc_raw(d, tok, &n);
    return d->t[tok].type == JSMN_STRING && n == 0;
}

/* Reads the row at token e; returns the index of the token after it. */
static int json_row(struct obs_batch *b, const struct json_doc *d, int e,
                    const struct dhis2_defaults *defaults)
{
    const struct field_key *keys = defaults ? dhis2_field_keys : obs_field_keys;
    struct obs_row *row = parse_row_slot(b); /* capacity reserved by the caller */
    struct obs_reject pr;
    char key[SHOWN_MAX];
    int vals[FIELD_COUNT], bad_key;
    size_t n;
    b->n_rows++;
    if (d->t[e].type != JSMN_OBJECT) {
        parse_reject(b, row, "", "invalid_type", "each %s must be an object, not %s",
                     defaults ? "data value" : "observation", json_doc_type_name(d, e));
        return json_doc_next(d, e);
    }
    enum members_result members =
        json_doc_members(d, e, keys, FIELD_COUNT, defaults == NULL, vals, &bad_key);
    if (members != MEMBERS_OK) {
        const char *raw = json_doc_raw(d, bad_key, &n);
        parse_shown(key, raw, n);
        if (members == MEMBERS_UNKNOWN)
            parse_reject(b, row, key, "unknown_field", "unknown field \"%s\"", key);
        else
            parse_reject(b, row, key, "duplicate_field", "field \"%s\" appears more than once",
                         key);
        return json_doc_next(d, e);
    }
    int next = bad_key;
    if (defaults != NULL && vals[FIELD_SITE] < 0)
        vals[FIELD_SITE] = defaults->org_unit;
    if (defaults != NULL && vals[FIELD_PERIOD] < 0)
        vals[FIELD_PERIOD] = defaults->period;
    bool has_value;
    row->value_missing = defaults != NULL && dhis2_value_absent(d, vals[FIELD_VALUE]);
    bool ok = json_code(b, d, row, FIELD_INDICATOR, vals[FIELD_INDICATOR], row->indicator, &pr) &&
              json_code(b, d, row, FIELD_SITE, vals[FIELD_SITE], row->site, &pr) &&
              json_period(b, d, row, vals[FIELD_PERIOD], &pr) &&
              (row->value_missing || json_number(b, d, row, FIELD_VALUE, vals[FIELD_VALUE],
                                                 &has_value, &row->value, &pr)) &&
              json_number(b, d, row, FIELD_NUMERATOR, vals[FIELD_NUMERATOR], &row->has_numerator,
                          &row->numerator, &pr) &&
              json_number(b, d, row, FIELD_DENOMINATOR, vals[FIELD_DENOMINATOR],
                          &row->has_denominator, &row->denominator, &pr) &&
              json_comment(b, d, row, vals[FIELD_COMMENT], &pr) &&
              (defaults == NULL || parse_dhis2_row_extras(b, d, row, e, &pr));
    if (!ok)
        parse_reject_push(b, row, &pr);
    return next;
}

/* Checks the rows array (the value of key `name`) and reserves its rows. */
static enum obs_parse_status json_rows_array(struct obs_batch *b, const struct json_doc *d,
                                             int array, const char *name,
                                             struct obs_parse_error *err)
{
    if (array < 0)
        return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "missing_field", NULL, 0,
                               "the body has no \"%s\" array", name);
    if (d->t[array].type != JSMN_ARRAY)
        return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", d->body,
                               json_doc_raw_start(&d->t[array]), "\"%s\" must be an array, not %s",
                               name, json_doc_type_name(d, array));
    if (d->t[array].size == 0)
        return parse_doc_error(err, OBS_PARSE_EMPTY, "empty_batch", NULL, 0, "\"%s\" is empty",
                               name);
    if (d->t[array].size > OBS_MAX_ROWS)
        return parse_doc_error(err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                               "\"%s\" holds %d rows, more than the %d allowed in one batch", name,
                               d->t[array].size, OBS_MAX_ROWS);
    parse_rows_reserve(b, (size_t)d->t[array].size);
    return OBS_PARSE_OK;
}

enum obs_parse_status parse_json_rows(struct obs_batch *b, const struct json_doc *d, int array,
                                      const char *name, const struct dhis2_defaults *defaults,
                                      struct obs_parse_error *err)
{
    enum obs_parse_status status = json_rows_array(b, d, array, name, err);
    if (status != OBS_PARSE_OK)
        return status;
    for (int i = 0, e = array + 1; i < d->t[array].size; i++)
        e = json_row(b, d, e, defaults);
    return OBS_PARSE_OK;
}

static enum obs_parse_status json_observations(struct obs_batch *b, const char *body, size_t len,
                                               struct obs_parse_error *err)
{
    static const struct field_key keys[] = {FIELD_KEY("observations")};
    struct json_doc d;
    int array, bad_key;
    enum obs_parse_status status = json_doc_open(b, body, len, &d, err);
    if (status != OBS_PARSE_OK)
        return status;
    if (json_doc_members(&d, 0, keys, 1, false, &array, &bad_key) != MEMBERS_OK)
        return json_doc_duplicate_key(&d, bad_key, err);
    return parse_json_rows(b, &d, array, "observations", NULL, err);
}

enum obs_parse_status obs_parse_json(const char *body, size_t len, struct obs_batch *batch,
                                     struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_JSON);
    return parse_end(batch, json_observations(batch, body, len, err));
}
