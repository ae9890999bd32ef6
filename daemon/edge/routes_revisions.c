/* GET /api/v1/programmes/{slug}/revisions: the revision history of a programme's
 * observations a page at a time (edge/page_link.h), newest first, filtered by indicator, site
 * and period. Parses and authorises; the SQL is storage/revision_store.c. */
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/edge/page_link.h"
#include "scaleupd/storage/revision_store.h"

/* False when it answered 400: from and to are dates, as for GET …/series. */
static bool bounds_valid(struct request *req, const struct revision_query *q)
{
    const char *bounds[] = {q->from, q->to};
    for (int i = 0; i < 2; i++) {
        int32_t day;
        if (bounds[i] != NULL && !date_parse(bounds[i], strlen(bounds[i]), &day)) {
            request_reply_error_json(req, 400, "invalid_parameter",
                                     i == 0 ? "from must be a date (YYYY-MM-DD)"
                                            : "to must be a date (YYYY-MM-DD)",
                                     json_pack("{s:s}", "path", i == 0 ? "from" : "to"));
            return false;
        }
    }
    return true;
}

static void reply_failure(struct request *req, PGconn *conn, const struct revision_query *q,
                          enum revision_result r)
{
    if (r == REVISION_UNKNOWN_INDICATOR)
        request_reply_error(req, 404, "unknown_indicator", "no indicator \"%s\" in this programme",
                            q->indicator);
    else if (r == REVISION_UNKNOWN_SITE)
        request_reply_error(req, 404, "unknown_site", "no site \"%s\" in this programme", q->site);
    else
        page_link_reply_failure(
            req, conn, r == REVISION_BAD_CURSOR ? PAGE_ROWS_BAD_CURSOR : PAGE_ROWS_DB_ERROR);
}

void handle_get_revisions(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    struct revision_query q = {programme_id, request_query(req, "indicator"),
                               request_query(req, "site"), request_query(req, "from"),
                               request_query(req, "to")};
    struct page_request request;
    if (!bounds_valid(req, &q) || !page_link_parse(req, 2, &request))
        return;
    struct page_rows page;
    enum revision_result r = revision_list_page(conn, &q, &request, &page);
    if (r == REVISION_OK)
        page_link_reply(req, "revisions", &page);
    else
        reply_failure(req, conn, &q, r);
    page_cursor_clear(&request.after);
}
