/* The header block of an HTTP/1.x request, read before evhttp sees it (edge/conn_guard.c):
 * where it ends, and the few things the edge must know before the body is read (method,
 * target, body framing, Expect, the Authorization header). Pure and strict: whatever this
 * accepts, evhttp parses the same way; whatever evhttp would refuse, this refuses first, so
 * that every refusal is answered in the API's JSON shape. */
#ifndef SCALEUPD_CORE_HTTP_HEAD_H
#define SCALEUPD_CORE_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEAD_METHOD_MAX 16

/* Where a scan of a growing header block has got to: bytes are looked at once however they
 * arrive (one at a time from a trickling client). Zero-initialise. */
struct http_head_scan {
    size_t pos;
    int line_ends; /* 1 after a LF, 2 after LF CR */
};

/* Scans data[scan->pos .. len) for the empty line that ends a header block; returns the
 * length of the block including that line once found, else 0 (and remembers how far it
 * looked). data must start where the previous calls' data started. */
size_t http_head_scan(struct http_head_scan *scan, const char *data, size_t len);

enum http_head_status {
    HTTP_HEAD_OK,
    HTTP_HEAD_MALFORMED,          /* 400: request line, header line, Content-Length */
    HTTP_HEAD_VERSION,            /* 505: not HTTP/1.0 or HTTP/1.1 */
    HTTP_HEAD_UNSUPPORTED_CODING, /* 501: a Transfer-Encoding other than chunked */
    HTTP_HEAD_EXPECTATION,        /* 417: an Expect other than 100-continue */
    HTTP_HEAD_UNSUPPORTED_MEDIA,  /* 415: a Content-Encoding, or a charset other than UTF-8 */
};

/* A header value inside the block (not NUL-terminated), or value NULL when absent. */
struct http_head_field {
    const char *value;
    size_t len;
};

struct http_head {
    char method[HTTP_HEAD_METHOD_MAX]; /* upper-case letters, as sent */
    const char *target;                /* the request target, inside the block */
    size_t target_len;
    int minor;                /* HTTP/1.minor */
    long long content_length; /* -1 when absent */
    bool chunked;             /* Transfer-Encoding: chunked */
    bool expect_continue;     /* Expect: 100-continue (HTTP/1.1) */
    bool close;               /* Connection: close, or HTTP/1.0 without keep-alive */
    struct http_head_field authorization, request_id; /* the first of each */
    bool content_type, idempotency_key;               /* seen (each may come once) */
    char why[96];                                     /* what was wrong, when not HTTP_HEAD_OK */
};

/* Parses a complete header block (what http_head_scan measured). Header values point into
 * block, which must outlive head. Refuses obsolete line folding, white space before a
 * colon, control characters, a Content-Length that is not digits or that differs when
 * repeated, both Content-Length and Transfer-Encoding, an Authorization, Content-Type or
 * Idempotency-Key given twice (which one counts is not ours to guess), and, as 415, a body
 * sent with a Content-Encoding other than identity or a charset other than UTF-8 (read as
 * it is, it would be refused for what it is not, or stored as mojibake). */
enum http_head_status http_head_parse(const char *block, size_t len, struct http_head *head)
    __attribute__((warn_unused_result));

/* Where a chunked body has got to, for the guard to pass exactly the body to evhttp and
 * refuse bad framing itself. Zero-initialise. */
struct http_chunks {
    int state;
    unsigned long long left; /* bytes of the current chunk's data still to come */
    size_t line;             /* bytes of the current size or trailer line so far */
    bool line_has_colon;
};

enum http_chunks_status {
    HTTP_CHUNKS_MORE, /* everything given belongs to the body; more is to come */
    HTTP_CHUNKS_DONE, /* the body ended after *used bytes of what was given */
    HTTP_CHUNKS_BAD,  /* not chunked framing (400) */
};

/* Follows len more bytes of a chunked body: hexadecimal sizes on lines of their own (no
 * extensions), each chunk's data followed by a line end, a last chunk of size 0, then
 * trailer lines ("name: value") up to an empty line. *used is the bytes of data that belong
 * to the body (len unless HTTP_CHUNKS_DONE). */
enum http_chunks_status http_chunks_feed(struct http_chunks *chunks, const char *data, size_t len,
                                         size_t *used) __attribute__((warn_unused_result));

#endif
