/* The validation-problem list (problems.h). */
#include "scaleupd/core/problems.h"

#include <stdarg.h>
#include <stdio.h>

void problems_add(json_t **problems, const char *path, const char *code, const char *fmt, ...)
{
    char message[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (*problems == NULL)
        *problems = json_array();
    json_array_append_new(
        *problems, json_pack("{s:s,s:s,s:s}", "path", path, "code", code, "message", message));
}
