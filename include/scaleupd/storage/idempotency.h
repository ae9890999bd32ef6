/* Idempotency-Key support: the first answer to a keyed write is stored in the same
 * transaction as the write; a repeat with the same key and body gets that answer again. */
#ifndef SCALEUPD_IDEMPOTENCY_H
#define SCALEUPD_IDEMPOTENCY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDEMPOTENCY_KEY_MAX 255

enum idempotency_result {
    IDEMPOTENCY_NEW,      /* no answer stored: do the work, then idempotency_store */
    IDEMPOTENCY_REPLAY,   /* same key and request: *status and *response hold the answer */
    IDEMPOTENCY_CONFLICT, /* same key, different request: answer 422 */
    IDEMPOTENCY_DB_ERROR,
};

/* Fingerprint of a request: SHA-256 over method, path, query, media type and body. */
void idempotency_fingerprint(const char *method, const char *path, const char *query,
                             const char *media_type, const char *body, size_t body_len,
                             unsigned char out[32]);

/* Inside an open transaction: serialises requests with the same (token, key) and looks the
 * key up. *response is malloc'd for IDEMPOTENCY_REPLAY (caller frees). */
enum idempotency_result idempotency_begin(PGconn *conn, int64_t token_id, const char *key,
                                          const unsigned char fingerprint[32], int *status,
                                          char **response) __attribute__((warn_unused_result));

/* Records the answer in the open transaction. */
bool idempotency_store(PGconn *conn, int64_t token_id, const char *key,
                       const unsigned char fingerprint[32], int status, const char *response,
                       size_t response_len) __attribute__((warn_unused_result));

/* Forgets keys older than max_age_seconds; returns rows removed or -1. */
long idempotency_expire(PGconn *conn, int max_age_seconds);

#endif
