/* Keyset pages read from the database (core/page.h's convention): a list query selects each
 * row's JSON object and its sort key, ordered by that key, with LIMIT page limit + 1; this
 * turns its result into the page's items and the cursor of the next page. */
#ifndef SCALEUPD_STORAGE_PAGE_ROWS_H
#define SCALEUPD_STORAGE_PAGE_ROWS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "scaleupd/core/page.h"

/* A page of items and, when more rows follow, the cursor of the next page. */
struct page_rows {
    json_t *items; /* a JSON array, owned */
    char *next;    /* the next page's `after`, or NULL when this is the last page; owned */
};

/* What a page read comes to: the page, an `after` whose fields are not this list's sort key
 * (the edge answers 400), or a database error. */
enum page_rows_status { PAGE_ROWS_OK, PAGE_ROWS_BAD_CURSOR, PAGE_ROWS_DB_ERROR };

/* Microseconds since 1970 of the sort keys that are times: the years 1 to 9999, within what
 * PostgreSQL's timestamptz holds, so a cursor never makes a statement fail. */
#define PAGE_ROWS_TIME_MIN (-62135596800LL * 1000000)
#define PAGE_ROWS_TIME_MAX (253402300799LL * 1000000)

/* True when after (decoded by the edge) is a cursor of this list: one field per letter of
 * kinds, 'i' a decimal int64, 't' a time as decimal microseconds since 1970 between
 * PAGE_ROWS_TIME_MIN and PAGE_ROWS_TIME_MAX. Fields that pass go to SQL as parameters. */
bool page_rows_cursor_valid(const struct page_cursor *after, const char *kinds);

/* Builds *page from res, whose column 0 is each row's JSON object as text and columns
 * 1..n_keys its sort key as text (never NULL): at most limit rows become items, and when res
 * holds one more, next is the cursor of the last item's key. False (nothing to free) when a
 * row's JSON does not parse or its key cannot be a cursor (a bug of the query, logged). */
bool page_rows_collect(const PGresult *res, int limit, int n_keys, struct page_rows *page)
    __attribute__((warn_unused_result));

/* Frees what a page holds and NULLs it. */
void page_rows_free(struct page_rows *page);

/* Writes limit + 1, the LIMIT of a page's query, as text into buf. */
const char *page_rows_fetch_limit(int limit, char *buf, size_t size);

#endif
