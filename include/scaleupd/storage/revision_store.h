/* The revision history of a programme's observations (observation_revision, written by
 * observations_write.c): what each observation was before each change, read a page at a
 * time, newest first, for GET /api/v1/programmes/{slug}/revisions. */
#ifndef SCALEUPD_STORAGE_REVISION_STORE_H
#define SCALEUPD_STORAGE_REVISION_STORE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "scaleupd/storage/page_rows.h"

/* Which revisions: of a programme, optionally of one indicator and/or one site (codes, NULL:
 * any) and of periods starting from..to (YYYY-MM-DD, checked by the caller; NULL: open). */
struct revision_query {
    int64_t programme_id;
    const char *indicator;
    const char *site;
    const char *from;
    const char *to;
};

enum revision_result {
    REVISION_OK,
    REVISION_UNKNOWN_INDICATOR,
    REVISION_UNKNOWN_SITE,
    REVISION_BAD_CURSOR, /* the cursor is not one of this list */
    REVISION_DB_ERROR,
};

/* One page of the revisions query asks for, in the order (replaced_at DESC, id DESC): at most
 * request->limit after the cursor's (two fields: replaced_at in microseconds since 1970 and
 * the revision's id). Each item: indicator, site, period (its start), the old value,
 * numerator, denominator and comment, received_at, replaced_at, token and replaced_by (token
 * names); a field without data is absent, never a zero, and "out_of_range" lists the values
 * beyond double's range an older version stored. On REVISION_OK the caller frees the page
 * (page_rows_free). */
enum revision_result revision_list_page(PGconn *conn, const struct revision_query *query,
                                        const struct page_request *request, struct page_rows *page)
    __attribute__((warn_unused_result));

#endif
