/* API tokens: 32 random bytes shown once, stored as SHA-256, compared in constant time;
 * scopes admin, read and feed (one programme). */
#ifndef SCALEUPD_TOKENS_H
#define SCALEUPD_TOKENS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/storage/page_rows.h"

#define TOKEN_SECRET_SIZE 48 /* "sud_" + 43 base64url characters + NUL */

/* What a token may do: admin anything, read the dashboard's data, feed one programme. */
enum token_scope { TOKEN_SCOPE_NONE, TOKEN_SCOPE_ADMIN, TOKEN_SCOPE_READ, TOKEN_SCOPE_FEED };

/* Who is calling, after authentication (token_authenticate fills it; the edge keeps it in
 * struct request as req->auth). */
struct request_auth {
    bool authenticated;
    int64_t token_id;
    enum token_scope scope;
    int64_t programme_id; /* the one programme of a feed token, else 0 */
    char name[64];
};

/* Writes a new random secret ("sud_…") into out; false if the kernel gives no randomness. */
bool token_generate(char out[TOKEN_SECRET_SIZE]) __attribute__((warn_unused_result));

/* SHA-256 of a secret. */
void token_hash(const char *secret, size_t len, unsigned char out[32]);

/* The scope of a name ("admin", "read", "feed"), TOKEN_SCOPE_NONE for anything else. */
enum token_scope token_scope_from_name(const char *name);
const char *token_scope_name(enum token_scope scope);

/* Creates a token; programme_slug is required for feed tokens and ignored otherwise.
 * On success writes the secret (shown once) and the id. err names what was wrong. */
bool token_create(PGconn *conn, enum token_scope scope, const char *programme_slug,
                  const char *name, char secret[TOKEN_SECRET_SIZE], int64_t *id, char *err,
                  size_t err_size) __attribute__((warn_unused_result));

enum token_result { TOKEN_OK, TOKEN_UNKNOWN, TOKEN_DB_ERROR };

/* Looks a presented secret up; TOKEN_OK fills auth. Revoked tokens are unknown. */
enum token_result token_authenticate(PGconn *conn, const char *secret, struct request_auth *auth)
    __attribute__((warn_unused_result));

/* Every token (never the secret): id, scope, programme, name, created, last used, revoked.
 * NULL on a database error. The caller owns the array. For tests and tools: the API lists
 * tokens a page at a time (token_list_page). */
json_t *token_list(PGconn *conn) __attribute__((warn_unused_result));

/* One page of tokens in id order, each as token_list shows it: at most request->limit after
 * the cursor's (one field: an id), with page->next the cursor of the last one when more
 * follow. PAGE_ROWS_BAD_CURSOR when the cursor is not one of this list; on PAGE_ROWS_OK the
 * caller frees the page (page_rows_free). */
enum page_rows_status token_list_page(PGconn *conn, const struct page_request *request,
                                      struct page_rows *page) __attribute__((warn_unused_result));

/* Revokes a token by id: TOKEN_OK, TOKEN_UNKNOWN (no such live token) or TOKEN_DB_ERROR. */
enum token_result token_revoke(PGconn *conn, int64_t id) __attribute__((warn_unused_result));

/* True when no live admin token exists (a fresh install). */
bool token_no_admin(PGconn *conn, bool *none) __attribute__((warn_unused_result));

#endif
