/* Acknowledgement bodies (ack_doc.h): who acknowledged, in their own words, and why; checked
 * whole and reported as problems. */
#include "scaleupd/core/ack_doc.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/problems.h"

/* True when text holds a byte below 0x20 or DEL (a name is one line of printable text). */
static bool has_control(const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f)
            return true;
    return false;
}

/* Checks the string member key against max; the string, or NULL (problem added or absent). */
static const char *check_text(const json_t *doc, const char *key, size_t max, bool one_line,
                              json_t **problems)
{
    const json_t *v = json_object_get(doc, key);
    char path[16];
    snprintf(path, sizeof(path), "$.%s", key);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        problems_add(problems, path, "invalid_type", "%s is a string", key);
        return NULL;
    }
    const char *text = json_string_value(v);
    if (json_string_length(v) > max)
        problems_add(problems, path, "too_long", "%s is at most %zu bytes", key, max);
    else if (strlen(text) != json_string_length(v) || (one_line && has_control(text)))
        problems_add(problems, path, "invalid_value", "%s holds a control character", key);
    else
        return text;
    return NULL;
}

json_t *ack_doc_parse(const json_t *doc, const char *default_by, struct ack_doc *out)
{
    json_t *problems = NULL;
    if (doc != NULL && !json_is_object(doc)) {
        problems_add(&problems, "$", "invalid_type",
                     "an acknowledgement is a JSON object {\"by\", \"comment\"}");
        return problems;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        if (strcmp(key, "by") != 0 && strcmp(key, "comment") != 0)
            problems_add(&problems, "$", "unknown_field",
                         "an acknowledgement has \"by\" and \"comment\", not \"%.60s\"", key);
    }
    const char *by = check_text(doc, "by", ACK_BY_MAX, true, &problems);
    const char *comment = check_text(doc, "comment", ACK_COMMENT_MAX, false, &problems);
    if (by != NULL && by[0] == '\0')
        problems_add(&problems, "$.by", "invalid_value", "by is a non-empty name");
    if (problems != NULL)
        return problems;
    *out = (struct ack_doc){.by = by ? by : default_by,
                            .comment = comment && comment[0] ? comment : NULL};
    return NULL;
}
