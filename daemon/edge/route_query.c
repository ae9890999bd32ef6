/* The query-parameter rule of the route table: a route declares the parameters its handler
 * reads, and a request with any other one (or with one twice) is answered 400 before the
 * handler runs, so that no parameter is ever silently ignored (docs/ARCHITECTURE.md). */
#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/edge/app.h"

/* Writes "a, b, c" (the accepted names) into buf. */
static void accepted_list(const char *const *accepted, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; accepted != NULL && accepted[i] != NULL; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", accepted[i]);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

/* False when it answered 400. */
static bool query_allowed(struct request *req, const struct handler *handler)
{
    if (req->n_query == 0)
        return true;
    const char **names = xcalloc(req->n_query, sizeof(*names));
    for (size_t i = 0; i < req->n_query; i++)
        names[i] = req->query[i].key;
    size_t which = 0;
    enum router_query_result rc = router_check_query(handler->query, names, req->n_query, &which);
    free(names);
    if (rc == ROUTER_QUERY_OK)
        return true;
    char list[256];
    accepted_list(handler->query, list, sizeof(list));
    char name[65];
    router_printable(req->query[which].key, name, sizeof(name));
    if (rc == ROUTER_QUERY_REPEATED)
        request_reply_error(req, 400, "duplicate_parameter",
                            "query parameter \"%s\" is given more than once", name);
    else if (list[0] == '\0')
        request_reply_error(req, 400, "unknown_parameter",
                            "\"%s\" is not a parameter of this endpoint, which takes none", name);
    else
        request_reply_error(req, 400, "unknown_parameter",
                            "\"%s\" is not a parameter of this endpoint (it takes %s)", name, list);
    return false;
}

void handler_checked(struct request *req, PGconn *conn, struct app *app)
{
    const struct handler *handler = req->match.route->handler;
    if (query_allowed(req, handler))
        handler->run(req, conn, app);
}
