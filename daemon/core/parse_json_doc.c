/*
 * JSON bodies: jsmn tokenizes (into the batch's reusable token array), then the checks
 * jsmn leaves out make sure the tokens are exactly one JSON document; and the lookups the
 * row readers need (an object's members by key, a value's extent and type).
 */
#define PARSE_JSMN_IMPLEMENTATION
#include "parse_json_doc.h"

#include <stdint.h>
#include <string.h>

#include "scaleupd/core/alloc.h"

#include "parse_scalar.h"

#define KEY_MAX 31 /* longest JSON key we decode to compare with our names */

/* At most this many tokens (64 per row on average) whatever the body size. */
#define JSON_MAX_TOKENS (64u * OBS_MAX_ROWS + 4096)

static size_t raw_end(const jsmntok_t *t)
{
    return (size_t)t->end + (t->type == JSMN_STRING);
}

static enum obs_parse_status json_syntax_error(const struct json_doc *d, int jsmn_error, size_t pos,
                                               struct obs_parse_error *err)
{
    const char *why = "unexpected character";
    if (pos >= d->len)
        why = "unexpected end of input";
    else if (jsmn_error == JSMN_ERROR_PART)
        why = "unterminated string";
    else if (d->body[pos] == '"')
        why = "invalid escape sequence in string";
    return parse_doc_error(err, OBS_PARSE_MALFORMED, "malformed_json", d->body, pos,
                           "invalid JSON: %s", why);
}

/*
 * Tokenizes d->body into the batch's token array, grown as jsmn asks. Bounded by the body:
 * no two tokens start at the same byte, so a body of len bytes never needs more than len
 * tokens (and the edge caps len); JSON_MAX_TOKENS bounds it whatever the body.
 */
static enum obs_parse_status json_tokenize(struct obs_batch *b, struct json_doc *d,
                                           struct obs_parse_error *err)
{
    jsmn_parser parser;
    size_t limit = d->len < JSON_MAX_TOKENS ? d->len + 1 : JSON_MAX_TOKENS;
    size_t want = d->len / 8 + 64;
    jsmn_init(&parser, OBS_JSON_DEPTH_MAX);
    for (;;) {
        if (want > limit)
            want = limit;
        if (b->tokens_cap < want) {
            b->tokens = xrealloc(b->tokens, want * sizeof(jsmntok_t));
            b->tokens_cap = want;
        }
        int r = jsmn_parse(&parser, d->body, d->len, b->tokens, (unsigned)b->tokens_cap);
        b->work += parser.steps; /* the tokens are added once, at the end */
        parser.steps = 0;
        if (r >= 0)
            break;
        if (r == JSMN_ERROR_DEPTH) {
            b->work += parser.toknext;
            return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "too_deep", d->body, parser.pos,
                                   "objects and arrays are nested more than %d deep here",
                                   OBS_JSON_DEPTH_MAX);
        }
        if (r != JSMN_ERROR_NOMEM)
            return json_syntax_error(d, r, parser.pos, err);
        if (b->tokens_cap >= limit)
            return parse_doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                                   "the document holds more than %zu JSON values", limit);
        want = b->tokens_cap * 2;
    }
    d->t = b->tokens;
    d->n = (int)parser.toknext;
    b->work += parser.toknext;
    return OBS_PARSE_OK;
}

/* Offset of the first byte in [pos, end) that is not whitespace around one `sep` (none if
 * sep is 0), or SIZE_MAX when the gap is right. */
static size_t check_gap(const char *s, size_t pos, size_t end, char sep)
{
    while (pos < end && parse_is_space(s[pos]))
        pos++;
    if (sep != 0) {
        if (pos >= end || s[pos] != sep)
            return pos;
        pos++;
        while (pos < end && parse_is_space(s[pos]))
            pos++;
    }
    return pos < end ? pos : SIZE_MAX;
}

/* check_gap for the usual case of nothing but the separator, without a call. */
static inline size_t gap_error(const char *s, size_t pos, size_t end, char sep)
{
    if (sep == 0 ? pos == end : (pos + 1 == end && s[pos] == sep))
        return SIZE_MAX;
    return check_gap(s, pos, end, sep);
}

static bool json_literal_valid(const char *s, size_t n)
{
    struct number_text ignored;
    double value;
    switch (s[0]) {
    case 't':
        return n == 4 && memcmp(s, "true", 4) == 0;
    case 'f':
        return n == 5 && memcmp(s, "false", 5) == 0;
    case 'n':
        return n == 4 && memcmp(s, "null", 4) == 0;
    }
    return scalar_number_fast(s, n, &value) ||
           scalar_number_scan(s, n, false, &ignored) != NUM_INVALID;
}

/* What json_structure found wrong. */
enum walk_error {
    WALK_EXPECTED_END, /* something but whitespace before a closing bracket */
    WALK_AFTER_END,    /* data after the document */
    WALK_BAD_KEY,      /* an object member that is not "key": value */
    WALK_BAD_COLON,    /* a ':' after an array element or a value */
    WALK_BAD_PARENT,   /* a value inside a number or literal */
    WALK_EXPECTED_COLON,
    WALK_EXPECTED_COMMA,
    WALK_UNEXPECTED,
    WALK_BAD_LITERAL,
};

static const char *const walk_messages[] = {
    [WALK_EXPECTED_END] = "expected ',' or the end of the object or array",
    [WALK_AFTER_END] = "unexpected data after the JSON document",
    [WALK_BAD_KEY] = "expected a string key followed by ':' and a value",
    [WALK_BAD_COLON] = "unexpected ':'",
    [WALK_BAD_PARENT] = "unexpected value",
    [WALK_EXPECTED_COLON] = "expected ':'",
    [WALK_EXPECTED_COMMA] = "expected ','",
    [WALK_UNEXPECTED] = "unexpected character",
    [WALK_BAD_LITERAL] = "invalid literal",
};

/*
 * The separator that must come between pos and token tok, given its parent: 0 (none),
 * ',' or ':'; or '?' when tok cannot stand there, with *error saying why.
 */
static char walk_separator(const jsmntok_t *t, const jsmntok_t *tok, size_t pos,
                           enum walk_error *error)
{
    bool string = tok->type == JSMN_STRING;
    if (tok->parent < 0) { /* the document: a string there can be no key */
        *error = WALK_BAD_COLON;
        return string && tok->size != 0 ? '?' : 0;
    }
    const jsmntok_t *parent = &t[tok->parent];
    switch (parent->type) {
    case JSMN_OBJECT: /* tok is a key */
        *error = WALK_BAD_KEY;
        if (!string || tok->size != 1)
            return '?';
        return pos == (size_t)parent->start + 1 ? 0 : ',';
    case JSMN_ARRAY:
        *error = WALK_BAD_COLON;
        if (string && tok->size != 0)
            return '?';
        return pos == (size_t)parent->start + 1 ? 0 : ',';
    case JSMN_STRING: /* tok is the value of that key */
        *error = WALK_BAD_COLON;
        return string && tok->size != 0 ? '?' : ':';
    default:
        *error = WALK_BAD_PARENT;
        return '?';
    }
}

/*
 * jsmn accepts much that is not JSON (missing or extra commas and colons, bare words,
 * several documents). Walking the tokens in document order and checking the bytes between
 * them, and each token's role, leaves exactly JSON (plus NaN/Infinity literals).
 * Everything before pos has been checked; open is the innermost open container or key.
 */
static bool json_structure(const struct json_doc *d, size_t *bad, const char **why)
{
    const jsmntok_t *t = d->t;
    const char *body = d->body;
    int open = -1;
    size_t pos = 0, off = SIZE_MAX, steps = 0;
    enum walk_error error = WALK_EXPECTED_END;
    for (int i = 0; i < d->n && off == SIZE_MAX; i++) {
        const jsmntok_t *tok = &t[i];
        for (; open != tok->parent && open != -1 && off == SIZE_MAX; open = t[open].parent) {
            steps++;
            if (t[open].type == JSMN_STRING)
                continue; /* a key, closed by its value */
            off = gap_error(body, pos, (size_t)t[open].end - 1, 0);
            pos = (size_t)t[open].end;
        }
        if (off != SIZE_MAX) {
            error = WALK_EXPECTED_END;
            break;
        }
        char sep = walk_separator(t, tok, pos, &error);
        if (open != tok->parent || (tok->parent == -1 && i != 0)) {
            error = WALK_AFTER_END;
            off = json_doc_raw_start(tok);
        } else if (sep == '?') {
            off = error == WALK_BAD_COLON ? raw_end(tok) : json_doc_raw_start(tok);
        } else {
            off = gap_error(body, pos, json_doc_raw_start(tok), sep);
            error = sep == ':'   ? WALK_EXPECTED_COLON
                    : sep == ',' ? WALK_EXPECTED_COMMA
                                 : WALK_UNEXPECTED;
        }
        if (off != SIZE_MAX)
            break;
        if (tok->type == JSMN_OBJECT || tok->type == JSMN_ARRAY) {
            pos = (size_t)tok->start + 1;
            open = i;
            continue;
        }
        pos = raw_end(tok);
        if (tok->type == JSMN_STRING && tok->size == 1)
            open = i; /* a key */
        if (tok->type == JSMN_PRIMITIVE &&
            !json_literal_valid(body + tok->start, (size_t)(tok->end - tok->start))) {
            error = WALK_BAD_LITERAL;
            off = json_doc_raw_start(tok);
        }
    }
    for (; open != -1 && off == SIZE_MAX; open = t[open].parent) {
        steps++;
        error = WALK_EXPECTED_END;
        if (t[open].type != JSMN_STRING) {
            off = gap_error(body, pos, (size_t)t[open].end - 1, 0);
            pos = (size_t)t[open].end;
        }
    }
    if (off == SIZE_MAX) {
        error = WALK_AFTER_END;
        off = check_gap(body, pos, d->len, 0);
    }
    *d->work += steps;
    *bad = off;
    *why = walk_messages[error];
    return off == SIZE_MAX;
}

enum obs_parse_status json_doc_open(struct obs_batch *b, const char *body, size_t len,
                                    struct json_doc *d, struct obs_parse_error *err)
{
    size_t bad;
    const char *why;
    if (len > OBS_MAX_BODY)
        return parse_doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                               "the body is larger than %u bytes", OBS_MAX_BODY);
    d->body = body;
    d->len = len;
    d->work = &b->work;
    const char *nul = memchr(body, '\0', len);
    if (nul != NULL)
        return parse_doc_error(err, OBS_PARSE_MALFORMED, "malformed_json", body,
                               (size_t)(nul - body), "invalid JSON: NUL byte");
    enum obs_parse_status status = json_tokenize(b, d, err);
    if (status != OBS_PARSE_OK)
        return status;
    if (d->n == 0)
        return parse_doc_error(err, OBS_PARSE_EMPTY, "empty_body", NULL, 0, "the body is empty");
    if (!json_structure(d, &bad, &why))
        return parse_doc_error(err, OBS_PARSE_MALFORMED, "malformed_json", body, bad,
                               "invalid JSON: %s", why);
    if (d->t[0].type != JSMN_OBJECT)
        return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", body,
                               json_doc_raw_start(d->t), "the body must be a JSON object");
    return OBS_PARSE_OK;
}

int json_doc_next(const struct json_doc *d, int i)
{
    int j = i + 1;
    if (d->t[i].type == JSMN_OBJECT || d->t[i].type == JSMN_ARRAY) {
        while (j < d->n && d->t[j].start < d->t[i].end)
            j++;
        *d->work += (size_t)(j - i);
    }
    return j;
}

/* a[0..n) == b[0..n), for short keys, comparing words that overlap rather than calling. */
static bool same_text(const char *a, const char *b, size_t n)
{
    uint64_t a8, b8, a8_end, b8_end;
    uint32_t a4, b4, a4_end, b4_end;
    if (n > 16)
        return memcmp(a, b, n) == 0;
    if (n >= 8) {
        memcpy(&a8, a, 8), memcpy(&b8, b, 8);
        memcpy(&a8_end, a + n - 8, 8), memcpy(&b8_end, b + n - 8, 8);
        return a8 == b8 && a8_end == b8_end;
    }
    if (n >= 4) {
        memcpy(&a4, a, 4), memcpy(&b4, b, 4);
        memcpy(&a4_end, a + n - 4, 4), memcpy(&b4_end, b + n - 4, 4);
        return a4 == b4 && a4_end == b4_end;
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return false;
    }
    return true;
}

/* Which of keys is s[0..n), or -1; keys[hint] is tried first (keys usually come in order). */
static int key_lookup(const struct field_key *keys, int count, int hint, const char *s, size_t n)
{
    if (hint < count && keys[hint].len == n && n > 0 && same_text(keys[hint].text, s, n))
        return hint;
    for (int i = 0; i < count; i++) {
        if (keys[i].len == n && n > 0 && same_text(keys[i].text, s, n))
            return i;
    }
    return -1;
}

/* key_lookup for a key written with escapes ("v\u0061lue"); -1 if it has none. */
__attribute__((noinline)) static int escaped_key_lookup(const char *raw, size_t n,
                                                        const struct field_key *keys, int count)
{
    char buf[KEY_MAX + 1];
    size_t len;
    if (memchr(raw, '\\', n) == NULL ||
        scalar_json_unescape(raw, n, true, buf, KEY_MAX, &len) != TEXT_OK)
        return -1;
    return key_lookup(keys, count, 0, buf, len);
}

enum members_result json_doc_members(const struct json_doc *d, int o, const struct field_key *keys,
                                     int count, bool unknown_is_error, int *vals, int *bad_key)
{
    const jsmntok_t *t = d->t;
    enum members_result result = MEMBERS_OK;
    int k = o + 1, f = -1, size = t[o].size;
    for (int i = 0; i < count; i++)
        vals[i] = -1;
    for (int m = 0; m < size; m++, k = json_doc_next(d, k + 1)) {
        const char *raw = d->body + t[k].start;
        size_t n = (size_t)(t[k].end - t[k].start);
        f = key_lookup(keys, count, f + 1, raw, n);
        if (f < 0)
            f = escaped_key_lookup(raw, n, keys, count);
        if (f < 0 && unknown_is_error)
            result = MEMBERS_UNKNOWN;
        else if (f >= 0 && vals[f] >= 0)
            result = MEMBERS_DUPLICATE;
        else if (f >= 0)
            vals[f] = k + 1;
        if (result != MEMBERS_OK)
            break;
    }
    *bad_key = k;
    return result;
}

const char *json_doc_type_name(const struct json_doc *d, int i)
{
    switch (d->t[i].type) {
    case JSMN_OBJECT:
        return "an object";
    case JSMN_ARRAY:
        return "an array";
    case JSMN_STRING:
        return "a string";
    default:
        break;
    }
    char c = d->body[d->t[i].start];
    return c == 't' || c == 'f' ? "a boolean" : c == 'n' ? "null" : "a number";
}

enum obs_parse_status json_doc_duplicate_key(const struct json_doc *d, int key,
                                             struct obs_parse_error *err)
{
    char text[SHOWN_MAX];
    size_t n;
    const char *raw = json_doc_raw(d, key, &n);
    return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", d->body,
                           json_doc_raw_start(&d->t[key]), "key \"%s\" appears more than once",
                           parse_shown(text, raw, n));
}
