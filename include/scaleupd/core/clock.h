/* The one clock of the daemon. Everything that decides by time (due dates, alert timers,
 * retries, "today" of a programme) asks clock_now(), so tests can move time instead of
 * sleeping: when $SCALEUPD_TEST_CLOCK_FILE names a file, its content (seconds since the
 * epoch, possibly fractional) is the time, re-read whenever the file changes. */
#ifndef SCALEUPD_CLOCK_H
#define SCALEUPD_CLOCK_H

#include <stdbool.h>

/* Seconds since 1970-01-01 UTC. Thread-safe. */
double clock_now(void);

/* True when the test clock file is in use. */
bool clock_is_fake(void);

/* The current UTC date as days since 1970-01-01. */
int clock_today_utc(void);

/* Formats t (seconds since the epoch) as an RFC 3339 UTC timestamp into buf (≥ 25 bytes). */
void clock_format(double t, char *buf, unsigned size);

#endif
