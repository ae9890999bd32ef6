/* Authorisation of a request: its bearer token (storage/tokens.c, hashes compared in
 * constant time) against the access level of its route. */
#include "scaleupd/edge/auth.h"

#include <strings.h>

#include "scaleupd/core/config.h"
#include "scaleupd/storage/tokens.h"

const char *auth_bearer(const struct request *req)
{
    const char *h = request_header(req, "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

static bool scope_allows(const struct request *req, const struct handler *handler)
{
    enum token_scope s = req->auth.scope;
    return s == TOKEN_SCOPE_ADMIN || handler->access == ACCESS_PUBLIC ||
           (handler->access == ACCESS_READ && s == TOKEN_SCOPE_READ) ||
           (handler->access == ACCESS_READ && req->config->public_dashboard) ||
           (handler->access == ACCESS_FEED && s == TOKEN_SCOPE_FEED);
}

bool auth_authorize(struct request *req, PGconn *conn, const struct handler *handler)
{
    const char *secret = auth_bearer(req);
    if (handler->access == ACCESS_PUBLIC && secret == NULL)
        return true;
    if (handler->access == ACCESS_READ && secret == NULL && req->config->public_dashboard)
        return true;
    if (secret == NULL || conn == NULL) {
        request_add_response_header(req, "WWW-Authenticate", "Bearer realm=\"scaleupd\"");
        request_reply_error(req, 401, "unauthenticated",
                            "this endpoint needs a bearer token (Authorization: Bearer …)");
        return false;
    }
    switch (token_authenticate(conn, secret, &req->auth)) {
    case TOKEN_DB_ERROR:
        handler_db_error(req, conn);
        return false;
    case TOKEN_UNKNOWN:
        request_add_response_header(req, "WWW-Authenticate",
                                    "Bearer realm=\"scaleupd\", error=\"invalid_token\"");
        request_reply_error(req, 401, "invalid_token", "the token is unknown or revoked");
        return false;
    case TOKEN_OK:
        break;
    }
    bool allowed = scope_allows(req, handler);
    if (!allowed)
        request_reply_error(req, 403, "forbidden", "a %s token may not do this",
                            token_scope_name(req->auth.scope));
    return allowed;
}
