/* The notification timers: when a group is due (group_wait, group_interval,
 * repeat_interval) and the backoff of failed deliveries. */
#include <criterion/criterion.h>

#include "scaleupd/core/notify_timing.h"

static const struct notify_timers timers = {
    .group_wait = 30, .group_interval = 300, .repeat_interval = 3600};

#define T0 1770724800.0

Test(notify_timing, group_due)
{
    const struct {
        const char *what;
        struct notify_group_times group;
        double now;
        bool due;
    } cases[] = {
        {"nothing pending, never sent", {0}, T0 + 10000, false},
        {"a new group waits group_wait", {.has_news = true, .first_event = T0}, T0 + 29, false},
        {"a new group after group_wait", {.has_news = true, .first_event = T0}, T0 + 30, true},
        {"news after a firing message waits group_interval",
         {.has_last_sent = true,
          .last_sent = T0,
          .had_firing = true,
          .has_news = true,
          .first_event = T0 + 100},
         T0 + 299,
         false},
        {"news after a firing message, group_interval passed",
         {.has_last_sent = true,
          .last_sent = T0,
          .had_firing = true,
          .has_news = true,
          .first_event = T0 + 100},
         T0 + 300,
         true},
        {"news after a message with nothing firing waits group_wait again",
         {.has_last_sent = true,
          .last_sent = T0,
          .had_firing = false,
          .has_news = true,
          .first_event = T0 + 8000},
         T0 + 8029,
         false},
        {"news after a message with nothing firing, group_wait passed",
         {.has_last_sent = true,
          .last_sent = T0,
          .had_firing = false,
          .has_news = true,
          .first_event = T0 + 8000},
         T0 + 8030,
         true},
        {"still firing, no news: repeat waits repeat_interval",
         {.has_last_sent = true, .last_sent = T0, .had_firing = true},
         T0 + 3599,
         false},
        {"still firing, no news: repeat after repeat_interval",
         {.has_last_sent = true, .last_sent = T0, .had_firing = true},
         T0 + 3600,
         true},
        {"nothing firing, no news: never repeated",
         {.has_last_sent = true, .last_sent = T0, .had_firing = false},
         T0 + 100000,
         false},
        {"a missing last_sent is not the epoch: a repeat needs one",
         {.had_firing = true},
         T0 + 100000,
         false},
        {"a last_sent at the epoch is still a time",
         {.has_last_sent = true, .last_sent = 0, .had_firing = true},
         3600,
         true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_expect_eq(notify_group_due(&timers, &cases[i].group, cases[i].now), cases[i].due, "%s",
                     cases[i].what);
}

Test(notify_timing, backoff_doubles_with_jitter_and_caps)
{
    cr_expect_float_eq(notify_retry_backoff(1, 0.5), 30, 1e-9);
    cr_expect_float_eq(notify_retry_backoff(2, 0.5), 60, 1e-9);
    cr_expect_float_eq(notify_retry_backoff(3, 0.0), 60, 1e-9);
    cr_expect_float_eq(notify_retry_backoff(30, 0.5), 3600, 1e-9);
    cr_expect_lt(notify_retry_backoff(30, 0.999), 5400);
    cr_expect_geq(notify_retry_backoff(30, 0.0), 1800);
}
