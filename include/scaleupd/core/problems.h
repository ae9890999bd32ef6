/* The validation-problem list of the API's 422 answers: documents (programmes, roadmaps,
 * rules, receivers, silences) are checked whole, and each problem names where it is (a
 * JSONPath such as "$.sites[3].code"), a stable code and a message for people. */
#ifndef SCALEUPD_CORE_PROBLEMS_H
#define SCALEUPD_CORE_PROBLEMS_H

#include <jansson.h>

/* Appends {"path":…, "code":…, "message":…} to *problems, creating the array on first use
 * (so *problems stays NULL while a document has none). Path and message may quote input:
 * bytes that are not UTF-8 (or a character cut by the message's length) become '?', so a
 * problem is never lost. The caller owns the array. */
void problems_add(json_t **problems, const char *path, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
