/* Keyset pages (page_rows.h): the rows of a list query, read with one row more than the page
 * holds, become the page's items and the next page's cursor. */
#include "scaleupd/storage/page_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/log.h"
#include "scaleupd/storage/db.h"

bool page_rows_collect(const PGresult *res, int limit, int n_keys, struct page_rows *page)
{
    page->items = json_array();
    page->next = NULL;
    int rows = PQntuples(res);
    int kept = rows < limit ? rows : limit;
    for (int i = 0; i < kept; i++) {
        json_error_t error;
        json_t *item = json_loads(db_text(res, i, 0), 0, &error);
        if (item == NULL) {
            log_error("could not read a row of a list: %s", error.text);
            goto fail;
        }
        json_array_append_new(page->items, item);
    }
    if (rows > limit && kept > 0) {
        const char *key[PAGE_CURSOR_FIELDS_MAX];
        for (int k = 0; k < n_keys && k < PAGE_CURSOR_FIELDS_MAX; k++)
            key[k] = db_text(res, kept - 1, 1 + k);
        page->next = page_cursor_encode(key, (size_t)n_keys);
        if (page->next == NULL) {
            log_error("could not make the cursor of a list's next page");
            goto fail;
        }
    }
    return true;
fail:
    page_rows_free(page);
    return false;
}

bool page_rows_cursor_valid(const struct page_cursor *after, const char *kinds)
{
    if (after->n != strlen(kinds))
        return false;
    for (size_t i = 0; i < after->n; i++) {
        int64_t v;
        if (!page_field_int64(after->fields[i], &v))
            return false;
        if (kinds[i] == 't' && (v < PAGE_ROWS_TIME_MIN || v > PAGE_ROWS_TIME_MAX))
            return false;
    }
    return true;
}

void page_rows_free(struct page_rows *page)
{
    json_decref(page->items);
    page->items = NULL;
    free(page->next);
    page->next = NULL;
}

const char *page_rows_fetch_limit(int limit, char *buf, size_t size)
{
    snprintf(buf, size, "%d", limit + 1);
    return buf;
}
