/* Prometheus metrics: counters and gauges with labels, and a request latency histogram,
 * rendered in the text exposition format. Thread-safe. */
#ifndef SCALEUPD_METRICS_H
#define SCALEUPD_METRICS_H

#include <stddef.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

/* Declares a metric family (name, type, help) once, before use; idempotent. */
void metrics_describe(const char *name, enum metric_type type, const char *help);

/* Adds to a counter (or gauge) series; labels is the text between braces, e.g.
 * route="/healthz",code="200", or "" for none. */
void metrics_add(const char *name, const char *labels, double delta);

/* Sets a gauge series. */
void metrics_set(const char *name, const char *labels, double value);

/* Records one HTTP request: counts it by route and status and puts its duration into the
 * latency histogram of the route. */
void metrics_observe_request(const char *route, int status, double seconds);

/* Renders everything; the caller frees the text. *len receives its length. */
char *metrics_render(size_t *len);

/* Forgets every series (tests). */
void metrics_reset(void);

#endif
