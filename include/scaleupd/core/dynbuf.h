/* A growable byte buffer with a hard cap, after curl's dynbuf: every buffer fed from
 * outside (a body, a rendered message, a parsed field) is one of these, so no input can make
 * the daemon grow without bound. Going past the cap ("toobig") frees the content and makes
 * every later add fail, so a caller may check once at the end. The content is always
 * NUL-terminated. Allocation failure follows alloc.h (fatal). */
#ifndef SCALEUPD_CORE_DYNBUF_H
#define SCALEUPD_CORE_DYNBUF_H

#include <stdbool.h>
#include <stddef.h>

struct dynbuf {
    char *data;    /* NULL until something is added */
    size_t len;    /* bytes held, without the NUL */
    size_t alloc;  /* bytes allocated */
    size_t toobig; /* the cap: len never reaches it */
    bool overflow; /* an add went past the cap: the content is gone */
};

/* An empty buffer that refuses to hold toobig bytes or more. */
void dynbuf_init(struct dynbuf *b, size_t toobig);

/* Appends len bytes; false when that would reach the cap (or an earlier add did). */
bool dynbuf_add(struct dynbuf *b, const void *mem, size_t len) __attribute__((warn_unused_result));

/* Appends a NUL-terminated string. */
bool dynbuf_addstr(struct dynbuf *b, const char *s) __attribute__((warn_unused_result));

/* Appends printf-style formatted text. */
bool dynbuf_addf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((warn_unused_result));

/* The content ("" when empty or overflowed); valid until the next add or free. */
const char *dynbuf_str(const struct dynbuf *b);

/* Hands the content over (malloc'd, NUL-terminated; *len gets its length when len is not
 * NULL) and empties the buffer; the caller frees it. Never NULL. */
char *dynbuf_take(struct dynbuf *b, size_t *len);

/* Frees the content; the buffer can be used again with the same cap. */
void dynbuf_free(struct dynbuf *b);

#endif
