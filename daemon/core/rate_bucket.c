/* The token bucket of the per-token request rate limit: refill, take, and when to retry. */
#include "scaleupd/core/rate_bucket.h"

static void refill(struct rate_bucket *bucket, double rate, double burst, double now)
{
    if (now > bucket->stamp) {
        bucket->tokens += (now - bucket->stamp) * rate;
        bucket->stamp = now;
    }
    if (bucket->tokens > burst)
        bucket->tokens = burst;
}

void rate_bucket_fill(struct rate_bucket *bucket, double burst, double now)
{
    bucket->tokens = burst;
    bucket->stamp = now;
}

bool rate_bucket_take(struct rate_bucket *bucket, double rate, double burst, double now,
                      double *retry_after)
{
    refill(bucket, rate, burst, now);
    if (bucket->tokens >= 1.0) {
        bucket->tokens -= 1.0;
        return true;
    }
    *retry_after = (1.0 - bucket->tokens) / rate;
    return false;
}

bool rate_bucket_is_full(const struct rate_bucket *bucket, double rate, double burst, double now)
{
    double elapsed = now > bucket->stamp ? now - bucket->stamp : 0;
    return bucket->tokens + elapsed * rate >= burst;
}
