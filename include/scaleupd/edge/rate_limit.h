/* The per-token request rate limit: one token bucket (core/rate_bucket.h) per token the
 * database has accepted, keyed by the SHA-256 of its secret, so that a token past its rate
 * is refused (429) before the database is asked about it again. Loop thread only. */
#ifndef SCALEUPD_EDGE_RATE_LIMIT_H
#define SCALEUPD_EDGE_RATE_LIMIT_H

#include <stddef.h>

struct rate_limit;

enum rate_verdict {
    RATE_UNKNOWN, /* no bucket for this secret yet: look the token up, then rate_limit_admit */
    RATE_ALLOWED, /* a request was taken from its bucket */
    RATE_DENIED,  /* its bucket is empty: answer 429 */
};

/* An empty table. */
struct rate_limit *rate_limit_new(void);

/* Takes one request from the bucket of the secret whose SHA-256 is hash, refilled at rate
 * per second up to burst; on RATE_DENIED *retry_after holds the seconds until the next. */
enum rate_verdict rate_limit_check(struct rate_limit *limit, const unsigned char hash[32],
                                   double rate, double burst, double now, double *retry_after);

/* Gives an accepted secret a full bucket, less the request being made. Buckets that have
 * filled up again are forgotten as the table grows, so it holds at most the tokens used
 * within the last burst / rate seconds. */
void rate_limit_admit(struct rate_limit *limit, const unsigned char hash[32], double rate,
                      double burst, double now);

/* Buckets held (for tests and metrics). */
size_t rate_limit_size(const struct rate_limit *limit);

/* Frees the table; NULLs the pointer. */
void rate_limit_free(struct rate_limit **limit);

#endif
