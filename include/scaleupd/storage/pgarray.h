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

struct pgarray {
    char *data;
    size_t len, cap;
    uint32_t elem_oid;
    int32_t count;
    bool has_null;
};

/* Starts an empty one-dimensional array of elem_oid; aborts on out of memory. */
void pgarray_init(struct pgarray *a, uint32_t elem_oid);

void pgarray_add_bool(struct pgarray *a, bool v);
void pgarray_add_int4(struct pgarray *a, int32_t v);
void pgarray_add_int8(struct pgarray *a, int64_t v);
void pgarray_add_float8(struct pgarray *a, double v);
void pgarray_add_text(struct pgarray *a, const char *s, size_t len);
void pgarray_add_null(struct pgarray *a);

/* Finishes the header; the array is then a[0].data, a[0].len bytes (binary format 1). */
void pgarray_finish(struct pgarray *a);

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
