/*
 * Private to the ingest parser: a JSON body as jsmn tokens checked to be exactly JSON
 * (parse_json_doc.c), and the observation rows read from such a document, shared by our
 * JSON format and DHIS2's (parse_json.c). Included only by daemon/core/parse_*.c.
 */
#ifndef SCALEUPD_CORE_PARSE_JSON_DOC_H
#define SCALEUPD_CORE_PARSE_JSON_DOC_H

#include <stdbool.h>
#include <stddef.h>

/* Our copy of jsmn (parent links, a nesting limit, a step count); only parse_json_doc.c
 * compiles and calls its functions. */
#include "parse_jsmn.h"

#include "parse_internal.h"

/* A tokenized body; t points into the batch's reusable token array. */
struct json_doc {
    const char *body;
    size_t len;
    const jsmntok_t *t;
    int n;
    size_t *work; /* the batch's work count (obs_batch_parse_work), added to by the walks */
};

/*
 * Tokenizes len bytes of body into the batch's token array and checks that they are one
 * JSON document (NaN and Infinity literals allowed) whose root is an object. Otherwise
 * fills *err: too_large, too_deep (objects and arrays nested deeper than
 * OBS_JSON_DEPTH_MAX, with the position of the bracket that opens one too many: found
 * while tokenizing, before any walk that depends on depth), malformed_json (with its
 * position), empty_body or invalid_document.
 */
enum obs_parse_status json_doc_open(struct obs_batch *b, const char *body, size_t len,
                                    struct json_doc *d, struct obs_parse_error *err);

/* Index of the token after the value at i and everything inside it. */
int json_doc_next(const struct json_doc *d, int i);

enum members_result {
    MEMBERS_OK,
    MEMBERS_UNKNOWN,
    MEMBERS_DUPLICATE,
};

/*
 * For each keys[i], the index of its value token in object o (-1 when absent) in vals.
 * Keys may be written with escapes. Stops at a key given twice, or at a key not in keys
 * when unknown_is_error: *bad_key is then that key's token. Otherwise *bad_key is the index
 * of the token after the object.
 */
enum members_result json_doc_members(const struct json_doc *d, int o, const struct field_key *keys,
                                     int count, bool unknown_is_error, int *vals, int *bad_key);

/* "an object", "an array", "a string", "a boolean", "null" or "a number": token i's type. */
const char *json_doc_type_name(const struct json_doc *d, int i);

/* The document error for a top-level key (token key) given twice. */
enum obs_parse_status json_doc_duplicate_key(const struct json_doc *d, int key,
                                             struct obs_parse_error *err);

/* Offset of token t in the body, its opening quote included for a string. */
static inline size_t json_doc_raw_start(const jsmntok_t *t)
{
    return (size_t)t->start - (t->type == JSMN_STRING);
}

static inline bool json_doc_is_null(const struct json_doc *d, int i)
{
    return d->t[i].type == JSMN_PRIMITIVE && d->body[d->t[i].start] == 'n';
}

/* Token i's text (a string's without the quotes, undecoded); *n gets its length. */
static inline const char *json_doc_raw(const struct json_doc *d, int i, size_t *n)
{
    *n = (size_t)(d->t[i].end - d->t[i].start);
    return d->body + d->t[i].start;
}

/* The DHIS2 data value set's defaults (value tokens, -1 when absent) for values without
 * period or orgUnit. */
struct dhis2_defaults {
    int period;
    int org_unit;
};

/*
 * Reads the rows of the array at token `array` (the value of key `name`, -1 when the key
 * is absent) into the batch: our JSON observations when defaults is NULL, DHIS2 data
 * values otherwise. Fails the document (missing_field, invalid_document, empty_batch,
 * too_many_rows) when there is no such array or it is empty or too long; a bad row is
 * rejected and the others carry on. Defined in parse_json.c.
 */
enum obs_parse_status parse_json_rows(struct obs_batch *b, const struct json_doc *d, int array,
                                      const char *name, const struct dhis2_defaults *defaults,
                                      struct obs_parse_error *err);

/* Reads the members of DHIS2 data value obj that are not fields of a row
 * (categoryOptionCombo, attributeOptionCombo, deleted: obs_parse.h) into row; false with *pr
 * filled at the first problem. parse_dhis2.c. */
bool parse_dhis2_row_extras(struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                            int obj, struct obs_reject *pr);

#endif /* SCALEUPD_CORE_PARSE_JSON_DOC_H */
