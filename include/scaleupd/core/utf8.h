/* Text that goes into JSON answers must be valid UTF-8 (jansson refuses anything else, and
 * a refused string silently vanishes from the answer). Messages are built from input and cut
 * to fit buffers, so they may hold invalid bytes or end inside a character. */
#ifndef SCALEUPD_CORE_UTF8_H
#define SCALEUPD_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
bool utf8_valid(const char *s);

/* Makes s valid UTF-8 in place: every byte that does not start a valid sequence (including
 * a character cut at the end) becomes '?'. The length does not change. */
void utf8_make_valid(char *s);

/* Input as a message may quote it: at most size - 1 bytes of s (NULL reads as ""), every byte
 * that is not printable ASCII (or is a quote or backslash) written as '?', so that a hostile
 * name or value never makes a message invalid UTF-8 or breaks its quoting. Returns buf. */
const char *text_printable(const char *s, char *buf, size_t size);

#endif
