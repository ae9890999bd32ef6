/* A token bucket: the arithmetic of the per-token request rate limit (the edge keeps one
 * bucket per token, edge/rate_limit.c). Pure: the caller passes the clock. */
#ifndef SCALEUPD_CORE_RATE_BUCKET_H
#define SCALEUPD_CORE_RATE_BUCKET_H

#include <stdbool.h>

struct rate_bucket {
    double tokens; /* requests that may be made now, up to the burst */
    double stamp;  /* when tokens was last brought up to date (seconds, any clock) */
};

/* A full bucket at time now. */
void rate_bucket_fill(struct rate_bucket *bucket, double burst, double now);

/* Refills the bucket at rate tokens per second (never past burst) for the time since the
 * last call, then takes one token: true when there was one. When there was not, returns
 * false and sets *retry_after to the seconds until one will be there (> 0). A clock that
 * goes backwards refills nothing. rate > 0 and burst >= 1. */
bool rate_bucket_take(struct rate_bucket *bucket, double rate, double burst, double now,
                      double *retry_after) __attribute__((warn_unused_result));

/* True when the bucket would be full at time now: forgetting it changes nothing. */
bool rate_bucket_is_full(const struct rate_bucket *bucket, double rate, double burst, double now);

#endif
