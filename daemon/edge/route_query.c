/* The query-parameter rule of the route table: a route declares the parameters its handler
 * reads, and a request with any other one (or with one twice) is answered 400 before the
 * handler runs, so that no parameter is ever silently ignored (docs/ARCHITECTURE.md); and
 * path and query values must be UTF-8 text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/utf8.h"
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
    text_printable(req->query[which].key, name, sizeof(name));
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

/* False when it answered 400: a decoded path or query value that is not UTF-8 (%FF) can
 * name nothing the daemon has, and the database refuses such text. */
static bool text_valid(struct request *req, const struct handler *handler)
{
    /* a route that takes any query reads and judges its parameters itself (DHIS2's answer a
     * refused parameter in its own shape) */
    bool any = handler->query != NULL && handler->query[0] != NULL &&
               strcmp(handler->query[0], ROUTER_QUERY_ANY) == 0;
    for (int i = 0; i < req->match.n_params; i++)
        if (!utf8_valid(req->match.params[i].value)) {
            request_reply_error(req, 400, "invalid_encoding",
                                "path parameter \"%s\" is not UTF-8 text",
                                req->match.params[i].name);
            return false;
        }
    for (size_t i = 0; !any && i < req->n_query; i++)
        if (!utf8_valid(req->query[i].value)) {
            char name[65];
            text_printable(req->query[i].key, name, sizeof(name));
            request_reply_error(req, 400, "invalid_encoding",
                                "query parameter \"%s\" is not UTF-8 text", name);
            return false;
        }
    return true;
}

void handler_checked(struct request *req, PGconn *conn, struct app *app)
{
    const struct handler *handler = req->match.route->handler;
    if (query_allowed(req, handler) && text_valid(req, handler))
        handler->run(req, conn, app);
}
