/*
 * Ingest parsing: JSON (jsmn tokens, checked for structure here since jsmn is lenient),
 * CSV (libcsv callbacks) and DHIS2 dataValueSets into batches of observation rows with
 * per-row rejections, and validation of a batch against a programme's catalog. Owns the
 * batch's memory: rows, rejects, the comment arena and the reusable JSON token array.
 */
#include "scaleupd/core/obs_parse.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#define JSMN_PARENT_LINKS
#define JSMN_STATIC
#include <jsmn.h>

/* ---------------------------------------------------------------------------------------
 * Fields, messages, batch memory
 */

/* The fields of a row, in the order their problems are reported. */
enum obs_field {
    FIELD_INDICATOR,
    FIELD_SITE,
    FIELD_PERIOD,
    FIELD_VALUE,
    FIELD_NUMERATOR,
    FIELD_DENOMINATOR,
    FIELD_COMMENT,
    FIELD_COUNT,
    FIELD_ROW = FIELD_COUNT, /* the row as a whole */
};

/* A key or column name with its length, for lookups without strlen. */
struct field_key {
    const char *text;
    size_t len; /* 0 for a field the format does not have */
};
#define FIELD_KEY(text)                                                                            \
    {                                                                                              \
        text, sizeof text - 1                                                                      \
    }

/* Field names of our JSON and CSV; DHIS2 names indicator and site differently. */
static const struct field_key obs_field_keys[FIELD_COUNT] = {
    FIELD_KEY("indicator"), FIELD_KEY("site"),        FIELD_KEY("period"),  FIELD_KEY("value"),
    FIELD_KEY("numerator"), FIELD_KEY("denominator"), FIELD_KEY("comment"),
};
static const struct field_key dhis2_field_keys[FIELD_COUNT] = {
    FIELD_KEY("dataElement"),
    FIELD_KEY("orgUnit"),
    FIELD_KEY("period"),
    FIELD_KEY("value"),
    {NULL, 0},
    {NULL, 0},
    FIELD_KEY("comment"),
};

#define ARENA_BLOCK_SIZE 65536
#define SHOWN_MAX 48 /* buffer for untrusted text quoted in a message */
#define KEY_MAX 31   /* longest JSON key we decode to compare with our names */
#define CSV_CHUNK 65536

struct obs_arena_block {
    struct obs_arena_block *next;
    size_t used;
    size_t cap;
    char data[];
};

static const char *field_name(const struct obs_batch *b, enum obs_field f)
{
    if (f == FIELD_ROW)
        return "";
    if (b->format == OBS_FORMAT_DHIS2 && dhis2_field_keys[f].text != NULL)
        return dhis2_field_keys[f].text;
    return obs_field_keys[f].text;
}

/* vsnprintf that, when it truncates, does not leave half a UTF-8 sequence at the end. */
static void format_text(char *dst, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(dst, size, fmt, ap);
    if (n < 0) {
        dst[0] = '\0';
        return;
    }
    if ((size_t)n < size)
        return;
    size_t end = size - 1, lead = end;
    while (lead > 0 && ((unsigned char)dst[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    unsigned char c = (unsigned char)dst[lead - 1];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (lead - 1 + need > end)
        dst[lead - 1] = '\0';
}

/* Untrusted text for a message: printable ASCII kept, other bytes shown as '?', cut at 40. */
static const char *shown(char dst[SHOWN_MAX], const char *s, size_t n)
{
    size_t keep = n > 40 ? 40 : n;
    for (size_t i = 0; i < keep; i++)
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > keep)
        memcpy(dst + keep, "...", 4);
    else
        dst[keep] = '\0';
    return dst;
}

/* Fills *pr with a row problem. Always returns false, so callers can `return problem(...)`. */
__attribute__((format(printf, 5, 6))) static bool problem(struct obs_reject *pr,
                                                          const struct obs_row *row,
                                                          const char *field, const char *code,
                                                          const char *fmt, ...)
{
    va_list ap;
    pr->row = row->row;
    snprintf(pr->field, sizeof pr->field, "%s", field);
    snprintf(pr->code, sizeof pr->code, "%s", code);
    va_start(ap, fmt);
    format_text(pr->message, sizeof pr->message, fmt, ap);
    va_end(ap);
    return false;
}

/* Marks the row rejected and records why; a failed allocation is remembered in the batch. */
static void reject_push(struct obs_batch *b, struct obs_row *row, const struct obs_reject *r)
{
    row->rejected = true;
    if (b->n_rejects == b->rejects_cap) {
        size_t cap = b->rejects_cap ? b->rejects_cap * 2 : 16;
        struct obs_reject *rejects = realloc(b->rejects, cap * sizeof *rejects);
        if (rejects == NULL) {
            b->out_of_memory = true;
            return;
        }
        b->rejects = rejects;
        b->rejects_cap = cap;
    }
    b->rejects[b->n_rejects++] = *r;
}

__attribute__((format(printf, 5, 6))) static void reject(struct obs_batch *b, struct obs_row *row,
                                                         const char *field, const char *code,
                                                         const char *fmt, ...)
{
    struct obs_reject r;
    va_list ap;
    r.row = row->row;
    snprintf(r.field, sizeof r.field, "%s", field);
    snprintf(r.code, sizeof r.code, "%s", code);
    va_start(ap, fmt);
    format_text(r.message, sizeof r.message, fmt, ap);
    va_end(ap);
    reject_push(b, row, &r);
}

/* n bytes in the batch's arena, or NULL (and out_of_memory set). */
static char *arena_alloc(struct obs_batch *b, size_t n)
{
    struct obs_arena_block *block = b->arena;
    if (block == NULL || block->cap - block->used < n) {
        size_t cap = n > ARENA_BLOCK_SIZE ? n : ARENA_BLOCK_SIZE;
        block = malloc(sizeof *block + cap);
        if (block == NULL) {
            b->out_of_memory = true;
            return NULL;
        }
        block->next = b->arena;
        block->used = 0;
        block->cap = cap;
        b->arena = block;
    }
    char *p = block->data + block->used;
    block->used += n;
    return p;
}

static bool rows_reserve(struct obs_batch *b, size_t want)
{
    if (want <= b->rows_cap)
        return true;
    size_t cap = b->rows_cap ? b->rows_cap : 256;
    while (cap < want)
        cap *= 2;
    struct obs_row *rows = realloc(b->rows, cap * sizeof *rows);
    if (rows == NULL)
        return false;
    b->rows = rows;
    b->rows_cap = cap;
    return true;
}

/* The next row slot, zeroed and numbered, not yet counted in n_rows; NULL without memory. */
static struct obs_row *row_slot(struct obs_batch *b)
{
    if (!rows_reserve(b, b->n_rows + 1))
        return NULL;
    struct obs_row *row = &b->rows[b->n_rows];
    *row = (struct obs_row){.row = (uint32_t)b->n_rows + 1};
    return row;
}

struct obs_batch *obs_batch_new(void)
{
    return calloc(1, sizeof(struct obs_batch));
}

void obs_batch_reset(struct obs_batch *b)
{
    while (b->arena != NULL) {
        struct obs_arena_block *next = b->arena->next;
        free(b->arena);
        b->arena = next;
    }
    b->n_rows = 0;
    b->n_rejects = 0;
    b->out_of_memory = false;
}

void obs_batch_free(struct obs_batch **batch)
{
    if (batch == NULL || *batch == NULL)
        return;
    obs_batch_reset(*batch);
    free((*batch)->rows);
    free((*batch)->rejects);
    free((*batch)->tokens);
    free(*batch);
    *batch = NULL;
}

size_t obs_batch_accepted(const struct obs_batch *b)
{
    size_t accepted = 0;
    for (size_t i = 0; i < b->n_rows; i++)
        accepted += !b->rows[i].rejected;
    return accepted;
}

const char *obs_parse_status_name(enum obs_parse_status status)
{
    switch (status) {
    case OBS_PARSE_OK:
        return "ok";
    case OBS_PARSE_MALFORMED:
        return "malformed";
    case OBS_PARSE_INVALID_SHAPE:
        return "invalid_shape";
    case OBS_PARSE_EMPTY:
        return "empty";
    case OBS_PARSE_TOO_MANY_ROWS:
        return "too_many_rows";
    case OBS_PARSE_TOO_LARGE:
        return "too_large";
    case OBS_PARSE_NO_MEMORY:
        return "no_memory";
    }
    return "unknown";
}

/* Line and column (1-based, bytes) of offset in body. */
static void set_position(struct obs_parse_error *err, const char *body, size_t offset)
{
    unsigned line = 1;
    size_t line_start = 0;
    const char *p = memchr(body, '\n', offset);
    while (p != NULL) {
        line++;
        line_start = (size_t)(p - body) + 1;
        p = memchr(p + 1, '\n', offset - line_start);
    }
    err->offset = offset;
    err->line = line;
    err->column = (unsigned)(offset - line_start + 1);
}

/* Fills *err (with a position when body is not NULL) and returns status. */
__attribute__((format(printf, 6, 7))) static enum obs_parse_status
doc_error(struct obs_parse_error *err, enum obs_parse_status status, const char *code,
          const char *body, size_t offset, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->code, sizeof err->code, "%s", code);
    va_start(ap, fmt);
    format_text(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->offset = 0;
    err->line = 0;
    err->column = 0;
    if (body != NULL)
        set_position(err, body, offset);
    return status;
}

/* ---------------------------------------------------------------------------------------
 * Scalars: UTF-8 text, JSON string escapes, numbers, codes, periods
 */

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

/* Length of the well-formed UTF-8 sequence (no overlong, surrogate or > U+10FFFF) at s. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

/* A control character a code must not hold; a comment refuses only NUL. */
static bool forbidden_control(unsigned c, bool code)
{
    return code ? (c < 0x20 || c == 0x7f) : c == 0;
}

#define BYTES(b) (0x0101010101010101u * (b))

/*
 * Whether the 8 bytes at s are all printable ASCII (0x20..0x7e) and, when `backslash`,
 * none is a backslash. A byte >= 0x80 shows in x itself; 0x7f + 1 sets the high bit; a
 * byte < 0x20 borrows in x - 0x20. Carries and borrows only start at a byte that is already
 * out of range, so the answer for the word is exact (Hacker's Delight 6-1).
 */
static bool plain8(const char *s, bool backslash)
{
    uint64_t x;
    memcpy(&x, s, 8);
    uint64_t bad = x | (x + BYTES(0x01)) | (x - BYTES(0x20));
    if (backslash) {
        uint64_t y = x ^ BYTES(0x5c); /* zero where x has a backslash */
        bad |= (y - BYTES(0x01)) & ~y;
    }
    return (bad & BYTES(0x80)) == 0;
}

/*
 * Whether s[0..n) is all printable ASCII (and backslash-free when asked), the common case
 * that needs no decoding; when it is and dst is not NULL, also copies it to dst. Works in
 * 8-byte words, the last one overlapping the one before, so it reads and writes nothing
 * outside [0, n). dst is unspecified when it returns false.
 */
__attribute__((always_inline)) static inline bool plain_copy(char *dst, const char *s, size_t n,
                                                             bool backslash)
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
        if (!plain8(s + i, backslash))
            return false;
        if (dst != NULL)
            memcpy(dst + i, s + i, 8);
    }
    if (!plain8(s + last, backslash))
        return false;
    if (dst != NULL)
        memcpy(dst + last, s + last, 8);
    return true;
}

/* Checks raw text (a CSV field): valid UTF-8 and no forbidden control character. */
static enum text_status text_check(const char *s, size_t n, bool code)
{
    const unsigned char *u = (const unsigned char *)s;
    if (plain_copy(NULL, s, n, false))
        return TEXT_OK;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            if (forbidden_control(u[i], code))
                return TEXT_CONTROL;
            i++;
            continue;
        }
        size_t k = utf8_sequence(u + i, n - i);
        if (k == 0)
            return TEXT_BAD_UTF8;
        i += k;
    }
    return TEXT_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10; /* jsmn let only hex digits through */
}

static unsigned hex4(const char *s)
{
    return (unsigned)(hex_value(s[0]) << 12 | hex_value(s[1]) << 8 | hex_value(s[2]) << 4 |
                      hex_value(s[3]));
}

/* Decodes the escape at s[0] == '\\' into a code point; *used is its length; 0 if unpaired. */
static unsigned json_escape(const char *s, size_t n, size_t *used, bool *bad)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    *used = 2;
    *bad = false;
    if (s[1] != 'u')
        return (unsigned char)to[strchr(from, s[1]) - from];
    unsigned cp = hex4(s + 2);
    *used = 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        *bad = true;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned low = n >= 12 && s[6] == '\\' && s[7] == 'u' ? hex4(s + 8) : 0;
        if (low < 0xDC00 || low > 0xDFFF) {
            *bad = true;
            return 0;
        }
        *used = 12;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    return cp;
}

static size_t utf8_encode(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* json_unescape for strings with escapes, non-ASCII or control characters. */
__attribute__((noinline)) static enum text_status
json_unescape_slow(const char *s, size_t n, bool code, char *dst, size_t max, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    enum text_status status = TEXT_OK;
    size_t o = 0, i = 0, k;
    char utf8[4];
    while (i < n && status == TEXT_OK) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            status = o < max ? TEXT_OK : TEXT_TOO_LONG;
            dst[o++] = (char)c;
            i++;
            continue;
        }
        const char *piece = s + i;
        if (c < 0x20 || (c == 0x7f && code)) {
            status = TEXT_CONTROL;
            break;
        } else if (c == '\\') {
            bool bad;
            unsigned cp = json_escape(s + i, n - i, &k, &bad);
            if (bad)
                status = TEXT_BAD_UTF8;
            else if (forbidden_control(cp, code))
                status = TEXT_CONTROL;
            i += k;
            k = utf8_encode(cp, utf8);
            piece = utf8;
        } else {
            k = utf8_sequence(u + i, n - i);
            status = k == 0 ? TEXT_BAD_UTF8 : TEXT_OK;
            i += k;
        }
        if (status == TEXT_OK && o + k > max)
            status = TEXT_TOO_LONG;
        if (status == TEXT_OK) {
            memcpy(dst + o, piece, k);
            o += k;
        }
    }
    dst[status == TEXT_OK ? o : 0] = '\0';
    *out_len = o;
    return status;
}

/*
 * Decodes the n bytes of a JSON string's content (escape syntax already checked by jsmn)
 * into dst, which holds max bytes plus the NUL. Raw control characters are invalid JSON
 * and refused; decoded ones only as forbidden_control says. On failure dst is "".
 */
static inline enum text_status json_unescape(const char *s, size_t n, bool code, char *dst,
                                             size_t max, size_t *out_len)
{
    if (n <= max && plain_copy(dst, s, n, true)) {
        dst[n] = '\0';
        *out_len = n;
        return TEXT_OK;
    }
    return json_unescape_slow(s, n, code, dst, max, out_len);
}

static const double exact_powers_of_ten[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* NaN and infinities by name: JSON's usual extension, or any case and sign for CSV/DHIS2. */
static bool non_finite_name(const char *s, size_t n, bool signed_, bool lenient)
{
    if (!lenient)
        return (n == 8 && memcmp(s, "Infinity", 8) == 0) ||
               (!signed_ && n == 3 && memcmp(s, "NaN", 3) == 0);
    return (n == 3 && (strncasecmp(s, "nan", 3) == 0 || strncasecmp(s, "inf", 3) == 0)) ||
           (n == 8 && strncasecmp(s, "infinity", 8) == 0);
}

/* What number_scan saw of a number's text. */
struct number_text {
    uint64_t mantissa; /* the digits without the point, when digits <= 19 */
    int digits;
    int fraction; /* digits after the point */
    bool negative;
    bool exponent;
};

/* Index after the digits from s[i]; they are added to *mantissa (which wraps past 19). */
static size_t scan_digits(const char *s, size_t i, size_t n, uint64_t *mantissa)
{
    uint64_t m = *mantissa;
    for (; i < n && is_digit(s[i]); i++)
        m = m * 10 + (uint64_t)(s[i] - '0');
    *mantissa = m;
    return i;
}

/* Checks the grammar of a JSON number (see number_parse) and collects its digits. */
static enum num_status number_scan(const char *s, size_t n, bool lenient, struct number_text *t)
{
    size_t i = n > 0 && (s[0] == '-' || (lenient && s[0] == '+'));
    size_t start = i, point;
    uint64_t mantissa = 0, ignored = 0;
    i = scan_digits(s, i, n, &mantissa);
    if (i == start)
        return non_finite_name(s + i, n - i, i > 0, lenient) ? NUM_NOT_FINITE : NUM_INVALID;
    if (s[start] == '0' && i > start + 1)
        return NUM_INVALID; /* leading zero */
    point = i;
    if (i < n && s[i] == '.') {
        i = scan_digits(s, i + 1, n, &mantissa);
        if (i == point + 1)
            return NUM_INVALID;
    }
    t->mantissa = mantissa;
    t->fraction = i > point ? (int)(i - point - 1) : 0;
    t->digits = (int)(point - start) + t->fraction;
    t->negative = s[0] == '-';
    t->exponent = i < n && (s[i] == 'e' || s[i] == 'E');
    if (t->exponent) {
        i += (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-')) ? 2 : 1;
        size_t digits = i;
        i = scan_digits(s, i, n, &ignored);
        if (i == digits)
            return NUM_INVALID;
    }
    return i == n ? NUM_OK : NUM_INVALID;
}

/*
 * The common numbers, [-]digits[.digits] with at most 15 digits, in one pass: false for
 * anything else (exponents, leading zeros, long numbers, errors), which number_scan reads.
 */
static bool number_fast(const char *s, size_t n, double *out)
{
    const char *p = s, *end = s + n, *digits, *fraction;
    uint64_t mantissa = 0;
    bool negative = n > 0 && *p == '-';
    p += negative;
    for (digits = p; p < end && is_digit(*p); p++)
        mantissa = mantissa * 10 + (uint64_t)(*p - '0');
    size_t int_digits = (size_t)(p - digits), fraction_digits = 0;
    if (int_digits == 0 || (digits[0] == '0' && int_digits > 1))
        return false;
    if (p < end && *p == '.') {
        for (fraction = ++p; p < end && is_digit(*p); p++)
            mantissa = mantissa * 10 + (uint64_t)(*p - '0');
        fraction_digits = (size_t)(p - fraction);
        if (fraction_digits == 0)
            return false;
    }
    if (p != end || int_digits + fraction_digits > 15)
        return false;
    /* mantissa < 10^15 fits an int64_t, whose conversion is one instruction */
    double v = (double)(int64_t)mantissa / exact_powers_of_ten[fraction_digits];
    *out = negative ? -v : v;
    return true;
}

/*
 * Parses a JSON number (lenient: also a leading '+', and NaN/inf in any case). s[n] must be
 * readable and not part of a number (a JSON delimiter, a quote, a NUL), as strtod reads on.
 * Integers and plain decimals of up to 15 digits are computed exactly without strtod:
 * both operands of the division are exact doubles, so the quotient is correctly rounded.
 */
static enum num_status number_parse(const char *s, size_t n, bool lenient, double *out)
{
    struct number_text t;
    if (number_fast(s, n, out))
        return NUM_OK;
    enum num_status status = number_scan(s, n, lenient, &t);
    if (status != NUM_OK)
        return status;
    if (!t.exponent && t.digits <= 15) {
        double v = (double)t.mantissa / exact_powers_of_ten[t.fraction];
        *out = t.negative ? -v : v;
        return NUM_OK;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s + n)
        return NUM_INVALID;
    if (errno == ERANGE && isinf(v))
        return NUM_NOT_FINITE; /* 1e400; an underflow (1e-400) reads as 0 or a denormal */
    *out = v;
    return NUM_OK;
}

/* Turns the outcome of reading a code, period or comment into a row problem. */
__attribute__((noinline, cold)) static bool code_problem(const struct obs_batch *b,
                                                         const struct obs_row *row,
                                                         enum obs_field f, enum text_status status,
                                                         size_t len, struct obs_reject *pr)
{
    const char *name = field_name(b, f);
    switch (status) {
    case TEXT_TOO_LONG:
        return problem(pr, row, name, "too_long", "%s is longer than %d bytes", name,
                       f == FIELD_COMMENT ? OBS_COMMENT_MAX : OBS_CODE_MAX);
    case TEXT_BAD_UTF8:
        return problem(pr, row, name, "invalid_utf8", "%s is not valid UTF-8", name);
    case TEXT_CONTROL:
        return problem(pr, row, name, "invalid_value", "%s contains a control character", name);
    case TEXT_OK:
        break;
    }
    if (len == 0 && f != FIELD_COMMENT)
        return problem(pr, row, name, "missing_field", "%s is empty", name);
    return true;
}

/* True for a good code (not empty) or comment; otherwise fills *pr and returns false. */
static inline bool code_status(const struct obs_batch *b, const struct obs_row *row,
                               enum obs_field f, enum text_status status, size_t len,
                               struct obs_reject *pr)
{
    if (status == TEXT_OK && (len > 0 || f == FIELD_COMMENT))
        return true;
    return code_problem(b, row, f, status, len, pr);
}

/* The problems of put_period and put_number, out of the way of the common case. */
__attribute__((noinline, cold)) static bool period_problem(const struct obs_row *row, const char *s,
                                                           size_t n,
                                                           enum period_parse_status status,
                                                           struct obs_reject *pr)
{
    char text[SHOWN_MAX];
    return problem(pr, row, "period", "invalid_period", "period \"%s\" is not valid: %s",
                   shown(text, s, n), period_parse_status_message(status));
}

__attribute__((noinline, cold)) static bool
number_problem(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
               const char *s, size_t n, enum num_status status, struct obs_reject *pr)
{
    char text[SHOWN_MAX];
    const char *name = field_name(b, f);
    if (status == NUM_INVALID)
        return problem(pr, row, name, "invalid_number", "%s \"%s\" is not a number", name,
                       shown(text, s, n));
    return problem(pr, row, name, "not_finite", "%s must be a finite number, not %s", name,
                   shown(text, s, n));
}

static bool put_period(const struct obs_batch *b, struct obs_row *row, const char *s, size_t n,
                       struct obs_reject *pr)
{
    enum period_parse_status status = b->format == OBS_FORMAT_DHIS2
                                          ? period_parse_dhis2(s, n, &row->period)
                                          : period_parse(s, n, &row->period);
    return status == PERIOD_PARSE_OK || period_problem(row, s, n, status, pr);
}

static bool put_number(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
                       const char *s, size_t n, bool lenient, double *dst, struct obs_reject *pr)
{
    enum num_status status = number_parse(s, n, lenient, dst);
    return status == NUM_OK || number_problem(b, row, f, s, n, status, pr);
}

/* ---------------------------------------------------------------------------------------
 * JSON documents: tokens from jsmn, then the structure checks jsmn leaves out
 */

/* At most this many tokens (64 per row on average) whatever the body size. */
#define JSON_MAX_TOKENS (64u * OBS_MAX_ROWS + 4096)

struct json_doc {
    const char *body;
    size_t len;
    const jsmntok_t *t;
    int n;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t raw_start(const jsmntok_t *t)
{
    return (size_t)t->start - (t->type == JSMN_STRING);
}

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
    return doc_error(err, OBS_PARSE_MALFORMED, "malformed_json", d->body, pos, "invalid JSON: %s",
                     why);
}

static enum obs_parse_status json_tokenize(struct obs_batch *b, struct json_doc *d,
                                           struct obs_parse_error *err)
{
    jsmn_parser parser;
    size_t want = d->len / 8 + 64;
    jsmn_init(&parser);
    for (;;) {
        if (want > JSON_MAX_TOKENS)
            want = JSON_MAX_TOKENS;
        if (b->tokens_cap < want) {
            jsmntok_t *tokens = realloc(b->tokens, want * sizeof *tokens);
            if (tokens == NULL)
                return doc_error(err, OBS_PARSE_NO_MEMORY, "out_of_memory", NULL, 0,
                                 "out of memory for %zu JSON tokens", want);
            b->tokens = tokens;
            b->tokens_cap = want;
        }
        int r = jsmn_parse(&parser, d->body, d->len, b->tokens, (unsigned)b->tokens_cap);
        if (r >= 0)
            break;
        if (r != JSMN_ERROR_NOMEM)
            return json_syntax_error(d, r, parser.pos, err);
        if (b->tokens_cap >= JSON_MAX_TOKENS)
            return doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                             "the document holds more than %u JSON values", JSON_MAX_TOKENS);
        want = b->tokens_cap * 2;
    }
    d->t = b->tokens;
    d->n = (int)parser.toknext;
    return OBS_PARSE_OK;
}

/* Offset of the first byte in [pos, end) that is not whitespace around one `sep` (none if
 * sep is 0), or SIZE_MAX when the gap is right. */
static size_t check_gap(const char *s, size_t pos, size_t end, char sep)
{
    while (pos < end && is_space(s[pos]))
        pos++;
    if (sep != 0) {
        if (pos >= end || s[pos] != sep)
            return pos;
        pos++;
        while (pos < end && is_space(s[pos]))
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
    return number_fast(s, n, &value) || number_scan(s, n, false, &ignored) != NUM_INVALID;
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
    size_t pos = 0, off = SIZE_MAX;
    enum walk_error error = WALK_EXPECTED_END;
    for (int i = 0; i < d->n && off == SIZE_MAX; i++) {
        const jsmntok_t *tok = &t[i];
        for (; open != tok->parent && open != -1 && off == SIZE_MAX; open = t[open].parent) {
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
            off = raw_start(tok);
        } else if (sep == '?') {
            off = error == WALK_BAD_COLON ? raw_end(tok) : raw_start(tok);
        } else {
            off = gap_error(body, pos, raw_start(tok), sep);
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
            off = raw_start(tok);
        }
    }
    for (; open != -1 && off == SIZE_MAX; open = t[open].parent) {
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
    *bad = off;
    *why = walk_messages[error];
    return off == SIZE_MAX;
}

/* Tokenizes and checks a body whose root must be an object. */
static enum obs_parse_status json_open(struct obs_batch *b, const char *body, size_t len,
                                       struct json_doc *d, struct obs_parse_error *err)
{
    size_t bad;
    const char *why;
    if (len > OBS_MAX_BODY)
        return doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                         "the body is larger than %u bytes", OBS_MAX_BODY);
    d->body = body;
    d->len = len;
    const char *nul = memchr(body, '\0', len);
    if (nul != NULL)
        return doc_error(err, OBS_PARSE_MALFORMED, "malformed_json", body, (size_t)(nul - body),
                         "invalid JSON: NUL byte");
    enum obs_parse_status status = json_tokenize(b, d, err);
    if (status != OBS_PARSE_OK)
        return status;
    if (d->n == 0)
        return doc_error(err, OBS_PARSE_EMPTY, "empty_body", NULL, 0, "the body is empty");
    if (!json_structure(d, &bad, &why))
        return doc_error(err, OBS_PARSE_MALFORMED, "malformed_json", body, bad, "invalid JSON: %s",
                         why);
    if (d->t[0].type != JSMN_OBJECT)
        return doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", body, raw_start(d->t),
                         "the body must be a JSON object");
    return OBS_PARSE_OK;
}

/* Index of the token after the value at i and everything inside it. */
static int json_next(const struct json_doc *d, int i)
{
    int j = i + 1;
    if (d->t[i].type == JSMN_OBJECT || d->t[i].type == JSMN_ARRAY) {
        while (j < d->n && d->t[j].start < d->t[i].end)
            j++;
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
    if (memchr(raw, '\\', n) == NULL || json_unescape(raw, n, true, buf, KEY_MAX, &len) != TEXT_OK)
        return -1;
    return key_lookup(keys, count, 0, buf, len);
}

enum members_result {
    MEMBERS_OK,
    MEMBERS_UNKNOWN,
    MEMBERS_DUPLICATE,
};

/*
 * For each keys[i], the index of its value token in object o (-1 when absent) in vals.
 * Stops at a key given twice, or at a key not in keys when unknown_is_error: *bad_key is
 * then that key's token. Otherwise *bad_key is the index of the token after the object.
 */
static enum members_result json_members(const struct json_doc *d, int o,
                                        const struct field_key *keys, int count,
                                        bool unknown_is_error, int *vals, int *bad_key)
{
    const jsmntok_t *t = d->t;
    enum members_result result = MEMBERS_OK;
    int k = o + 1, f = -1, size = t[o].size;
    for (int i = 0; i < count; i++)
        vals[i] = -1;
    for (int m = 0; m < size; m++, k = json_next(d, k + 1)) {
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

static const char *json_type_name(const struct json_doc *d, int i)
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

static bool json_is_null(const struct json_doc *d, int i)
{
    return d->t[i].type == JSMN_PRIMITIVE && d->body[d->t[i].start] == 'n';
}

static const char *json_raw(const struct json_doc *d, int i, size_t *n)
{
    *n = (size_t)(d->t[i].end - d->t[i].start);
    return d->body + d->t[i].start;
}

/* ---------------------------------------------------------------------------------------
 * JSON and DHIS2 rows
 */

/* A required string field present and a string, or a problem. */
static bool json_need_string(const struct obs_batch *b, const struct json_doc *d,
                             const struct obs_row *row, enum obs_field f, int tok,
                             struct obs_reject *pr)
{
    if (tok >= 0 && d->t[tok].type == JSMN_STRING)
        return true;
    const char *name = field_name(b, f);
    if (tok < 0)
        return problem(pr, row, name, "missing_field", "%s is required", name);
    return problem(pr, row, name, "invalid_type", "%s must be a string, not %s", name,
                   json_type_name(d, tok));
}

static bool json_code(const struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                      enum obs_field f, int tok, char *dst, struct obs_reject *pr)
{
    size_t n, len;
    if (!json_need_string(b, d, row, f, tok, pr))
        return false;
    const char *raw = json_raw(d, tok, &n);
    enum text_status status = json_unescape(raw, n, true, dst, OBS_CODE_MAX, &len);
    return code_status(b, row, f, status, len, pr);
}

static bool json_period(const struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                        int tok, struct obs_reject *pr)
{
    char text[16], quoted[SHOWN_MAX];
    size_t n, len;
    if (!json_need_string(b, d, row, FIELD_PERIOD, tok, pr))
        return false;
    const char *raw = json_raw(d, tok, &n);
    enum text_status status = json_unescape(raw, n, true, text, sizeof text - 1, &len);
    if (status == TEXT_TOO_LONG)
        return problem(pr, row, "period", "invalid_period", "period \"%s\" is not valid: %s",
                       shown(quoted, raw, n), period_parse_status_message(PERIOD_PARSE_SYNTAX));
    if (!code_status(b, row, FIELD_PERIOD, status, len, pr))
        return false;
    return put_period(b, row, text, len, pr);
}

/* A DHIS2 value written as a string: "151". */
static bool json_text_number(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
                             const char *raw, size_t n, double *dst, struct obs_reject *pr)
{
    char text[64];
    size_t len;
    if (json_unescape(raw, n, true, text, sizeof text - 1, &len) != TEXT_OK)
        return put_number(b, row, f, raw, n, true, dst, pr); /* shows it as not a number */
    if (len == 0)
        return problem(pr, row, field_name(b, f), "missing_field", "%s is empty", field_name(b, f));
    return put_number(b, row, f, text, len, true, dst, pr);
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
    if (tok < 0 || json_is_null(d, tok))
        return required ? problem(pr, row, field_name(b, f), "missing_field", "%s is required",
                                  field_name(b, f))
                        : true;
    const char *raw = json_raw(d, tok, &n);
    char c = raw[0];
    *has = true;
    if (d->t[tok].type == JSMN_PRIMITIVE && c != 't' && c != 'f' && c != 'n')
        return put_number(b, row, f, raw, n, false, dst, pr);
    if (d->t[tok].type == JSMN_STRING && b->format == OBS_FORMAT_DHIS2)
        return json_text_number(b, row, f, raw, n, dst, pr);
    *has = false;
    return problem(pr, row, field_name(b, f), "invalid_type", "%s must be a number, not %s",
                   field_name(b, f), json_type_name(d, tok));
}

static bool json_comment(struct obs_batch *b, const struct json_doc *d, struct obs_row *row,
                         int tok, struct obs_reject *pr)
{
    size_t n, len;
    if (tok < 0 || json_is_null(d, tok))
        return true;
    if (d->t[tok].type != JSMN_STRING)
        return problem(pr, row, "comment", "invalid_type", "comment must be a string, not %s",
                       json_type_name(d, tok));
    const char *raw = json_raw(d, tok, &n);
    size_t max = n < OBS_COMMENT_MAX ? n : OBS_COMMENT_MAX;
    char *text = arena_alloc(b, max + 1); /* decoding never lengthens */
    if (text == NULL)
        return true; /* out_of_memory fails the whole parse */
    enum text_status status = json_unescape(raw, n, false, text, max, &len);
    if (!code_status(b, row, FIELD_COMMENT, status, len, pr))
        return false;
    row->comment = len > 0 ? text : NULL;
    return true;
}

/* The DHIS2 data value set's defaults for values without period or orgUnit. */
struct dhis2_defaults {
    int period;
    int org_unit;
};

/* Reads the row at token e; returns the index of the token after it. */
static int json_row(struct obs_batch *b, const struct json_doc *d, int e,
                    const struct dhis2_defaults *defaults)
{
    const struct field_key *keys = defaults ? dhis2_field_keys : obs_field_keys;
    struct obs_row *row = row_slot(b); /* capacity reserved by the caller */
    struct obs_reject pr;
    char key[SHOWN_MAX];
    int vals[FIELD_COUNT], bad_key;
    size_t n;
    b->n_rows++;
    if (d->t[e].type != JSMN_OBJECT) {
        reject(b, row, "", "invalid_type", "each %s must be an object, not %s",
               defaults ? "data value" : "observation", json_type_name(d, e));
        return json_next(d, e);
    }
    enum members_result members =
        json_members(d, e, keys, FIELD_COUNT, defaults == NULL, vals, &bad_key);
    if (members != MEMBERS_OK) {
        const char *raw = json_raw(d, bad_key, &n);
        shown(key, raw, n);
        if (members == MEMBERS_UNKNOWN)
            reject(b, row, key, "unknown_field", "unknown field \"%s\"", key);
        else
            reject(b, row, key, "duplicate_field", "field \"%s\" appears more than once", key);
        return json_next(d, e);
    }
    int next = bad_key;
    if (defaults != NULL && vals[FIELD_SITE] < 0)
        vals[FIELD_SITE] = defaults->org_unit;
    if (defaults != NULL && vals[FIELD_PERIOD] < 0)
        vals[FIELD_PERIOD] = defaults->period;
    bool has_value;
    bool ok =
        json_code(b, d, row, FIELD_INDICATOR, vals[FIELD_INDICATOR], row->indicator, &pr) &&
        json_code(b, d, row, FIELD_SITE, vals[FIELD_SITE], row->site, &pr) &&
        json_period(b, d, row, vals[FIELD_PERIOD], &pr) &&
        json_number(b, d, row, FIELD_VALUE, vals[FIELD_VALUE], &has_value, &row->value, &pr) &&
        json_number(b, d, row, FIELD_NUMERATOR, vals[FIELD_NUMERATOR], &row->has_numerator,
                    &row->numerator, &pr) &&
        json_number(b, d, row, FIELD_DENOMINATOR, vals[FIELD_DENOMINATOR], &row->has_denominator,
                    &row->denominator, &pr) &&
        json_comment(b, d, row, vals[FIELD_COMMENT], &pr);
    if (!ok)
        reject_push(b, row, &pr);
    return next;
}

/* Checks the rows array (the value of key `name`) and reserves its rows. */
static enum obs_parse_status json_rows_array(struct obs_batch *b, const struct json_doc *d,
                                             int array, const char *name,
                                             struct obs_parse_error *err)
{
    if (array < 0)
        return doc_error(err, OBS_PARSE_INVALID_SHAPE, "missing_field", NULL, 0,
                         "the body has no \"%s\" array", name);
    if (d->t[array].type != JSMN_ARRAY)
        return doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", d->body,
                         raw_start(&d->t[array]), "\"%s\" must be an array, not %s", name,
                         json_type_name(d, array));
    if (d->t[array].size == 0)
        return doc_error(err, OBS_PARSE_EMPTY, "empty_batch", NULL, 0, "\"%s\" is empty", name);
    if (d->t[array].size > OBS_MAX_ROWS)
        return doc_error(err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                         "\"%s\" holds %d rows, more than the %d allowed in one batch", name,
                         d->t[array].size, OBS_MAX_ROWS);
    if (!rows_reserve(b, (size_t)d->t[array].size))
        return doc_error(err, OBS_PARSE_NO_MEMORY, "out_of_memory", NULL, 0,
                         "out of memory for %d rows", d->t[array].size);
    return OBS_PARSE_OK;
}

static enum obs_parse_status json_duplicate_key(const struct json_doc *d, int key,
                                                struct obs_parse_error *err)
{
    char text[SHOWN_MAX];
    size_t n;
    const char *raw = json_raw(d, key, &n);
    return doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", d->body,
                     raw_start(&d->t[key]), "key \"%s\" appears more than once",
                     shown(text, raw, n));
}

/* Parses the rows of the array at index `array`, the JSON or DHIS2 way. */
static enum obs_parse_status json_parse_rows(struct obs_batch *b, const struct json_doc *d,
                                             int array, const char *name,
                                             const struct dhis2_defaults *defaults,
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
    enum obs_parse_status status = json_open(b, body, len, &d, err);
    if (status != OBS_PARSE_OK)
        return status;
    if (json_members(&d, 0, keys, 1, false, &array, &bad_key) != MEMBERS_OK)
        return json_duplicate_key(&d, bad_key, err);
    return json_parse_rows(b, &d, array, "observations", NULL, err);
}

static enum obs_parse_status dhis2_data_values(struct obs_batch *b, const char *body, size_t len,
                                               struct obs_parse_error *err)
{
    static const struct field_key keys[] = {FIELD_KEY("dataValues"), FIELD_KEY("period"),
                                            FIELD_KEY("orgUnit")};
    struct json_doc d;
    int vals[3], bad_key;
    enum obs_parse_status status = json_open(b, body, len, &d, err);
    if (status != OBS_PARSE_OK)
        return status;
    if (json_members(&d, 0, keys, 3, false, vals, &bad_key) != MEMBERS_OK)
        return json_duplicate_key(&d, bad_key, err);
    struct dhis2_defaults defaults = {.period = vals[1], .org_unit = vals[2]};
    return json_parse_rows(b, &d, vals[0], "dataValues", &defaults, err);
}

/* ---------------------------------------------------------------------------------------
 * CSV
 */

struct csv_state {
    struct obs_batch *b;
    struct obs_parse_error *err;
    enum obs_parse_status status;
    bool in_header;
    size_t n_columns;
    enum obs_field columns[FIELD_COUNT]; /* field of each column */
    unsigned seen;                       /* bit per field named in the header */
    size_t unnamed_column;               /* 1-based index of a header column with no name */
    size_t field_index;                  /* fields seen in the current record */
    bool any_content;                    /* a field of the current record is not empty */
    struct obs_row *row;
    enum obs_field pending_field; /* FIELD_COUNT when the record has no problem yet */
    struct obs_reject pending;
    struct obs_reject scratch; /* a field's problem, before it is compared with pending */
};

/* Kept out of csv_on_field so that the per-field callback stays small. */
__attribute__((noinline)) static void csv_header_field(struct csv_state *st, size_t index,
                                                       const char *s, size_t n)
{
    char text[SHOWN_MAX];
    int f = -1;
    for (int i = 0; i < FIELD_COUNT && f < 0; i++) {
        if (obs_field_keys[i].len == n && strncasecmp(obs_field_keys[i].text, s, n) == 0)
            f = i;
    }
    if (n == 0) {
        if (st->unnamed_column == 0)
            st->unnamed_column = index + 1;
    } else if (f < 0) {
        st->status = doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "unknown_column", NULL, 0,
                               "unknown column \"%s\" in the header; expected indicator, site, "
                               "period, value, numerator, denominator, comment",
                               shown(text, s, n));
    } else if (st->seen & (1u << f)) {
        st->status = doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "duplicate_column", NULL, 0,
                               "column \"%s\" appears twice in the header", obs_field_keys[f].text);
    } else if (index < FIELD_COUNT) {
        st->seen |= 1u << f;
        st->columns[index] = (enum obs_field)f;
    }
    /* a new field past column FIELD_COUNT means an earlier column had no name: the header
     * fails at its end, so columns[] never needs more than FIELD_COUNT entries */
}

static void csv_header_end(struct csv_state *st)
{
    if (st->unnamed_column != 0) {
        st->status = doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "unknown_column", NULL, 0,
                               "column %zu of the header has no name", st->unnamed_column);
        return;
    }
    for (int f = FIELD_INDICATOR; f <= FIELD_VALUE; f++) {
        if (!(st->seen & (1u << f))) {
            st->status = doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "missing_column", NULL, 0,
                                   "the header has no \"%s\" column", obs_field_keys[f].text);
            return;
        }
    }
    st->n_columns = st->field_index;
    st->in_header = false;
}

static bool csv_code(const struct obs_batch *b, struct obs_row *row, enum obs_field f,
                     const char *s, size_t n, char *dst, struct obs_reject *pr)
{
    if (n > 0 && n <= OBS_CODE_MAX && plain_copy(dst, s, n, false)) {
        dst[n] = '\0';
        return true;
    }
    enum text_status status = n > OBS_CODE_MAX ? TEXT_TOO_LONG : text_check(s, n, true);
    if (!code_status(b, row, f, status, n, pr))
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static bool csv_comment(struct obs_batch *b, struct obs_row *row, const char *s, size_t n,
                        struct obs_reject *pr)
{
    enum text_status status = n > OBS_COMMENT_MAX ? TEXT_TOO_LONG : text_check(s, n, false);
    if (!code_status(b, row, FIELD_COMMENT, status, n, pr))
        return false;
    char *text = arena_alloc(b, n + 1);
    if (text != NULL) {
        memcpy(text, s, n);
        text[n] = '\0';
        row->comment = text;
    }
    return true;
}

/*
 * Readers of one CSV field each, indexed by enum obs_field: false when the field has a
 * problem, which is then described in st->scratch. An empty optional field is absent.
 */
static bool csv_read_indicator(struct csv_state *st, const char *s, size_t n)
{
    return csv_code(st->b, st->row, FIELD_INDICATOR, s, n, st->row->indicator, &st->scratch);
}

static bool csv_read_site(struct csv_state *st, const char *s, size_t n)
{
    return csv_code(st->b, st->row, FIELD_SITE, s, n, st->row->site, &st->scratch);
}

static bool csv_read_period(struct csv_state *st, const char *s, size_t n)
{
    if (n == 0)
        return code_status(st->b, st->row, FIELD_PERIOD, TEXT_OK, 0, &st->scratch);
    return put_period(st->b, st->row, s, n, &st->scratch);
}

static bool csv_read_value(struct csv_state *st, const char *s, size_t n)
{
    if (n == 0)
        return code_status(st->b, st->row, FIELD_VALUE, TEXT_OK, 0, &st->scratch);
    return put_number(st->b, st->row, FIELD_VALUE, s, n, true, &st->row->value, &st->scratch);
}

static bool csv_read_numerator(struct csv_state *st, const char *s, size_t n)
{
    struct obs_row *row = st->row;
    if (n == 0)
        return true;
    row->has_numerator =
        put_number(st->b, row, FIELD_NUMERATOR, s, n, true, &row->numerator, &st->scratch);
    return row->has_numerator;
}

static bool csv_read_denominator(struct csv_state *st, const char *s, size_t n)
{
    struct obs_row *row = st->row;
    if (n == 0)
        return true;
    row->has_denominator =
        put_number(st->b, row, FIELD_DENOMINATOR, s, n, true, &row->denominator, &st->scratch);
    return row->has_denominator;
}

static bool csv_read_comment(struct csv_state *st, const char *s, size_t n)
{
    return n == 0 || csv_comment(st->b, st->row, s, n, &st->scratch);
}

static bool (*const csv_readers[FIELD_COUNT])(struct csv_state *, const char *, size_t) = {
    csv_read_indicator, csv_read_site,        csv_read_period,  csv_read_value,
    csv_read_numerator, csv_read_denominator, csv_read_comment,
};

/* Keeps the problem in st->scratch if it is the record's first by field order. */
__attribute__((noinline, cold)) static void csv_keep_problem(struct csv_state *st, enum obs_field f)
{
    if (f < st->pending_field) {
        st->pending = st->scratch;
        st->pending_field = f;
    }
}

/* A data record starts: its row slot. False (and the parse fails) without memory. */
__attribute__((noinline)) static bool csv_row_begin(struct csv_state *st)
{
    st->row = row_slot(st->b);
    st->pending_field = FIELD_COUNT;
    if (st->row != NULL)
        return true;
    st->status = doc_error(st->err, OBS_PARSE_NO_MEMORY, "out_of_memory", NULL, 0,
                           "out of memory after %zu rows", st->b->n_rows);
    return false;
}

/* libcsv's field callback: kept small, since it runs for every field. */
static void csv_on_field(void *field, size_t n, void *data)
{
    struct csv_state *st = data;
    size_t index = st->field_index++;
    const char *s = field != NULL ? field : "";
    if (st->status != OBS_PARSE_OK)
        return;
    st->any_content |= n > 0;
    if (st->in_header) {
        csv_header_field(st, index, s, n);
        return;
    }
    if (index == 0 && !csv_row_begin(st))
        return;
    if (index < st->n_columns && !csv_readers[st->columns[index]](st, s, n))
        csv_keep_problem(st, st->columns[index]);
}

static void csv_on_record(int terminator, void *data)
{
    struct csv_state *st = data;
    struct obs_batch *b = st->b;
    (void)terminator;
    if (st->status != OBS_PARSE_OK || st->field_index == 0)
        return;
    if (!st->any_content) {
        /* a blank record: skipped, not counted */
    } else if (st->in_header) {
        csv_header_end(st);
    } else if (b->n_rows == OBS_MAX_ROWS) {
        st->status = doc_error(st->err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                               "more than the %d rows allowed in one batch", OBS_MAX_ROWS);
    } else {
        b->n_rows++;
        if (st->field_index != st->n_columns)
            reject(b, st->row, "", "column_count",
                   "expected %zu fields as in the header, found %zu", st->n_columns,
                   st->field_index);
        else if (st->pending_field != FIELD_COUNT)
            reject_push(b, st->row, &st->pending);
    }
    st->field_index = 0;
    st->any_content = false;
    st->unnamed_column = 0;
}

/* Offset of the opening quote of a quoted field still open at the end of s, or len. */
static size_t csv_open_quote(const char *s, size_t len)
{
    size_t open = len;
    bool quoted = false, field_start = true;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '"' && i + 1 < len && s[i + 1] == '"')
                i++;
            else if (c == '"')
                quoted = false;
        } else if (c == '"' && field_start) {
            quoted = true;
            field_start = false;
            open = i;
        } else if (c == ',' || c == '\n' || c == '\r') {
            field_start = true;
        } else if (c != ' ' && c != '\t') {
            field_start = false;
        }
    }
    return quoted ? open : len;
}

/* A libcsv parse error at offset (len: at the end) of body, whose CSV starts at start. */
static enum obs_parse_status csv_syntax_error(const char *body, size_t start, size_t len,
                                              size_t offset, struct obs_parse_error *err)
{
    if (offset >= len) {
        struct obs_parse_error where;
        size_t open = start + csv_open_quote(body + start, len - start);
        set_position(&where, body, open);
        return doc_error(err, OBS_PARSE_MALFORMED, "unterminated_quote", body, open,
                         "the quoted field opened on line %u is never closed", where.line);
    }
    return doc_error(err, OBS_PARSE_MALFORMED, "malformed_csv", body, offset,
                     body[offset] == '"' ? "a quote inside an unquoted field (quote the whole "
                                           "field and double the quote)"
                                         : "only a comma or a line end may follow a closing quote");
}

static bool csv_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_space(s[i]))
            return false;
    }
    return true;
}

/* Feeds the body to libcsv in chunks, stopping early at a document error. */
static enum obs_parse_status csv_run(struct csv_state *st, struct csv_parser *parser,
                                     const char *body, size_t start, size_t len)
{
    for (size_t off = start; off < len && st->status == OBS_PARSE_OK; off += CSV_CHUNK) {
        size_t n = len - off < CSV_CHUNK ? len - off : CSV_CHUNK;
        size_t done = csv_parse(parser, body + off, n, csv_on_field, csv_on_record, st);
        if (done != n && csv_error(parser) == CSV_EPARSE)
            return csv_syntax_error(body, start, len, off + done, st->err);
        if (done != n)
            return doc_error(st->err, OBS_PARSE_NO_MEMORY, "out_of_memory", NULL, 0,
                             "out of memory for a CSV field");
    }
    if (st->status == OBS_PARSE_OK && csv_fini(parser, csv_on_field, csv_on_record, st) != 0)
        return csv_error(parser) == CSV_EPARSE
                   ? csv_syntax_error(body, start, len, len, st->err)
                   : doc_error(st->err, OBS_PARSE_NO_MEMORY, "out_of_memory", NULL, 0,
                               "out of memory for a CSV field");
    return st->status;
}

static enum obs_parse_status csv_observations(struct obs_batch *b, const char *body, size_t len,
                                              struct obs_parse_error *err)
{
    struct csv_parser parser;
    struct csv_state st = {.b = b, .err = err, .in_header = true, .pending_field = FIELD_COUNT};
    size_t start = len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    if (len > OBS_MAX_BODY)
        return doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                         "the body is larger than %u bytes", OBS_MAX_BODY);
    if (csv_blank(body + start, len - start))
        return doc_error(err, OBS_PARSE_EMPTY, "empty_body", NULL, 0,
                         "the body is empty: a header row is required");
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return doc_error(err, OBS_PARSE_NO_MEMORY, "out_of_memory", NULL, 0,
                         "out of memory for the CSV parser");
    enum obs_parse_status status = csv_run(&st, &parser, body, start, len);
    csv_free(&parser);
    if (status == OBS_PARSE_OK && st.in_header)
        return doc_error(err, OBS_PARSE_EMPTY, "empty_body", NULL, 0,
                         "the body is empty: a header row is required");
    if (status == OBS_PARSE_OK && b->n_rows == 0)
        return doc_error(err, OBS_PARSE_EMPTY, "empty_batch", NULL, 0,
                         "the CSV has a header but no rows");
    return status;
}

/* ---------------------------------------------------------------------------------------
 * Entry points
 */

static void parse_begin(struct obs_batch *b, struct obs_parse_error *err, enum obs_format format)
{
    obs_batch_reset(b);
    b->format = format;
    memset(err, 0, sizeof *err);
}

static enum obs_parse_status parse_end(struct obs_batch *b, struct obs_parse_error *err,
                                       enum obs_parse_status status)
{
    if (status == OBS_PARSE_OK && b->out_of_memory)
        status = doc_error(err, OBS_PARSE_NO_MEMORY, "out_of_memory", NULL, 0,
                           "out of memory while reading %zu rows", b->n_rows);
    if (status != OBS_PARSE_OK)
        obs_batch_reset(b);
    return status;
}

enum obs_parse_status obs_parse_json(const char *body, size_t len, struct obs_batch *batch,
                                     struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_JSON);
    return parse_end(batch, err, json_observations(batch, body, len, err));
}

enum obs_parse_status obs_parse_dhis2(const char *body, size_t len, struct obs_batch *batch,
                                      struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_DHIS2);
    return parse_end(batch, err, dhis2_data_values(batch, body, len, err));
}

enum obs_parse_status obs_parse_csv(const char *body, size_t len, struct obs_batch *batch,
                                    struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_CSV);
    return parse_end(batch, err, csv_observations(batch, body, len, err));
}

/* ---------------------------------------------------------------------------------------
 * Validation against the catalog
 */

/* Why v does not fit the value type, or NULL. */
static const char *value_type_problem(enum value_type type, double v)
{
    switch (type) {
    case VALUE_COUNT:
        return v < 0 || v != floor(v) ? "a count must be a whole number of 0 or more" : NULL;
    case VALUE_PERCENTAGE:
        return v < 0 || v > 100 ? "a percentage must be between 0 and 100" : NULL;
    case VALUE_RATIO:
        return v < 0 ? "a ratio must be 0 or more" : NULL;
    case VALUE_SCORE:
        return v < 0 || v > 4 || v != floor(v) ? "a score must be a whole number from 0 to 4"
                                               : NULL;
    }
    return NULL;
}

/* Value, numerator and denominator in range; rejects the row and returns false if not. */
static bool validate_values(struct obs_batch *b, struct obs_row *row,
                            const struct catalog_indicator *ind)
{
    const char *why = value_type_problem(ind->value_type, row->value);
    if (why != NULL) {
        reject(b, row, "value", "out_of_range", "value %.15g is out of range for %s \"%s\": %s",
               row->value, field_name(b, FIELD_INDICATOR), ind->code, why);
    } else if (row->has_numerator && row->numerator < 0) {
        reject(b, row, "numerator", "out_of_range", "numerator must be 0 or more, not %.15g",
               row->numerator);
    } else if (row->has_denominator && row->denominator < 0) {
        reject(b, row, "denominator", "out_of_range", "denominator must be 0 or more, not %.15g",
               row->denominator);
    } else if (row->has_numerator && row->has_denominator && ind->value_type != VALUE_RATIO &&
               row->numerator > row->denominator) {
        reject(b, row, "numerator", "out_of_range",
               "numerator %.15g is larger than denominator %.15g", row->numerator,
               row->denominator);
    }
    return !row->rejected;
}

/* The row's period as text, for a message. */
static const char *period_text(const struct obs_row *row, char buf[PERIOD_FORMAT_MAX])
{
    return period_format(row->period, buf, PERIOD_FORMAT_MAX) ? buf : "?";
}

static void validate_row(struct obs_batch *b, const struct catalog *cat, struct obs_row *row,
                         const int32_t current_start[4])
{
    const char *ind_name = field_name(b, FIELD_INDICATOR), *site_name = field_name(b, FIELD_SITE);
    const struct catalog_indicator *ind =
        catalog_find_indicator(cat, row->indicator, strlen(row->indicator));
    const struct catalog_site *site = catalog_find_site(cat, row->site, strlen(row->site));
    int32_t start = period_start(row->period);
    char period[PERIOD_FORMAT_MAX];
    if (ind == NULL)
        reject(b, row, ind_name, "unknown_indicator", "%s \"%s\" is not defined in this programme",
               ind_name, row->indicator);
    else if (site == NULL)
        reject(b, row, site_name, "unknown_site", "%s \"%s\" is not a known site", site_name,
               row->site);
    else if (!site->member)
        reject(b, row, site_name, "site_not_in_programme",
               "%s \"%s\" does not take part in this programme", site_name, row->site);
    else if (row->period.type != ind->period_type)
        reject(b, row, "period", "period_type_mismatch",
               "period %s is %s but %s \"%s\" is reported %s", period_text(row, period),
               period_type_name(row->period.type), ind_name, ind->code,
               period_type_name(ind->period_type));
    else if (start > current_start[ind->period_type])
        reject(b, row, "period", "future_period", "period %s has not begun yet",
               period_text(row, period));
    if (row->rejected || !validate_values(b, row, ind))
        return;
    row->indicator_id = ind->id;
    row->site_id = site->id;
    row->period_start = start;
}

static uint64_t key_hash(const struct obs_row *row)
{
    uint64_t h = (uint64_t)row->indicator_id * 0x9E3779B97F4A7C15u;
    h ^= (uint64_t)row->site_id * 0xC2B2AE3D27D4EB4Fu;
    h ^= (uint64_t)(uint32_t)row->period_start * 0x165667B19E3779F9u;
    return h ^ (h >> 29);
}

static bool same_key(const struct obs_row *a, const struct obs_row *b)
{
    return a->indicator_id == b->indicator_id && a->site_id == b->site_id &&
           a->period_start == b->period_start;
}

/* other[i]: the row number of another row with row i's key, 0 when it has none. */
static void find_duplicates(const struct obs_batch *b, uint32_t *slots, size_t mask,
                            uint32_t *other)
{
    for (size_t i = 0; i < b->n_rows; i++) {
        const struct obs_row *row = &b->rows[i];
        if (row->rejected)
            continue;
        size_t j = key_hash(row) & mask;
        while (slots[j] != 0 && !same_key(&b->rows[slots[j] - 1], row))
            j = (j + 1) & mask;
        if (slots[j] == 0) {
            slots[j] = (uint32_t)i + 1;
            continue;
        }
        size_t first = slots[j] - 1;
        if (other[first] == 0)
            other[first] = row->row;
        other[i] = b->rows[first].row;
    }
}

static bool reject_duplicates(struct obs_batch *b)
{
    size_t n_slots = 16;
    while (n_slots < 2 * b->n_rows)
        n_slots *= 2;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    uint32_t *other = calloc(b->n_rows + 1, sizeof *other);
    bool ok = slots != NULL && other != NULL;
    if (!ok)
        goto out;
    find_duplicates(b, slots, n_slots - 1, other);
    for (size_t i = 0; i < b->n_rows; i++) {
        struct obs_row *row = &b->rows[i];
        char period[PERIOD_FORMAT_MAX];
        if (other[i] != 0)
            reject(b, row, "", "duplicate_key",
                   "row %u has the same indicator, site and period (%s, %s, %s)", other[i],
                   row->indicator, row->site, period_text(row, period));
    }
out:
    free(slots);
    free(other);
    return ok;
}

static int reject_order(const void *a, const void *b)
{
    uint32_t ra = ((const struct obs_reject *)a)->row, rb = ((const struct obs_reject *)b)->row;
    return (ra > rb) - (ra < rb);
}

bool obs_validate(struct obs_batch *batch, const struct catalog *cat, int32_t today)
{
    int32_t current_start[4];
    for (int type = PERIOD_WEEKLY; type <= PERIOD_YEARLY; type++)
        current_start[type] = period_start(period_containing((enum period_type)type, today));
    for (size_t i = 0; i < batch->n_rows; i++) {
        if (!batch->rows[i].rejected)
            validate_row(batch, cat, &batch->rows[i], current_start);
    }
    if (!reject_duplicates(batch))
        batch->out_of_memory = true;
    if (batch->n_rejects > 1)
        qsort(batch->rejects, batch->n_rejects, sizeof *batch->rejects, reject_order);
    return !batch->out_of_memory;
}
