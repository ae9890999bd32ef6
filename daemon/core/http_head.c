/* The header block of an HTTP/1.x request: finding its end as bytes arrive, and a strict
 * parse of the request line and of the headers the edge needs before the body is read. */
#include "scaleupd/core/http_head.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

size_t http_head_scan(struct http_head_scan *scan, const char *data, size_t len)
{
    for (; scan->pos < len; scan->pos++) {
        char c = data[scan->pos];
        if (c == '\n') {
            if (scan->line_ends > 0) {
                scan->pos++;
                return scan->pos;
            }
            scan->line_ends = 1;
        } else if (c == '\r' && scan->line_ends == 1) {
            scan->line_ends = 2;
        } else if (c != '\r') {
            scan->line_ends = 0;
        }
    }
    return 0;
}

static enum http_head_status fail(struct http_head *head, enum http_head_status status,
                                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum http_head_status fail(struct http_head *head, enum http_head_status status,
                                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head->why, sizeof(head->why), fmt, ap);
    va_end(ap);
    return status;
}

/* The next line of [*p, end) without its CR LF (or LF); false when no LF is left. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
    const char *lf = memchr(*p, '\n', (size_t)(end - *p));
    if (lf == NULL)
        return false;
    size_t n = (size_t)(lf - *p);
    if (n > 0 && (*p)[n - 1] == '\r')
        n--;
    *line = *p;
    *len = n;
    *p = lf + 1;
    return true;
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool field_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static bool value_is(const char *value, size_t len, const char *want)
{
    return field_is(value, len, want);
}

/* The next item of the comma-separated list value from *at (moved past it), spaces trimmed:
 * [*start, *stop), possibly empty; false at the end of the list. */
static bool list_item(const char *value, size_t len, size_t *at, size_t *start, size_t *stop)
{
    size_t i = *at;
    while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
        i++;
    if (i >= len)
        return false;
    *start = i;
    while (i < len && value[i] != ',')
        i++;
    *stop = i;
    while (*stop > *start && (value[*stop - 1] == ' ' || value[*stop - 1] == '\t'))
        (*stop)--;
    *at = i;
    return true;
}

/* True when the comma-separated list value holds token (case-insensitive). */
static bool list_has(const char *value, size_t len, const char *token)
{
    size_t tlen = strlen(token);
    for (size_t at = 0, start, stop; list_item(value, len, &at, &start, &stop);)
        if (stop - start == tlen && strncasecmp(value + start, token, tlen) == 0)
            return true;
    return false;
}

/* Each content coding of the list value is identity (what a body that is not encoded says). */
static bool codings_identity(const char *value, size_t len, const char **other, int *other_len)
{
    for (size_t at = 0, start, stop; list_item(value, len, &at, &start, &stop);)
        if (!value_is(value + start, stop - start, "identity")) {
            *other = value + start;
            *other_len = (int)(stop - start);
            return false;
        }
    return true;
}

/* The next ';' of [p, end) outside a quoted string, or NULL. */
static const char *next_semicolon(const char *p, const char *end)
{
    for (bool quoted = false; p < end; p++) {
        if (quoted && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (*p == ';' && !quoted)
            return p;
    }
    return NULL;
}

/* The charset parameter of a media type value (RFC 9110 8.3.1: type/subtype *(; name=value),
 * the value a token or a quoted string), or false when it has none. */
static bool media_charset(const char *value, size_t len, const char **cs, size_t *cs_len)
{
    const char *end = value + len, *p = next_semicolon(value, end);
    while (p != NULL) {
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *name = p;
        while (p < end && *p != '=' && *p != ';')
            p++;
        size_t name_len = (size_t)(p - name);
        while (name_len > 0 && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t'))
            name_len--;
        const char *v = p < end && *p == '=' ? p + 1 : p;
        const char *next = next_semicolon(v, end);
        const char *v_end = next ? next : end;
        while (v < v_end && (*v == ' ' || *v == '\t'))
            v++;
        while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
            v_end--;
        if (v_end - v >= 2 && *v == '"' && v_end[-1] == '"') {
            v++;
            v_end--;
        }
        if (field_is(name, name_len, "charset")) {
            *cs = v;
            *cs_len = (size_t)(v_end - v);
            return true;
        }
        p = next;
    }
    return false;
}

/* Whether text in the charset is not ASCII where it is ASCII (UTF-16 and UTF-32, UCS-2 and
 * UCS-4): read as UTF-8 it would be refused for what it is not. Any other is read as UTF-8,
 * whose checks refuse a byte that is not (a Latin-1 label on ASCII text, as Java clients put
 * on any string, is fine). */
static bool charset_wide(const char *cs, size_t len)
{
    static const char *const wide[] = {"utf-16", "utf-32", "ucs-2", "ucs-4", "utf16", "utf32"};
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
        size_t n = strlen(wide[i]);
        if (len >= n && strncasecmp(cs, wide[i], n) == 0)
            return true;
    }
    return false;
}

static enum http_head_status take_content_type(const char *value, size_t len,
                                               struct http_head *head)
{
    if (head->content_type)
        return fail(head, HTTP_HEAD_MALFORMED, "the Content-Type header is given twice");
    head->content_type = true;
    const char *cs;
    size_t cs_len;
    if (media_charset(value, len, &cs, &cs_len) && charset_wide(cs, cs_len))
        return fail(head, HTTP_HEAD_UNSUPPORTED_MEDIA, "the body must be UTF-8, not charset=%.*s",
                    (int)(cs_len > 40 ? 40 : cs_len), cs);
    return HTTP_HEAD_OK;
}

static enum http_head_status parse_request_line(const char *line, size_t len,
                                                struct http_head *head)
{
    while (len > 0 && line[len - 1] == ' ')
        len--;
    const char *sp1 = memchr(line, ' ', len);
    if (sp1 == NULL || sp1 == line || (size_t)(sp1 - line) >= HTTP_HEAD_METHOD_MAX)
        return fail(head, HTTP_HEAD_MALFORMED, "the request line is not METHOD TARGET VERSION");
    for (const char *c = line; c < sp1; c++)
        if (*c < 'A' || *c > 'Z')
            return fail(head, HTTP_HEAD_MALFORMED, "the method is not upper-case letters");
    memcpy(head->method, line, (size_t)(sp1 - line));
    head->method[sp1 - line] = '\0';
    const char *target = sp1 + 1;
    const char *end = line + len;
    const char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (sp2 == NULL || sp2 == target)
        return fail(head, HTTP_HEAD_MALFORMED, "the request line is not METHOD TARGET VERSION");
    for (const char *c = target; c < sp2; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return fail(head, HTTP_HEAD_MALFORMED, "the request target has a control character");
    head->target = target;
    head->target_len = (size_t)(sp2 - target);
    const char *version = sp2 + 1;
    size_t vlen = (size_t)(end - version);
    if (vlen == 8 && strncmp(version, "HTTP/1.", 7) == 0 &&
        (version[7] == '0' || version[7] == '1')) {
        head->minor = version[7] - '0';
        return HTTP_HEAD_OK;
    }
    if (vlen == 8 && strncmp(version, "HTTP/", 5) == 0 && version[5] >= '0' && version[5] <= '9' &&
        version[6] == '.' && version[7] >= '0' && version[7] <= '9')
        return fail(head, HTTP_HEAD_VERSION, "only HTTP/1.0 and HTTP/1.1 are spoken here");
    return fail(head, HTTP_HEAD_MALFORMED, "the request line does not end in HTTP/1.x");
}

static enum http_head_status take_length(const char *value, size_t len, struct http_head *head)
{
    long long n = 0;
    if (len == 0 || len > 18)
        return fail(head, HTTP_HEAD_MALFORMED, "Content-Length is not a number of bytes");
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return fail(head, HTTP_HEAD_MALFORMED, "Content-Length is not a number of bytes");
        n = n * 10 + (value[i] - '0');
    }
    if (head->content_length >= 0 && head->content_length != n)
        return fail(head, HTTP_HEAD_MALFORMED, "Content-Length is given twice, differently");
    head->content_length = n;
    return HTTP_HEAD_OK;
}

/* Notes what the edge needs of one header. */
static enum http_head_status take_field(const char *name, size_t nlen, const char *value,
                                        size_t vlen, struct http_head *head, bool *keep_alive)
{
    if (field_is(name, nlen, "Content-Length"))
        return take_length(value, vlen, head);
    if (field_is(name, nlen, "Transfer-Encoding")) {
        if (head->chunked || !value_is(value, vlen, "chunked"))
            return fail(head, HTTP_HEAD_UNSUPPORTED_CODING,
                        "the only transfer coding understood is chunked");
        head->chunked = true;
    } else if (field_is(name, nlen, "Expect") && head->minor >= 1) {
        if (!value_is(value, vlen, "100-continue"))
            return fail(head, HTTP_HEAD_EXPECTATION, "the only expectation met is 100-continue");
        head->expect_continue = true;
    } else if (field_is(name, nlen, "Connection")) {
        head->close = head->close || list_has(value, vlen, "close");
        *keep_alive = *keep_alive || list_has(value, vlen, "keep-alive");
    } else if (field_is(name, nlen, "Authorization")) {
        /* two credentials: which one a proxy before us honoured is not ours to guess */
        if (head->authorization.value != NULL)
            return fail(head, HTTP_HEAD_MALFORMED, "the Authorization header is given twice");
        head->authorization = (struct http_head_field){value, vlen};
    } else if (field_is(name, nlen, "Content-Type")) {
        return take_content_type(value, vlen, head);
    } else if (field_is(name, nlen, "Idempotency-Key")) {
        if (head->idempotency_key)
            return fail(head, HTTP_HEAD_MALFORMED, "the Idempotency-Key header is given twice");
        head->idempotency_key = true;
    } else if (field_is(name, nlen, "Content-Encoding")) {
        const char *other;
        int other_len;
        if (!codings_identity(value, vlen, &other, &other_len))
            return fail(head, HTTP_HEAD_UNSUPPORTED_MEDIA,
                        "Content-Encoding %.*s is not accepted: send the body as it is",
                        other_len > 24 ? 24 : other_len, other);
    } else if (field_is(name, nlen, "X-Request-Id") && head->request_id.value == NULL) {
        head->request_id = (struct http_head_field){value, vlen};
    }
    return HTTP_HEAD_OK;
}

static enum http_head_status parse_field(const char *line, size_t len, struct http_head *head,
                                         bool *keep_alive)
{
    if (line[0] == ' ' || line[0] == '\t')
        return fail(head, HTTP_HEAD_MALFORMED, "obsolete line folding is not accepted");
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line)
        return fail(head, HTTP_HEAD_MALFORMED, "a header line has no name and colon");
    for (const char *c = line; c < colon; c++)
        if (!is_tchar((unsigned char)*c))
            return fail(head, HTTP_HEAD_MALFORMED, "a header name has a character not allowed");
    const char *value = colon + 1;
    const char *end = line + len;
    for (const char *c = value; c < end; c++)
        if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
            return fail(head, HTTP_HEAD_MALFORMED, "a header value has a control character");
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return take_field(line, (size_t)(colon - line), value, (size_t)(end - value), head, keep_alive);
}

enum http_head_status http_head_parse(const char *block, size_t len, struct http_head *head)
{
    memset(head, 0, sizeof(*head));
    head->content_length = -1;
    const char *p = block, *end = block + len, *line;
    size_t line_len;
    if (!next_line(&p, end, &line, &line_len))
        return fail(head, HTTP_HEAD_MALFORMED, "the header block is not complete");
    enum http_head_status status = parse_request_line(line, line_len, head);
    bool keep_alive = false;
    while (status == HTTP_HEAD_OK) {
        if (!next_line(&p, end, &line, &line_len))
            return fail(head, HTTP_HEAD_MALFORMED, "the header block is not complete");
        if (line_len == 0)
            break;
        status = parse_field(line, line_len, head, &keep_alive);
    }
    if (status != HTTP_HEAD_OK)
        return status;
    if (head->chunked && head->content_length >= 0)
        return fail(head, HTTP_HEAD_MALFORMED, "both Content-Length and Transfer-Encoding");
    if (head->minor == 0 && !keep_alive)
        head->close = true;
    return HTTP_HEAD_OK;
}

enum chunk_state {
    CHUNK_SIZE_FIRST, /* the first hex digit of a size line */
    CHUNK_SIZE,       /* more hex digits, or the line end */
    CHUNK_SIZE_LF,    /* the LF after a CR */
    CHUNK_DATA,
    CHUNK_DATA_END,   /* CR or LF after the data */
    CHUNK_DATA_LF,    /* the LF after that CR */
    CHUNK_TRAILER,    /* a trailer line, or the empty line that ends the body */
    CHUNK_TRAILER_LF, /* the LF after a CR in a trailer line */
};

#define CHUNK_SIZE_DIGITS 15 /* under 2^60 bytes */
#define CHUNK_TRAILER_MAX 4096

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A line end in a size line: the chunk's data, or the trailer after the last chunk. */
static void size_line_done(struct http_chunks *c)
{
    c->state = c->left > 0 ? CHUNK_DATA : CHUNK_TRAILER;
    c->line = 0;
    c->line_has_colon = false;
}

/* One byte of framing (not data); false when it is not chunked framing. */
static bool chunk_byte(struct http_chunks *c, char b, bool *done)
{
    switch (c->state) {
    case CHUNK_SIZE_FIRST:
    case CHUNK_SIZE:
        if (c->state == CHUNK_SIZE && (b == '\r' || b == '\n')) {
            if (b == '\r')
                c->state = CHUNK_SIZE_LF;
            else
                size_line_done(c);
            return true;
        }
        if (hex_value(b) < 0 || ++c->line > CHUNK_SIZE_DIGITS)
            return false;
        c->left = c->left * 16 + (unsigned)hex_value(b);
        c->state = CHUNK_SIZE;
        return true;
    case CHUNK_SIZE_LF:
        if (b != '\n')
            return false;
        size_line_done(c);
        return true;
    case CHUNK_DATA_END:
    case CHUNK_DATA_LF:
        if (b == '\r' && c->state == CHUNK_DATA_END)
            c->state = CHUNK_DATA_LF;
        else if (b == '\n')
            c->state = CHUNK_SIZE_FIRST;
        else
            return false;
        c->line = 0;
        return true;
    case CHUNK_TRAILER:
    case CHUNK_TRAILER_LF:
        if (b == '\n' || c->state == CHUNK_TRAILER_LF) {
            if (b != '\n' || (c->line > 0 && !c->line_has_colon))
                return false;
            *done = c->line == 0;
            c->state = CHUNK_TRAILER;
            c->line = 0;
            c->line_has_colon = false;
            return true;
        }
        if (b == '\r') {
            c->state = CHUNK_TRAILER_LF;
            return true;
        }
        c->line_has_colon = c->line_has_colon || b == ':';
        return ++c->line <= CHUNK_TRAILER_MAX && ((unsigned char)b >= ' ' || b == '\t');
    default:
        return false;
    }
}

enum http_chunks_status http_chunks_feed(struct http_chunks *c, const char *data, size_t len,
                                         size_t *used)
{
    size_t i = 0;
    while (i < len) {
        if (c->state == CHUNK_DATA) {
            size_t n = c->left < len - i ? (size_t)c->left : len - i;
            i += n;
            c->left -= n;
            if (c->left == 0)
                c->state = CHUNK_DATA_END;
            continue;
        }
        bool done = false;
        if (!chunk_byte(c, data[i++], &done))
            return HTTP_CHUNKS_BAD;
        if (done) {
            *used = i;
            return HTTP_CHUNKS_DONE;
        }
    }
    *used = len;
    return HTTP_CHUNKS_MORE;
}
