/*
 * Private to the ingest parser: reading the scalars of a row (parse_scalar.c) — UTF-8
 * text, JSON string escapes, numbers, codes, periods — shared by the JSON, DHIS2 and CSV
 * readers. What the hot paths of those readers call per field is static inline here, so
 * that it inlines across the file boundary as it did when the parser was one file.
 */
#ifndef SCALEUPD_CORE_PARSE_SCALAR_H
#define SCALEUPD_CORE_PARSE_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scaleupd/core/period.h"

#include "parse_internal.h"

enum text_status {
    TEXT_OK,
    TEXT_TOO_LONG,
    TEXT_BAD_UTF8,
    TEXT_CONTROL,
};

enum num_status {
    NUM_OK,
    NUM_INVALID,
    NUM_NOT_FINITE,
};

#define SCALAR_BYTES(b) (0x0101010101010101u * (b))

/*
 * Whether the 8 bytes at s are all printable ASCII (0x20..0x7e) and, when `backslash`,
 * none is a backslash. A byte >= 0x80 shows in x itself; 0x7f + 1 sets the high bit; a
 * byte < 0x20 borrows in x - 0x20. Carries and borrows only start at a byte that is already
 * out of range, so the answer for the word is exact (Hacker's Delight 6-1).
 */
static inline bool scalar_plain8(const char *s, bool backslash)
{
    uint64_t x;
    memcpy(&x, s, 8);
    uint64_t bad = x | (x + SCALAR_BYTES(0x01)) | (x - SCALAR_BYTES(0x20));
    if (backslash) {
        uint64_t y = x ^ SCALAR_BYTES(0x5c); /* zero where x has a backslash */
        bad |= (y - SCALAR_BYTES(0x01)) & ~y;
    }
    return (bad & SCALAR_BYTES(0x80)) == 0;
}

/*
 * Whether s[0..n) is all printable ASCII (and backslash-free when asked), the common case
 * that needs no decoding; when it is and dst is not NULL, also copies it to dst. Works in
 * 8-byte words, the last one overlapping the one before, so it reads and writes nothing
 * outside [0, n). dst is unspecified when it returns false.
 */
__attribute__((always_inline)) static inline bool scalar_plain_copy(char *dst, const char *s,
                                                                    size_t n, bool backslash)
{
    if (n < 8) {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c >= 0x7f || (backslash && c == '\\'))
                return false;
            if (dst != NULL)
                dst[i] = (char)c;
        }
        return true;
    }
    size_t last = n - 8;
    for (size_t i = 0; i < last; i += 8) {
        if (!scalar_plain8(s + i, backslash))
            return false;
        if (dst != NULL)
            memcpy(dst + i, s + i, 8);
    }
    if (!scalar_plain8(s + last, backslash))
        return false;
    if (dst != NULL)
        memcpy(dst + last, s + last, 8);
    return true;
}

/* Checks raw text (a CSV field): valid UTF-8 and no forbidden control character (for a
 * code, any C0 control or DEL; for a comment, NUL only). */
enum text_status scalar_text_check(const char *s, size_t n, bool code);

/* scalar_json_unescape for strings with escapes, non-ASCII or control characters. */
enum text_status scalar_json_unescape_slow(const char *s, size_t n, bool code, char *dst,
                                           size_t max, size_t *out_len);

/*
 * Decodes the n bytes of a JSON string's content (escape syntax already checked by jsmn)
 * into dst, which holds max bytes plus the NUL. Raw control characters are invalid JSON
 * and refused; decoded ones as scalar_text_check says. On failure dst is "".
 */
static inline enum text_status scalar_json_unescape(const char *s, size_t n, bool code, char *dst,
                                                    size_t max, size_t *out_len)
{
    if (n <= max && scalar_plain_copy(dst, s, n, true)) {
        dst[n] = '\0';
        *out_len = n;
        return TEXT_OK;
    }
    return scalar_json_unescape_slow(s, n, code, dst, max, out_len);
}

/* What scalar_number_scan saw of a number's text. */
struct number_text {
    uint64_t mantissa; /* the digits without the point, when digits <= 19 */
    int digits;
    int fraction; /* digits after the point */
    bool negative;
    bool exponent;
};

/*
 * Checks the grammar of a JSON number in s[0..n) (lenient: also a leading '+', and
 * NaN/inf in any case and sign) and collects its digits in *t: NUM_NOT_FINITE for the
 * names of NaN and the infinities, NUM_INVALID for anything else that is not a number.
 */
enum num_status scalar_number_scan(const char *s, size_t n, bool lenient, struct number_text *t);

/*
 * The common numbers, [-]digits[.digits] with at most 15 digits, in one pass, exactly: false
 * for anything else (exponents, leading zeros, long numbers, errors), which
 * scalar_number_scan reads.
 */
bool scalar_number_fast(const char *s, size_t n, double *out);

/* The problem of a code, period or comment read with status and len bytes; always false. */
bool scalar_code_problem(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
                         enum text_status status, size_t len, struct obs_reject *pr)
    __attribute__((noinline, cold));

/* True for a good code (not empty) or comment; otherwise fills *pr and returns false. */
static inline bool scalar_code_status(const struct obs_batch *b, const struct obs_row *row,
                                      enum obs_field f, enum text_status status, size_t len,
                                      struct obs_reject *pr)
{
    if (status == TEXT_OK && (len > 0 || f == FIELD_COMMENT))
        return true;
    return scalar_code_problem(b, row, f, status, len, pr);
}

/* The problem of a period s[0..n) that period_parse refused with status; always false. */
bool scalar_period_problem(const struct obs_row *row, const char *s, size_t n,
                           enum period_parse_status status, struct obs_reject *pr)
    __attribute__((noinline, cold));

/* Reads s[0..n) as the row's period (the DHIS2 forms in a DHIS2 batch), or fills *pr. */
static inline bool scalar_put_period(const struct obs_batch *b, struct obs_row *row, const char *s,
                                     size_t n, struct obs_reject *pr)
{
    enum period_parse_status status = b->format == OBS_FORMAT_DHIS2
                                          ? period_parse_dhis2(s, n, &row->period)
                                          : period_parse(s, n, &row->period);
    return status == PERIOD_PARSE_OK || scalar_period_problem(row, s, n, status, pr);
}

/*
 * Reads s[0..n) as a number into *dst (lenient as in scalar_number_scan), or fills *pr with
 * invalid_number or not_finite for field f. s[n] must be readable and not part of a number
 * (a JSON delimiter, a quote, a NUL), as strtod reads on.
 */
bool scalar_put_number(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
                       const char *s, size_t n, bool lenient, double *dst, struct obs_reject *pr);

#endif /* SCALEUPD_CORE_PARSE_SCALAR_H */
