/* Pagination of a request (page_link.h): `limit` and `after` read with the API's 400 answers,
 * and the next page's Link header built from the request's own path and query. */
#include "scaleupd/edge/page_link.h"

#include <stdlib.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/log.h"
#include "scaleupd/edge/app.h"

bool page_link_parse(struct request *req, size_t n_fields, struct page_request *page)
{
    page->has_after = false;
    page->after.n = 0;
    if (!page_parse_limit(request_query(req, "limit"), &page->limit)) {
        request_reply_error_json(req, 400, "invalid_parameter",
                                 "limit must be a whole number from 1 to 1000",
                                 json_pack("{s:s}", "path", "limit"));
        return false;
    }
    const char *after = request_query(req, "after");
    if (after == NULL)
        return true;
    if (!page_cursor_decode(after, n_fields, &page->after)) {
        page_link_reply_bad_after(req);
        return false;
    }
    page->has_after = true;
    return true;
}

void page_link_reply_bad_after(struct request *req)
{
    request_reply_error_json(req, 400, "invalid_parameter",
                             "after must be a cursor taken from the next link of a previous "
                             "page of this list",
                             json_pack("{s:s}", "path", "after"));
}

void page_link_set_next(struct request *req, const char *cursor)
{
    if (cursor == NULL)
        return;
    struct page_param *params = xcalloc(req->n_query + 1, sizeof(*params));
    for (size_t i = 0; i < req->n_query; i++)
        params[i] = (struct page_param){req->query[i].key, req->query[i].value};
    char *query = page_next_query(params, req->n_query, cursor);
    free(params);
    struct dynbuf link;
    dynbuf_init(&link, 2 * 1024 * 1024);
    bool ok = query != NULL && dynbuf_addstr(&link, "<") &&
              page_percent_encode(&link, req->path, "/") && dynbuf_addstr(&link, "?") &&
              dynbuf_addstr(&link, query) && dynbuf_addstr(&link, ">; rel=\"next\"");
    if (ok)
        request_add_response_header(req, "Link", dynbuf_str(&link));
    else
        log_write(LOG_LEVEL_WARNING, req->id, "could not add the next page's link: it is too long");
    dynbuf_free(&link);
    free(query);
}

void page_link_reply(struct request *req, const char *key, struct page_rows *page)
{
    page_link_set_next(req, page->next);
    request_reply_json(req, 200, json_pack("{s:o}", key, page->items));
    page->items = NULL;
    page_rows_free(page);
}

void page_link_reply_failure(struct request *req, PGconn *conn, enum page_rows_status status)
{
    if (status == PAGE_ROWS_BAD_CURSOR)
        page_link_reply_bad_after(req);
    else
        handler_db_error(req, conn);
}
