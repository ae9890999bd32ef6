/* Stored answers of keyed writes, in the idempotency table. */
#include "scaleupd/storage/idempotency.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

enum idempotency_result idempotency_begin(PGconn *conn, int64_t token_id, const char *key,
                                          const unsigned char fingerprint[32], int *status,
                                          char **response)
{
    char tid[24];
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *lv[] = {tid, key};
    PGresult *res =
        db_query(conn, "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))", 2, lv);
    bool locked = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!locked)
        return IDEMPOTENCY_DB_ERROR;
    res = db_query(conn,
                   "SELECT request_hash, status, response FROM idempotency "
                   "WHERE token_id = $1 AND key = $2",
                   2, lv);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return IDEMPOTENCY_DB_ERROR;
    }
    enum idempotency_result result = IDEMPOTENCY_NEW;
    if (PQntuples(res) == 1) {
        size_t hash_len;
        unsigned char *hash =
            PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &hash_len);
        bool same = hash != NULL && hash_len == 32 && memcmp(hash, fingerprint, 32) == 0;
        PQfreemem(hash);
        result = same ? IDEMPOTENCY_REPLAY : IDEMPOTENCY_CONFLICT;
        if (same) {
            *status = (int)db_int64(res, 0, 1);
            *response = strdup(PQgetvalue(res, 0, 2));
            if (*response == NULL)
                result = IDEMPOTENCY_DB_ERROR;
        }
    }
    PQclear(res);
    return result;
}

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
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO idempotency (token_id, key, request_hash, status, "
                                 "response) VALUES ($1, $2, $3, $4, $5)",
                                 5, NULL, values, lengths, formats, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

long idempotency_expire(PGconn *conn, int max_age_seconds)
{
    char age[24];
    snprintf(age, sizeof(age), "%d", max_age_seconds);
    const char *values[] = {age};
    PGresult *res = db_query(conn,
                             "DELETE FROM idempotency WHERE created_at < now() - "
                             "make_interval(secs => $1)",
                             1, values);
    long n = PQresultStatus(res) == PGRES_COMMAND_OK ? strtol(PQcmdTuples(res), NULL, 10) : -1;
    PQclear(res);
    return n;
}
