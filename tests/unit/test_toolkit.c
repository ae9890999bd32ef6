/* The core's small toolkit: the capped buffer (dynbuf) and the validation-problem list. */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/problems.h"

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
