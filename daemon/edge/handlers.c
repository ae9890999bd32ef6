/* Helpers shared by the route handlers: programme scoping, path ids and database failures. */
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/utf8.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/programmes.h"

void handler_db_error(struct request *req, PGconn *conn)
{
    switch (db_failure_of(conn)) {
    case DB_FAILURE_RETRY:
        request_add_response_header(req, "Retry-After", "1");
        request_reply_error(req, 503, "conflict_retry",
                            "the request met a concurrent one in the database; retry it");
        return;
    case DB_FAILURE_UNAVAILABLE:
        request_add_response_header(req, "Retry-After", "5");
        request_reply_error(req, 503, "database_unavailable",
                            "the database is not reachable; try again shortly");
        return;
    case DB_FAILURE_INTERNAL:
        break;
    }
    request_reply_error(req, 500, "internal", "a database operation failed (request %s)", req->id);
}

long long handler_id_param(struct request *req, const char *code, const char *what)
{
    const char *text = request_param(req, "id");
    /* canonical digits only: strtoll alone took "+1", " 1", "01" and "%0a1" for 1 (a DELETE of
       /tokens/+1 revoked token 1) and saturated 99999999999999999999 */
    size_t digits = text != NULL ? strspn(text, "0123456789") : 0;
    bool canonical =
        text != NULL && digits > 0 && digits <= 18 && text[digits] == '\0' && text[0] != '0';
    long long id = canonical ? strtoll(text, NULL, 10) : 0;
    if (!canonical || id <= 0) {
        request_reply_error(req, 404, code, "no %s \"%s\"", what, text != NULL ? text : "");
        return 0;
    }
    return id;
}

int handler_feed_programme_named(struct request *req, PGconn *conn)
{
    const char *slug = request_query(req, "programme");
    if (slug == NULL)
        return 1;
    int64_t id = 0;
    int found = utf8_valid(slug) ? programme_find(conn, slug, &id) : 0;
    if (found < 0) {
        handler_db_error(req, conn);
        return -1;
    }
    return found > 0 && id == req->auth.programme_id;
}

bool handler_check_programme(struct request *req, PGconn *conn, long long *programme_id)
{
    const char *slug = request_param(req, "slug");
    int64_t id = 0;
    int found = slug ? programme_find(conn, slug, &id) : 0;
    if (found < 0) {
        handler_db_error(req, conn);
        return false;
    }
    if (found == 0) {
        request_reply_error(req, 404, "unknown_programme", "no programme \"%s\"", slug ? slug : "");
        return false;
    }
    if (req->auth.authenticated && req->auth.scope == TOKEN_SCOPE_FEED &&
        req->auth.programme_id != id) {
        request_reply_error(req, 403, "forbidden",
                            "this feed token belongs to another programme than \"%s\"", slug);
        return false;
    }
    *programme_id = id;
    return true;
}
