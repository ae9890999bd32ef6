/* The XmR chart of an indicator: the series read, SPC computed over the values of its points
 * (spc_compute), and the chart's fields added to the series document. A point without a
 * chartable value (out of double's range, or beyond CHARTS_VALUE_MAX) is left out of the
 * computation and shown as missing, never as a zero. */
#include "scaleupd/services/charts.h"

#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/observations_read.h"

/* The charted points of a series document: the index in "points" of each value given to
 * spc_compute. */
struct charted {
    double *values;
    size_t *at;
    size_t n;
};

/* "improvement", "concern", "neutral" or "common": the point's variation without its side. */
static const char *chart_variation(enum spc_point_type type)
{
    switch (type) {
    case SPC_POINT_IMPROVEMENT_HIGH:
    case SPC_POINT_IMPROVEMENT_LOW:
        return "improvement";
    case SPC_POINT_CONCERN_HIGH:
    case SPC_POINT_CONCERN_LOW:
        return "concern";
    case SPC_POINT_NEUTRAL_HIGH:
    case SPC_POINT_NEUTRAL_LOW:
        return "neutral";
    case SPC_POINT_COMMON:
        break;
    }
    return "common";
}

static json_t *chart_signals(unsigned signals)
{
    json_t *list = json_array();
    for (unsigned bit = 0; bit < SPC_SIGNAL_KINDS; bit++)
        if (signals & (1u << bit))
            json_array_append_new(list, json_string(spc_signal_name(1u << bit)));
    return list;
}

/* Adds the chart's fields to each charted point of the series; the others (no value) get
 * has_limits false and nothing else. */
static void chart_annotate_points(json_t *points, const struct charted *c,
                                  const struct spc_result *chart)
{
    size_t i;
    json_t *point;
    json_array_foreach(points, i, point) json_object_set_new(point, "has_limits", json_false());
    for (size_t k = 0; k < chart->n_points; k++) {
        const struct spc_point *p = &chart->points[k];
        point = json_array_get(points, c->at[k]);
        json_object_set_new(point, "mean", json_real(p->mean));
        json_object_set_new(point, "has_limits", json_boolean(p->has_limits));
        if (p->has_limits) {
            json_object_set_new(point, "lower_limit", json_real(p->lower_limit));
            json_object_set_new(point, "upper_limit", json_real(p->upper_limit));
            json_object_set_new(point, "lower_near", json_real(p->lower_near));
            json_object_set_new(point, "upper_near", json_real(p->upper_near));
        }
        json_object_set_new(point, "signals", chart_signals(p->signals));
        json_object_set_new(point, "variation", json_string(chart_variation(p->type)));
        const char *side = spc_point_type_side(p->type);
        json_object_set_new(point, "side", side ? json_string(side) : json_null());
        json_object_set_new(point, "segment", json_integer((json_int_t)p->segment));
    }
}

/* The segments, their first point and n_points counted in the document's points (a point
 * left out of the chart belongs to the segment of the charted point before it). */
static json_t *chart_segments(const struct charted *c, size_t n_doc, const struct spc_result *chart)
{
    json_t *list = json_array();
    for (size_t i = 0; i < chart->n_segments; i++) {
        const struct spc_segment *s = &chart->segments[i];
        size_t first = i == 0 ? 0 : c->at[s->first];
        size_t end = i + 1 < chart->n_segments ? c->at[chart->segments[i + 1].first] : n_doc;
        json_t *seg =
            json_pack("{s:I,s:I,s:I,s:b,s:b,s:f,s:f}", "first", (json_int_t)first, "n_points",
                      (json_int_t)(end - first), "n_baseline", (json_int_t)s->n_baseline,
                      "has_limits", s->has_limits, "short_baseline", s->short_baseline, "mean",
                      s->mean, "mean_moving_range", s->mean_moving_range);
        if (s->has_limits)
            json_object_update_new(seg,
                                   json_pack("{s:f,s:f,s:f,s:f}", "lower_limit", s->lower_limit,
                                             "upper_limit", s->upper_limit, "lower_near",
                                             s->lower_near, "upper_near", s->upper_near));
        json_array_append_new(list, seg);
    }
    return list;
}

/* Marks the point's value as out of range (it stays in the series, without its value). */
static void point_out_of_range(json_t *point)
{
    json_t *fields = json_object_get(point, "out_of_range");
    if (!json_is_array(fields)) {
        fields = json_array();
        json_object_set_new(point, "out_of_range", fields);
    }
    json_array_append_new(fields, json_string("value"));
    json_object_del(point, "value");
}

/* The values of the points that have a chartable one; a value beyond CHARTS_VALUE_MAX is
 * taken out of its point as out of range. */
static void chart_values(json_t *points, struct charted *c)
{
    size_t n = json_array_size(points), i;
    c->values = xcalloc(n ? n : 1, sizeof(*c->values));
    c->at = xcalloc(n ? n : 1, sizeof(*c->at));
    c->n = 0;
    json_t *point;
    json_array_foreach(points, i, point)
    {
        const json_t *value = json_object_get(point, "value");
        if (!json_is_number(value))
            continue;
        double v = json_number_value(value);
        if (!isfinite(v) || fabs(v) > CHARTS_VALUE_MAX) {
            point_out_of_range(point);
            continue;
        }
        c->values[c->n] = v;
        c->at[c->n++] = i;
    }
}

/* Reads the indicator's direction and target from the series document into options. */
static void chart_options(const json_t *indicator, struct spc_options *options)
{
    spc_options_init(options);
    const char *direction = json_string_value(json_object_get(indicator, "direction"));
    if (direction != NULL && strcmp(direction, "up") == 0)
        options->direction = SPC_DIRECTION_UP;
    else if (direction != NULL && strcmp(direction, "down") == 0)
        options->direction = SPC_DIRECTION_DOWN;
    const json_t *target = json_object_get(indicator, "target");
    if (json_is_number(target)) {
        options->has_target = true;
        options->target = json_number_value(target);
    }
}

/* Computes the chart over the series document's charted points and adds it to the
 * document. */
static enum spc_status chart_add(json_t *doc, size_t fix_after_n)
{
    json_t *points = json_object_get(doc, "points");
    struct charted c;
    chart_values(points, &c);
    struct spc_result *chart = NULL;
    struct spc_options options;
    chart_options(json_object_get(doc, "indicator"), &options);
    options.fix_after_n = fix_after_n;
    enum spc_status status = spc_compute(c.values, c.n, &options, &chart);
    if (status != SPC_OK)
        goto out;
    chart_annotate_points(points, &c, chart);
    json_object_set_new(doc, "segments", chart_segments(&c, json_array_size(points), chart));
    json_object_set_new(doc, "direction", json_string(spc_direction_name(options.direction)));
    json_object_set_new(doc, "target",
                        options.has_target ? json_real(options.target) : json_null());
    json_object_set_new(doc, "assurance", json_string(spc_assurance_name(chart->assurance)));
    json_object_set_new(doc, "last_variation",
                        json_string(chart_variation(chart->last_point_type)));
    const char *side = spc_point_type_side(chart->last_point_type);
    json_object_set_new(doc, "last_side", side ? json_string(side) : json_null());
    spc_result_free(&chart);
out:
    free(c.values);
    free(c.at);
    return status;
}

enum charts_status charts_xmr(PGconn *conn, const struct charts_query *q, json_t **doc,
                              enum spc_status *why)
{
    struct series_query series = {.programme_id = q->programme_id,
                                  .indicator = q->indicator,
                                  .site = q->site,
                                  .request_id = q->request_id,
                                  .as_they_stand = q->as_they_stand};
    json_t *read = NULL;
    switch (observations_series(conn, &series, &read)) {
    case SERIES_OK:
        break;
    case SERIES_UNKNOWN_INDICATOR:
        return CHARTS_UNKNOWN_INDICATOR;
    case SERIES_UNKNOWN_SITE:
        return CHARTS_UNKNOWN_SITE;
    case SERIES_DB_ERROR:
        return CHARTS_DB_ERROR;
    }
    *why = chart_add(read, q->fix_after_n);
    if (*why != SPC_OK) {
        json_decref(read);
        return CHARTS_NOT_CHARTABLE;
    }
    *doc = read;
    return CHARTS_OK;
}
