/* The text and problem-list checks of fuzz_check.h, shared by the fuzz targets. */
#include "fuzz_check.h"

#include <string.h>

bool fuzz_terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_length(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || s[0] > 0xF4)
        return 0;
    unsigned cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const unsigned least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

bool fuzz_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        size_t n = utf8_length(p);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

char *fuzz_strndup(const unsigned char *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    copy[size] = '\0';
    return copy;
}

size_t fuzz_check_problems(const json_t *problems, bool may_be_null, const char *code)
{
    if (problems == NULL) {
        FUZZ_CHECK(may_be_null);
        return 0;
    }
    /* a problem whose text json_pack refused would be missing from the list */
    FUZZ_CHECK(json_is_array(problems) && json_array_size(problems) > 0);
    size_t i, count = 0;
    const json_t *p;
    json_array_foreach(problems, i, p)
    {
        const char *path = json_string_value(json_object_get(p, "path"));
        const char *what = json_string_value(json_object_get(p, "code"));
        FUZZ_CHECK(path != NULL && path[0] == '$' && what != NULL && what[0] != '\0');
        FUZZ_CHECK(json_string_value(json_object_get(p, "message")) != NULL);
        FUZZ_CHECK(json_object_size(p) == 3);
        count += strcmp(what, code) == 0;
    }
    return count;
}
