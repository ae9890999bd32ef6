/* The dashboard's two read endpoints: an indicator's XmR chart computed by spc_compute,
 * and the feeds status of the latest due period (the files are static_files.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/core/config.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/observations.h"
#include "scaleupd/core/period.h"
#include "scaleupd/core/spc.h"

/* ---- the XmR chart of an indicator ---------------------------------------------------- */

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

/* Adds the chart's fields to each point of the series. */
static void chart_annotate_points(json_t *points, const struct spc_result *chart)
{
    for (size_t i = 0; i < chart->n_points; i++) {
        const struct spc_point *p = &chart->points[i];
        json_t *point = json_array_get(points, i);
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

static json_t *chart_segments(const struct spc_result *chart)
{
    json_t *list = json_array();
    for (size_t i = 0; i < chart->n_segments; i++) {
        const struct spc_segment *s = &chart->segments[i];
        json_t *seg =
            json_pack("{s:I,s:I,s:I,s:b,s:b,s:f,s:f}", "first", (json_int_t)s->first, "n_points",
                      (json_int_t)s->n_points, "n_baseline", (json_int_t)s->n_baseline,
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

/* Computes the chart over the series document's points and adds it to the document; false
 * (with the answer given) when the values cannot be charted. */
static bool chart_add(struct request *req, json_t *doc, size_t fix_after_n)
{
    json_t *points = json_object_get(doc, "points");
    size_t n = json_array_size(points);
    double *values = calloc(n ? n : 1, sizeof(*values));
    struct spc_result *chart = NULL;
    struct spc_options options;
    chart_options(json_object_get(doc, "indicator"), &options);
    options.fix_after_n = fix_after_n;
    if (values == NULL) {
        request_reply_error(req, 503, "overloaded", "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        values[i] = json_number_value(json_object_get(json_array_get(points, i), "value"));
    enum spc_status status = spc_compute(values, n, &options, &chart);
    free(values);
    if (status != SPC_OK) {
        request_reply_error(req, 422, "not_chartable", "the series cannot be charted: %s",
                            spc_status_message(status));
        return false;
    }
    chart_annotate_points(points, chart);
    json_object_set_new(doc, "segments", chart_segments(chart));
    json_object_set_new(doc, "direction", json_string(spc_direction_name(options.direction)));
    json_object_set_new(doc, "target",
                        options.has_target ? json_real(options.target) : json_null());
    json_object_set_new(doc, "assurance", json_string(spc_assurance_name(chart->assurance)));
    json_object_set_new(doc, "last_variation",
                        json_string(chart_variation(chart->last_point_type)));
    const char *side = spc_point_type_side(chart->last_point_type);
    json_object_set_new(doc, "last_side", side ? json_string(side) : json_null());
    spc_result_free(&chart);
    return true;
}

/* ?baseline=N: the first N points set the limits (0 or absent: every point). */
static bool chart_baseline(struct request *req, size_t *fix_after_n)
{
    const char *text = request_query(req, "baseline");
    *fix_after_n = 0;
    if (text == NULL)
        return true;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < 0 || n > 100000) {
        request_reply_error(req, 400, "invalid_parameter",
                            "baseline must be a number of points from 0 to 100000");
        return false;
    }
    *fix_after_n = (size_t)n;
    return true;
}

void handle_get_chart(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    size_t fix_after_n;
    if (!handler_check_programme(req, conn, &programme_id) || !chart_baseline(req, &fix_after_n))
        return;
    struct series_query q = {
        programme_id, request_query(req, "indicator"), request_query(req, "site"), false, NULL,
        NULL};
    if (q.indicator == NULL || q.site == NULL) {
        request_reply_error(req, 400, "missing_parameter",
                            "chart needs ?indicator=CODE&site=CODE (a site, region or country)");
        return;
    }
    json_t *doc = NULL;
    switch (observations_series(conn, &q, &doc)) {
    case SERIES_OK:
        if (chart_add(req, doc, fix_after_n))
            request_reply_json(req, 200, doc);
        else
            json_decref(doc);
        break;
    case SERIES_UNKNOWN_INDICATOR:
        request_reply_error(req, 404, "unknown_indicator", "no indicator \"%s\" in this programme",
                            q.indicator);
        break;
    case SERIES_UNKNOWN_SITE:
        request_reply_error(req, 404, "unknown_site", "no site \"%s\" in this programme", q.site);
        break;
    case SERIES_DB_ERROR:
        handler_db_error(req, conn);
        break;
    }
}

/* ---- feeds status: who reported for the latest due period ----------------------------- */

#define FEEDS_DEFAULT_GRACE_DAYS 15 /* monthly data due by the 15th of the next month */
#define FEEDS_MAX_INDICATORS 500

static const char SQL_FEEDS_INDICATORS[] =
    "SELECT i.id, i.period_type,"
    " ((to_timestamp($2::float8) AT TIME ZONE p.time_zone)::date - DATE '1970-01-01')"
    " FROM programme p LEFT JOIN indicator i ON i.programme_id = p.id"
    " WHERE p.id = $1 ORDER BY i.id";

/* $1 programme, $2 indicator ids, $3 their latest due period's start, $4 its end, $5 the
 * due date. Expected = (member site that had adopted by the period's end and had not
 * withdrawn before its start) x (indicator that member sites report at all). */
static const char SQL_FEEDS_STATUS[] =
    "WITH RECURSIVE up(site_id, ancestor_id, depth) AS ("
    " SELECT m.site_id, s.parent_id, 1 FROM membership m JOIN site s"
    "  ON s.programme_id = m.programme_id AND s.id = m.site_id"
    "  WHERE m.programme_id = $1 AND s.parent_id IS NOT NULL"
    " UNION ALL SELECT u.site_id, p.parent_id, u.depth + 1 FROM up u JOIN site p"
    "  ON p.programme_id = $1 AND p.id = u.ancestor_id WHERE p.parent_id IS NOT NULL"
    "  AND u.depth < 32"
    "), region AS ("
    " SELECT DISTINCT ON (u.site_id) u.site_id, r.code, r.name FROM up u JOIN site r"
    "  ON r.programme_id = $1 AND r.id = u.ancestor_id WHERE r.level = 'region'"
    "  ORDER BY u.site_id, u.depth"
    "), due AS ("
    " SELECT * FROM unnest($2::bigint[], $3::date[], $4::date[], $5::date[])"
    "  AS d(indicator_id, period_start, period_end, due_on)"
    "), by_sites AS ("
    " SELECT d.* FROM due d WHERE EXISTS (SELECT 1 FROM series se JOIN membership m"
    "  ON m.programme_id = se.programme_id AND m.site_id = se.site_id"
    "  WHERE se.programme_id = $1 AND se.indicator_id = d.indicator_id)"
    "), cell AS ("
    " SELECT m.site_id, d.indicator_id, o.received_at FROM membership m CROSS JOIN by_sites d"
    " LEFT JOIN series se ON se.programme_id = $1 AND se.indicator_id = d.indicator_id"
    "  AND se.site_id = m.site_id"
    " LEFT JOIN observation o ON o.programme_id = $1 AND o.series_id = se.id"
    "  AND o.period_start = d.period_start"
    " WHERE m.programme_id = $1 AND m.status <> 'planned'"
    "  AND (m.adopted_on IS NULL OR m.adopted_on <= d.period_end)"
    "  AND (m.withdrawn_on IS NULL OR m.withdrawn_on > d.period_start)"
    "  AND NOT (m.status = 'withdrawn' AND m.withdrawn_on IS NULL)"
    "), per_site AS ("
    " SELECT c.site_id, count(*) AS expected, count(c.received_at) AS reported,"
    "  max(c.received_at) AS last_received,"
    "  coalesce(array_agg(i.code ORDER BY i.code) FILTER (WHERE c.received_at IS NULL), '{}')"
    "   AS late"
    " FROM cell c JOIN indicator i ON i.programme_id = $1 AND i.id = c.indicator_id"
    " GROUP BY c.site_id"
    "), site_rows AS ("
    " SELECT s.code, s.name, r.code AS region, r.name AS region_name, ps.* FROM per_site ps"
    " JOIN site s ON s.programme_id = $1 AND s.id = ps.site_id"
    " LEFT JOIN region r ON r.site_id = ps.site_id"
    ")"
    " SELECT json_build_object("
    " 'indicators', (SELECT coalesce(json_agg(json_build_object('code', i.code, 'name', i.name,"
    "  'unit', i.unit, 'period_type', i.period_type, 'period_start', d.period_start,"
    "  'period_end', d.period_end, 'due_on', d.due_on,"
    "  'reported_by_sites', d.indicator_id IN (SELECT indicator_id FROM by_sites),"
    "  'expected', (SELECT count(*) FROM cell c WHERE c.indicator_id = d.indicator_id),"
    "  'reported', CASE WHEN d.indicator_id IN (SELECT indicator_id FROM by_sites)"
    "   THEN (SELECT count(received_at) FROM cell c WHERE c.indicator_id = d.indicator_id)"
    "   ELSE (SELECT count(*) FROM series se JOIN observation o ON o.programme_id = $1"
    "    AND o.series_id = se.id AND o.period_start = d.period_start"
    "    WHERE se.programme_id = $1 AND se.indicator_id = d.indicator_id) END)"
    "  ORDER BY i.id), '[]') FROM due d JOIN indicator i"
    "  ON i.programme_id = $1 AND i.id = d.indicator_id),"
    " 'sites', (SELECT coalesce(json_agg(json_build_object('code', code, 'name', name,"
    "  'region', region, 'region_name', region_name, 'expected', expected,"
    "  'reported', reported, 'late', late, 'last_received_at', last_received,"
    "  'status', CASE WHEN reported = expected THEN 'reported' WHEN reported = 0 THEN 'late'"
    "   ELSE 'partial' END) ORDER BY region, code), '[]') FROM site_rows),"
    " 'regions', (SELECT coalesce(json_agg(json_build_object('code', region, 'name', region_name,"
    "  'sites_expected', n, 'sites_complete', complete, 'values_expected', ve,"
    "  'values_reported', vr, 'completeness', CASE WHEN ve > 0 THEN round(vr::numeric / ve, 4)"
    "  END) ORDER BY region), '[]') FROM (SELECT region, region_name, count(*) AS n,"
    "  count(*) FILTER (WHERE reported = expected) AS complete, sum(expected) AS ve,"
    "  sum(reported) AS vr FROM site_rows GROUP BY region, region_name) g)"
    ")::text";

/* Appends text to a PostgreSQL array literal being built in buf ("{" … "}"): a comma
 * first when the text is an element and not the first one. */
static bool feeds_append(char *buf, size_t size, size_t *used, const char *text)
{
    bool comma = *used > 1 && strcmp(text, "}") != 0;
    int n = snprintf(buf + *used, size - *used, "%s%s", comma ? "," : "", text);
    if (n < 0 || (size_t)n >= size - *used)
        return false;
    *used += (size_t)n;
    return true;
}

/* The latest period of `type` whose due date (last day + grace) is before today. */
static struct period feeds_latest_due(enum period_type type, int32_t today, int grace)
{
    struct period p = period_containing(type, today - grace - 1);
    if (period_end(p) + grace >= today)
        p = period_add(p, -1);
    return p;
}

/* Array literals of the indicators' ids, latest due period start and end, and due date. */
struct feeds_arrays {
    char ids[FEEDS_MAX_INDICATORS * 21 + 3];
    char starts[FEEDS_MAX_INDICATORS * 11 + 3];
    char ends[FEEDS_MAX_INDICATORS * 11 + 3];
    char dues[FEEDS_MAX_INDICATORS * 11 + 3];
};

static bool feeds_build_arrays(const PGresult *res, int grace, struct feeds_arrays *a,
                               int32_t *today)
{
    size_t ui = 1, us = 1, ue = 1, ud = 1;
    snprintf(a->ids, sizeof(a->ids), "{");
    snprintf(a->starts, sizeof(a->starts), "{");
    snprintf(a->ends, sizeof(a->ends), "{");
    snprintf(a->dues, sizeof(a->dues), "{");
    *today = (int32_t)db_int64(res, 0, 2);
    for (int row = 0; row < PQntuples(res) && row < FEEDS_MAX_INDICATORS; row++) {
        enum period_type type;
        if (PQgetisnull(res, row, 0) || !period_type_from_name(PQgetvalue(res, row, 1), &type))
            continue;
        struct period p = feeds_latest_due(type, *today, grace);
        char start[DATE_FORMAT_MAX], end[DATE_FORMAT_MAX], due[DATE_FORMAT_MAX];
        if (!date_format(period_start(p), start, sizeof(start)) ||
            !date_format(period_end(p), end, sizeof(end)) ||
            !date_format(period_end(p) + grace, due, sizeof(due)) ||
            !feeds_append(a->ids, sizeof(a->ids), &ui, PQgetvalue(res, row, 0)) ||
            !feeds_append(a->starts, sizeof(a->starts), &us, start) ||
            !feeds_append(a->ends, sizeof(a->ends), &ue, end) ||
            !feeds_append(a->dues, sizeof(a->dues), &ud, due))
            return false;
    }
    return feeds_append(a->ids, sizeof(a->ids), &ui, "}") &&
           feeds_append(a->starts, sizeof(a->starts), &us, "}") &&
           feeds_append(a->ends, sizeof(a->ends), &ue, "}") &&
           feeds_append(a->dues, sizeof(a->dues), &ud, "}");
}

/* ?grace_days=N: days after a period's end before its data is due (default 15). */
static bool feeds_grace(struct request *req, int *grace)
{
    const char *text = request_query(req, "grace_days");
    *grace = FEEDS_DEFAULT_GRACE_DAYS;
    if (text == NULL)
        return true;
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < 0 || n > 366) {
        request_reply_error(req, 400, "invalid_parameter",
                            "grace_days must be a number of days from 0 to 366");
        return false;
    }
    *grace = (int)n;
    return true;
}

void handle_get_feeds_status(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    int grace;
    if (!handler_check_programme(req, conn, &programme_id) || !feeds_grace(req, &grace))
        return;
    char pid[24], now[32];
    snprintf(pid, sizeof(pid), "%lld", programme_id);
    snprintf(now, sizeof(now), "%.3f", clock_now());
    const char *iv[] = {pid, now};
    struct feeds_arrays *arrays = malloc(sizeof(*arrays));
    PGresult *res = db_query(conn, SQL_FEEDS_INDICATORS, 2, iv);
    PGresult *status = NULL;
    int32_t today = 0;
    if (!db_ok(res, PGRES_TUPLES_OK, req->id, "read the indicators") || PQntuples(res) == 0) {
        handler_db_error(req, conn);
        goto out;
    }
    if (arrays == NULL || !feeds_build_arrays(res, grace, arrays, &today)) {
        request_reply_error(req, 503, "overloaded", "could not build the feeds query");
        goto out;
    }
    const char *sv[] = {pid, arrays->ids, arrays->starts, arrays->ends, arrays->dues};
    status = db_query(conn, SQL_FEEDS_STATUS, 5, sv);
    if (!db_ok(status, PGRES_TUPLES_OK, req->id, "read the feeds status")) {
        handler_db_error(req, conn);
        goto out;
    }
    json_t *doc = json_loads(PQgetvalue(status, 0, 0), 0, NULL);
    char day[DATE_FORMAT_MAX];
    if (doc == NULL || !date_format(today, day, sizeof(day))) {
        json_decref(doc);
        request_reply_error(req, 500, "internal", "could not read the feeds status");
        goto out;
    }
    json_object_set_new(doc, "today", json_string(day));
    json_object_set_new(doc, "grace_days", json_integer(grace));
    request_reply_json(req, 200, doc);
out:
    PQclear(status);
    PQclear(res);
    free(arrays);
}
