/*
 * The pagination convention (core/page.h): which `limit` values are accepted, cursors that
 * decode back to their fields and the many that must not decode, and the next page's query.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/page.h"

Test(page, limit_accepts_1_to_1000_and_defaults_to_100)
{
    static const struct {
        const char *text;
        bool ok;
        int limit;
    } cases[] = {
        {NULL, true, 100},  {"1", true, 1},      {"2", true, 2},
        {"100", true, 100}, {"999", true, 999},  {"1000", true, 1000},
        {"0", false, 0},    {"1001", false, 0},  {"", false, 0},
        {"-1", false, 0},   {"+5", false, 0},    {" 5", false, 0},
        {"5 ", false, 0},   {"5x", false, 0},    {"0x10", false, 0},
        {"1e2", false, 0},  {"00010", false, 0}, {"99999999999999999999", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int limit = -7;
        bool ok = page_parse_limit(cases[i].text, &limit);
        cr_expect_eq(ok, cases[i].ok, "limit \"%s\"", cases[i].text ? cases[i].text : "(null)");
        cr_expect_eq(limit, cases[i].ok ? cases[i].limit : -7, "limit \"%s\" value",
                     cases[i].text ? cases[i].text : "(null)");
    }
}

static void round_trip(const char *const *fields, size_t n)
{
    char *text = page_cursor_encode(fields, n);
    cr_assert_not_null(text);
    for (const char *p = text; *p; p++)
        cr_expect(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p),
                  "cursor %s has %c", text, *p);
    struct page_cursor c;
    cr_assert(page_cursor_decode(text, n, &c), "decode %s", text);
    cr_assert_eq(c.n, n);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(c.fields[i], fields[i]);
    page_cursor_clear(&c);
    cr_expect_eq(c.n, 0);
    page_cursor_clear(&c);
    /* the same cursor read as holding another number of fields is refused */
    cr_expect_not(page_cursor_decode(text, n + 1, &c), "%s as %zu fields", text, n + 1);
    cr_expect_eq(c.n, 0);
    if (n > 1)
        cr_expect_not(page_cursor_decode(text, n - 1, &c), "%s as %zu fields", text, n - 1);
    free(text);
}

Test(page, cursors_decode_back_to_their_fields)
{
    const char *one[] = {"42"};
    const char *two[] = {"1764633600000000", "17"};
    const char *three[] = {"2025-03", "", "Ünïcode site – é"};
    const char *lengths[] = {"a", "ab", "abc", "abcd"};
    round_trip(one, 1);
    round_trip(two, 2);
    round_trip(three, 3);
    for (size_t i = 0; i < 4; i++)
        round_trip(&lengths[i], 1); /* every remainder of 3 */
    const char *eight[] = {"1", "2", "3", "4", "5", "6", "7", "8"};
    round_trip(eight, 8);
}

Test(page, known_encoding)
{
    const char *fields[] = {"10", "7"};
    char *text = page_cursor_encode(fields, 2);
    /* "10\n7" is 31 30 0a 37 */
    cr_expect_str_eq(text, "MTAKNw");
    free(text);
}

Test(page, encode_refuses_what_could_not_come_back)
{
    const char *ctl[] = {"a\nb"};
    const char *tab[] = {"a\tb"};
    const char *bad_utf8[] = {"\xff"};
    const char *empty[] = {""};
    const char *null[] = {NULL};
    cr_expect_null(page_cursor_encode(ctl, 1));
    cr_expect_null(page_cursor_encode(tab, 1));
    cr_expect_null(page_cursor_encode(bad_utf8, 1));
    cr_expect_null(page_cursor_encode(empty, 1));
    cr_expect_null(page_cursor_encode(null, 1));
    cr_expect_null(page_cursor_encode(ctl, 0));
    char big[PAGE_CURSOR_TEXT_MAX];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *long_field[] = {big};
    cr_expect_null(page_cursor_encode(long_field, 1));
}

Test(page, decode_is_strict)
{
    static const char *const bad[] = {
        "",          /* empty */
        "MTAKNw==",  /* padding */
        "MTAKNw=",   /* padding */
        "MTAK+w",    /* '+' of standard base64 */
        "MTAK/w",    /* '/' of standard base64 */
        "MTAK Nw",   /* a space */
        "MTAKNx",    /* stray bits in the last character ("10\n7" is MTAKNw) */
        "M",         /* a length no base64 has */
        "MTAKN",     /* a length no base64 has */
        "MQCN",      /* "1\0\x8d": a NUL inside */
        "MQkx",      /* "1\t1": a control character */
        "_w",        /* 0xff: not UTF-8 */
        "MTAKNw%3D", /* percent-escapes are not decoded here */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct page_cursor c;
        cr_expect_not(
            page_cursor_decode(bad[i], bad[i][0] == 'M' && strlen(bad[i]) > 4 ? 2 : 1, &c),
            "\"%s\" decoded", bad[i]);
        cr_expect_eq(c.n, 0, "\"%s\" left fields", bad[i]);
    }
    struct page_cursor c;
    cr_expect_not(page_cursor_decode(NULL, 1, &c));
    cr_expect_not(page_cursor_decode("MTAKNw", 0, &c));
    cr_expect_not(page_cursor_decode("MTAKNw", PAGE_CURSOR_FIELDS_MAX + 1, &c));
    char big[PAGE_CURSOR_TEXT_MAX + 4];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_expect_not(page_cursor_decode(big, 1, &c));
}

Test(page, int64_fields)
{
    static const struct {
        const char *text;
        bool ok;
        int64_t value;
    } cases[] = {
        {"0", true, 0},
        {"42", true, 42},
        {"-12", true, -12},
        {"9223372036854775807", true, INT64_MAX},
        {"-9223372036854775808", true, INT64_MIN},
        {"9223372036854775808", false, 0},
        {"-0", false, 0},
        {"007", false, 0},
        {"", false, 0},
        {"-", false, 0},
        {"+1", false, 0},
        {"1 ", false, 0},
        {"1.5", false, 0},
        {"12345678901234567890", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -99;
        cr_expect_eq(page_field_int64(cases[i].text, &v), cases[i].ok, "\"%s\"", cases[i].text);
        if (cases[i].ok)
            cr_expect_eq(v, cases[i].value, "\"%s\" value", cases[i].text);
    }
    int64_t v;
    cr_expect_not(page_field_int64(NULL, &v));
}

Test(page, next_query_keeps_the_filters_and_replaces_after)
{
    const struct page_param params[] = {
        {"state", "firing"},
        {"after", "OLD"},
        {"site", "a b&c=d/é"},
        {"limit", "2"},
    };
    char *q = page_next_query(params, 4, "MTAKNw");
    cr_expect_str_eq(q, "state=firing&site=a%20b%26c%3Dd%2F%C3%A9&limit=2&after=MTAKNw");
    free(q);
    q = page_next_query(NULL, 0, "Nw");
    cr_expect_str_eq(q, "after=Nw");
    free(q);
}

Test(page, percent_encode_keeps_what_it_is_told)
{
    struct dynbuf b;
    dynbuf_init(&b, 64);
    cr_assert(page_percent_encode(&b, "/api/v1/programmes/a b/revisions", "/"));
    cr_expect_str_eq(dynbuf_str(&b), "/api/v1/programmes/a%20b/revisions");
    dynbuf_free(&b);
    dynbuf_init(&b, 8);
    cr_expect_not(page_percent_encode(&b, "%%%%%%", NULL), "the cap is kept");
    dynbuf_free(&b);
}
