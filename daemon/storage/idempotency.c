/* Stored answers of keyed writes (Idempotency-Key), in the idempotency table: the lock of a
 * key for its transaction, the lookup, the answer stored, and the expiry of old keys. */
#include "scaleupd/storage/idempotency.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"

void idempotency_fingerprint(const char *method, const char *path, const char *query,
                             const char *media_type, const char *body, size_t body_len,
                             unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *parts[] = {method, path, query ? query : "", media_type};
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; i < 4; i++) {
        EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1); /* with the NUL as separator */
    }
    EVP_DigestUpdate(ctx, body, body_len);
    unsigned int len = 32;
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
}

/* Serialises the requests with the same (token, key) until the transaction ends. */
static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))";

static const char SQL_LOOKUP[] = "SELECT request_hash, status, response FROM idempotency "
                                 "WHERE token_id = $1 AND key = $2";

/* Whether the stored request_hash (bytea, in text form) is fingerprint. */
static bool same_request(const PGresult *res, const unsigned char fingerprint[32])
{
    size_t hash_len;
    unsigned char *hash = PQunescapeBytea((const unsigned char *)db_text(res, 0, 0), &hash_len);
    bool same = hash != NULL && hash_len == 32 && memcmp(hash, fingerprint, 32) == 0;
    PQfreemem(hash);
    return same;
}

enum idempotency_result idempotency_begin(PGconn *conn, int64_t token_id, const char *key,
                                          const unsigned char fingerprint[32], int *status,
                                          char **response)
{
    char tid[24];
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *lv[] = {tid, key};
    if (!db_command(conn, NULL, SQL_LOCK, 2, lv, NULL, "lock an idempotency key"))
        return IDEMPOTENCY_DB_ERROR;
    PGresult *res =
        db_run(conn, NULL, SQL_LOOKUP, 2, lv, PGRES_TUPLES_OK, NULL, "look an idempotency key up");
    if (res == NULL)
        return IDEMPOTENCY_DB_ERROR;
    enum idempotency_result result = IDEMPOTENCY_NEW;
    if (PQntuples(res) == 1) {
        result = same_request(res, fingerprint) ? IDEMPOTENCY_REPLAY : IDEMPOTENCY_CONFLICT;
        if (result == IDEMPOTENCY_REPLAY) {
            *status = (int)db_int64(res, 0, 1);
            *response = xstrdup(db_text(res, 0, 2));
        }
    }
    PQclear(res);
    return result;
}

/* The fingerprint goes as binary bytea: the one parameter db_run cannot pass. */
static const char SQL_STORE_ANSWER[] =
    "INSERT INTO idempotency (token_id, key, request_hash, status, response)"
    " VALUES ($1, $2, $3, $4, $5)";

bool idempotency_store(PGconn *conn, int64_t token_id, const char *key,
                       const unsigned char fingerprint[32], int status, const char *response,
                       size_t response_len)
{
    char tid[24], st[16];
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    snprintf(st, sizeof(st), "%d", status);
    const char *values[] = {tid, key, (const char *)fingerprint, st, response};
    int lengths[] = {0, 0, 32, 0, (int)response_len};
    int formats[] = {0, 0, 1, 0, 0};
    PGresult *res = db_exec_prepared(conn, "scaleupd_idempotency_store", SQL_STORE_ANSWER, 5,
                                     values, lengths, formats, 0);
    bool ok = db_ok(res, PGRES_COMMAND_OK, NULL, "store the answer of an idempotency key");
    PQclear(res);
    return ok;
}

static const char SQL_EXPIRE[] =
    "DELETE FROM idempotency WHERE created_at < now() - make_interval(secs => $1)";

long idempotency_expire(PGconn *conn, int max_age_seconds)
{
    char age[24];
    snprintf(age, sizeof(age), "%d", max_age_seconds);
    const char *values[] = {age};
    PGresult *res = db_run(conn, NULL, SQL_EXPIRE, 1, values, PGRES_COMMAND_OK, NULL,
                           "expire idempotency keys");
    if (res == NULL)
        return -1;
    long n = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return n;
}
