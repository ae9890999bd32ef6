/* The capped growable buffer (dynbuf.h). */
#include "scaleupd/core/dynbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"

void dynbuf_init(struct dynbuf *b, size_t toobig)
{
    *b = (struct dynbuf){.toobig = toobig};
}

static bool fail(struct dynbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
    b->overflow = true;
    return false;
}

/* Room for len more bytes and the NUL. */
static bool reserve(struct dynbuf *b, size_t len)
{
    if (b->overflow || len >= b->toobig - b->len)
        return fail(b);
    size_t need = b->len + len + 1;
    if (need <= b->alloc)
        return true;
    size_t alloc = b->alloc ? b->alloc : 64;
    while (alloc < need)
        alloc = alloc > b->toobig / 2 ? b->toobig : alloc * 2;
    b->data = xrealloc(b->data, alloc);
    b->alloc = alloc;
    return true;
}

bool dynbuf_add(struct dynbuf *b, const void *mem, size_t len)
{
    if (!reserve(b, len))
        return false;
    memcpy(b->data + b->len, mem, len);
    b->len += len;
    b->data[b->len] = '\0';
    return true;
}

bool dynbuf_addstr(struct dynbuf *b, const char *s)
{
    return dynbuf_add(b, s, strlen(s));
}

bool dynbuf_addf(struct dynbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return n < 0 ? fail(b) : false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

const char *dynbuf_str(const struct dynbuf *b)
{
    return b->data ? b->data : "";
}

char *dynbuf_take(struct dynbuf *b, size_t *len)
{
    char *data = b->data ? b->data : xstrdup("");
    if (len != NULL)
        *len = b->len;
    size_t toobig = b->toobig;
    dynbuf_init(b, toobig);
    return data;
}

void dynbuf_free(struct dynbuf *b)
{
    free(b->data);
    dynbuf_init(b, b->toobig);
}
