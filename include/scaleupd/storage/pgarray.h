/* Builds PostgreSQL arrays in the binary wire format, so that a batch of rows travels as a
 * handful of array parameters of one statement (no text formatting of numbers). */
#ifndef SCALEUPD_PGARRAY_H
#define SCALEUPD_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGARRAY_BOOL 16u
#define PGARRAY_INT4 23u
#define PGARRAY_INT8 20u
#define PGARRAY_FLOAT8 701u
#define PGARRAY_TEXT 25u
#define PGARRAY_DATE 1082u /* elements added with pgarray_add_int4(a, pgcopy_date(day)) */

/* The cap of one array (or COPY buffer): far above what a batch within the body cap needs,
 * below PostgreSQL's 1 GB value and libpq's int lengths. */
#define PGARRAY_MAX_BYTES (256u << 20)

struct pgarray {
    char *data;
    size_t len, cap;
    uint32_t elem_oid;
    int32_t count;
    bool has_null;
    bool overflow; /* an add would have reached PGARRAY_MAX_BYTES: see pgarray_ok */
};

/* Starts an empty one-dimensional array of elem_oid. Out of memory is fatal (alloc.h); an
 * add that would take the array to PGARRAY_MAX_BYTES is dropped, with every later one, and
 * makes pgarray_ok false: check it before sending the array. */
void pgarray_init(struct pgarray *a, uint32_t elem_oid);

void pgarray_add_bool(struct pgarray *a, bool v);
void pgarray_add_int4(struct pgarray *a, int32_t v);
void pgarray_add_int8(struct pgarray *a, int64_t v);
void pgarray_add_float8(struct pgarray *a, double v);
void pgarray_add_text(struct pgarray *a, const char *s, size_t len);
void pgarray_add_null(struct pgarray *a);

/* Finishes the header; the array is then a[0].data, a[0].len bytes (binary format 1). */
void pgarray_finish(struct pgarray *a);

/* False when an add went past the cap: the content is incomplete and must not be sent. */
bool pgarray_ok(const struct pgarray *a) __attribute__((warn_unused_result));

/* Frees the buffer. */
void pgarray_free(struct pgarray *a);

/* Binary COPY data (COPY … FROM STDIN (FORMAT binary)) encodes each field as an array
 * element is encoded, so a struct pgarray serves as its buffer: pgcopy_init writes the COPY
 * signature instead of an array header, each row is pgcopy_row(number of fields) followed by
 * one pgarray_add_* per field (a date is pgarray_add_int4 of pgcopy_date), and pgcopy_finish
 * adds the trailer. Free it with pgarray_free. */
void pgcopy_init(struct pgarray *a);
void pgcopy_row(struct pgarray *a, int16_t fields);
void pgcopy_finish(struct pgarray *a);

/* A date's binary value (days since 2000-01-01) from days since 1970-01-01. */
static inline int32_t pgcopy_date(int32_t days_since_1970)
{
    return days_since_1970 - 10957;
}

#endif
