/*
 * The scalars of an observation row: UTF-8 checks, JSON string unescaping, numbers (a fast
 * exact path for plain decimals, strtod for the rest), and codes, periods and comments
 * turned into row problems. Shared by the JSON, DHIS2 and CSV readers (parse_scalar.h).
 */
#include "parse_scalar.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

enum text_status scalar_text_check(const char *s, size_t n, bool code)
{
    const unsigned char *u = (const unsigned char *)s;
    if (scalar_plain_copy(NULL, s, n, false))
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

enum text_status scalar_json_unescape_slow(const char *s, size_t n, bool code, char *dst,
                                           size_t max, size_t *out_len)
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

/* Index after the digits from s[i]; they are added to *mantissa (which wraps past 19). */
static size_t scan_digits(const char *s, size_t i, size_t n, uint64_t *mantissa)
{
    uint64_t m = *mantissa;
    for (; i < n && is_digit(s[i]); i++)
        m = m * 10 + (uint64_t)(s[i] - '0');
    *mantissa = m;
    return i;
}

enum num_status scalar_number_scan(const char *s, size_t n, bool lenient, struct number_text *t)
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

bool scalar_number_fast(const char *s, size_t n, double *out)
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
    if (scalar_number_fast(s, n, out))
        return NUM_OK;
    enum num_status status = scalar_number_scan(s, n, lenient, &t);
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
bool scalar_code_problem(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
                         enum text_status status, size_t len, struct obs_reject *pr)
{
    const char *name = parse_field_name(b, f);
    switch (status) {
    case TEXT_TOO_LONG:
        return parse_problem(pr, row, name, "too_long", "%s is longer than %d bytes", name,
                             f == FIELD_COMMENT ? OBS_COMMENT_MAX : OBS_CODE_MAX);
    case TEXT_BAD_UTF8:
        return parse_problem(pr, row, name, "invalid_utf8", "%s is not valid UTF-8", name);
    case TEXT_CONTROL:
        return parse_problem(pr, row, name, "invalid_value", "%s contains a control character",
                             name);
    case TEXT_OK:
        break;
    }
    if (len == 0 && f != FIELD_COMMENT)
        return parse_problem(pr, row, name, "missing_field", "%s is empty", name);
    return true;
}

/* The problems of periods and numbers, out of the way of the common case. */
bool scalar_period_problem(const struct obs_row *row, const char *s, size_t n,
                           enum period_parse_status status, struct obs_reject *pr)
{
    char text[SHOWN_MAX];
    parse_problem(pr, row, "period", "invalid_period", "period \"%s\" is not valid: %s",
                  parse_shown(text, s, n), period_parse_status_message(status));
    return parse_given(pr, text);
}

__attribute__((noinline, cold)) static bool
number_problem(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
               const char *s, size_t n, enum num_status status, struct obs_reject *pr)
{
    char text[SHOWN_MAX];
    const char *name = parse_field_name(b, f);
    if (status == NUM_INVALID)
        return parse_problem(pr, row, name, "invalid_number", "%s \"%s\" is not a number", name,
                             parse_shown(text, s, n));
    return parse_problem(pr, row, name, "not_finite", "%s must be a finite number, not %s", name,
                         parse_shown(text, s, n));
}

bool scalar_put_number(const struct obs_batch *b, const struct obs_row *row, enum obs_field f,
                       const char *s, size_t n, bool lenient, double *dst, struct obs_reject *pr)
{
    enum num_status status = number_parse(s, n, lenient, dst);
    return status == NUM_OK || number_problem(b, row, f, s, n, status, pr);
}
