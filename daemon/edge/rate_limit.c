/* The table of per-token buckets: open addressing on the first bytes of the secret's
 * SHA-256 (uniform already), rebuilt without the full buckets when it fills up. */
#include "scaleupd/edge/rate_limit.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/rate_bucket.h"

struct rate_slot {
    bool used;
    unsigned char hash[32];
    struct rate_bucket bucket;
};

struct rate_limit {
    struct rate_slot *slots;
    size_t capacity; /* a power of two */
    size_t used;
};

#define RATE_LIMIT_INITIAL 64

struct rate_limit *rate_limit_new(void)
{
    struct rate_limit *limit = xcalloc(1, sizeof(*limit));
    limit->capacity = RATE_LIMIT_INITIAL;
    limit->slots = xcalloc(limit->capacity, sizeof(*limit->slots));
    return limit;
}

static size_t home_of(const unsigned char hash[32], size_t capacity)
{
    uint64_t h;
    memcpy(&h, hash, sizeof(h));
    return (size_t)h & (capacity - 1);
}

/* The slot of hash, or the free slot where it would go. */
static struct rate_slot *find(struct rate_limit *limit, const unsigned char hash[32])
{
    size_t i = home_of(hash, limit->capacity);
    while (limit->slots[i].used && memcmp(limit->slots[i].hash, hash, 32) != 0)
        i = (i + 1) & (limit->capacity - 1);
    return &limit->slots[i];
}

enum rate_verdict rate_limit_check(struct rate_limit *limit, const unsigned char hash[32],
                                   double rate, double burst, double now, double *retry_after)
{
    struct rate_slot *slot = find(limit, hash);
    if (!slot->used)
        return RATE_UNKNOWN;
    return rate_bucket_take(&slot->bucket, rate, burst, now, retry_after) ? RATE_ALLOWED
                                                                          : RATE_DENIED;
}

/* Rebuilds the table at capacity, keeping the buckets that are not full again. */
static void rebuild(struct rate_limit *limit, size_t capacity, double rate, double burst,
                    double now)
{
    struct rate_slot *old = limit->slots;
    size_t old_capacity = limit->capacity;
    limit->slots = xcalloc(capacity, sizeof(*limit->slots));
    limit->capacity = capacity;
    limit->used = 0;
    for (size_t i = 0; i < old_capacity; i++) {
        if (!old[i].used || rate_bucket_is_full(&old[i].bucket, rate, burst, now))
            continue;
        *find(limit, old[i].hash) = old[i];
        limit->used++;
    }
    free(old);
}

void rate_limit_admit(struct rate_limit *limit, const unsigned char hash[32], double rate,
                      double burst, double now)
{
    if ((limit->used + 1) * 2 > limit->capacity) {
        rebuild(limit, limit->capacity, rate, burst, now);
        if ((limit->used + 1) * 2 > limit->capacity)
            rebuild(limit, limit->capacity * 2, rate, burst, now);
    }
    struct rate_slot *slot = find(limit, hash);
    if (!slot->used) {
        slot->used = true;
        memcpy(slot->hash, hash, 32);
        limit->used++;
        rate_bucket_fill(&slot->bucket, burst, now);
    }
    double unused;
    (void)!rate_bucket_take(&slot->bucket, rate, burst, now, &unused);
}

size_t rate_limit_size(const struct rate_limit *limit)
{
    return limit->used;
}

void rate_limit_free(struct rate_limit **limit)
{
    if (*limit == NULL)
        return;
    free((*limit)->slots);
    free(*limit);
    *limit = NULL;
}
