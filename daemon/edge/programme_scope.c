/* Programme scoping of the alert and incident routes (programme_scope.h): a token of one
 * programme reads that programme's alerts and incidents only. */
#include "scaleupd/edge/programme_scope.h"

#include "scaleupd/edge/app.h"
#include "scaleupd/storage/programmes.h"

int64_t programme_scope_of(const struct request *req)
{
    return req->auth.authenticated ? req->auth.programme_id : 0;
}

bool programme_scope_list(struct request *req, PGconn *conn, const char *slug, int64_t *scope)
{
    *scope = programme_scope_of(req);
    if (*scope == 0 || slug == NULL)
        return true;
    int64_t id = 0;
    int found = programme_find(conn, slug, &id);
    if (found < 0) {
        handler_db_error(req, conn);
        return false;
    }
    if (found == 1 && id != *scope) {
        request_reply_error(req, 403, "forbidden",
                            "this feed token belongs to another programme than \"%s\"", slug);
        return false;
    }
    return true; /* an unknown slug lists nothing, as for any token */
}

int programme_scope_row(struct request *req, PGconn *conn, const json_t *row)
{
    int64_t scope = programme_scope_of(req);
    if (scope == 0)
        return 1;
    const char *slug = json_string_value(json_object_get(row, "programme"));
    int64_t id = 0;
    int found = slug != NULL ? programme_find(conn, slug, &id) : 0;
    if (found < 0) {
        handler_db_error(req, conn);
        return -1;
    }
    return found == 1 && id == scope;
}
