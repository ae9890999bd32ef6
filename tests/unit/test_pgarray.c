/* The binary wire formats the ingest path sends: arrays (statement parameters) and COPY data.
 * The bytes are checked against the layouts PostgreSQL documents (array_recv, COPY BINARY);
 * the pg tests check that PostgreSQL takes them. */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/storage/pgarray.h"

static uint32_t u32(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint16_t u16(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint16_t)(b[0] << 8 | b[1]);
}

Test(pgarray, an_array_has_its_header_and_length_prefixed_elements)
{
    struct pgarray a;
    pgarray_init(&a, PGARRAY_INT4);
    pgarray_add_int4(&a, 7);
    pgarray_add_null(&a);
    pgarray_finish(&a);
    cr_assert_eq(a.len, 20 + 8 + 4);
    cr_expect_eq(u32(a.data), 1, "one dimension");
    cr_expect_eq(u32(a.data + 4), 1, "has nulls");
    cr_expect_eq(u32(a.data + 8), PGARRAY_INT4);
    cr_expect_eq(u32(a.data + 12), 2, "two elements");
    cr_expect_eq(u32(a.data + 16), 1, "lower bound");
    cr_expect_eq(u32(a.data + 20), 4);
    cr_expect_eq(u32(a.data + 24), 7);
    cr_expect_eq(u32(a.data + 28), 0xffffffffu, "NULL is length -1");
    pgarray_free(&a);
}

Test(pgarray, copy_data_has_the_signature_rows_of_fields_and_the_trailer)
{
    struct pgarray c;
    pgcopy_init(&c);
    pgcopy_row(&c, 2);
    pgarray_add_int8(&c, 42);
    pgarray_add_int4(&c, pgcopy_date(10957)); /* 2000-01-01 is day 0 of a binary date */
    pgcopy_row(&c, 2);
    pgarray_add_text(&c, "ab", 2);
    pgarray_add_null(&c);
    pgcopy_finish(&c);
    cr_assert_eq(c.len, 19 + (2 + 12 + 8) + (2 + 6 + 4) + 2);
    cr_expect_eq(memcmp(c.data, "PGCOPY\n\377\r\n\0", 11), 0);
    cr_expect_eq(u32(c.data + 11), 0, "flags");
    cr_expect_eq(u32(c.data + 15), 0, "header extension");
    const char *p = c.data + 19;
    cr_expect_eq(u16(p), 2, "fields of the first row");
    cr_expect_eq(u32(p + 2), 8);
    cr_expect_eq(u32(p + 6), 0);
    cr_expect_eq(u32(p + 10), 42);
    cr_expect_eq(u32(p + 14), 4);
    cr_expect_eq(u32(p + 18), 0, "the date");
    p += 22;
    cr_expect_eq(u16(p), 2, "fields of the second row");
    cr_expect_eq(u32(p + 2), 2);
    cr_expect_eq(memcmp(p + 6, "ab", 2), 0);
    cr_expect_eq(u32(p + 8), 0xffffffffu);
    cr_expect_eq(u16(p + 12), 0xffffu, "the trailer is a field count of -1");
    pgarray_free(&c);
}

Test(pgarray, an_add_past_the_cap_is_refused_and_so_is_every_later_one)
{
    struct pgarray a;
    pgarray_init(&a, PGARRAY_TEXT);
    pgarray_add_text(&a, "ok", 2);
    cr_expect(pgarray_ok(&a));
    /* refused before a byte is read: the length alone is past the cap */
    pgarray_add_text(&a, "", PGARRAY_MAX_BYTES);
    cr_expect_not(pgarray_ok(&a));
    pgarray_add_text(&a, "later", 5);
    cr_expect_eq(a.count, 1, "nothing added after the cap was reached");
    cr_expect_lt(a.len, (size_t)PGARRAY_MAX_BYTES);
    pgarray_free(&a);
}
