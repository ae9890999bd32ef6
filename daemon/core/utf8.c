/* UTF-8 validity of message text (utf8.h). */
#include "scaleupd/core/utf8.h"

/* The length of the valid sequence that starts at s, 0 when none does. */
static size_t sequence_length(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
                 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                : 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* overlong three- and four-byte forms, surrogates, past U+10FFFF */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        size_t len = sequence_length(p);
        if (len == 0)
            return false;
        p += len;
    }
    return true;
}

void utf8_make_valid(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p != '\0') {
        size_t len = sequence_length(p);
        if (len == 0)
            *p++ = '?';
        else
            p += len;
    }
}

const char *text_printable(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    for (; s != NULL && *s != '\0' && o + 1 < size; s++) {
        unsigned char c = (unsigned char)*s;
        buf[o++] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
    }
    if (size > 0)
        buf[o] = '\0';
    return buf;
}
