/* The running daemon as handlers see it: the config in force, the worker pool and the
 * route table. Owned by main.c; handlers only read it. */
#ifndef SCALEUPD_APP_H
#define SCALEUPD_APP_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "scaleupd/edge/request.h"
#include "scaleupd/edge/router.h"

struct pool;
struct http_server;
struct config;

struct app {
    struct config *config; /* replaced on reload; requests hold their own reference */
    struct pool *pool;
    struct http_server *http;
    time_t started;
};

/* Who may call a route. */
enum handler_access {
    ACCESS_PUBLIC, /* anyone */
    ACCESS_READ,   /* a read or admin token, or anyone when the dashboard is public */
    ACCESS_FEED,   /* a feed token of the route's programme or an admin token (the handler
                      checks the programme with handler_check_programme) */
    ACCESS_ADMIN,  /* an admin token */
};

enum handler_kind {
    HANDLER_LOOP, /* runs on the event loop: must not block (no database) */
    HANDLER_DB,   /* runs on a worker with a database connection */
};

typedef void handler_fn(struct request *req, PGconn *conn, struct app *app);

struct handler {
    enum handler_kind kind;
    enum handler_access access;
    /* What the server calls once the request is authorised. conn is NULL for HANDLER_LOOP; for
     * HANDLER_DB it is never NULL (a lost database is answered with 503 before the handler
     * runs). Every route of the table has handler_checked here (the H macros of routes.c), so
     * that no handler sees a query parameter it does not read. */
    handler_fn *fn;
    /* The route's own function, which handler_checked calls. */
    handler_fn *run;
    /* The query parameters the route reads: a NULL-terminated list (NULL: none), or
     * {ROUTER_QUERY_ANY, NULL} for a handler that checks its own. */
    const char *const *query;
};

/* The one entry of every route: answers 400 unknown_parameter for a query parameter the
 * route's handler->query does not list, and 400 duplicate_parameter for one given twice,
 * before the route's function runs; then calls handler->run (route_query.c). */
void handler_checked(struct request *req, PGconn *conn, struct app *app);

/* The route table of the daemon (routes.c). */
extern const struct route app_routes[];
extern const size_t app_n_routes;

/* For programme-scoped routes: resolves the {slug} parameter, answers 404 for an unknown
 * programme and 403 for a feed token of another programme. Returns false when it answered. */
bool handler_check_programme(struct request *req, PGconn *conn, long long *programme_id)
    __attribute__((warn_unused_result));

/* For a feed token's writes that take ?programme= (DHIS2, FHIR): 1 when it is absent or names
 * the token's own programme, 0 when it names another or none (the caller refuses: honoured or
 * refused, never ignored), -1 on a database error (answered). */
int handler_feed_programme_named(struct request *req, PGconn *conn)
    __attribute__((warn_unused_result));

/* The route's {id} as a positive integer; 0 after answering 404 with code ("no <what> "x"")
 * when it is not one. */
long long handler_id_param(struct request *req, const char *code, const char *what);

/* Answers 503 database_unavailable (after a query failed because the connection is lost)
 * or 500 internal; use after a storage call reported a database error. */
void handler_db_error(struct request *req, PGconn *conn);

#endif
