/* Token storage and verification. Only hashes reach the database; the secret exists in
 * memory just long enough to be hashed or shown once. */
#include "scaleupd/storage/tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "scaleupd/storage/db.h"
#include "scaleupd/storage/page_rows.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool token_generate(char out[TOKEN_SECRET_SIZE])
{
    unsigned char raw[33]; /* 32 random bytes, padded to a multiple of 3 */
    if (getrandom(raw, 32, 0) != 32)
        return false;
    raw[32] = 0;
    memcpy(out, "sud_", 4);
    size_t o = 4;
    for (size_t i = 0; i < 33; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    o = 4 + 43; /* 256 bits need 43 characters; drop the padding byte's */
    out[o] = '\0';
    return true;
}

void token_hash(const char *secret, size_t len, unsigned char out[32])
{
    SHA256((const unsigned char *)secret, len, out);
}

static const char *const scope_names[] = {"", "admin", "read", "feed"};

enum token_scope token_scope_from_name(const char *name)
{
    for (int i = 1; i < 4; i++)
        if (strcmp(name, scope_names[i]) == 0)
            return (enum token_scope)i;
    return TOKEN_SCOPE_NONE;
}

const char *token_scope_name(enum token_scope scope)
{
    return scope_names[scope];
}

bool token_create(PGconn *conn, enum token_scope scope, const char *programme_slug,
                  const char *name, char secret[TOKEN_SECRET_SIZE], int64_t *id, char *err,
                  size_t err_size)
{
    if (scope == TOKEN_SCOPE_FEED && (programme_slug == NULL || programme_slug[0] == '\0')) {
        snprintf(err, err_size, "a feed token needs a programme");
        return false;
    }
    if (!token_generate(secret)) {
        snprintf(err, err_size, "could not get random bytes");
        return false;
    }
    unsigned char hash[32];
    token_hash(secret, strlen(secret), hash);
    const char *values[] = {(const char *)hash, token_scope_name(scope),
                            scope == TOKEN_SCOPE_FEED ? programme_slug : NULL, name ? name : ""};
    int lengths[] = {32, 0, 0, 0};
    int formats[] = {1, 0, 0, 0};
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO token (hash, scope, programme_id, name) "
        "SELECT $1, $2, p.id, $4 FROM (SELECT 1) AS one "
        "LEFT JOIN programme p ON p.slug = $3 WHERE $3::text IS NULL OR p.id IS NOT NULL "
        "RETURNING id",
        4, NULL, values, lengths, formats, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok)
        *id = db_int64(res, 0, 0);
    else if (PQresultStatus(res) == PGRES_TUPLES_OK)
        snprintf(err, err_size, "no programme \"%s\"", programme_slug);
    else
        snprintf(err, err_size, "could not create token: %s", PQresultErrorMessage(res));
    PQclear(res);
    if (!ok)
        memset(secret, 0, TOKEN_SECRET_SIZE);
    return ok;
}

/* Refreshes a token's last_used_at (unless a concurrent request just did). */
static enum token_result token_touch(PGconn *conn, int64_t token_id)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)token_id);
    const char *values[] = {id};
    PGresult *res =
        db_query_prepared(conn, "scaleupd_token_touch",
                          "UPDATE token SET last_used_at = now() WHERE id = $1::bigint AND"
                          " (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
                          1, values);
    enum token_result result = db_ok(res, PGRES_COMMAND_OK, NULL, "note when a token was used")
                                   ? TOKEN_OK
                                   : TOKEN_DB_ERROR;
    PQclear(res);
    return result;
}

enum token_result token_authenticate(PGconn *conn, const char *secret, struct request_auth *auth)
{
    size_t len = strlen(secret);
    if (len < 8 || len > 200)
        return TOKEN_UNKNOWN;
    unsigned char hash[32];
    token_hash(secret, len, hash);
    const char *values[] = {(const char *)hash};
    int lengths[] = {32};
    int formats[] = {1};
    /* planned on every request (db_connect): a plain lookup plans in a quarter of the time
     * the same with its UPDATE in a CTE took (0.015 against 0.055 ms), and last_used_at is
     * refreshed by a statement of its own at most once a minute, so that a busy token does not
     * write on every request */
    PGresult *res = db_exec_prepared(conn, "scaleupd_token_lookup",
                                     "SELECT id, scope, coalesce(programme_id, 0), name, hash,"
                                     " last_used_at IS NULL OR last_used_at < now() -"
                                     " interval '1 minute' FROM token WHERE hash = $1"
                                     " AND revoked_at IS NULL",
                                     1, values, lengths, formats, 1);
    enum token_result result = TOKEN_UNKNOWN;
    /* db_ok keeps the SQLSTATE, so that a deadlock answers 503 rather than 500 */
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "look a token up")) {
        result = TOKEN_DB_ERROR;
    } else if (PQntuples(res) == 1 && PQgetlength(res, 0, 4) == 32 &&
               CRYPTO_memcmp(PQgetvalue(res, 0, 4), hash, 32) == 0) {
        /* binary results: int8 in network order */
        const unsigned char *p = (const unsigned char *)PQgetvalue(res, 0, 0);
        int64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | p[i];
        auth->token_id = v;
        p = (const unsigned char *)PQgetvalue(res, 0, 2);
        v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | p[i];
        auth->programme_id = v;
        char scope[16];
        snprintf(scope, sizeof(scope), "%.*s", PQgetlength(res, 0, 1), PQgetvalue(res, 0, 1));
        auth->scope = token_scope_from_name(scope);
        snprintf(auth->name, sizeof(auth->name), "%.*s", PQgetlength(res, 0, 3),
                 PQgetvalue(res, 0, 3));
        auth->authenticated = true;
        result = TOKEN_OK;
        if (PQgetlength(res, 0, 5) == 1 && PQgetvalue(res, 0, 5)[0] != 0)
            result = token_touch(conn, auth->token_id);
    }
    PQclear(res);
    return result;
}

json_t *token_list(PGconn *conn)
{
    PGresult *res = db_run(conn, NULL,
                           "SELECT t.id, t.scope, p.slug, t.name, t.created_at, "
                           "t.last_used_at, t.revoked_at FROM token t "
                           "LEFT JOIN programme p ON p.id = t.programme_id ORDER BY t.id",
                           0, NULL, PGRES_TUPLES_OK, NULL, "list tokens");
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *t =
            json_pack("{s:I,s:s,s:s?,s:s,s:s,s:s?,s:s?}", "id", (json_int_t)db_int64(res, i, 0),
                      "scope", db_text(res, i, 1), "programme", db_text(res, i, 2), "name",
                      db_text(res, i, 3), "created_at", db_text(res, i, 4), "last_used_at",
                      db_text(res, i, 5), "revoked_at", db_text(res, i, 6));
        json_array_append_new(list, t);
    }
    PQclear(res);
    return list;
}

/* A page of tokens in id order after $1 (NULL: from the first), $2 the page's limit + 1; the
 * primary key is the range scanned. Times as text, as token_list renders them. */
static const char token_page_sql[] =
    "SELECT json_build_object('id', t.id, 'scope', t.scope, 'programme', p.slug, 'name',"
    " t.name, 'created_at', t.created_at::text, 'last_used_at', t.last_used_at::text,"
    " 'revoked_at', t.revoked_at::text)::text, t.id::text"
    " FROM token t LEFT JOIN programme p ON p.id = t.programme_id"
    " WHERE $1::int8 IS NULL OR t.id > $1::int8 ORDER BY t.id LIMIT $2::int";

enum page_rows_status token_list_page(PGconn *conn, const struct page_request *request,
                                      struct page_rows *page)
{
    if (request->has_after && !page_rows_cursor_valid(&request->after, "i"))
        return PAGE_ROWS_BAD_CURSOR;
    char fetch[16];
    const char *params[] = {request->has_after ? request->after.fields[0] : NULL,
                            page_rows_fetch_limit(request->limit, fetch, sizeof(fetch))};
    PGresult *res =
        db_run(conn, NULL, token_page_sql, 2, params, PGRES_TUPLES_OK, NULL, "list tokens");
    bool ok = res != NULL && page_rows_collect(res, request->limit, 1, page);
    PQclear(res);
    return ok ? PAGE_ROWS_OK : PAGE_ROWS_DB_ERROR;
}

enum token_result token_revoke(PGconn *conn, int64_t id)
{
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
    const char *values[] = {idtext};
    PGresult *res = db_run(
        conn, NULL, "UPDATE token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", 1,
        values, PGRES_COMMAND_OK, NULL, "revoke a token");
    if (res == NULL)
        return TOKEN_DB_ERROR;
    enum token_result result = strcmp(PQcmdTuples(res), "1") == 0 ? TOKEN_OK : TOKEN_UNKNOWN;
    PQclear(res);
    return result;
}

bool token_no_admin(PGconn *conn, bool *none)
{
    PGresult *res = db_run(conn, NULL,
                           "SELECT NOT EXISTS (SELECT 1 FROM token WHERE scope = 'admin' "
                           "AND revoked_at IS NULL)",
                           0, NULL, PGRES_TUPLES_OK, NULL, "look for an admin token");
    if (res == NULL)
        return false;
    *none = db_bool(res, 0, 0);
    PQclear(res);
    return true;
}
