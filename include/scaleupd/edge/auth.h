/* Who may call a route: the bearer token of a request, looked up and checked against the
 * route's access level. Used by the connection guard before the body is read
 * (edge/conn_guard.c) and by the server for a request the guard did not check. */
#ifndef SCALEUPD_EDGE_AUTH_H
#define SCALEUPD_EDGE_AUTH_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "scaleupd/core/credentials.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/request.h"

/* The token the request's Authorization header carries (core/credentials.h: Bearer,
 * ApiToken, or the password of Basic), copied into secret; CREDENTIALS_NONE when it has
 * none of these, CREDENTIALS_MALFORMED when a scheme we take carries no usable token. */
enum credentials_kind auth_secret(const struct request *req, char secret[CREDENTIALS_SECRET_MAX]);

/* Authenticates req's token and checks the handler's access: true when the request may go
 * on (req->auth filled when a token was given); false when it answered (401, 403, or 503
 * after a database failure). conn may be NULL when auth_secret finds no token (or a malformed one):
 * a request without a token is decided without the database. Runs on a worker when conn is not
 * NULL. */
bool auth_authorize(struct request *req, PGconn *conn, const struct handler *handler)
    __attribute__((warn_unused_result));

#endif
