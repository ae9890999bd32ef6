/* Who may call a route: the bearer token of a request, looked up and checked against the
 * route's access level. Used by the connection guard before the body is read
 * (edge/conn_guard.c) and by the server for a request the guard did not check. */
#ifndef SCALEUPD_EDGE_AUTH_H
#define SCALEUPD_EDGE_AUTH_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/edge/request.h"

/* The secret of the request's "Authorization: Bearer …" header, or NULL. Points into
 * req's headers. */
const char *auth_bearer(const struct request *req);

/* Authenticates req's token and checks the handler's access: true when the request may go
 * on (req->auth filled when a token was given); false when it answered (401, 403, or 503
 * after a database failure). conn may be NULL when auth_bearer(req) is NULL: a request
 * without a token is decided without the database. Runs on a worker when conn is not
 * NULL. */
bool auth_authorize(struct request *req, PGconn *conn, const struct handler *handler)
    __attribute__((warn_unused_result));

#endif
