/* Progress as the API answers it (progress_service.h): from the snapshots and roadmap
 * versions that storage reads back (snapshot_store.c, roadmap_store.c), re-evaluates the
 * latest ones at the requested date against the version in force, with forecasts, per-item
 * detail, per-region blocks and the history ready to chart; and the API's reads, which
 * answer from the stored snapshots at once and say how fresh they are. No SQL here. */
#include "scaleupd/services/progress_service.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/progress.h"
#include "scaleupd/storage/roadmap_store.h"
#include "scaleupd/storage/snapshot_store.h"

/* The rows of one (dimension, region) series. */
struct snap_range {
    const struct snapshot_row *rows;
    size_t n;
};

static struct snap_range series_of(const struct snapshot_set *s, const char *dimension,
                                   int64_t region)
{
    struct snap_range range = {NULL, 0};
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->rows[i].dimension, dimension) != 0 || s->rows[i].region_id != region)
            continue;
        if (range.rows == NULL)
            range.rows = &s->rows[i];
        range.n++;
    }
    return range;
}

static const struct snapshot_row *latest_with_actual(struct snap_range range)
{
    for (size_t i = range.n; i > 0; i--)
        if (range.rows[i - 1].has_actual)
            return &range.rows[i - 1];
    return NULL;
}

/* The day a month's snapshot speaks for: the day after the month ends. */
static int32_t as_of(int32_t month)
{
    return period_end(period_containing(PERIOD_MONTHLY, month)) + 1;
}

static json_t *date_json(int32_t day)
{
    char buf[DATE_FORMAT_MAX];
    return date_format(day, buf, sizeof(buf)) ? json_string(buf) : json_null();
}

static json_t *month_json(int32_t month)
{
    char buf[PERIOD_FORMAT_MAX];
    return period_format(period_containing(PERIOD_MONTHLY, month), buf, sizeof(buf))
               ? json_string(buf)
               : json_null();
}

static json_t *number_or_null(bool has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

static json_t *forecast_json(struct snap_range range, double final_target)
{
    struct progress_point *points = xcalloc(range.n ? range.n : 1, sizeof(*points));
    size_t n = 0;
    for (size_t i = 0; i < range.n; i++)
        if (range.rows[i].has_actual)
            points[n++] =
                (struct progress_point){as_of(range.rows[i].period_start), range.rows[i].actual};
    struct progress_forecast f;
    progress_forecast(points, n, PROGRESS_SERVICE_FORECAST_WINDOW, final_target, &f);
    free(points);
    static const char *const kinds[] = {"insufficient_data", "reached", "date", "not_at_this_rate"};
    json_t *value = f.kind == PROGRESS_FORECAST_DATE               ? date_json(f.date)
                    : f.kind == PROGRESS_FORECAST_NOT_AT_THIS_RATE ? json_string("not at this rate")
                    : f.kind == PROGRESS_FORECAST_REACHED          ? json_string("reached")
                                                                   : json_null();
    return json_pack(
        "{s:o,s:{s:s,s:o,s:i,s:I}}", "forecast", value, "forecast_basis", "kind", kinds[f.kind],
        "slope_per_day", number_or_null(f.has_slope, f.slope_per_day), "window",
        PROGRESS_SERVICE_FORECAST_WINDOW, "points",
        (json_int_t)(n < PROGRESS_SERVICE_FORECAST_WINDOW ? n : PROGRESS_SERVICE_FORECAST_WINDOW));
}

/* Moves every member of `from` into `into` and drops `from`. */
static void merge(json_t *into, json_t *from)
{
    json_object_update(into, from);
    json_decref(from);
}

static json_t *measure_json(const struct progress_measure *m)
{
    return json_pack(
        "{s:o,s:f,s:f,s:f,s:o,s:o,s:s}", "actual", number_or_null(m->has_actual, m->actual),
        "planned", m->planned, "baseline", m->baseline, "final_target", m->final_target, "progress",
        number_or_null(m->has_actual, m->progress), "gap", number_or_null(m->has_actual, m->gap),
        "status", progress_status_name(m->status));
}

/* Coverage of the programme (region 0) or a region at `at`. */
static json_t *coverage_json(const struct roadmap *rm, const struct snapshot_set *s, int64_t region,
                             int32_t at, struct progress_measure *m)
{
    const struct roadmap_coverage *c = &rm->coverage;
    struct snap_range range = series_of(s, "coverage", region);
    const struct snapshot_row *latest = latest_with_actual(range);
    progress_measure_evaluate(&c->plan, rm->baseline_date, &c->tolerance,
                              PROGRESS_TOLERANCE_ABSOLUTE, at, latest != NULL,
                              latest ? latest->actual : 0.0, m);
    json_t *out = measure_json(m);
    merge(out, forecast_json(range, m->final_target));
    json_t *detail = latest ? latest->detail : NULL;
    json_object_set_new(out, "period",
                        latest ? json_incref(json_object_get(detail, "data_period")) : json_null());
    static const char *const keys[] = {"numerator", "denominator", "sites_covered",
                                       "sites_in_scope"};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(detail, keys[i]);
        json_object_set_new(out, keys[i], v ? json_incref(v) : json_null());
    }
    return out;
}

static size_t detail_count(const struct snapshot_row *row, const char *key)
{
    json_int_t v = row ? json_integer_value(json_object_get(row->detail, key)) : 0;
    return v > 0 ? (size_t)v : 0;
}

static json_t *expansion_json(const struct roadmap *rm, const struct snapshot_set *s, int32_t at)
{
    const struct roadmap_expansion *e = &rm->expansion;
    struct snap_range range = series_of(s, "expansion", 0);
    const struct snapshot_row *latest = latest_with_actual(range);
    struct progress_expansion ex;
    progress_expansion_evaluate(e, rm->baseline_date, at, detail_count(latest, "active_sites"),
                                detail_count(latest, "active_regions"), &ex);
    if (latest == NULL) {
        progress_measure_evaluate(&e->sites, rm->baseline_date, &e->tolerance,
                                  PROGRESS_TOLERANCE_RELATIVE, at, false, 0.0, &ex.sites);
        progress_measure_evaluate(&e->regions, rm->baseline_date, &e->tolerance,
                                  PROGRESS_TOLERANCE_RELATIVE, at, false, 0.0, &ex.regions);
        ex.status = PROGRESS_STATUS_NO_DATA;
    }
    json_t *sites = measure_json(&ex.sites);
    merge(sites, forecast_json(range, ex.sites.final_target));
    return json_pack("{s:s,s:o,s:o,s:o,s:i,s:o}", "status", progress_status_name(ex.status),
                     "progress", number_or_null(latest != NULL, ex.progress), "sites", sites,
                     "regions", measure_json(&ex.regions), "active_within_periods",
                     e->active_within_periods, "period",
                     latest ? month_json(latest->period_start) : json_null());
}

/* The score a snapshot recorded for an indicator. */
static struct progress_item_score snapshot_score(const struct snapshot_row *row,
                                                 const char *indicator, json_t **item)
{
    struct progress_item_score score = {false, 0.0};
    size_t i;
    json_t *it;
    *item = NULL;
    json_array_foreach(row ? json_object_get(row->detail, "items") : NULL, i, it)
    {
        const char *code = json_string_value(json_object_get(it, "indicator"));
        json_t *value = json_object_get(it, "score");
        if (code == NULL || strcmp(code, indicator) != 0)
            continue;
        *item = it;
        score.has_score = json_is_number(value);
        score.score = json_number_value(value);
    }
    return score;
}

static json_t *item_json(const struct roadmap_item *item, const struct progress_item_detail *d,
                         const json_t *recorded)
{
    json_t *out =
        json_pack("{s:s,s:s?,s:s?,s:s,s:o,s:i,s:f,s:o,s:b}", "key", item->key, "name", item->name,
                  "theme", item->theme, "indicator", item->indicator, "score",
                  number_or_null(d->has_score, d->score), "target", d->target, "ratio", d->ratio,
                  "due", d->has_due ? date_json(d->due) : json_null(), "overdue", d->overdue);
    json_t *period = json_object_get(recorded, "period_start");
    json_t *comment = json_object_get(recorded, "comment");
    json_object_set_new(out, "period_start", period ? json_incref(period) : json_null());
    json_object_set_new(out, "comment", comment ? json_incref(comment) : json_null());
    return out;
}

static json_t *institutionalisation_json(const struct roadmap *rm, const struct snapshot_set *s,
                                         int32_t at)
{
    const struct roadmap_institutionalisation *inst = &rm->institutionalisation;
    struct snap_range range = series_of(s, "institutionalisation", 0);
    const struct snapshot_row *latest = latest_with_actual(range);
    size_t n = inst->n_items ? inst->n_items : 1;
    struct progress_item_score *scores = xcalloc(n, sizeof(*scores));
    struct progress_item_detail *details = xcalloc(n, sizeof(*details));
    json_t **recorded = xcalloc(n, sizeof(*recorded));
    for (size_t i = 0; i < inst->n_items; i++)
        scores[i] = snapshot_score(latest, inst->items[i].indicator, &recorded[i]);
    struct progress_institutionalisation value;
    progress_institutionalisation_evaluate(inst, scores, at, details, &value);
    struct progress_measure m;
    progress_measure_evaluate(&inst->plan, rm->baseline_date, &inst->tolerance,
                              PROGRESS_TOLERANCE_ABSOLUTE, at, latest != NULL && value.has_value,
                              value.value, &m);
    json_t *out = measure_json(&m);
    merge(out, forecast_json(range, m.final_target));
    json_t *items = json_array();
    for (size_t i = 0; i < inst->n_items; i++)
        json_array_append_new(items, item_json(&inst->items[i], &details[i], recorded[i]));
    json_object_set_new(out, "items", items);
    json_object_set_new(out, "period", latest ? month_json(latest->period_start) : json_null());
    free(scores), free(details), free(recorded);
    return out;
}

/* A region's expansion: its active sites against the sites that adopted by then. */
static json_t *region_expansion_json(const struct roadmap *rm, const struct snapshot_set *s,
                                     int64_t region, double *share)
{
    const struct snapshot_row *latest = latest_with_actual(series_of(s, "expansion", region));
    size_t active = detail_count(latest, "active_sites");
    size_t adopted = detail_count(latest, "adopted_sites");
    *share = adopted ? (double)active / (double)adopted : NAN;
    enum progress_status status =
        latest == NULL ? PROGRESS_STATUS_NO_DATA
                       : progress_status_of(PROGRESS_TOLERANCE_RELATIVE, &rm->expansion.tolerance,
                                            (double)adopted, (double)active);
    return json_pack("{s:I,s:I,s:I,s:o,s:s,s:o}", "active_sites", (json_int_t)active,
                     "adopted_sites", (json_int_t)adopted, "planned_sites",
                     (json_int_t)detail_count(latest, "planned_sites"), "share_active",
                     number_or_null(adopted > 0, *share), "status", progress_status_name(status),
                     "period", latest ? month_json(latest->period_start) : json_null());
}

/* The region that lags most: the largest coverage shortfall against the plan, else the
 * smallest share of adopted sites that are active. */
struct lagging {
    size_t index;
    bool found, by_coverage;
    double gap, share;
};

static void consider_lagging(struct lagging *lag, size_t index, bool has_gap, double gap,
                             double share)
{
    bool better;
    if (has_gap)
        better = !lag->found || !lag->by_coverage || gap < lag->gap;
    else
        better = isfinite(share) && (!lag->found || (!lag->by_coverage && share < lag->share));
    if (!better)
        return;
    *lag = (struct lagging){index, true, has_gap, gap, share};
}

static json_t *regions_json(const struct roadmap *rm, const struct snapshot_set *s, int32_t at,
                            json_t **lagging_out)
{
    json_t *list = json_array();
    struct lagging lag = {0, false, false, 0.0, 0.0};
    for (size_t r = 0; r < s->n_regions; r++) {
        int64_t id = s->regions[r].id;
        if (series_of(s, "coverage", id).n == 0 && series_of(s, "expansion", id).n == 0)
            continue;
        json_t *block =
            json_pack("{s:s,s:s}", "code", s->regions[r].code, "name", s->regions[r].name);
        struct progress_measure m = {0};
        if (rm->coverage.present && rm->coverage.denominator != NULL)
            json_object_set_new(block, "coverage", coverage_json(rm, s, id, at, &m));
        double share = NAN;
        if (rm->expansion.present)
            json_object_set_new(block, "expansion", region_expansion_json(rm, s, id, &share));
        consider_lagging(&lag, r, m.has_actual, m.gap, share);
        json_array_append_new(list, block);
    }
    *lagging_out = json_null();
    if (lag.found)
        *lagging_out = json_pack("{s:s,s:s,s:s,s:f}", "code", s->regions[lag.index].code, "name",
                                 s->regions[lag.index].name, "by",
                                 lag.by_coverage ? "coverage_gap" : "share_active", "value",
                                 lag.by_coverage ? lag.gap : lag.share);
    return list;
}

static json_t *roadmap_ref_json(const struct roadmap_version *v)
{
    return json_pack("{s:i,s:s?,s:o}", "version", v->version, "label", v->label, "created_on",
                     date_json(v->created_day));
}

enum progress_service_result progress_service_get(PGconn *conn, int64_t programme_id, int32_t at,
                                                  bool by_region, json_t **out)
{
    struct roadmap_versions versions;
    struct snapshot_set s;
    memset(&s, 0, sizeof(s));
    enum progress_service_result result = PROGRESS_SERVICE_DB_ERROR;
    struct period month = progress_latest_complete_period(PERIOD_MONTHLY, at);
    if (!roadmap_store_load(conn, programme_id, &versions, NULL) ||
        !snapshot_store_load(conn, programme_id, period_start(month), by_region, &s))
        goto out;
    result = PROGRESS_SERVICE_NO_ROADMAP;
    const struct roadmap_version *v = roadmap_versions_in_force(&versions, at);
    if (v == NULL)
        goto out;
    const struct roadmap *rm = v->plan;
    struct progress_measure m;
    json_t *dims = json_object();
    if (rm->coverage.present)
        json_object_set_new(dims, "coverage", coverage_json(rm, &s, 0, at, &m));
    if (rm->expansion.present)
        json_object_set_new(dims, "expansion", expansion_json(rm, &s, at));
    if (rm->institutionalisation.present)
        json_object_set_new(dims, "institutionalisation", institutionalisation_json(rm, &s, at));
    json_t *doc = json_pack("{s:o,s:o,s:o,s:o}", "at", date_json(at), "period",
                            month_json(period_start(month)), "roadmap", roadmap_ref_json(v),
                            "dimensions", dims);
    if (by_region) {
        json_t *lagging;
        json_object_set_new(doc, "regions", regions_json(rm, &s, at, &lagging));
        json_object_set_new(doc, "lagging_region", lagging);
    }
    *out = doc;
    result = PROGRESS_SERVICE_OK;
out:
    roadmap_versions_release(&versions);
    snapshot_set_release(&s);
    return result;
}

/* ---- history ------------------------------------------------------------------------- */

static json_t *point_json(const struct snapshot_row *row)
{
    json_t *p = json_pack(
        "{s:o,s:o,s:o,s:f,s:o,s:o,s:s,s:i}", "period", month_json(row->period_start), "as_of",
        date_json(as_of(row->period_start)), "actual", number_or_null(row->has_actual, row->actual),
        "planned", row->planned, "progress", number_or_null(row->has_actual, row->progress), "gap",
        number_or_null(row->has_actual, row->gap), "status", row->status, "roadmap_version",
        row->version);
    static const char *const extra[] = {"sites_covered", "active_regions", "regions_planned",
                                        "adopted_sites"};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        json_t *v = json_object_get(row->detail, extra[i]);
        if (v != NULL)
            json_object_set(p, extra[i], v);
    }
    return p;
}

static json_t *points_json(struct snap_range range)
{
    json_t *points = json_array();
    for (size_t i = 0; i < range.n; i++)
        json_array_append_new(points, point_json(&range.rows[i]));
    return points;
}

static json_t *plan_json(const struct roadmap_plan *plan, int32_t baseline_date)
{
    json_t *milestones = json_array();
    for (size_t i = 0; i < plan->n_milestones; i++)
        json_array_append_new(milestones,
                              json_pack("{s:o,s:f}", "date", date_json(plan->milestones[i].date),
                                        "target", plan->milestones[i].target));
    return json_pack("{s:o,s:f,s:o}", "baseline_date", date_json(baseline_date), "baseline",
                     plan->baseline, "milestones", milestones);
}

/* Each version's plan of one dimension, so a chart can draw the planned line of each. */
static json_t *plans_json(const struct roadmap_versions *versions, const char *dimension)
{
    json_t *plans = json_array();
    for (size_t i = 0; i < versions->n; i++) {
        const struct roadmap *rm = versions->versions[i].plan;
        json_t *plan = NULL;
        if (strcmp(dimension, "coverage") == 0 && rm->coverage.present)
            plan = plan_json(&rm->coverage.plan, rm->baseline_date);
        else if (strcmp(dimension, "expansion") == 0 && rm->expansion.present)
            plan =
                json_pack("{s:o,s:o}", "sites", plan_json(&rm->expansion.sites, rm->baseline_date),
                          "regions", plan_json(&rm->expansion.regions, rm->baseline_date));
        else if (strcmp(dimension, "institutionalisation") == 0 && rm->institutionalisation.present)
            plan = plan_json(&rm->institutionalisation.plan, rm->baseline_date);
        if (plan == NULL)
            continue;
        json_object_set_new(plan, "roadmap_version", json_integer(versions->versions[i].version));
        json_object_set_new(plan, "in_force_from", date_json(versions->versions[i].created_day));
        json_array_append_new(plans, plan);
    }
    return plans;
}

static json_t *history_regions(const struct snapshot_set *s)
{
    json_t *list = json_array();
    for (size_t r = 0; r < s->n_regions; r++) {
        struct snap_range cov = series_of(s, "coverage", s->regions[r].id);
        struct snap_range exp = series_of(s, "expansion", s->regions[r].id);
        if (cov.n == 0 && exp.n == 0)
            continue;
        json_array_append_new(list,
                              json_pack("{s:s,s:s,s:{s:o},s:{s:o}}", "code", s->regions[r].code,
                                        "name", s->regions[r].name, "coverage", "points",
                                        points_json(cov), "expansion", "points", points_json(exp)));
    }
    return list;
}

enum progress_service_result progress_service_history(PGconn *conn, int64_t programme_id,
                                                      bool by_region, json_t **out)
{
    struct roadmap_versions versions;
    struct snapshot_set s;
    memset(&s, 0, sizeof(s));
    enum progress_service_result result = PROGRESS_SERVICE_DB_ERROR;
    if (!roadmap_store_load(conn, programme_id, &versions, NULL) ||
        !snapshot_store_load(conn, programme_id, INT32_MAX / 2, by_region, &s))
        goto out;
    result = PROGRESS_SERVICE_NO_ROADMAP;
    if (versions.n == 0)
        goto out;
    static const char *const dimensions[] = {"coverage", "expansion", "institutionalisation"};
    json_t *dims = json_object();
    for (size_t d = 0; d < 3; d++)
        json_object_set_new(dims, dimensions[d],
                            json_pack("{s:o,s:o}", "points",
                                      points_json(series_of(&s, dimensions[d], 0)), "plans",
                                      plans_json(&versions, dimensions[d])));
    json_t *doc = json_pack("{s:s,s:o}", "period_type", "monthly", "dimensions", dims);
    if (by_region)
        json_object_set_new(doc, "regions", history_regions(&s));
    *out = doc;
    result = PROGRESS_SERVICE_OK;
out:
    roadmap_versions_release(&versions);
    snapshot_set_release(&s);
    return result;
}

/* ---- the API's reads ----------------------------------------------------------------- */

/* Says how fresh the snapshots a read answered from are: "as_of", the data time of the last
 * refresh (null before the first), and while a refresh is due "stale": true with
 * "pending_since". Reads never compute: the background refresh does (progress_snapshots.c). */
static bool add_freshness(PGconn *conn, int64_t programme_id, json_t *doc, const char *request_id)
{
    struct snapshot_freshness f;
    if (!snapshot_store_freshness(conn, programme_id, &f, request_id))
        return false;
    json_object_set_new(doc, "as_of", f.as_of[0] ? json_string(f.as_of) : json_null());
    json_object_set_new(doc, "stale", json_boolean(f.pending_since[0] != '\0'));
    json_object_set_new(doc, "pending_since",
                        f.pending_since[0] ? json_string(f.pending_since) : json_null());
    return true;
}

static enum progress_service_result with_freshness(PGconn *conn, int64_t programme_id,
                                                   enum progress_service_result rc, json_t **out,
                                                   const char *request_id)
{
    if (rc != PROGRESS_SERVICE_OK || add_freshness(conn, programme_id, *out, request_id))
        return rc;
    json_decref(*out);
    *out = NULL;
    return PROGRESS_SERVICE_DB_ERROR;
}

enum progress_service_result progress_service_read(PGconn *conn, int64_t programme_id,
                                                   const int32_t *at, bool by_region, json_t **out,
                                                   const char *request_id)
{
    int32_t day, today;
    if (!progress_service_today(conn, programme_id, &today))
        return PROGRESS_SERVICE_DB_ERROR;
    day = at != NULL ? *at : today;
    if (day > today) /* the latest figures would be judged against a later plan */
        return PROGRESS_SERVICE_FUTURE;
    enum progress_service_result rc = progress_service_get(conn, programme_id, day, by_region, out);
    return with_freshness(conn, programme_id, rc, out, request_id);
}

enum progress_service_result progress_service_read_history(PGconn *conn, int64_t programme_id,
                                                           bool by_region, json_t **out,
                                                           const char *request_id)
{
    enum progress_service_result rc = progress_service_history(conn, programme_id, by_region, out);
    return with_freshness(conn, programme_id, rc, out, request_id);
}
