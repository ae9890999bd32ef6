/* Helpers shared by the route handlers: programme scoping and database failures. */
#include <stdlib.h>
#include <string.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/programmes.h"

void handler_db_error(struct request *req, PGconn *conn)
{
    /* class 40 (deadlock, serialization failure) and 55P03 (lock not available) pass if
     * the client tries again */
    const char *state = db_last_sqlstate();
    if (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0) {
        request_add_response_header(req, "Retry-After", "1");
        request_reply_error(req, 503, "conflict_retry",
                            "the request met a concurrent one in the database; retry it");
        return;
    }
    if (db_connection_lost(conn) || PQstatus(conn) != CONNECTION_OK) {
        request_add_response_header(req, "Retry-After", "5");
        request_reply_error(req, 503, "database_unavailable",
                            "the database is not reachable; try again shortly");
        return;
    }
    request_reply_error(req, 500, "internal", "a database operation failed (request %s)", req->id);
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
