/* The one pagination convention of the API's lists (docs/ARCHITECTURE.md, "Lists and
 * pages"): `limit` (1..PAGE_LIMIT_MAX, default PAGE_LIMIT_DEFAULT) and `after`, an opaque
 * cursor taken from the previous page's `Link: <…>; rel="next"`. Pages are keyset pages over
 * an order that ends in a unique key; the cursor is the last row's sort key, N text fields
 * joined by '\n' and written in base64url without padding. It is not a secret, but it comes
 * from outside: decoding is strict, and its fields reach SQL only as bound parameters.
 * Pure code: the edge's page_link.h applies it to a request. */
#ifndef SCALEUPD_CORE_PAGE_H
#define SCALEUPD_CORE_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/dynbuf.h"

#define PAGE_LIMIT_DEFAULT 100
#define PAGE_LIMIT_MAX 1000
/* the most fields a cursor holds, and the longest cursor text accepted or made */
#define PAGE_CURSOR_FIELDS_MAX 8
#define PAGE_CURSOR_TEXT_MAX 1024

/* A decoded cursor: n fields, each a NUL-terminated UTF-8 string without control characters
 * (owned by the cursor; page_cursor_clear frees them). */
struct page_cursor {
    size_t n;
    char *fields[PAGE_CURSOR_FIELDS_MAX];
};

/* What a list request asks for: how many rows, and after which row (has_after false: from
 * the first row). */
struct page_request {
    int limit;
    bool has_after;
    struct page_cursor after;
};

/* Parses a `limit` value: NULL → PAGE_LIMIT_DEFAULT; otherwise only decimal digits (no sign,
 * no spaces) of a value in 1..PAGE_LIMIT_MAX. False (and *limit untouched) when it is not. */
bool page_parse_limit(const char *text, int *limit) __attribute__((warn_unused_result));

/* The cursor of the fields[0..n) (1 <= n <= PAGE_CURSOR_FIELDS_MAX): base64url without
 * padding of the fields joined by '\n'. NULL when a field is NULL, holds a control character
 * or is not UTF-8, when all fields are empty, or when the cursor would be PAGE_CURSOR_TEXT_MAX
 * characters or more (a caller's bug: sort keys are short). The caller frees the result. */
char *page_cursor_encode(const char *const *fields, size_t n) __attribute__((warn_unused_result));

/* Decodes an `after` value that must hold exactly n fields (1..PAGE_CURSOR_FIELDS_MAX) into
 * *out. Strict: only the base64url alphabet, no padding, no stray bits, a length under
 * PAGE_CURSOR_TEXT_MAX, UTF-8 without control characters other than the separators. False
 * (and *out empty) otherwise. The caller clears *out after success. */
bool page_cursor_decode(const char *text, size_t n, struct page_cursor *out)
    __attribute__((warn_unused_result));

/* Frees the fields of a cursor and leaves it empty (n = 0); safe to call twice. */
void page_cursor_clear(struct page_cursor *cursor);

/* Reads a cursor field that must be a decimal int64 ("-12", "0", "42": an optional '-',
 * digits, no leading zeros, no spaces, in range). False when it is not. */
bool page_field_int64(const char *field, int64_t *value) __attribute__((warn_unused_result));

/* One query parameter of a request, as decoded text. */
struct page_param {
    const char *key;
    const char *value;
};

/* The query string of the next page (without '?'): the params[0..n) in their order, except
 * any `after`, then `after=<cursor>`; keys and values percent-encoded (all but ALPHA, DIGIT
 * and "-._~"). NULL only when the query would pass 1 MB (the header limit keeps a request's
 * far below it). The caller frees the result. */
char *page_next_query(const struct page_param *params, size_t n, const char *cursor)
    __attribute__((warn_unused_result));

/* Appends text to buf percent-encoded as page_next_query does, keeping also the characters
 * in keep (e.g. "/" for a path); returns false when buf's cap was reached. */
bool page_percent_encode(struct dynbuf *buf, const char *text, const char *keep)
    __attribute__((warn_unused_result));

#endif
