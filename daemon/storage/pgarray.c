/* Binary PostgreSQL arrays: a 20-byte header (ndim, has-null flag, element type, length,
 * lower bound) that pgarray_finish fills in, then each element as length + bytes. */
#include "scaleupd/storage/pgarray.h"

#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"

#define HEADER 20

/* Makes room for more bytes; false (and the array marked overflowed: every later add is
 * dropped) when that would reach PGARRAY_MAX_BYTES. */
static bool reserve(struct pgarray *a, size_t more)
{
    if (a->overflow)
        return false;
    if (a->len + more <= a->cap)
        return true;
    if (more >= PGARRAY_MAX_BYTES - a->len) {
        a->overflow = true;
        return false;
    }
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more)
        cap *= 2;
    a->data = xrealloc(a->data, cap);
    a->cap = cap;
    return true;
}

bool pgarray_ok(const struct pgarray *a)
{
    return !a->overflow;
}

static void put_u32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24), p[1] = (char)(v >> 16), p[2] = (char)(v >> 8), p[3] = (char)v;
}

static void put_u64(char *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

void pgarray_init(struct pgarray *a, uint32_t elem_oid)
{
    memset(a, 0, sizeof(*a));
    a->elem_oid = elem_oid;
    (void)reserve(a, HEADER); /* a few bytes: within the cap */
    a->len = HEADER;
}

void pgarray_add_bool(struct pgarray *a, bool v)
{
    if (!reserve(a, 5))
        return;
    put_u32(a->data + a->len, 1);
    a->data[a->len + 4] = v ? 1 : 0;
    a->len += 5;
    a->count++;
}

void pgarray_add_int4(struct pgarray *a, int32_t v)
{
    if (!reserve(a, 8))
        return;
    put_u32(a->data + a->len, 4);
    put_u32(a->data + a->len + 4, (uint32_t)v);
    a->len += 8;
    a->count++;
}

void pgarray_add_int8(struct pgarray *a, int64_t v)
{
    if (!reserve(a, 12))
        return;
    put_u32(a->data + a->len, 8);
    put_u64(a->data + a->len + 4, (uint64_t)v);
    a->len += 12;
    a->count++;
}

void pgarray_add_float8(struct pgarray *a, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    if (!reserve(a, 12))
        return;
    put_u32(a->data + a->len, 8);
    put_u64(a->data + a->len + 4, bits);
    a->len += 12;
    a->count++;
}

void pgarray_add_text(struct pgarray *a, const char *s, size_t len)
{
    if (!reserve(a, 4 + len))
        return;
    put_u32(a->data + a->len, (uint32_t)len);
    memcpy(a->data + a->len + 4, s, len);
    a->len += 4 + len;
    a->count++;
}

void pgarray_add_null(struct pgarray *a)
{
    if (!reserve(a, 4))
        return;
    put_u32(a->data + a->len, 0xffffffffu);
    a->len += 4;
    a->count++;
    a->has_null = true;
}

void pgarray_finish(struct pgarray *a)
{
    char *h = a->data;
    if (a->count == 0) {
        /* an empty array has no dimensions */
        put_u32(h, 0), put_u32(h + 4, 0), put_u32(h + 8, a->elem_oid);
        a->len = 12;
        return;
    }
    put_u32(h, 1);
    put_u32(h + 4, a->has_null ? 1 : 0);
    put_u32(h + 8, a->elem_oid);
    put_u32(h + 12, (uint32_t)a->count);
    put_u32(h + 16, 1);
}

void pgarray_free(struct pgarray *a)
{
    free(a->data);
    memset(a, 0, sizeof(*a));
}

/* PGCOPY\n\377\r\n\0, then a flags word and a header extension length, both zero. */
static const char COPY_SIGNATURE[11] = {'P',  'G',    'C',  'O',  'P', 'Y',
                                        '\n', '\377', '\r', '\n', '\0'};

void pgcopy_init(struct pgarray *a)
{
    memset(a, 0, sizeof(*a));
    (void)reserve(a, sizeof(COPY_SIGNATURE) + 8); /* a few bytes: within the cap */
    memcpy(a->data, COPY_SIGNATURE, sizeof(COPY_SIGNATURE));
    put_u32(a->data + sizeof(COPY_SIGNATURE), 0);
    put_u32(a->data + sizeof(COPY_SIGNATURE) + 4, 0);
    a->len = sizeof(COPY_SIGNATURE) + 8;
}

void pgcopy_row(struct pgarray *a, int16_t fields)
{
    if (!reserve(a, 2))
        return;
    uint16_t v = (uint16_t)fields;
    a->data[a->len] = (char)(v >> 8), a->data[a->len + 1] = (char)v;
    a->len += 2;
}

void pgcopy_finish(struct pgarray *a)
{
    pgcopy_row(a, -1);
}
