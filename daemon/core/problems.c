/* The validation-problem list (problems.h). */
#include "scaleupd/core/problems.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/utf8.h"

void problems_add(json_t **problems, const char *path, const char *code, const char *fmt, ...)
{
    char message[320], where[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    snprintf(where, sizeof(where), "%s", path);
    /* both may quote input, and a cut may end inside a character: a string jansson refuses
     * would make the problem vanish from the answer */
    utf8_make_valid(message);
    utf8_make_valid(where);
    if (*problems == NULL)
        *problems = json_array();
    json_t *problem = json_pack("{s:s,s:s,s:s}", "path", where, "code", code, "message", message);
    if (problem == NULL)
        abort(); /* only a code that is not UTF-8: a programming error */
    json_array_append_new(*problems, problem);
}
