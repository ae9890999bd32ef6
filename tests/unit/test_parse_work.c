/*
 * Parse work is linear in the body whatever its shape (issue 12, hostile input): nesting
 * past OBS_JSON_DEPTH_MAX is refused at its bracket, and on deep, wide and long inputs of
 * growing size the parser's own count of its steps (obs_batch_parse_work: tokens, parent
 * links followed, tokens walked) grows with the body, not faster. Counting steps, not
 * time, keeps the test exact on a shared machine. Each case prints its numbers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/obs_parse.h"

/* A growable body for the generated inputs. */
struct body {
    char *data;
    size_t len, cap;
};

static void put(struct body *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        cr_assert_not_null(b->data);
    }
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

static void put_times(struct body *b, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        put(b, s);
}

/* A valid row, so that the documents that must parse have one. */
#define ONE_ROW                                                                                    \
    "{\"indicator\":\"patients_enrolled\",\"site\":\"BE\",\"period\":\"2025-01\",\"value\":1}"
#define ONE_DHIS2_VALUE                                                                            \
    "{\"dataElement\":\"patients_enrolled\",\"orgUnit\":\"BE\",\"period\":\"202501\","             \
    "\"value\":\"1\"}"

/* Builds the input of size n (in units of the case) into b. */
typedef void build_fn(struct body *b, size_t n);

struct work_case {
    const char *name;
    build_fn *build;
    bool dhis2;
    size_t n; /* smallest size; then 2n, 4n, 8n */
};

/* n nests 30 deep (31 with the root object: the deepest allowed is 32) under a key we
 * ignore, each closed by a run of brackets: jsmn walks up at every one of them. */
static void build_deep_nests(struct body *b, size_t n)
{
    put(b, "{\"ignored\":[");
    for (size_t i = 0; i < n; i++) {
        put(b, i ? "," : "");
        put_times(b, "[", 29);
        put_times(b, "]", 29);
    }
    put(b, "],\"observations\":[" ONE_ROW "]}");
}

/* One nest of depth 32 holding n numbers at its bottom. */
static void build_deep_wide(struct body *b, size_t n)
{
    put(b, "{\"ignored\":");
    put_times(b, "[", 31);
    put(b, "0");
    put_times(b, ",0", n - 1);
    put_times(b, "]", 31);
    put(b, ",\"observations\":[" ONE_ROW "]}");
}

/* A root object with n members before the rows: each is looked up among our keys. */
static void build_wide_root(struct body *b, size_t n)
{
    char member[96];
    put(b, "{");
    for (size_t i = 0; i < n; i++) {
        snprintf(member, sizeof member, "\"k%zu\":[{\"a\":%zu}],", i, i);
        put(b, member);
    }
    put(b, "\"observations\":[" ONE_ROW "]}");
}

/* A DHIS2 data value with n fields we ignore, which the row reader must skip. */
static void build_wide_row(struct body *b, size_t n)
{
    char member[96];
    put(b, "{\"dataValues\":[{\"dataElement\":\"patients_enrolled\",\"orgUnit\":\"BE\","
           "\"period\":\"202501\",\"value\":\"1\"");
    for (size_t i = 0; i < n; i++) {
        snprintf(member, sizeof member, ",\"x%zu\":{\"y\":[1,2]}", i);
        put(b, member);
    }
    put(b, "}]}");
}

/* n rows. */
static void build_many_rows(struct body *b, size_t n)
{
    put(b, "{\"observations\":[");
    for (size_t i = 0; i < n; i++) {
        put(b, i ? "," : "");
        put(b, ONE_ROW);
    }
    put(b, "]}");
}

/* Not JSON, but jsmn reads it: keys whose values are keys ("a":"a":...) make a chain of
 * parents that every closing bracket above it walks; 30 brackets close above n of them. */
static void build_key_chain(struct body *b, size_t n)
{
    put(b, "{\"ignored\":");
    put_times(b, "[", 30);
    put_times(b, "\"a\":", n);
    put(b, "1");
    put_times(b, "]", 30);
    put(b, "}");
}

/* A comment of n escapes in one row. */
static void build_escapes(struct body *b, size_t n)
{
    put(b, "{\"observations\":[{\"indicator\":\"patients_enrolled\",\"site\":\"BE\","
           "\"period\":\"2025-01\",\"value\":1,\"comment\":\"");
    put_times(b, "\\n\\u00e9", n);
    put(b, "\"}]}");
}

static const struct work_case work_cases[] = {
    {"deep nests (29 brackets each)", build_deep_nests, false, 2000},
    {"one nest 32 deep, wide at its bottom", build_deep_wide, false, 20000},
    {"wide root object", build_wide_root, false, 10000},
    {"wide DHIS2 data value", build_wide_row, true, 10000},
    {"many rows", build_many_rows, false, 10000},
    {"key chain under 30 brackets (not JSON)", build_key_chain, false, 10000},
    {"long run of escapes in a comment", build_escapes, false, 10000},
};

/* Parses body and returns the work; the status is not the point here (the key chain is
 * malformed, the escapes comment too long), the steps spent getting there are. */
static size_t work_of(const struct work_case *c, const struct body *b, struct obs_batch *batch)
{
    struct obs_parse_error err;
    enum obs_parse_status st = c->dhis2 ? obs_parse_dhis2(b->data, b->len, batch, &err)
                                        : obs_parse_json(b->data, b->len, batch, &err);
    cr_assert_neq(strcmp(err.code, "too_deep"), 0, "%s: refused as too deep", c->name);
    (void)st;
    return obs_batch_parse_work(batch);
}

/* Work at n, 2n, 4n and 8n: per byte it must not grow (a quadratic parse doubles it at
 * every step), and it stays under a small constant. */
static void check_linear(const struct work_case *c, struct obs_batch *batch)
{
    double per_byte[4];
    fprintf(stderr, "%s:", c->name);
    for (size_t k = 0; k < 4; k++) {
        struct body b = {0};
        size_t n = c->n << k;
        c->build(&b, n);
        size_t work = work_of(c, &b, batch);
        per_byte[k] = (double)work / (double)b.len;
        fprintf(stderr, " n=%zu: %zu bytes, work %zu (%.2f/byte);", n, b.len, work, per_byte[k]);
        free(b.data);
    }
    fprintf(stderr, "\n");
    for (size_t k = 1; k < 4; k++)
        cr_expect_leq(per_byte[k], per_byte[0] * 1.05 + 0.01,
                      "%s: work per byte grows: %.3f then %.3f", c->name, per_byte[0], per_byte[k]);
    cr_expect_leq(per_byte[3], 20.0, "%s: %.2f steps per byte", c->name, per_byte[3]);
}

Test(parse_work, linear_in_the_body_for_deep_wide_and_long_inputs)
{
    struct obs_batch *batch = obs_batch_new();
    for (size_t i = 0; i < sizeof work_cases / sizeof work_cases[0]; i++)
        check_linear(&work_cases[i], batch);
    obs_batch_free(&batch);
}

/* A CSV record of n fields, most of them past the header's columns, then n blank records
 * (",,,,"), which no row cap counts: neither may cost more than its bytes and a step. */
static void build_csv_wide_and_blank(struct body *b, size_t n)
{
    put(b, "indicator,site,period,value,comment\npatients_enrolled,BE,2025-01,1,");
    put_times(b, ",x", n);
    put(b, "\n");
    put_times(b, ",,,,\n", n);
    put(b, "patients_enrolled,BE,2025-01,1,\n");
}

Test(parse_work, csv_wide_records_and_blank_records_are_linear)
{
    struct obs_batch *batch = obs_batch_new();
    fprintf(stderr, "CSV wide and blank records:");
    for (size_t n = 10000; n <= 80000; n *= 2) {
        struct body b = {0};
        struct obs_parse_error err;
        build_csv_wide_and_blank(&b, n);
        cr_assert_eq(obs_parse_csv(b.data, b.len, batch, &err), OBS_PARSE_OK, "%s", err.message);
        cr_expect_eq(batch->n_rows, 2);
        size_t work = obs_batch_parse_work(batch);
        fprintf(stderr, " n=%zu: %zu bytes, work %zu;", n, b.len, work);
        /* one step per record; a blank record builds no "missing" message */
        cr_expect_leq(work, n + 4, "%zu blank records: work %zu", n, work);
        free(b.data);
    }
    fprintf(stderr, "\n");
    obs_batch_free(&batch);
}

/* Brackets nested n deep inside the rows array (our format) or a data value (DHIS2). */
static void build_brackets(struct body *b, size_t n, bool dhis2, const char *open,
                           const char *close)
{
    put(b, dhis2 ? "{\"dataValues\":[{\"x\":" : "{\"observations\":");
    put_times(b, open, n);
    put_times(b, close, n);
    put(b, dhis2 ? "}]}" : "}");
}

/* The body: 200,000 nested brackets held a worker 54 s. Now the tokenizer stops
 * at the bracket that opens level 33, whatever follows, with the same work every time. */
Test(parse_work, nesting_deeper_than_the_cap_is_refused_at_its_bracket)
{
    static const struct {
        bool dhis2;
        const char *open, *close;
        size_t first; /* offset of the first bracket after the prefix */
        size_t depth; /* of that bracket */
    } shapes[] = {
        {false, "[", "]", 16, 2},
        {false, "{\"a\":", "}", 16, 2},
        {true, "[", "]", 20, 4},
    };
    struct obs_batch *batch = obs_batch_new();
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t step = strlen(shapes[s].open), want = 0;
        size_t offset = shapes[s].first + step * (OBS_JSON_DEPTH_MAX - shapes[s].depth + 1);
        fprintf(stderr, "nesting %s%s:", shapes[s].dhis2 ? "DHIS2 " : "", shapes[s].open);
        for (size_t n = 25000; n <= 200000; n *= 2) {
            struct body b = {0};
            struct obs_parse_error err;
            build_brackets(&b, n, shapes[s].dhis2, shapes[s].open, shapes[s].close);
            enum obs_parse_status st = shapes[s].dhis2 ? obs_parse_dhis2(b.data, b.len, batch, &err)
                                                       : obs_parse_json(b.data, b.len, batch, &err);
            size_t work = obs_batch_parse_work(batch);
            fprintf(stderr, " %zu levels: work %zu;", n, work);
            cr_assert_eq(st, OBS_PARSE_INVALID_SHAPE, "%zu levels: %s", n, err.message);
            cr_expect_str_eq(err.code, "too_deep");
            cr_expect_eq(err.offset, offset, "%zu levels: at %zu, not %zu", n, err.offset, offset);
            cr_expect_eq(err.line, 1);
            cr_expect_eq(err.column, offset + 1);
            cr_expect(strstr(err.message, "32") != NULL, "%s", err.message);
            cr_expect(want == 0 || work == want, "work %zu then %zu", want, work);
            want = work;
            free(b.data);
        }
        fprintf(stderr, "\n");
    }
    obs_batch_free(&batch);
}

/* The deepest nesting allowed still parses: the cap refuses nothing a feed sends. */
Test(parse_work, nesting_at_the_cap_parses)
{
    struct body b = {0};
    struct obs_parse_error err;
    struct obs_batch *batch = obs_batch_new();
    put(&b, "{\"ignored\":"); /* depth 1 */
    put_times(&b, "[", OBS_JSON_DEPTH_MAX - 1);
    put_times(&b, "]", OBS_JSON_DEPTH_MAX - 1);
    put(&b, ",\"observations\":[" ONE_ROW "]}");
    cr_assert_eq(obs_parse_json(b.data, b.len, batch, &err), OBS_PARSE_OK, "%s", err.message);
    cr_expect_eq(batch->n_rows, 1);
    free(b.data);
    b = (struct body){0};
    put(&b, "{\"dataValues\":[" ONE_DHIS2_VALUE ",{\"x\":");
    put_times(&b, "[", OBS_JSON_DEPTH_MAX - 3);
    put_times(&b, "]", OBS_JSON_DEPTH_MAX - 3);
    put(&b, "}]}");
    cr_assert_eq(obs_parse_dhis2(b.data, b.len, batch, &err), OBS_PARSE_OK, "%s", err.message);
    cr_expect_eq(batch->n_rows, 2);
    free(b.data);
    obs_batch_free(&batch);
}

/* Brackets inside strings are text, not nesting. */
Test(parse_work, brackets_in_strings_do_not_count)
{
    struct body b = {0};
    struct obs_parse_error err;
    struct obs_batch *batch = obs_batch_new();
    put(&b, "{\"ignored\":\"");
    put_times(&b, "[{\\\"", 1000);
    put(&b, "\",\"observations\":[" ONE_ROW "]}");
    cr_assert_eq(obs_parse_json(b.data, b.len, batch, &err), OBS_PARSE_OK, "%s", err.message);
    free(b.data);
    obs_batch_free(&batch);
}
