/* Progress snapshots (progress_service.h): reads what one programme's progress depends on
 * (member sites with their regions and reporting months, coverage numerators and
 * denominators, item scores), evaluates each complete month with the pure progress module
 * against the roadmap version in force, and replaces the snapshots of the months that changed. */
#include "scaleupd/services/progress_service.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/clock.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/pgarray.h"
#include "scaleupd/core/progress.h"
#include "scaleupd/storage/roadmap_store.h"

#define REFRESH_LOCK 7242004 /* advisory lock class of a programme's snapshot refresh */

/* A member site and the starts of the periods it reported, ascending. */
struct svc_site {
    struct progress_site site;
    int32_t *reported;
    size_t n_reported, cap_reported, cursor;
};

/* One site's coverage values for one period. */
struct svc_coverage_row {
    int32_t period_start;
    struct progress_coverage_row row;
};

/* Coverage inputs of one (numerator, denominator) pair, sorted by period. */
struct svc_coverage {
    const char *numerator, *denominator; /* borrowed from a roadmap */
    size_t n;
    struct svc_coverage_row *rows;
};

/* One institutionalisation score observation. */
struct svc_score {
    char *indicator;
    int32_t period_start, period_end;
    double value;
    char *comment;
};

struct svc_inputs {
    int64_t programme_id;
    char pid[24];
    struct roadmaps_set versions;
    struct roadmaps_indicators *indicators;
    struct svc_site *sites; /* sorted by site id */
    size_t n_sites;
    int64_t *regions; /* ids of regions with a member site, ascending */
    size_t n_regions;
    struct svc_coverage *coverage; /* one per distinct pair, at most one per version */
    size_t n_coverage;
    struct svc_score *scores; /* by indicator, then period, then reception */
    size_t n_scores;
};

/* The snapshot rows of one refresh, as columns of one INSERT. */
struct svc_rows {
    struct pgarray period, dimension, region, version, actual, planned, progress, gap, status,
        detail;
    size_t n;
};

/* ---- reading inputs ------------------------------------------------------------------ */

static const char SQL_SITES[] =
    "WITH RECURSIVE up AS ("
    " SELECT m.site_id, s.id AS at, s.level, s.parent_id, 0 AS depth FROM membership m"
    " JOIN site s ON s.programme_id = m.programme_id AND s.id = m.site_id"
    " WHERE m.programme_id = $1"
    " UNION ALL SELECT up.site_id, p.id, p.level, p.parent_id, up.depth + 1 FROM up"
    " JOIN site p ON p.programme_id = $1 AND p.id = up.parent_id"
    " WHERE up.level <> 'region' AND up.depth < 16"
    ")"
    " SELECT m.site_id, coalesce((SELECT up.at FROM up WHERE up.site_id = m.site_id"
    "  AND up.level = 'region' ORDER BY up.depth LIMIT 1), 0), m.status,"
    " m.adopted_on - date '1970-01-01', m.withdrawn_on - date '1970-01-01'"
    " FROM membership m WHERE m.programme_id = $1 ORDER BY m.site_id";

static const char SQL_REPORTED[] =
    "SELECT DISTINCT se.site_id, o.period_start - date '1970-01-01' FROM observation o"
    " JOIN series se ON se.programme_id = o.programme_id AND se.id = o.series_id"
    " JOIN membership m ON m.programme_id = se.programme_id AND m.site_id = se.site_id"
    " WHERE o.programme_id = $1 ORDER BY 1, 2";

static const char SQL_COVERAGE[] =
    "SELECT o.period_start - date '1970-01-01', se.site_id,"
    " max(o.value) FILTER (WHERE i.code = $2), max(o.value) FILTER (WHERE i.code = $3)"
    " FROM observation o"
    " JOIN series se ON se.programme_id = o.programme_id AND se.id = o.series_id"
    " JOIN indicator i ON i.programme_id = se.programme_id AND i.id = se.indicator_id"
    " JOIN membership m ON m.programme_id = se.programme_id AND m.site_id = se.site_id"
    " WHERE o.programme_id = $1 AND i.code IN ($2, $3) AND o.period_start >= $4::date"
    " GROUP BY 1, 2 ORDER BY 1, 2";

static const char SQL_SCORES[] =
    "SELECT i.code, i.period_type, o.period_start - date '1970-01-01', o.value, o.comment"
    " FROM observation o"
    " JOIN series se ON se.programme_id = o.programme_id AND se.id = o.series_id"
    " JOIN indicator i ON i.programme_id = se.programme_id AND i.id = se.indicator_id"
    " WHERE o.programme_id = $1 AND i.value_type = 'score'"
    " ORDER BY i.code, o.period_start, o.received_at";

static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *values,
                       const char *what)
{
    PGresult *res = db_query(conn, sql, n, values);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, what)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

static enum progress_site_status site_status_of(const char *name)
{
    if (strcmp(name, "active") == 0)
        return PROGRESS_SITE_ACTIVE;
    if (strcmp(name, "withdrawn") == 0)
        return PROGRESS_SITE_WITHDRAWN;
    return PROGRESS_SITE_PLANNED;
}

static bool add_region(struct svc_inputs *in, int64_t region_id)
{
    for (size_t i = 0; i < in->n_regions; i++)
        if (in->regions[i] == region_id)
            return true;
    int64_t *grown = realloc(in->regions, (in->n_regions + 1) * sizeof(*grown));
    if (grown == NULL)
        return false;
    in->regions = grown;
    size_t at = in->n_regions++;
    while (at > 0 && in->regions[at - 1] > region_id) {
        in->regions[at] = in->regions[at - 1];
        at--;
    }
    in->regions[at] = region_id;
    return true;
}

static bool load_sites(PGconn *conn, struct svc_inputs *in)
{
    const char *values[] = {in->pid};
    PGresult *res = query(conn, SQL_SITES, 1, values, "read member sites");
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    bool ok = true;
    in->sites = calloc(n > 0 ? (size_t)n : 1, sizeof(*in->sites));
    ok = in->sites != NULL;
    for (int r = 0; ok && r < n; r++) {
        struct progress_site *s = &in->sites[r].site;
        s->site_id = db_int64(res, r, 0);
        s->region_id = db_int64(res, r, 1);
        s->status = site_status_of(PQgetvalue(res, r, 2));
        s->has_adopted = !PQgetisnull(res, r, 3);
        s->adopted = s->has_adopted ? (int32_t)db_int64(res, r, 3) : 0;
        s->has_withdrawn = !PQgetisnull(res, r, 4);
        s->withdrawn = s->has_withdrawn ? (int32_t)db_int64(res, r, 4) : 0;
        in->n_sites++;
        if (s->region_id != 0)
            ok = add_region(in, s->region_id);
    }
    PQclear(res);
    return ok;
}

static struct svc_site *find_site(const struct svc_inputs *in, int64_t site_id)
{
    size_t lo = 0, hi = in->n_sites;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (in->sites[mid].site.site_id < site_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < in->n_sites && in->sites[lo].site.site_id == site_id ? &in->sites[lo] : NULL;
}

static bool push_reported(struct svc_site *s, int32_t period_start)
{
    if (s->n_reported == s->cap_reported) {
        size_t cap = s->cap_reported ? s->cap_reported * 2 : 16;
        int32_t *grown = realloc(s->reported, cap * sizeof(*grown));
        if (grown == NULL)
            return false;
        s->reported = grown;
        s->cap_reported = cap;
    }
    s->reported[s->n_reported++] = period_start;
    return true;
}

static bool load_reported(PGconn *conn, struct svc_inputs *in)
{
    const char *values[] = {in->pid};
    PGresult *res = query(conn, SQL_REPORTED, 1, values, "read reporting periods");
    if (res == NULL)
        return false;
    bool ok = true;
    for (int r = 0; ok && r < PQntuples(res); r++) {
        struct svc_site *s = find_site(in, db_int64(res, r, 0));
        if (s != NULL)
            ok = push_reported(s, (int32_t)db_int64(res, r, 1));
    }
    PQclear(res);
    return ok;
}

static bool same_code(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool load_coverage_pair(PGconn *conn, struct svc_inputs *in, struct svc_coverage *cov,
                               const char *since)
{
    const char *values[] = {in->pid, cov->numerator, cov->denominator ? cov->denominator : "",
                            since};
    PGresult *res = query(conn, SQL_COVERAGE, 4, values, "read coverage values");
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    cov->rows = calloc(n > 0 ? (size_t)n : 1, sizeof(*cov->rows));
    bool ok = cov->rows != NULL;
    for (int r = 0; ok && r < n; r++) {
        struct svc_coverage_row *row = &cov->rows[cov->n++];
        const struct svc_site *site = find_site(in, db_int64(res, r, 1));
        row->period_start = (int32_t)db_int64(res, r, 0);
        row->row.site_id = db_int64(res, r, 1);
        row->row.region_id = site ? site->site.region_id : 0;
        row->row.has_numerator = !PQgetisnull(res, r, 2);
        row->row.numerator = row->row.has_numerator ? db_double(res, r, 2) : 0.0;
        row->row.has_denominator = !PQgetisnull(res, r, 3);
        row->row.denominator = row->row.has_denominator ? db_double(res, r, 3) : 0.0;
    }
    PQclear(res);
    return ok;
}

/* Loads the coverage rows of every distinct (numerator, denominator) of the versions. */
static bool load_coverage(PGconn *conn, struct svc_inputs *in, const char *since)
{
    in->coverage = calloc(in->versions.n ? in->versions.n : 1, sizeof(*in->coverage));
    if (in->coverage == NULL)
        return false;
    for (size_t v = 0; v < in->versions.n; v++) {
        const struct roadmap_coverage *c = &in->versions.versions[v].plan->coverage;
        bool seen = !c->present;
        for (size_t k = 0; !seen && k < in->n_coverage; k++)
            seen = same_code(in->coverage[k].numerator, c->numerator) &&
                   same_code(in->coverage[k].denominator, c->denominator);
        if (seen)
            continue;
        struct svc_coverage *cov = &in->coverage[in->n_coverage++];
        cov->numerator = c->numerator;
        cov->denominator = c->denominator;
        if (!load_coverage_pair(conn, in, cov, since))
            return false;
    }
    return true;
}

static bool load_scores(PGconn *conn, struct svc_inputs *in)
{
    const char *values[] = {in->pid};
    PGresult *res = query(conn, SQL_SCORES, 1, values, "read institutionalisation scores");
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    in->scores = calloc(n > 0 ? (size_t)n : 1, sizeof(*in->scores));
    bool ok = in->scores != NULL;
    for (int r = 0; ok && r < n; r++) {
        struct svc_score *s = &in->scores[in->n_scores++];
        enum period_type type = PERIOD_QUARTERLY;
        if (!period_type_from_name(PQgetvalue(res, r, 1), &type))
            type = PERIOD_QUARTERLY;
        s->indicator = strdup(PQgetvalue(res, r, 0));
        s->period_start = (int32_t)db_int64(res, r, 2);
        s->period_end = period_end(period_containing(type, s->period_start));
        s->value = db_double(res, r, 3);
        s->comment = PQgetisnull(res, r, 4) ? NULL : strdup(PQgetvalue(res, r, 4));
        ok = s->indicator != NULL;
    }
    PQclear(res);
    return ok;
}

static void inputs_release(struct svc_inputs *in)
{
    roadmaps_set_release(&in->versions);
    roadmaps_indicators_free(&in->indicators);
    for (size_t i = 0; i < in->n_sites; i++)
        free(in->sites[i].reported);
    free(in->sites);
    free(in->regions);
    for (size_t i = 0; i < in->n_coverage; i++)
        free(in->coverage[i].rows);
    free(in->coverage);
    for (size_t i = 0; i < in->n_scores; i++) {
        free(in->scores[i].indicator);
        free(in->scores[i].comment);
    }
    free(in->scores);
    memset(in, 0, sizeof(*in));
}

/* ---- evaluating one month ------------------------------------------------------------ */

static void rows_init(struct svc_rows *rows)
{
    pgarray_init(&rows->period, PGARRAY_INT4);
    pgarray_init(&rows->dimension, PGARRAY_TEXT);
    pgarray_init(&rows->region, PGARRAY_INT8);
    pgarray_init(&rows->version, PGARRAY_INT4);
    pgarray_init(&rows->actual, PGARRAY_FLOAT8);
    pgarray_init(&rows->planned, PGARRAY_FLOAT8);
    pgarray_init(&rows->progress, PGARRAY_FLOAT8);
    pgarray_init(&rows->gap, PGARRAY_FLOAT8);
    pgarray_init(&rows->status, PGARRAY_TEXT);
    pgarray_init(&rows->detail, PGARRAY_TEXT);
    rows->n = 0;
}

#define ROWS_EACH(rows)                                                                            \
    struct pgarray *all[] = {                                                                      \
        &(rows)->period,  &(rows)->dimension, &(rows)->region, &(rows)->version, &(rows)->actual,  \
        &(rows)->planned, &(rows)->progress,  &(rows)->gap,    &(rows)->status,  &(rows)->detail}

static void rows_finish(struct svc_rows *rows)
{
    ROWS_EACH(rows);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pgarray_finish(all[i]);
}

static void rows_free(struct svc_rows *rows)
{
    ROWS_EACH(rows);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pgarray_free(all[i]);
}

static void add_nullable(struct pgarray *a, bool has, double v)
{
    if (has && isfinite(v))
        pgarray_add_float8(a, v);
    else
        pgarray_add_null(a);
}

/* Appends one snapshot row; takes ownership of detail. */
static void rows_add(struct svc_rows *rows, int32_t period_start, const char *dimension,
                     int64_t region_id, int version, const struct progress_measure *m,
                     enum progress_status status, json_t *detail)
{
    pgarray_add_int4(&rows->period, period_start);
    pgarray_add_text(&rows->dimension, dimension, strlen(dimension));
    pgarray_add_int8(&rows->region, region_id);
    pgarray_add_int4(&rows->version, version);
    add_nullable(&rows->actual, m->has_actual, m->actual);
    pgarray_add_float8(&rows->planned, isfinite(m->planned) ? m->planned : 0.0);
    add_nullable(&rows->progress, m->has_actual, m->progress);
    add_nullable(&rows->gap, m->has_actual, m->gap);
    const char *name = progress_status_name(status);
    pgarray_add_text(&rows->status, name, strlen(name));
    char *text = json_dumps(detail, JSON_COMPACT);
    pgarray_add_text(&rows->detail, text ? text : "{}", text ? strlen(text) : 2);
    free(text);
    json_decref(detail);
    rows->n++;
}

static const struct svc_coverage *coverage_of(const struct svc_inputs *in,
                                              const struct roadmap_coverage *c)
{
    for (size_t k = 0; k < in->n_coverage; k++)
        if (same_code(in->coverage[k].numerator, c->numerator) &&
            same_code(in->coverage[k].denominator, c->denominator))
            return &in->coverage[k];
    return NULL;
}

/* The rows of one period: [*first, *first + *count). */
static void coverage_period_rows(const struct svc_coverage *cov, int32_t period_start,
                                 struct progress_coverage_row *buf, size_t *count)
{
    size_t lo = 0, hi = cov->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cov->rows[mid].period_start < period_start)
            lo = mid + 1;
        else
            hi = mid;
    }
    *count = 0;
    for (size_t i = lo; i < cov->n && cov->rows[i].period_start == period_start; i++)
        buf[(*count)++] = cov->rows[i].row;
}

static json_t *coverage_detail(const struct progress_coverage *c, struct period data_period)
{
    char label[PERIOD_FORMAT_MAX];
    if (!period_format(data_period, label, sizeof(label)))
        label[0] = '\0';
    return json_pack("{s:f,s:f,s:I,s:I,s:s}", "numerator", c->numerator_sum, "denominator",
                     c->denominator_sum, "sites_covered", (json_int_t)c->sites_covered,
                     "sites_in_scope", (json_int_t)c->sites_in_scope, "data_period", label);
}

static enum period_type activity_type(const struct svc_inputs *in, const struct roadmap *rm)
{
    enum period_type type = PERIOD_MONTHLY;
    if (rm->coverage.present &&
        !roadmaps_indicator_period_type(in->indicators, rm->coverage.numerator, &type))
        type = PERIOD_MONTHLY;
    return type;
}

static void snapshot_coverage(const struct svc_inputs *in, const struct roadmaps_version *v,
                              int32_t month, int32_t date, struct progress_coverage_row *buf,
                              struct svc_rows *rows)
{
    const struct roadmap *rm = v->plan;
    const struct roadmap_coverage *c = &rm->coverage;
    const struct svc_coverage *cov = coverage_of(in, c);
    struct period data_period = progress_latest_complete_period(activity_type(in, rm), date);
    size_t n = 0;
    if (cov != NULL)
        coverage_period_rows(cov, period_start(data_period), buf, &n);
    struct progress_coverage total;
    if (c->denominator != NULL)
        progress_coverage_total(buf, n, &total);
    else
        progress_coverage_fixed(buf, n, c->target_population, &total);
    struct progress_measure m;
    progress_measure_evaluate(&c->plan, rm->baseline_date, &c->tolerance,
                              PROGRESS_TOLERANCE_ABSOLUTE, date, total.has_value, total.value, &m);
    rows_add(rows, month, "coverage", 0, v->version, &m, m.status,
             coverage_detail(&total, data_period));
    for (size_t r = 0; c->denominator != NULL && r < in->n_regions; r++) {
        struct progress_coverage region;
        progress_coverage_region(buf, n, in->regions[r], &region);
        progress_measure_evaluate(&c->plan, rm->baseline_date, &c->tolerance,
                                  PROGRESS_TOLERANCE_ABSOLUTE, date, region.has_value, region.value,
                                  &m);
        rows_add(rows, month, "coverage", in->regions[r], v->version, &m, m.status,
                 coverage_detail(&region, data_period));
    }
}

/* Sets each site's latest reported period that started before `date` (dates ascend from
 * one call to the next, so each site's cursor only moves forward). */
static void advance_reporting(struct svc_inputs *in, int32_t date)
{
    for (size_t i = 0; i < in->n_sites; i++) {
        struct svc_site *s = &in->sites[i];
        while (s->cursor < s->n_reported && s->reported[s->cursor] < date)
            s->cursor++;
        s->site.has_last_reported = s->cursor > 0;
        s->site.last_reported = s->cursor > 0 ? s->reported[s->cursor - 1] : 0;
    }
}

/* Sites of a region that should be active at `date` by their membership alone. */
static size_t region_adopted(const struct svc_inputs *in, int64_t region_id, int32_t date,
                             size_t *planned)
{
    size_t adopted = 0;
    *planned = 0;
    for (size_t i = 0; i < in->n_sites; i++) {
        const struct progress_site *s = &in->sites[i].site;
        if (s->region_id != region_id)
            continue;
        bool gone =
            s->status == PROGRESS_SITE_WITHDRAWN && (!s->has_withdrawn || s->withdrawn <= date);
        if (s->status == PROGRESS_SITE_PLANNED || !s->has_adopted || s->adopted > date)
            (*planned)++;
        else if (!gone)
            adopted++;
    }
    return adopted;
}

static bool snapshot_expansion(struct svc_inputs *in, const struct roadmaps_version *v,
                               int32_t month, int32_t date, struct progress_site *flat,
                               struct svc_rows *rows)
{
    const struct roadmap *rm = v->plan;
    const struct roadmap_expansion *e = &rm->expansion;
    int32_t window =
        progress_activity_window_start(activity_type(in, rm), e->active_within_periods, date);
    for (size_t i = 0; i < in->n_sites; i++)
        flat[i] = in->sites[i].site;
    struct progress_expansion_count count;
    if (!progress_expansion_count(flat, in->n_sites, date, window, &count))
        return false;
    struct progress_expansion ex;
    progress_expansion_evaluate(e, rm->baseline_date, date, count.active_sites,
                                count.active_regions, &ex);
    json_t *detail = json_pack(
        "{s:I,s:I,s:f,s:f,s:s,s:s}", "active_sites", (json_int_t)count.active_sites,
        "active_regions", (json_int_t)count.active_regions, "regions_planned", ex.regions.planned,
        "regions_gap", ex.regions.gap, "sites_status", progress_status_name(ex.sites.status),
        "regions_status", progress_status_name(ex.regions.status));
    rows_add(rows, month, "expansion", 0, v->version, &ex.sites, ex.status, detail);
    for (size_t r = 0; r < in->n_regions; r++) {
        size_t planned_sites, adopted = region_adopted(in, in->regions[r], date, &planned_sites);
        size_t active =
            progress_expansion_region_sites(flat, in->n_sites, in->regions[r], date, window);
        struct progress_measure m = {true,
                                     (double)active,
                                     (double)adopted,
                                     0.0,
                                     (double)adopted,
                                     adopted ? (double)active / (double)adopted : 1.0,
                                     (double)active - (double)adopted,
                                     PROGRESS_STATUS_ON_TRACK};
        m.status =
            progress_status_of(PROGRESS_TOLERANCE_RELATIVE, &e->tolerance, m.planned, m.actual);
        rows_add(rows, month, "expansion", in->regions[r], v->version, &m, m.status,
                 json_pack("{s:I,s:I,s:I}", "active_sites", (json_int_t)active, "adopted_sites",
                           (json_int_t)adopted, "planned_sites", (json_int_t)planned_sites));
    }
    return true;
}

/* The latest score of an indicator for a period that ended before `date`, or NULL. */
static const struct svc_score *latest_score(const struct svc_inputs *in, const char *indicator,
                                            int32_t date)
{
    const struct svc_score *found = NULL;
    for (size_t i = 0; i < in->n_scores; i++)
        if (strcmp(in->scores[i].indicator, indicator) == 0 && in->scores[i].period_end < date)
            found = &in->scores[i];
    return found;
}

static bool snapshot_institutionalisation(const struct svc_inputs *in,
                                          const struct roadmaps_version *v, int32_t month,
                                          int32_t date, struct svc_rows *rows)
{
    const struct roadmap *rm = v->plan;
    const struct roadmap_institutionalisation *inst = &rm->institutionalisation;
    struct progress_item_score *scores = calloc(inst->n_items, sizeof(*scores));
    if (scores == NULL)
        return false;
    json_t *items = json_array();
    for (size_t i = 0; i < inst->n_items; i++) {
        const struct svc_score *s = latest_score(in, inst->items[i].indicator, date);
        char day[DATE_FORMAT_MAX] = "";
        scores[i].has_score = s != NULL;
        scores[i].score = s ? s->value : 0.0;
        if (s != NULL && !date_format(s->period_start, day, sizeof(day)))
            day[0] = '\0';
        json_array_append_new(
            items, json_pack("{s:s,s:o,s:s?,s:s?}", "indicator", inst->items[i].indicator, "score",
                             s ? json_real(s->value) : json_null(), "period_start", s ? day : NULL,
                             "comment", s ? s->comment : NULL));
    }
    struct progress_institutionalisation out;
    progress_institutionalisation_evaluate(inst, scores, date, NULL, &out);
    free(scores);
    struct progress_measure m;
    progress_measure_evaluate(&inst->plan, rm->baseline_date, &inst->tolerance,
                              PROGRESS_TOLERANCE_ABSOLUTE, date, out.has_value, out.value, &m);
    rows_add(rows, month, "institutionalisation", 0, v->version, &m, m.status,
             json_pack("{s:o}", "items", items));
    return true;
}

/* Evaluates the month starting `month`: as of the day after it ends. */
static bool snapshot_month(struct svc_inputs *in, int32_t month, struct progress_coverage_row *buf,
                           struct progress_site *flat, struct svc_rows *rows)
{
    int32_t date = period_end(period_containing(PERIOD_MONTHLY, month)) + 1;
    const struct roadmaps_version *v = roadmaps_in_force(&in->versions, date);
    advance_reporting(in, date);
    if (v->plan->coverage.present)
        snapshot_coverage(in, v, month, date, buf, rows);
    if (v->plan->expansion.present && !snapshot_expansion(in, v, month, date, flat, rows))
        return false;
    if (v->plan->institutionalisation.present &&
        !snapshot_institutionalisation(in, v, month, date, rows))
        return false;
    return true;
}

/* ---- refresh ------------------------------------------------------------------------- */

static const char SQL_STATE[] =
    "SELECT (to_timestamp($2::float8) AT TIME ZONE p.time_zone)::date - date '1970-01-01',"
    " (SELECT CASE WHEN min(since_period) = '-infinity' THEN -2147483648"
    "  ELSE min(since_period) - date '1970-01-01' END FROM progress_dirty d"
    "  WHERE d.programme_id = p.id),"
    " (SELECT max(id) FROM progress_dirty d WHERE d.programme_id = p.id),"
    " (SELECT max(period_start) - date '1970-01-01' FROM progress_snapshot s"
    "  WHERE s.programme_id = p.id),"
    " CASE WHEN $3 THEN (SELECT min(period_start) - date '1970-01-01' FROM observation o"
    "  WHERE o.programme_id = p.id) END"
    " FROM programme p WHERE p.id = $1";

static const char SQL_REPLACE_DELETE[] = "DELETE FROM progress_snapshot WHERE programme_id = $1"
                                         " AND (period_start >= date '1970-01-01' + $2::int OR "
                                         "period_start < date '1970-01-01' + $3::int"
                                         " OR period_start > date '1970-01-01' + $4::int)";

static const char SQL_REPLACE_INSERT[] =
    "INSERT INTO progress_snapshot (programme_id, period_start, dimension, region_id,"
    " roadmap_version, actual, planned, progress, gap, status, detail)"
    " SELECT $1, date '1970-01-01' + p, d, r, v, a, pl, pr, g, s, de::jsonb"
    " FROM unnest($2::int4[], $3::text[], $4::int8[], $5::int4[], $6::float8[], $7::float8[],"
    "  $8::float8[], $9::float8[], $10::text[], $11::text[]) AS t(p, d, r, v, a, pl, pr, g, s, de)";

static const char SQL_CLEAR_MARK[] =
    "DELETE FROM progress_dirty WHERE programme_id = $1 AND id <= $2::bigint";

/* What the state query says about a programme. */
struct svc_state {
    int32_t today;
    bool dirty;
    int32_t dirty_since; /* INT32_MIN: everything */
    char last_mark[24];  /* the newest mark seen: the refresh deletes it and older ones */
    bool has_last;
    int32_t last_snapshot;
    bool has_first_data;
    int32_t first_data;
};

/* Reads the state; the first observed month (a scan of the programme's observations) only
 * with with_first_data. */
static bool read_state(PGconn *conn, const char *pid, bool with_first_data, struct svc_state *st)
{
    char now[40];
    snprintf(now, sizeof(now), "%.6f", clock_now());
    const char *values[] = {pid, now, with_first_data ? "true" : "false"};
    PGresult *res = query(conn, SQL_STATE, 3, values, "read progress state");
    if (res == NULL || PQntuples(res) != 1) {
        PQclear(res);
        return false;
    }
    memset(st, 0, sizeof(*st));
    st->today = (int32_t)db_int64(res, 0, 0);
    st->dirty = !PQgetisnull(res, 0, 1);
    st->dirty_since = st->dirty ? (int32_t)db_int64(res, 0, 1) : 0;
    snprintf(st->last_mark, sizeof(st->last_mark), "%s", PQgetvalue(res, 0, 2));
    st->has_last = !PQgetisnull(res, 0, 3);
    st->last_snapshot = st->has_last ? (int32_t)db_int64(res, 0, 3) : 0;
    st->has_first_data = !PQgetisnull(res, 0, 4);
    st->first_data = st->has_first_data ? (int32_t)db_int64(res, 0, 4) : 0;
    PQclear(res);
    return true;
}

/* The first month to recompute and the range snapshots cover; false when nothing to do. */
static bool plan_months(const struct svc_state *st, const struct roadmaps_set *versions,
                        int32_t *from, int32_t *first, int32_t *last)
{
    struct period end = progress_latest_complete_period(PERIOD_MONTHLY, st->today);
    int32_t start = versions->versions[0].plan->baseline_date;
    for (size_t i = 1; i < versions->n; i++)
        if (versions->versions[i].plan->baseline_date < start)
            start = versions->versions[i].plan->baseline_date;
    if (st->has_first_data && st->first_data < start)
        start = st->first_data;
    int32_t oldest = period_start(period_add(end, -(PROGRESS_SERVICE_MAX_PERIODS - 1)));
    *first = period_start(period_containing(PERIOD_MONTHLY, start < oldest ? oldest : start));
    *last = period_start(end);
    int32_t next =
        st->has_last
            ? period_start(period_add(period_containing(PERIOD_MONTHLY, st->last_snapshot), 1))
            : *first;
    if (st->dirty) {
        int32_t since = st->dirty_since < *first ? *first : st->dirty_since;
        since = period_start(period_containing(PERIOD_MONTHLY, since));
        if (since < next)
            next = since;
    }
    *from = next < *first ? *first : next;
    return *from <= *last || st->dirty;
}

static bool load_inputs(PGconn *conn, struct svc_inputs *in)
{
    in->indicators = roadmaps_indicators_load(conn, in->programme_id);
    return in->indicators != NULL && load_sites(conn, in) && load_reported(conn, in) &&
           load_coverage(conn, in, "-infinity") && load_scores(conn, in);
}

static bool compute_months(struct svc_inputs *in, int32_t from, int32_t last, struct svc_rows *rows,
                           int *months)
{
    size_t max_rows = 1;
    for (size_t k = 0; k < in->n_coverage; k++)
        if (in->coverage[k].n > max_rows)
            max_rows = in->coverage[k].n;
    struct progress_coverage_row *buf = calloc(max_rows, sizeof(*buf));
    struct progress_site *flat = calloc(in->n_sites ? in->n_sites : 1, sizeof(*flat));
    bool ok = buf != NULL && flat != NULL;
    for (struct period p = period_containing(PERIOD_MONTHLY, from); ok && period_start(p) <= last;
         p = period_add(p, 1)) {
        ok = snapshot_month(in, period_start(p), buf, flat, rows);
        *months += ok ? 1 : 0;
    }
    free(buf);
    free(flat);
    return ok;
}

static bool store_rows(PGconn *conn, const char *pid, struct svc_rows *rows, int32_t from,
                       int32_t first, int32_t last)
{
    char f[16], a[16], b[16];
    snprintf(f, sizeof(f), "%d", (int)from);
    snprintf(a, sizeof(a), "%d", (int)first);
    snprintf(b, sizeof(b), "%d", (int)last);
    const char *dv[] = {pid, f, a, b};
    PGresult *res = db_query(conn, SQL_REPLACE_DELETE, 4, dv);
    bool ok = db_ok(res, PGRES_COMMAND_OK, NULL, "replace progress snapshots");
    PQclear(res);
    if (!ok || rows->n == 0)
        return ok;
    rows_finish(rows);
    const char *values[11] = {pid};
    int lengths[11] = {0}, formats[11] = {0};
    ROWS_EACH(rows);
    for (int i = 0; i < 10; i++) {
        values[i + 1] = all[i]->data;
        lengths[i + 1] = (int)all[i]->len;
        formats[i + 1] = 1;
    }
    res = PQexecParams(conn, SQL_REPLACE_INSERT, 11, NULL, values, lengths, formats, 0);
    ok = db_ok(res, PGRES_COMMAND_OK, NULL, "store progress snapshots");
    PQclear(res);
    return ok;
}

static bool lock_programme(PGconn *conn, const char *pid, bool wait, bool *got)
{
    char cls[16];
    snprintf(cls, sizeof(cls), "%d", REFRESH_LOCK);
    const char *values[] = {cls, pid};
    PGresult *res = db_query(conn,
                             wait ? "SELECT pg_advisory_lock($1::int, $2::int), true"
                                  : "SELECT true, pg_try_advisory_lock($1::int, $2::int)",
                             2, values);
    bool ok = db_ok(res, PGRES_TUPLES_OK, NULL, "lock a programme's snapshots");
    *got = ok && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    return ok;
}

static bool clear_mark(PGconn *conn, const char *pid, const struct svc_state *st)
{
    if (!st->dirty)
        return true;
    const char *values[] = {pid, st->last_mark};
    PGresult *res = db_query(conn, SQL_CLEAR_MARK, 2, values);
    bool ok = db_ok(res, PGRES_COMMAND_OK, NULL, "clear a progress mark");
    PQclear(res);
    return ok;
}

/* The body of a refresh, inside the open transaction. */
static enum progress_service_result refresh_locked(PGconn *conn, struct svc_inputs *in,
                                                   int *computed)
{
    struct svc_state st;
    if (!read_state(conn, in->pid, false, &st))
        return PROGRESS_SERVICE_DB_ERROR;
    int32_t end = period_start(progress_latest_complete_period(PERIOD_MONTHLY, st.today));
    if (!st.dirty && st.has_last && st.last_snapshot >= end)
        return PROGRESS_SERVICE_OK; /* up to date: the common case of a read */
    if (!read_state(conn, in->pid, true, &st) ||
        !roadmaps_load(conn, in->programme_id, &in->versions))
        return PROGRESS_SERVICE_DB_ERROR;
    if (in->versions.n == 0)
        return clear_mark(conn, in->pid, &st) ? PROGRESS_SERVICE_NO_ROADMAP
                                              : PROGRESS_SERVICE_DB_ERROR;
    int32_t from, first, last;
    if (!plan_months(&st, &in->versions, &from, &first, &last))
        return PROGRESS_SERVICE_OK;
    struct svc_rows rows;
    rows_init(&rows);
    bool ok = true;
    if (from <= last)
        ok = load_inputs(conn, in) && compute_months(in, from, last, &rows, computed);
    ok =
        ok && store_rows(conn, in->pid, &rows, from, first, last) && clear_mark(conn, in->pid, &st);
    rows_free(&rows);
    return ok ? PROGRESS_SERVICE_OK : PROGRESS_SERVICE_DB_ERROR;
}

/* Runs the refresh in one REPEATABLE READ transaction: the marks it reads and deletes and
 * the data it computes from belong to one snapshot, so a mark committed meanwhile is left
 * for the next run. The caller holds the programme's lock, taken before the snapshot. */
static enum progress_service_result refresh_transaction(PGconn *conn, struct svc_inputs *in,
                                                        int *computed, const char *request_id)
{
    PGresult *res = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    bool began = db_ok(res, PGRES_COMMAND_OK, request_id, "begin a progress refresh");
    PQclear(res);
    if (!began)
        return PROGRESS_SERVICE_DB_ERROR;
    enum progress_service_result result = refresh_locked(conn, in, computed);
    bool commit = result == PROGRESS_SERVICE_OK || result == PROGRESS_SERVICE_NO_ROADMAP;
    res = PQexec(conn, commit ? "COMMIT" : "ROLLBACK");
    if (commit && !db_ok(res, PGRES_COMMAND_OK, request_id, "commit a progress refresh"))
        result = PROGRESS_SERVICE_DB_ERROR;
    PQclear(res);
    return result;
}

enum progress_service_result progress_service_refresh(PGconn *conn, int64_t programme_id, bool wait,
                                                      int *computed, const char *request_id)
{
    struct svc_inputs in = {.programme_id = programme_id};
    snprintf(in.pid, sizeof(in.pid), "%lld", (long long)programme_id);
    int dummy = 0;
    if (computed == NULL)
        computed = &dummy;
    *computed = 0;
    bool got = false;
    if (!lock_programme(conn, in.pid, wait, &got))
        return PROGRESS_SERVICE_DB_ERROR;
    if (!got)
        return PROGRESS_SERVICE_BUSY;
    enum progress_service_result result = refresh_transaction(conn, &in, computed, request_id);
    char cls[16];
    snprintf(cls, sizeof(cls), "%d", REFRESH_LOCK);
    const char *values[] = {cls, in.pid};
    /* a lost connection releases the lock with its session */
    PQclear(db_query(conn, "SELECT pg_advisory_unlock($1::int, $2::int)", 2, values));
    inputs_release(&in);
    return result;
}

int progress_service_refresh_all(PGconn *conn)
{
    PGresult *res = query(conn, "SELECT DISTINCT programme_id FROM roadmap_version ORDER BY 1", 0,
                          NULL, "list programmes with a roadmap");
    if (res == NULL)
        return -1;
    int total = 0;
    for (int r = 0; r < PQntuples(res) && total >= 0; r++) {
        int computed = 0;
        enum progress_service_result rc =
            progress_service_refresh(conn, db_int64(res, r, 0), false, &computed, NULL);
        if (rc == PROGRESS_SERVICE_DB_ERROR)
            total = -1;
        else
            total += computed;
    }
    PQclear(res);
    return total;
}

bool progress_service_today(PGconn *conn, int64_t programme_id, int32_t *today)
{
    char pid[24], now[40];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(now, sizeof(now), "%.6f", clock_now());
    const char *values[] = {pid, now};
    PGresult *res = query(conn,
                          "SELECT (to_timestamp($2::float8) AT TIME ZONE time_zone)::date"
                          " - date '1970-01-01' FROM programme WHERE id = $1",
                          2, values, "read a programme's date");
    bool ok = res != NULL && PQntuples(res) == 1;
    if (ok)
        *today = (int32_t)db_int64(res, 0, 0);
    PQclear(res);
    return ok;
}
