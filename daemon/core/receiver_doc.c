/* Receivers documents (receiver_doc.h): names, e-mail addresses, webhook URLs and the type
 * of the time zone of each receiver, and unique names. */
#include "scaleupd/core/receiver_doc.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/problems.h"
#include "scaleupd/core/receiver_endpoints.h"

/* True for an address a mail server will take as one recipient: name@domain, no spaces,
 * line breaks, angle brackets or commas (which would smuggle in headers or recipients). */
static bool valid_email(const char *s)
{
    if (strlen(s) >= 512 || strpbrk(s, "\r\n<> ,") != NULL)
        return false;
    const char *at = strchr(s, '@');
    return at != NULL && at != s && at[1] != '\0';
}

static bool valid_url(const char *s)
{
    if (strlen(s) >= 512 || strpbrk(s, "\r\n<> ,") != NULL)
        return false;
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Checks the e-mail (email) or webhook list of receiver i. */
static void check_addresses(const json_t *r, size_t i, bool email, json_t **problems)
{
    const char *key = email ? "email" : "webhook";
    const json_t *arr = json_object_get(r, key);
    char path[96];
    snprintf(path, sizeof(path), "$.receivers[%zu].%s", i, key);
    if (arr != NULL && !json_is_array(arr)) {
        problems_add(problems, path, "invalid_type", "%s must be an array of strings", key);
        return;
    }
    size_t j;
    const json_t *v;
    json_array_foreach(arr, j, v)
    {
        const char *s = json_string_value(v);
        if (s != NULL && (email ? valid_email(s) : valid_url(s)))
            continue;
        if (!email && json_is_object(v)) {
            receiver_endpoints_check_webhook(v, i, j, problems);
            continue;
        }
        snprintf(path, sizeof(path), "$.receivers[%zu].%s[%zu]", i, key, j);
        if (email)
            problems_add(problems, path, "invalid_email", "an e-mail address is name@domain");
        else
            problems_add(problems, path, "invalid_url",
                         "a webhook URL must start with http:// or https://");
    }
}

/* Checks one receiver object; appends problems under $.receivers[i]. */
static void check_receiver(const json_t *r, size_t i, json_t **problems)
{
    char path[96];
    const json_t *name = json_object_get(r, "name");
    snprintf(path, sizeof(path), "$.receivers[%zu].name", i);
    if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 63)
        problems_add(problems, path, "invalid_type", "name must be a string of 1 to 63 characters");
    check_addresses(r, i, true, problems);
    check_addresses(r, i, false, problems);
    receiver_endpoints_check(r, i, problems);
    const json_t *tz = json_object_get(r, "time_zone");
    snprintf(path, sizeof(path), "$.receivers[%zu].time_zone", i);
    if (tz != NULL && !json_is_string(tz))
        problems_add(problems, path, "invalid_type", "time_zone must be a string");
}

/* True when two receivers of list (whose names are valid strings) share a name. */
static bool duplicate_names(const json_t *list)
{
    json_t *seen = json_object();
    bool duplicate = false;
    size_t i;
    const json_t *r;
    json_array_foreach(list, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (json_object_get(seen, name) != NULL)
            duplicate = true;
        json_object_set_new(seen, name, json_true());
    }
    json_decref(seen);
    return duplicate;
}

json_t *receiver_doc_parse(const json_t *doc, const json_t **receivers)
{
    json_t *problems = NULL;
    const json_t *list = json_object_get(doc, "receivers");
    if (!json_is_array(list)) {
        problems_add(&problems, "$.receivers", "invalid_type", "receivers must be an array");
        return problems;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(list, i, r)
    {
        char path[64];
        snprintf(path, sizeof(path), "$.receivers[%zu]", i);
        if (!json_is_object(r))
            problems_add(&problems, path, "invalid_type", "a receiver is an object");
        else
            check_receiver(r, i, &problems);
    }
    if (problems == NULL && duplicate_names(list))
        problems_add(&problems, "$.receivers", "duplicate_name", "receiver names must be unique");
    if (problems == NULL)
        *receivers = list;
    return problems;
}
