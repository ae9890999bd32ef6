/* Receivers documents (core/receiver_doc.c): every problem code with its JSON path, and
 * valid documents with their list handed back. Table-driven. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/receiver_doc.h"

/* "path code" of each problem, in order, ';'-separated ("" for none). */
static void describe(const json_t *problems, char *out, size_t size)
{
    size_t used = 0, k;
    const json_t *p;
    out[0] = '\0';
    json_array_foreach(problems, k, p)
    {
        const char *message = json_string_value(json_object_get(p, "message"));
        cr_expect(message != NULL && message[0] != '\0', "problem without a message");
        int n = snprintf(out + used, size - used, "%s%s %s", used ? ";" : "",
                         json_string_value(json_object_get(p, "path")),
                         json_string_value(json_object_get(p, "code")));
        cr_assert(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

#define R(list) "{\"receivers\":[" list "]}"

static const struct {
    const char *doc;
    const char *want;
} cases[] = {
    {"{}", "$.receivers invalid_type"},
    {"[]", "$.receivers invalid_type"},
    {"{\"receivers\":{}}", "$.receivers invalid_type"},
    {R(""), ""},
    {R("{\"name\":\"ops\"}"), ""},
    {R("{\"name\":\"ops\",\"email\":[\"ops@example.org\"],\"webhook\":[\"https://h.example/x\","
       "\"http://h.example/y\"],\"time_zone\":\"Europe/Brussels\"}"),
     ""},
    {R("7,\"ops\""), "$.receivers[0] invalid_type;$.receivers[1] invalid_type"},
    {R("{}"), "$.receivers[0].name invalid_type"},
    {R("{\"name\":\"\"}"), "$.receivers[0].name invalid_type"},
    {R("{\"name\":\"a234567890123456789012345678901234567890123456789012345678901234\"}"),
     "$.receivers[0].name invalid_type"},
    {R("{\"name\":\"ops\",\"email\":\"ops@example.org\"}"), "$.receivers[0].email invalid_type"},
    {R("{\"name\":\"ops\",\"webhook\":{}}"), "$.receivers[0].webhook invalid_type"},
    {R("{\"name\":\"ops\",\"email\":[\"ops\",\"@example.org\",\"ops@\",\"a b@example.org\","
       "\"a@b,c@d\",\"<a@b>\",\"a@b\\r\\nBcc: x@y\",7,\"ok@example.org\"]}"),
     "$.receivers[0].email[0] invalid_email;$.receivers[0].email[1] invalid_email;"
     "$.receivers[0].email[2] invalid_email;$.receivers[0].email[3] invalid_email;"
     "$.receivers[0].email[4] invalid_email;$.receivers[0].email[5] invalid_email;"
     "$.receivers[0].email[6] invalid_email;$.receivers[0].email[7] invalid_email"},
    {R("{\"name\":\"ops\",\"webhook\":[\"ftp://example.org/hook\",\"example.org\","
       "\"https://a b\",null]}"),
     "$.receivers[0].webhook[0] invalid_url;$.receivers[0].webhook[1] invalid_url;"
     "$.receivers[0].webhook[2] invalid_url;$.receivers[0].webhook[3] invalid_url"},
    {R("{\"name\":\"ops\",\"time_zone\":1}"), "$.receivers[0].time_zone invalid_type"},
    {R("{\"name\":\"ops\",\"time_zone\":\"Mars/Olympus\"}"), ""}, /* the database judges */
    {R("{\"name\":\"ops\"},{\"name\":\"ops\"}"), "$.receivers duplicate_name"},
    /* duplicates are only looked for in an otherwise valid document */
    {R("{\"name\":\"ops\"},{\"name\":\"ops\",\"email\":[\"x\"]}"),
     "$.receivers[1].email[0] invalid_email"},
    {R("{\"name\":\"ops\"},{\"name\":\"Ops\"}"), ""},
};

Test(receiver_doc, each_problem_names_its_path_and_code)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t error;
        json_t *doc = json_loads(cases[i].doc, JSON_DECODE_ANY, &error);
        cr_assert_not_null(doc, "case %zu does not parse: %s", i, error.text);
        const json_t *list = NULL;
        json_t *problems = receiver_doc_parse(doc, &list);
        char got[2048];
        describe(problems, got, sizeof(got));
        cr_expect_str_eq(got, cases[i].want, "document %zu: %.160s", i, cases[i].doc);
        if (problems == NULL)
            cr_expect_eq(list, json_object_get(doc, "receivers"), "case %zu: the list", i);
        else
            cr_expect_gt(json_array_size(problems), 0, "case %zu: an empty list of problems", i);
        json_decref(problems);
        json_decref(doc);
    }
}

Test(receiver_doc, a_long_address_is_refused)
{
    char address[600];
    memset(address, 'a', sizeof(address));
    memcpy(address + 500, "@example.org", 13);
    json_t *doc = json_pack("{s:[{s:s,s:[s]}]}", "receivers", "name", "ops", "email", address);
    const json_t *list = NULL;
    json_t *problems = receiver_doc_parse(doc, &list);
    char got[256];
    describe(problems, got, sizeof(got));
    cr_expect_str_eq(got, "$.receivers[0].email[0] invalid_email");
    json_decref(problems);
    address[400] = '\0';
    memcpy(address + 390, "@example.org", 13);
    json_array_set_new(
        json_object_get(json_array_get(json_object_get(doc, "receivers"), 0), "email"), 0,
        json_string(address));
    problems = receiver_doc_parse(doc, &list);
    cr_expect_null(problems, "an address under 512 bytes");
    json_decref(problems);
    json_decref(doc);
}
