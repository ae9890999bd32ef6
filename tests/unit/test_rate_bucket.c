/* The token bucket of the per-token rate limit: a burst, then the rate, and when to retry. */
#include <criterion/criterion.h>
#include <math.h>

#include "scaleupd/core/rate_bucket.h"

Test(rate_bucket, a_burst_then_the_rate)
{
    struct rate_bucket b;
    double retry = -1;
    rate_bucket_fill(&b, 200, 1000.0);
    for (int i = 0; i < 200; i++)
        cr_assert(rate_bucket_take(&b, 50, 200, 1000.0, &retry), "request %d of the burst", i);
    cr_assert_not(rate_bucket_take(&b, 50, 200, 1000.0, &retry), "the 201st at once");
    cr_expect(fabs(retry - 0.02) < 1e-9, "one token every 1/50 s: retry after %g", retry);
    /* 1 s later: 50 more, not 51 */
    for (int i = 0; i < 50; i++)
        cr_assert(rate_bucket_take(&b, 50, 200, 1001.0, &retry), "request %d after 1 s", i);
    cr_assert_not(rate_bucket_take(&b, 50, 200, 1001.0, &retry));
}

Test(rate_bucket, refills_up_to_the_burst_only)
{
    struct rate_bucket b;
    double retry;
    rate_bucket_fill(&b, 3, 0.0);
    cr_assert(rate_bucket_take(&b, 1, 3, 0.0, &retry));
    cr_assert(rate_bucket_is_full(&b, 1, 3, 1.0) == true, "full again after 1 s at 1/s");
    cr_assert_not(rate_bucket_is_full(&b, 1, 3, 0.5));
    for (int i = 0; i < 3; i++)
        cr_assert(rate_bucket_take(&b, 1, 3, 3600.0, &retry), "an hour idle gives 3, not 3600");
    cr_assert_not(rate_bucket_take(&b, 1, 3, 3600.0, &retry));
    cr_expect(fabs(retry - 1.0) < 1e-9);
}

Test(rate_bucket, a_clock_going_back_refills_nothing)
{
    struct rate_bucket b;
    double retry;
    rate_bucket_fill(&b, 1, 100.0);
    cr_assert(rate_bucket_take(&b, 10, 1, 100.0, &retry));
    cr_assert_not(rate_bucket_take(&b, 10, 1, 50.0, &retry));
    cr_expect(retry > 0);
    cr_assert(rate_bucket_take(&b, 10, 1, 100.25, &retry), "0.25 s after the last stamp");
}
