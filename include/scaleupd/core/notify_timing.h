/* The timers of notification (docs/ARCHITECTURE.md, notification and delivery): when a
 * group of alert events is due for a message, after Alertmanager's group_wait,
 * group_interval and repeat_interval, and how long a failed delivery waits before its next
 * attempt. Pure. */
#ifndef SCALEUPD_CORE_NOTIFY_TIMING_H
#define SCALEUPD_CORE_NOTIFY_TIMING_H

#include <stdbool.h>

/* The timers of [alerts], in seconds. */
struct notify_timers {
    /* a new group waits group_wait for more events to join it; news for a group told before
     * waits group_interval after its last message; a group still firing is told again
     * after repeat_interval without news */
    double group_wait, group_interval, repeat_interval;
};

/* What a group remembers and has pending. A missing time is a false has_ flag, never a 0. */
struct notify_group_times {
    bool has_last_sent;
    double last_sent; /* when the group's last message was queued */
    bool had_firing;  /* that message carried a firing alert */
    bool has_news;
    double first_event; /* when the oldest event not yet dispatched happened */
};

/* True when the group is due at now: news for a group that is new or whose last message
 * carried nothing firing waits group_wait from the first event; news for a group told
 * before waits group_interval from its last message; without news, a group whose last
 * message carried a firing alert repeats after repeat_interval. */
bool notify_group_due(const struct notify_timers *timers, const struct notify_group_times *group,
                      double now);

/* Seconds before retry number attempts (1, 2, …): 30 s doubling to at most an hour, times a
 * jitter factor in [0.5, 1.5) from jitter01 in [0, 1). */
double notify_retry_backoff(int attempts, double jitter01);

#endif
