/* The dashboard's XmR chart of an indicator at a site: the series read (observations_read.h)
 * with statistical process control (core/spc.h) computed over its values and added to it. */
#ifndef SCALEUPD_CHARTS_H
#define SCALEUPD_CHARTS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/spc.h"

/* The largest magnitude a point may have to be charted: within it, the XmR arithmetic over
 * any series (sums of up to 1e8 values, moving ranges, mean ± 2.66 × their mean) stays
 * within double's range. A larger value (stored before values were bounded) is shown as
 * missing ("out_of_range"), the chart computed over the other points. */
#define CHARTS_VALUE_MAX 1e300

/* What a chart shows. */
struct charts_query {
    int64_t programme_id;
    const char *indicator;  /* code */
    const char *site;       /* code: a practice, or a region/country that aggregates */
    size_t fix_after_n;     /* the first N points set the limits (0: every point) */
    const char *request_id; /* for log lines; may be NULL */
    bool as_they_stand;     /* aggregates from the rollups as they stand (series_query) */
};

enum charts_status {
    CHARTS_OK,
    CHARTS_UNKNOWN_INDICATOR,
    CHARTS_UNKNOWN_SITE,
    CHARTS_NOT_CHARTABLE, /* the values cannot be charted: *why says why */
    CHARTS_DB_ERROR,      /* db_failure_of(conn) says what kind */
};

/* The chart: the series document of GET …/series whose points each gain mean, has_limits,
 * lower/upper_limit and _near, signals, variation, side and segment, and which gains
 * segments, direction, target, assurance, last_variation and last_side. The chart is
 * computed over the points that have a value within ±CHARTS_VALUE_MAX; the others keep no
 * value (their "out_of_range" lists "value") and gain only has_limits false, and a segment's
 * first and n_points count every point of the document. *doc is new and owned by the
 * caller when CHARTS_OK; *why is set when CHARTS_NOT_CHARTABLE. */
enum charts_status charts_xmr(PGconn *conn, const struct charts_query *query, json_t **doc,
                              enum spc_status *why) __attribute__((warn_unused_result));

#endif
