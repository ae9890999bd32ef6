/* The feeds status endpoints (services/feeds.h): GET …/feeds, the summary per indicator and
 * region, and GET …/feeds/sites, the member sites a page at a time (core/page.h's
 * convention), late ones first, filtered by status, region and indicator. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/edge/page_link.h"
#include "scaleupd/services/feeds.h"

/* Answers 400 invalid_parameter naming the parameter in "path". */
static void reply_bad(struct request *req, const char *parameter, const char *message)
{
    request_reply_error_json(req, 400, "invalid_parameter", message,
                             json_pack("{s:s}", "path", parameter));
}

/* ?grace_days=N: days after a period's end before its data is due (default 15). */
static bool feeds_grace(struct request *req, int *grace)
{
    const char *text = request_query(req, "grace_days");
    *grace = FEEDS_DEFAULT_GRACE_DAYS;
    if (text == NULL)
        return true;
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < 0 || n > FEEDS_MAX_GRACE_DAYS) {
        reply_bad(req, "grace_days", "grace_days must be a number of days from 0 to 366");
        return false;
    }
    *grace = (int)n;
    return true;
}

void handle_get_feeds_status(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    int grace;
    if (!handler_check_programme(req, conn, &programme_id) || !feeds_grace(req, &grace))
        return;
    json_t *doc = NULL;
    switch (feeds_summary(conn, programme_id, grace, req->id, &doc)) {
    case FEEDS_OK:
        request_reply_json(req, 200, doc);
        break;
    case FEEDS_UNKNOWN_REGION:
    case FEEDS_UNKNOWN_INDICATOR:
    case FEEDS_DB_ERROR:
        handler_db_error(req, conn);
        break;
    }
}

/* A status name, or false. */
static bool status_from_name(const char *name, enum feeds_site_status *status)
{
    static const char *const names[] = {"late", "partial", "reported"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *status = (enum feeds_site_status)i;
            return true;
        }
    return false;
}

/* ?status=late|partial|reported and the cursor's key (status rank, region, code) into *q,
 * which borrows the cursor's fields. False when it answered 400. */
static bool sites_query(struct request *req, const struct page_request *page,
                        struct feeds_sites_query *q)
{
    const char *status = request_query(req, "status");
    *q = (struct feeds_sites_query){.region = request_query(req, "region"), .limit = page->limit};
    if (status != NULL && !status_from_name(status, &q->status)) {
        reply_bad(req, "status", "status must be late, partial or reported");
        return false;
    }
    q->has_status = status != NULL;
    if (!page->has_after)
        return true;
    int64_t rank;
    if (!page_field_int64(page->after.fields[0], &rank) || rank < 0 || rank > 2) {
        page_link_reply_bad_after(req);
        return false;
    }
    q->has_after = true;
    q->after_status = (enum feeds_site_status)rank;
    q->after_region = page->after.fields[1];
    q->after_code = page->after.fields[2];
    return true;
}

/* Renders a page of sites: the array, and the next page's Link when next[] is set. */
static void reply_sites(struct request *req, json_t *rows, char *next[3])
{
    if (next[0] != NULL) {
        char *cursor = page_cursor_encode((const char *const *)next, 3);
        page_link_set_next(req, cursor);
        free(cursor);
    }
    request_reply_json(req, 200, rows);
}

void handle_get_feeds_sites(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    int grace;
    struct page_request page;
    struct feeds_sites_query q;
    if (!handler_check_programme(req, conn, &programme_id) || !feeds_grace(req, &grace) ||
        !page_link_parse(req, 3, &page))
        return;
    const char *indicator = request_query(req, "indicator");
    json_t *rows = NULL;
    char *next[3] = {NULL, NULL, NULL};
    if (!sites_query(req, &page, &q))
        goto out;
    switch (feeds_sites(conn, programme_id, grace, indicator, &q, &rows, next, req->id)) {
    case FEEDS_OK:
        reply_sites(req, rows, next);
        break;
    case FEEDS_UNKNOWN_REGION:
        reply_bad(req, "region", "region must be the code of a region of this programme");
        break;
    case FEEDS_UNKNOWN_INDICATOR:
        reply_bad(req, "indicator", "indicator must be the code of an indicator of this programme");
        break;
    case FEEDS_DB_ERROR:
        handler_db_error(req, conn);
        break;
    }
out:
    for (int k = 0; k < 3; k++)
        free(next[k]);
    page_cursor_clear(&page.after);
}
