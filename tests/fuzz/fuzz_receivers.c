/*
 * libFuzzer target: a receivers document as PUT …/receivers reads it (json_loadb with
 * duplicates refused, then receiver_doc_parse of core/receiver_doc.c). Checks that the
 * problems are a non-empty list of {path, code, message} and that a document found valid
 * hands back a list of receivers with names, addresses and URLs as receiver_doc.h promises.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/receiver_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every entry of the email or webhook list is a string without a header-smuggling byte
 * (a webhook may be an object whose "url" is such a string: core/receiver_endpoints.h). */
static void check_addresses(const json_t *list, const char *scheme)
{
    FUZZ_CHECK(list == NULL || json_is_array(list));
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        if (scheme != NULL && json_is_object(v))
            v = json_object_get(v, "url");
        const char *s = json_string_value(v);
        FUZZ_CHECK(s != NULL && strpbrk(s, "\r\n<> ,") == NULL);
        FUZZ_CHECK(scheme != NULL ? strncmp(s, scheme, 4) == 0 : strchr(s, '@') != NULL);
    }
}

static void check_valid(const json_t *doc, const json_t *receivers)
{
    FUZZ_CHECK(receivers != NULL && receivers == json_object_get(doc, "receivers"));
    FUZZ_CHECK(json_is_array(receivers));
    json_t *names = json_object();
    size_t i;
    const json_t *r;
    json_array_foreach(receivers, i, r)
    {
        FUZZ_CHECK(json_is_object(r));
        const char *name = json_string_value(json_object_get(r, "name"));
        FUZZ_CHECK(name != NULL && name[0] != '\0' && strlen(name) <= 63);
        FUZZ_CHECK(json_object_get(names, name) == NULL);
        json_object_set_new(names, name, json_true());
        check_addresses(json_object_get(r, "email"), NULL);
        check_addresses(json_object_get(r, "webhook"), "http");
        const json_t *tz = json_object_get(r, "time_zone");
        FUZZ_CHECK(tz == NULL || json_is_string(tz));
    }
    json_decref(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL)
        return 0; /* the route answers 400 before the validator */
    const json_t *receivers = NULL;
    json_t *problems = receiver_doc_parse(doc, &receivers);
    fuzz_check_problems(problems, true, "");
    if (problems == NULL)
        check_valid(doc, receivers);
    json_decref(problems);
    json_decref(doc);
    return 0;
}
