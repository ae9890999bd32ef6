/* Acknowledgement bodies (core/ack_doc.c): who, the default when absent, the comment, and
 * every problem with its path. Table-driven. */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/core/ack_doc.h"

static const struct {
    const char *body; /* NULL: an empty body */
    const char *by;   /* expected person, NULL when refused */
    const char *comment;
    const char *problem; /* "path code" of the first problem */
} cases[] = {
    {NULL, "token-ops", NULL, NULL},
    {"{}", "token-ops", NULL, NULL},
    {"{\"by\":\"Ann Peeters\"}", "Ann Peeters", NULL, NULL},
    {"{\"by\":\"ann@example.org\",\"comment\":\"on it, GP2 sent late\"}", "ann@example.org",
     "on it, GP2 sent late", NULL},
    {"{\"by\":null,\"comment\":\"\"}", "token-ops", NULL, NULL},
    {"{\"comment\":\"two\\nlines are fine\"}", "token-ops", "two\nlines are fine", NULL},
    {"[]", NULL, NULL, "$ invalid_type"},
    {"{\"by\":\"\"}", NULL, NULL, "$.by invalid_value"},
    {"{\"by\":7}", NULL, NULL, "$.by invalid_type"},
    {"{\"by\":\"a\\nb\"}", NULL, NULL, "$.by invalid_value"},
    {"{\"comment\":[\"x\"]}", NULL, NULL, "$.comment invalid_type"},
    {"{\"who\":\"me\"}", NULL, NULL, "$ unknown_field"},
};

Test(ack_doc, table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = cases[i].body ? json_loads(cases[i].body, 0, NULL) : NULL;
        cr_assert(cases[i].body == NULL || doc != NULL, "case %zu parses", i);
        struct ack_doc ack = {0};
        json_t *problems = ack_doc_parse(doc, "token-ops", &ack);
        if (cases[i].problem == NULL) {
            cr_expect_null(problems, "case %zu accepted", i);
            cr_expect_str_eq(ack.by, cases[i].by, "case %zu", i);
            if (cases[i].comment == NULL)
                cr_expect_null(ack.comment, "case %zu has no comment", i);
            else
                cr_expect_str_eq(ack.comment, cases[i].comment, "case %zu", i);
        } else {
            cr_assert_not_null(problems, "case %zu refused", i);
            const json_t *p = json_array_get(problems, 0);
            char got[128];
            snprintf(got, sizeof(got), "%s %s", json_string_value(json_object_get(p, "path")),
                     json_string_value(json_object_get(p, "code")));
            cr_expect_str_eq(got, cases[i].problem, "case %zu", i);
        }
        json_decref(problems);
        json_decref(doc);
    }
}

Test(ack_doc, caps)
{
    char by[ACK_BY_MAX + 16], comment[ACK_COMMENT_MAX + 16];
    memset(by, 'a', sizeof(by) - 1), by[sizeof(by) - 1] = '\0';
    memset(comment, 'c', sizeof(comment) - 1), comment[sizeof(comment) - 1] = '\0';
    json_t *doc = json_pack("{s:s,s:s}", "by", by, "comment", comment);
    struct ack_doc ack;
    json_t *problems = ack_doc_parse(doc, "t", &ack);
    cr_assert_eq(json_array_size(problems), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(problems, 0), "code")),
                     "too_long");
    json_decref(problems);
    by[ACK_BY_MAX] = '\0', comment[ACK_COMMENT_MAX] = '\0';
    json_object_set_new(doc, "by", json_string(by));
    json_object_set_new(doc, "comment", json_string(comment));
    cr_expect_null(ack_doc_parse(doc, "t", &ack), "exactly at the caps");
    json_decref(doc);
}
