/* The header block reader of the connection guard: where a block ends however its bytes
 * arrive, and what a strict parse accepts and refuses (table-driven). */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/core/http_head.h"

Test(http_head, scan_finds_the_end_byte_by_byte_and_at_once)
{
    static const struct {
        const char *text;
        size_t block; /* 0: not complete */
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", 18},
        {"GET / HTTP/1.1\n\n", 16},
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody", 27},
        {"GET / HTTP/1.1\r\nHost: x\n\r\n", 26},
        {"GET / HTTP/1.1\r\nHost: x\r\n", 0},
        {"GET / HTTP/1.1\r\n\rX\r\n", 0}, /* a CR then a byte is no empty line */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *t = cases[i].text;
        size_t len = strlen(t);
        struct http_head_scan whole = {0};
        cr_expect_eq(http_head_scan(&whole, t, len), cases[i].block, "at once: %s", t);
        struct http_head_scan trickle = {0};
        size_t found = 0;
        for (size_t n = 1; n <= len && found == 0; n++)
            found = http_head_scan(&trickle, t, n);
        cr_expect_eq(found, cases[i].block, "byte by byte: %s", t);
    }
}

Test(http_head, scan_looks_at_each_byte_once)
{
    char block[4096];
    memset(block, 'a', sizeof(block));
    struct http_head_scan scan = {0};
    for (size_t n = 1; n <= sizeof(block); n++)
        cr_assert_eq(http_head_scan(&scan, block, n), 0);
    cr_assert_eq(scan.pos, sizeof(block), "the scan resumes where it stopped");
}

static enum http_head_status parse(const char *text, struct http_head *head)
{
    return http_head_parse(text, strlen(text), head);
}

Test(http_head, parses_what_the_edge_needs)
{
    struct http_head h;
    cr_assert_eq(parse("POST /api/v1/x?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\n"
                       "authorization:  Bearer sud_abc \r\nX-Request-Id: r-1\r\n"
                       "Expect: 100-continue\r\n\r\n",
                       &h),
                 HTTP_HEAD_OK, "%s", h.why);
    cr_expect_str_eq(h.method, "POST");
    cr_expect_eq(h.target_len, strlen("/api/v1/x?a=1"));
    cr_expect_eq(strncmp(h.target, "/api/v1/x?a=1", h.target_len), 0);
    cr_expect_eq(h.minor, 1);
    cr_expect_eq(h.content_length, 42);
    cr_expect(h.expect_continue);
    cr_expect_not(h.chunked);
    cr_expect_not(h.close);
    cr_expect_eq(h.authorization.len, strlen("Bearer sud_abc"));
    cr_expect_eq(strncmp(h.authorization.value, "Bearer sud_abc", h.authorization.len), 0);
    cr_expect_eq(strncmp(h.request_id.value, "r-1", h.request_id.len), 0);

    cr_assert_eq(parse("GET / HTTP/1.0\r\n\r\n", &h), HTTP_HEAD_OK);
    cr_expect_eq(h.content_length, -1);
    cr_expect(h.close, "HTTP/1.0 closes unless it asks to keep alive");
    cr_assert_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h), HTTP_HEAD_OK);
    cr_expect_not(h.close);
    cr_assert_eq(parse("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", &h),
                 HTTP_HEAD_OK);
    cr_expect(h.close);
    cr_assert_eq(parse("PUT /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &h), HTTP_HEAD_OK);
    cr_expect(h.chunked);
    cr_assert_eq(parse("GET / HTTP/1.0\r\nExpect: something\r\n\r\n", &h), HTTP_HEAD_OK,
                 "HTTP/1.0 expectations are ignored");
    cr_assert_eq(parse("GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &h),
                 HTTP_HEAD_OK, "the same length twice is one length");
    /* UTF-8 however it is spelt, ASCII (a subset), other parameters, no coding to undo */
    static const char *const accepted[] = {
        "POST / HTTP/1.1\r\nContent-Type: application/json; charset=utf-8\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Type: text/csv;charset=\"UTF-8\";header=present\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Type: text/csv; charset=us-ascii\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Encoding: identity\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Type: text/plain; format=flowed\r\n\r\n",
        /* read as UTF-8, whose checks refuse any byte that is not: a Latin-1 label on ASCII
         * text (Java's default) is fine */
        "POST / HTTP/1.1\r\nContent-Type: text/csv; charset=ISO-8859-1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Type: application/json; charset=utf8\r\n\r\n",
        /* a ';' inside a quoted value does not start a parameter */
        "POST / HTTP/1.1\r\nContent-Type: text/csv; x=\"a;charset=utf-16\"\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
        cr_expect_eq(parse(accepted[i], &h), HTTP_HEAD_OK, "%s: %s", accepted[i], h.why);
}

/* Blocks that must be refused, and how. */
static const struct {
    const char *text;
    enum http_head_status status;
} refused[] = {
    {"\x00\x01\x02 NOT HTTP\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"garbage\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET /\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET  / HTTP/1.1\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"get / HTTP/1.1\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1 extra\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET /a\x01 HTTP/1.1\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTX/1.1\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/2.0\r\n\r\n", HTTP_HEAD_VERSION},
    {"GET / HTTP/1.1\r\nno colon here\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1\r\n: no name\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", HTTP_HEAD_MALFORMED},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HTTP_HEAD_UNSUPPORTED_CODING},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     HTTP_HEAD_MALFORMED},
    {"POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", HTTP_HEAD_EXPECTATION},
    /* two credentials: a proxy may have read the other one (the first won, silently) */
    {"GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n",
     HTTP_HEAD_MALFORMED},
    /* which one counts is not ours to guess */
    {"POST / HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Type: application/json\r\n\r\n",
     HTTP_HEAD_MALFORMED},
    {"POST / HTTP/1.1\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\n\r\n", HTTP_HEAD_MALFORMED},
    /* a body read as it is would be refused for what it is not, or stored as mojibake */
    {"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n\r\n", HTTP_HEAD_UNSUPPORTED_MEDIA},
    {"POST / HTTP/1.1\r\nContent-Encoding: identity, br\r\n\r\n", HTTP_HEAD_UNSUPPORTED_MEDIA},
    {"POST / HTTP/1.1\r\nContent-Type: application/json; charset=UTF-16LE\r\n\r\n",
     HTTP_HEAD_UNSUPPORTED_MEDIA},
    {"POST / HTTP/1.1\r\nContent-Type: text/csv;header=present; CharSet=\"utf-32\"\r\n\r\n",
     HTTP_HEAD_UNSUPPORTED_MEDIA},
    {"GET / HTTP/1.1\r\nHost: x\r\n", HTTP_HEAD_MALFORMED}, /* not complete */
};

Test(http_head, refuses_what_evhttp_would_answer_itself)
{
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct http_head h;
        const char *t = refused[i].text;
        size_t len = t[0] == '\0' ? 20 : strlen(t); /* the first case starts with NUL */
        cr_expect_eq(http_head_parse(t, len, &h), refused[i].status, "case %zu: %s", i, t);
        cr_expect_neq(h.why[0], '\0', "case %zu says why", i);
    }
}

/* Chunked bodies: where they end (fed at once and a byte at a time), and bad framing. */
static const struct {
    const char *text;
    enum http_chunks_status status;
    size_t used; /* for HTTP_CHUNKS_DONE */
} chunked[] = {
    {"5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1", HTTP_CHUNKS_DONE, 15},
    {"5\nhello\n0\n\n", HTTP_CHUNKS_DONE, 11},
    {"A\r\n0123456789\r\n1\r\nx\r\n0\r\nExpires: never\r\n\r\n", HTTP_CHUNKS_DONE, 42},
    {"5\r\nhel", HTTP_CHUNKS_MORE, 0},
    {"0\r\n", HTTP_CHUNKS_MORE, 0},
    {"5;ext=1\r\nhello\r\n0\r\n\r\n", HTTP_CHUNKS_BAD, 0}, /* evhttp refuses extensions */
    {"0x5\r\nhello\r\n0\r\n\r\n", HTTP_CHUNKS_BAD, 0},
    {"\r\n5\r\nhello\r\n", HTTP_CHUNKS_BAD, 0},
    {"5\r\nhelloX\r\n", HTTP_CHUNKS_BAD, 0},      /* data longer than its size */
    {"1000000000000000\r\n", HTTP_CHUNKS_BAD, 0}, /* 2^60 bytes */
    {"0\r\nno colon\r\n\r\n", HTTP_CHUNKS_BAD, 0},
    {"zz\r\n", HTTP_CHUNKS_BAD, 0},
};

Test(http_head, chunked_bodies_end_where_their_framing_says)
{
    for (size_t i = 0; i < sizeof(chunked) / sizeof(chunked[0]); i++) {
        const char *t = chunked[i].text;
        size_t len = strlen(t), used = 0;
        struct http_chunks whole = {0};
        cr_expect_eq(http_chunks_feed(&whole, t, len, &used), chunked[i].status, "at once: %s", t);
        if (chunked[i].status == HTTP_CHUNKS_DONE)
            cr_expect_eq(used, chunked[i].used, "at once: %s ends after %zu", t, used);
        struct http_chunks trickle = {0};
        enum http_chunks_status status = HTTP_CHUNKS_MORE;
        size_t total = 0;
        for (size_t k = 0; k < len && status == HTTP_CHUNKS_MORE; k++) {
            status = http_chunks_feed(&trickle, t + k, 1, &used);
            total += status == HTTP_CHUNKS_BAD ? 0 : used;
        }
        cr_expect_eq(status, chunked[i].status, "byte by byte: %s", t);
        if (status == HTTP_CHUNKS_DONE)
            cr_expect_eq(total, chunked[i].used, "byte by byte: %s", t);
    }
}
