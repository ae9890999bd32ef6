/* Authorisation of a request: its token (core/credentials.c: Bearer, ApiToken or the password
 * of Basic; storage/tokens.c compares hashes in constant time) against the access level of
 * its route. */
#include "scaleupd/edge/auth.h"

#include <stdio.h>
#include <string.h>

#include "scaleupd/core/config.h"
#include "scaleupd/storage/tokens.h"

enum credentials_kind auth_secret(const struct request *req, char secret[CREDENTIALS_SECRET_MAX])
{
    return credentials_parse(request_header(req, "Authorization"), secret);
}

/* The challenges of a 401: each scheme a client may answer with (RFC 9110, 11.6.1). Basic
 * only to a client that sent Basic or on the routes DHIS2's clients call (outside /api/v1/):
 * a browser answers a Basic challenge to the dashboard's fetch() with a password prompt of
 * its own, over the page's own token dialog (DHIS2 does the same for its own apps). */
static void challenge(struct request *req, const char *error, enum credentials_kind sent)
{
    char bearer[96];
    snprintf(bearer, sizeof(bearer), "Bearer realm=\"scaleupd\"%s%s%s", error ? ", error=\"" : "",
             error ? error : "", error ? "\"" : "");
    request_add_response_header(req, "WWW-Authenticate", bearer);
    request_add_response_header(req, "WWW-Authenticate", "ApiToken realm=\"scaleupd\"");
    if (sent == CREDENTIALS_BASIC || strncmp(req->path, "/api/v1/", 8) != 0)
        request_add_response_header(req, "WWW-Authenticate",
                                    "Basic realm=\"scaleupd\", charset=\"UTF-8\"");
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
    char secret[CREDENTIALS_SECRET_MAX];
    enum credentials_kind kind = auth_secret(req, secret);
    bool none = kind == CREDENTIALS_NONE;
    if (handler->access == ACCESS_PUBLIC && none)
        return true;
    if (handler->access == ACCESS_READ && none && req->config->public_dashboard)
        return true;
    if (kind == CREDENTIALS_MALFORMED) {
        challenge(req, "invalid_request", kind);
        request_reply_error(req, 401, "invalid_credentials",
                            "the Authorization header carries no token: give Bearer <token>, "
                            "ApiToken <token>, or Basic with the token as the password");
        return false;
    }
    if (none || conn == NULL) {
        challenge(req, NULL, kind);
        request_reply_error(req, 401, "unauthenticated",
                            "this endpoint needs a token (Authorization: Bearer <token>, "
                            "ApiToken <token>, or Basic with the token as the password)");
        return false;
    }
    switch (token_authenticate(conn, secret, &req->auth)) {
    case TOKEN_DB_ERROR:
        handler_db_error(req, conn);
        return false;
    case TOKEN_UNKNOWN:
        challenge(req, "invalid_token", kind);
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
