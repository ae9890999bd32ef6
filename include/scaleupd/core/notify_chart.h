/* The small chart an e-mail carries for a signal (docs/ARCHITECTURE.md, notification and
 * delivery): the last periods of a series with its centre line and process limits, the
 * special-cause points and the alert's own point marked, drawn as a PNG with cairo. Pure:
 * the points arrive as values (services/notify.c reads them with services/charts.h). */
#ifndef SCALEUPD_NOTIFY_CHART_H
#define SCALEUPD_NOTIFY_CHART_H

#include <stdbool.h>
#include <stddef.h>

/* How many of the latest points a chart shows. */
#define NOTIFY_CHART_POINTS 24

/* Device pixels per CSS pixel: sharp enough on a high-density screen; the PNG's encoding
 * grows with the pixels (bench/email.sh: about 98 M instructions a chart at 1.5, 170 M at 2). */
#define NOTIFY_CHART_SCALE 1.5

/* How a point varies, as the dashboard colours it (Making Data Count). */
enum notify_chart_variation {
    NOTIFY_CHART_COMMON,
    NOTIFY_CHART_IMPROVEMENT,
    NOTIFY_CHART_CONCERN,
    NOTIFY_CHART_NEUTRAL,
};

/* One period of the series. A point without a value is a gap, never a zero. */
struct notify_chart_point {
    const char *period; /* "2025-06"; borrowed */
    bool has_value;
    double value;
    bool has_limits;
    double mean, lower_limit, upper_limit;
    enum notify_chart_variation variation; /* special causes are coloured */
};

struct notify_chart {
    const struct notify_chart_point *points; /* oldest first; the last NOTIFY_CHART_POINTS */
    size_t n;                                /* are drawn */
    const char *marked;                      /* the period to mark (the alert's), or NULL */
    const char *unit;                        /* for the marked value's label; may be NULL */
    int width, height; /* CSS pixels; drawn at NOTIFY_CHART_SCALE times that */
};

/* Draws the chart as PNG bytes into *png (xmalloc'd, the caller frees) and their number
 * into *size. False (nothing allocated) when there is no point with a value or cairo could
 * not draw. */
bool notify_chart_png(const struct notify_chart *chart, unsigned char **png, size_t *size)
    __attribute__((warn_unused_result));

#endif
