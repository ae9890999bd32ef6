/* The pagination convention (core/page.h) applied to a request: reading `limit` and `after`
 * with the API's 400 answers, and the `Link: <…>; rel="next"` header (RFC 8288) of a page
 * that has more rows after it. A paginated route lists "limit" and "after" among its query
 * parameters in the route table. */
#ifndef SCALEUPD_EDGE_PAGE_LINK_H
#define SCALEUPD_EDGE_PAGE_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/core/page.h"
#include "scaleupd/edge/request.h"
#include "scaleupd/storage/page_rows.h"

/* Reads the request's `limit` and `after` (a cursor of n_fields fields) into *page. False
 * when it answered 400 invalid_parameter naming the parameter ("path": "limit" or "after");
 * on success the caller clears page->after (page_cursor_clear). */
bool page_link_parse(struct request *req, size_t n_fields, struct page_request *page)
    __attribute__((warn_unused_result));

/* Answers 400 invalid_parameter for an `after` whose fields decoded but do not hold what the
 * route's order needs (a number where a number must be). */
void page_link_reply_bad_after(struct request *req);

/* When cursor is not NULL, adds `Link: <path?query>; rel="next"` to the response: the
 * request's own path and query parameters, with `after` set to cursor. */
void page_link_set_next(struct request *req, const char *cursor);

/* Answers 200 with {key: page->items} and, when page->next is set, its Link header; takes the
 * page's items and frees the rest of it. */
void page_link_reply(struct request *req, const char *key, struct page_rows *page);

/* Answers a page read that did not come to PAGE_ROWS_OK: 400 for a cursor that is not one of
 * this list, else the database error (handler_db_error). */
void page_link_reply_failure(struct request *req, PGconn *conn, enum page_rows_status status);

#endif
