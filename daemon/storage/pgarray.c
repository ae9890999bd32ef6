/* Binary PostgreSQL arrays: a 20-byte header (ndim, has-null flag, element type, length,
 * lower bound) that pgarray_finish fills in, then each element as length + bytes. */
#include "scaleupd/storage/pgarray.h"

#include <stdlib.h>
#include <string.h>

#define HEADER 20

static void reserve(struct pgarray *a, size_t more)
{
    if (a->len + more <= a->cap)
        return;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more)
        cap *= 2;
    char *grown = realloc(a->data, cap);
    if (grown == NULL)
        abort();
    a->data = grown;
    a->cap = cap;
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
    reserve(a, HEADER);
    a->len = HEADER;
}

void pgarray_add_bool(struct pgarray *a, bool v)
{
    reserve(a, 5);
    put_u32(a->data + a->len, 1);
    a->data[a->len + 4] = v ? 1 : 0;
    a->len += 5;
    a->count++;
}

void pgarray_add_int4(struct pgarray *a, int32_t v)
{
    reserve(a, 8);
    put_u32(a->data + a->len, 4);
    put_u32(a->data + a->len + 4, (uint32_t)v);
    a->len += 8;
    a->count++;
}

void pgarray_add_int8(struct pgarray *a, int64_t v)
{
    reserve(a, 12);
    put_u32(a->data + a->len, 8);
    put_u64(a->data + a->len + 4, (uint64_t)v);
    a->len += 12;
    a->count++;
}

void pgarray_add_float8(struct pgarray *a, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    reserve(a, 12);
    put_u32(a->data + a->len, 8);
    put_u64(a->data + a->len + 4, bits);
    a->len += 12;
    a->count++;
}

void pgarray_add_text(struct pgarray *a, const char *s, size_t len)
{
    reserve(a, 4 + len);
    put_u32(a->data + a->len, (uint32_t)len);
    memcpy(a->data + a->len + 4, s, len);
    a->len += 4 + len;
    a->count++;
}

void pgarray_add_null(struct pgarray *a)
{
    reserve(a, 4);
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
    reserve(a, sizeof(COPY_SIGNATURE) + 8);
    memcpy(a->data, COPY_SIGNATURE, sizeof(COPY_SIGNATURE));
    put_u32(a->data + sizeof(COPY_SIGNATURE), 0);
    put_u32(a->data + sizeof(COPY_SIGNATURE) + 4, 0);
    a->len = sizeof(COPY_SIGNATURE) + 8;
}

void pgcopy_row(struct pgarray *a, int16_t fields)
{
    reserve(a, 2);
    uint16_t v = (uint16_t)fields;
    a->data[a->len] = (char)(v >> 8), a->data[a->len + 1] = (char)v;
    a->len += 2;
}

void pgcopy_finish(struct pgarray *a)
{
    pgcopy_row(a, -1);
}
