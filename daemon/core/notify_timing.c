/* The notification timers: when a group of alert events is due for a message
 * (group_wait / group_interval / repeat_interval) and the backoff of failed deliveries. */
#include "scaleupd/core/notify_timing.h"

bool notify_group_due(const struct notify_timers *timers, const struct notify_group_times *group,
                      double now)
{
    if (group->has_news && (!group->has_last_sent || !group->had_firing))
        return now >= group->first_event + timers->group_wait;
    if (group->has_news)
        return now >= group->last_sent + timers->group_interval;
    return group->had_firing && group->has_last_sent &&
           now >= group->last_sent + timers->repeat_interval;
}

double notify_retry_backoff(int attempts, double jitter01)
{
    double base = 30.0;
    for (int i = 1; i < attempts && base < 3600; i++)
        base *= 2;
    if (base > 3600)
        base = 3600;
    return base * (0.5 + jitter01);
}
