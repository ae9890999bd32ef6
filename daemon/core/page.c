/* The pagination convention of the API's lists (page.h): the `limit` rule, the cursor's
 * strict base64url text form, and the query string of the next page's link. Pure code: no
 * request, no SQL. */
#include "scaleupd/core/page.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/utf8.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool page_parse_limit(const char *text, int *limit)
{
    if (text == NULL) {
        *limit = PAGE_LIMIT_DEFAULT;
        return true;
    }
    size_t len = strlen(text);
    if (len == 0 || len > 4)
        return false;
    int value = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (text[i] - '0');
    }
    if (value < 1 || value > PAGE_LIMIT_MAX)
        return false;
    *limit = value;
    return true;
}

/* True when a field may go into a cursor: UTF-8 without control characters. */
static bool field_fits(const char *field)
{
    if (field == NULL || !utf8_valid(field))
        return false;
    for (const unsigned char *p = (const unsigned char *)field; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Appends the base64url form (no padding) of raw[0..len) to out, which has room. */
static void b64url_write(const unsigned char *raw, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)raw[i + 1] << 8;
        if (i + 2 < len)
            v |= raw[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

char *page_cursor_encode(const char *const *fields, size_t n)
{
    if (n == 0 || n > PAGE_CURSOR_FIELDS_MAX)
        return NULL;
    size_t raw_len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!field_fits(fields[i]))
            return NULL;
        raw_len += strlen(fields[i]) + (i > 0);
    }
    if (raw_len == 0 || (raw_len + 2) / 3 * 4 >= PAGE_CURSOR_TEXT_MAX)
        return NULL;
    char *raw = xmalloc(raw_len + 1);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            raw[at++] = '\n';
        size_t len = strlen(fields[i]);
        memcpy(raw + at, fields[i], len);
        at += len;
    }
    char *text = xmalloc((raw_len + 2) / 3 * 4 + 1);
    b64url_write((const unsigned char *)raw, raw_len, text);
    free(raw);
    return text;
}

/* The value of a base64url character, -1 for any other byte. */
static int b64url_value(char c)
{
    const char *at = c != '\0' ? strchr(b64url, c) : NULL;
    return at != NULL ? (int)(at - b64url) : -1;
}

/* Decodes text[0..len) into raw (room for len * 3 / 4 + 1 bytes, NUL-terminated); false
 * when a character is outside the alphabet, the length cannot be base64 without padding, or
 * the last character carries bits that no byte uses (so each cursor has one spelling). */
static bool b64url_read(const char *text, size_t len, unsigned char *raw, size_t *raw_len)
{
    if (len % 4 == 1)
        return false;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(text[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return false;
    raw[o] = '\0';
    *raw_len = o;
    return true;
}

/* Splits raw (NUL-terminated, raw_len bytes) at '\n' into exactly n fields of out. */
static bool split_fields(const char *raw, size_t raw_len, size_t n, struct page_cursor *out)
{
    if (strlen(raw) != raw_len || !utf8_valid(raw))
        return false;
    const char *start = raw;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(start, '\n');
        if ((end == NULL) != (i + 1 == n))
            return false;
        size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
        char *field = xmalloc(len + 1);
        memcpy(field, start, len);
        field[len] = '\0';
        out->fields[out->n++] = field;
        if (!field_fits(field))
            return false;
        start = end != NULL ? end + 1 : start + len;
    }
    return true;
}

bool page_cursor_decode(const char *text, size_t n, struct page_cursor *out)
{
    out->n = 0;
    if (text == NULL || n == 0 || n > PAGE_CURSOR_FIELDS_MAX)
        return false;
    size_t len = strlen(text);
    if (len == 0 || len >= PAGE_CURSOR_TEXT_MAX)
        return false;
    unsigned char *raw = xmalloc(len * 3 / 4 + 1);
    size_t raw_len = 0;
    bool ok =
        b64url_read(text, len, raw, &raw_len) && split_fields((const char *)raw, raw_len, n, out);
    free(raw);
    if (!ok)
        page_cursor_clear(out);
    return ok;
}

void page_cursor_clear(struct page_cursor *cursor)
{
    for (size_t i = 0; i < cursor->n; i++) {
        free(cursor->fields[i]);
        cursor->fields[i] = NULL;
    }
    cursor->n = 0;
}

bool page_field_int64(const char *field, int64_t *value)
{
    if (field == NULL)
        return false;
    const char *digits = field[0] == '-' ? field + 1 : field;
    size_t len = strlen(digits);
    if (len == 0 || len > 19 || (digits[0] == '0' && (len > 1 || digits != field)))
        return false;
    for (size_t i = 0; i < len; i++)
        if (digits[i] < '0' || digits[i] > '9')
            return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(field, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *value = (int64_t)v;
    return true;
}

bool page_percent_encode(struct dynbuf *buf, const char *text, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL ||
                     (keep != NULL && strchr(keep, *p) != NULL);
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        if (!(plain ? dynbuf_add(buf, p, 1) : dynbuf_add(buf, esc, 3)))
            return false;
    }
    return true;
}

char *page_next_query(const struct page_param *params, size_t n, const char *cursor)
{
    struct dynbuf buf;
    /* a request's query is bounded by the header limit; the cap only guards a caller's bug */
    dynbuf_init(&buf, 1024 * 1024);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        if (strcmp(params[i].key, "after") == 0)
            continue;
        ok = page_percent_encode(&buf, params[i].key, NULL) && dynbuf_addstr(&buf, "=") &&
             page_percent_encode(&buf, params[i].value, NULL) && dynbuf_addstr(&buf, "&");
    }
    ok = ok && dynbuf_addstr(&buf, "after=") && page_percent_encode(&buf, cursor, NULL);
    if (!ok) {
        dynbuf_free(&buf);
        return NULL;
    }
    return dynbuf_take(&buf, NULL);
}
