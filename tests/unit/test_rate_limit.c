/* The per-token bucket table of the edge (edge/rate_limit.c): a secret the database has not
 * accepted has no bucket, an accepted one gets its burst, tokens are independent, and
 * buckets that have filled up again are forgotten as the table grows. */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/edge/rate_limit.h"

static void hash_of(unsigned n, unsigned char hash[32])
{
    memset(hash, 0, 32);
    for (int i = 0; i < 32; i++)
        hash[i] = (unsigned char)((n * 2654435761u) >> (i % 4 * 8)) ^ (unsigned char)i;
}

Test(rate_limit, unknown_then_a_burst_then_denied)
{
    struct rate_limit *limit = rate_limit_new();
    unsigned char a[32], b[32];
    hash_of(1, a);
    hash_of(2, b);
    double retry = 0;
    cr_assert_eq(rate_limit_check(limit, a, 1, 3, 0.0, &retry), RATE_UNKNOWN);
    rate_limit_admit(limit, a, 1, 3, 0.0); /* the looked-up request takes one of 3 */
    cr_assert_eq(rate_limit_check(limit, a, 1, 3, 0.0, &retry), RATE_ALLOWED);
    cr_assert_eq(rate_limit_check(limit, a, 1, 3, 0.0, &retry), RATE_ALLOWED);
    cr_assert_eq(rate_limit_check(limit, a, 1, 3, 0.0, &retry), RATE_DENIED);
    cr_expect(retry > 0.99 && retry <= 1.0, "retry after %g s", retry);
    cr_assert_eq(rate_limit_check(limit, b, 1, 3, 0.0, &retry), RATE_UNKNOWN,
                 "another token has a bucket of its own");
    cr_assert_eq(rate_limit_check(limit, a, 1, 3, 1.0, &retry), RATE_ALLOWED, "refilled");
    rate_limit_admit(limit, a, 1, 3, 1.0); /* a second lookup of a known one takes one */
    cr_assert_eq(rate_limit_check(limit, a, 1, 3, 1.0, &retry), RATE_DENIED);
    cr_assert_eq(rate_limit_size(limit), 1);
    rate_limit_free(&limit);
    cr_assert_null(limit);
}

Test(rate_limit, forgets_the_buckets_that_filled_up)
{
    struct rate_limit *limit = rate_limit_new();
    unsigned char h[32];
    /* 10,000 tokens, one request each, one every 10 ms: at 50/s with a burst of 200 a bucket
     * is full again 0.02 s after its request, so at most a few are held at once */
    for (unsigned i = 0; i < 10000; i++) {
        hash_of(i, h);
        rate_limit_admit(limit, h, 50, 200, i * 0.01);
    }
    cr_expect_lt(rate_limit_size(limit), 64, "held %zu buckets", rate_limit_size(limit));
    /* all at once: every bucket is kept */
    for (unsigned i = 0; i < 1000; i++) {
        hash_of(100000 + i, h);
        rate_limit_admit(limit, h, 50, 200, 1000.0);
    }
    cr_expect_geq(rate_limit_size(limit), 1000);
    for (unsigned i = 0; i < 1000; i++) {
        hash_of(100000 + i, h);
        double retry;
        cr_assert_eq(rate_limit_check(limit, h, 50, 200, 1000.0, &retry), RATE_ALLOWED);
    }
    rate_limit_free(&limit);
}
