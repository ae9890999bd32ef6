/* The core's small toolkit: the capped buffer (dynbuf) and the validation-problem list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/problems.h"
#include "scaleupd/core/utf8.h"

Test(dynbuf, grows_and_keeps_a_nul_terminated_copy)
{
    struct dynbuf b;
    dynbuf_init(&b, 1 << 20);
    cr_assert_str_eq(dynbuf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        cr_assert(dynbuf_addf(&b, "%d,", i));
    cr_assert(dynbuf_add(&b, "x\0y", 3));
    cr_assert_eq(b.len, strlen("0,") * 10 + strlen("10,") * 90 + strlen("100,") * 900 + 3);
    cr_assert_eq(b.data[b.len], '\0');
    size_t len = 0;
    char *taken = dynbuf_take(&b, &len);
    cr_assert_eq(strncmp(taken, "0,1,2,", 6), 0);
    cr_assert_eq(len, 3893);
    cr_assert_eq(b.len, 0);
    free(taken);
    dynbuf_free(&b);
}

Test(dynbuf, refuses_to_reach_its_cap_and_stays_failed)
{
    struct dynbuf b;
    dynbuf_init(&b, 10);
    cr_assert(dynbuf_addstr(&b, "123456789")); /* 9 bytes: under the cap */
    cr_assert_not(dynbuf_addstr(&b, "0"));     /* the 10th reaches it */
    cr_assert(b.overflow);
    cr_assert_str_eq(dynbuf_str(&b), "");
    cr_assert_not(dynbuf_addstr(&b, "a"), "a failed buffer stays failed");
    cr_assert_not(dynbuf_addf(&b, "%s", "a"));
    dynbuf_free(&b);
    cr_assert(dynbuf_addstr(&b, "again"), "freeing makes it usable again");
    cr_assert_str_eq(dynbuf_str(&b), "again");
    dynbuf_free(&b);
}

Test(dynbuf, a_formatted_add_past_the_cap_fails_without_writing)
{
    struct dynbuf b;
    dynbuf_init(&b, 16);
    cr_assert_not(dynbuf_addf(&b, "%0100d", 7));
    cr_assert_eq(b.len, 0);
    cr_assert_null(b.data);
}

Test(problems, starts_the_list_on_the_first_problem)
{
    json_t *problems = NULL;
    problems_add(&problems, "$.sites[3].code", "invalid", "site code \"%s\" has a space", "a b");
    problems_add(&problems, "$.name", "missing", "a programme needs a name");
    cr_assert_eq(json_array_size(problems), 2);
    json_t *first = json_array_get(problems, 0);
    cr_assert_str_eq(json_string_value(json_object_get(first, "path")), "$.sites[3].code");
    cr_assert_str_eq(json_string_value(json_object_get(first, "code")), "invalid");
    cr_assert_str_eq(json_string_value(json_object_get(first, "message")),
                     "site code \"a b\" has a space");
    json_decref(problems);
}

/* Found by the fuzzers: a message cut inside a character, or quoting bytes that are not
 * UTF-8, made jansson refuse the problem, which then vanished from the 422. */
Test(problems, a_message_that_is_not_utf8_is_kept_with_question_marks)
{
    json_t *problems = NULL;
    char long_code[400];
    memset(long_code, 'x', 310);
    memcpy(long_code + 310, "\xc3\xa9\xc3\xa9", 5); /* 310 x, then two é: cut inside one */
    problems_add(&problems, "$.indicators[0].code", "invalid", "code \"%s\" is too long",
                 long_code);
    problems_add(&problems, "$.matchers.\xc3", "unknown", "no matcher \"\xdd\"");
    cr_assert_eq(json_array_size(problems), 2, "no problem is lost");
    const char *msg = json_string_value(json_object_get(json_array_get(problems, 0), "message"));
    cr_assert_not_null(msg);
    cr_assert(utf8_valid(msg));
    const char *path = json_string_value(json_object_get(json_array_get(problems, 1), "path"));
    cr_assert_str_eq(path, "$.matchers.?");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(problems, 1), "message")),
                     "no matcher \"?\"");
    json_decref(problems);
}

struct utf8_case {
    const char *text;
    bool valid;
    const char *made_valid;
};

static const struct utf8_case utf8_cases[] = {
    {"plain ascii", true, "plain ascii"},
    {"caf\xc3\xa9 \xf0\x9f\x98\x80", true, "caf\xc3\xa9 \xf0\x9f\x98\x80"},
    {"cut \xf0\x9f\x98", false, "cut ???"},
    {"lone \x80 continuation", false, "lone ? continuation"},
    {"overlong \xc0\xaf", false, "overlong ??"},
    {"overlong \xe0\x80\xaf", false, "overlong ???"},
    {"surrogate \xed\xa0\x80", false, "surrogate ???"},
    {"past max \xf4\x90\x80\x80", false, "past max ????"},
    {"max \xf4\x8f\xbf\xbf", true, "max \xf4\x8f\xbf\xbf"},
};

Test(utf8, validity_and_repair)
{
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        const struct utf8_case *c = &utf8_cases[i];
        cr_expect_eq(utf8_valid(c->text), c->valid, "case %zu", i);
        char buf[64];
        snprintf(buf, sizeof buf, "%s", c->text);
        utf8_make_valid(buf);
        cr_expect_str_eq(buf, c->made_valid, "case %zu", i);
        cr_expect(utf8_valid(buf), "case %zu", i);
    }
}
