/* The inputs of a programme's progress months over libpq (progress_inputs.h): member sites
 * and their regions, the periods each reported, coverage values per (numerator, denominator)
 * pair and institutionalisation scores, as the plain structs of progress_month.h. */
#include "scaleupd/storage/progress_inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/roadmap_store.h"
#include "scaleupd/storage/sql_numeric.h"

/* Each member site with its region: the nearest ancestor (or itself) of level region, found
 * by walking down from every region and stopping at the regions below it, so each site is
 * reached once (linear in the hierarchy; the walk up it replaced looked every member up in
 * the whole walk, quadratic at national scale). */
static const char SQL_SITES[] =
    "WITH RECURSIVE down (site_id, region_id, depth) AS ("
    " SELECT id, id, 0 FROM site WHERE programme_id = $1 AND level = 'region'"
    " UNION ALL SELECT c.id, d.region_id, d.depth + 1 FROM down d"
    " JOIN site c ON c.programme_id = $1 AND c.parent_id = d.site_id"
    " WHERE c.level <> 'region' AND d.depth < 64"
    ")"
    " SELECT m.site_id, coalesce(d.region_id, 0), m.status,"
    " m.adopted_on - date '1970-01-01', m.withdrawn_on - date '1970-01-01'"
    " FROM membership m LEFT JOIN down d ON d.site_id = m.site_id"
    " WHERE m.programme_id = $1 ORDER BY m.site_id";

/* The periods each member site reported in [$2, $3) (days): what the months being
 * recomputed read, through the observations' primary key, one range per series (OFFSET 0
 * keeps the planner from turning it into a scan of every observation of the programme,
 * which it picked even for a range of a few months out of six years). */
static const char SQL_REPORTED[] =
    "SELECT se.site_id, o.period_start - date '1970-01-01' FROM membership m"
    " JOIN series se ON se.programme_id = m.programme_id AND se.site_id = m.site_id"
    " CROSS JOIN LATERAL (SELECT o.period_start FROM observation o"
    "  WHERE o.programme_id = se.programme_id AND o.series_id = se.id"
    "  AND o.period_start >= date '1970-01-01' + $2::int"
    "  AND o.period_start < date '1970-01-01' + $3::int OFFSET 0) o"
    " WHERE m.programme_id = $1 GROUP BY 1, 2 ORDER BY 1, 2";

/* Coverage values per site and period in [$4, $5), summed by core/progress.c, one range of
 * the primary key per series of the pair's indicators; a NaN or infinity that an older
 * version stored is no value (PostgreSQL's max() would pick NaN over any number). */
/* clang-format off */ /* it would fold the macros into the literals */
static const char SQL_COVERAGE[] =
    "SELECT o.period_start - date '1970-01-01', se.site_id,"
    " max(o.value) FILTER (WHERE i.code = $2), max(o.value) FILTER (WHERE i.code = $3)"
    " FROM indicator i"
    " JOIN series se ON se.programme_id = i.programme_id AND se.indicator_id = i.id"
    " JOIN membership m ON m.programme_id = se.programme_id AND m.site_id = se.site_id"
    " CROSS JOIN LATERAL (SELECT o.period_start, o.value FROM observation o"
    "  WHERE o.programme_id = se.programme_id AND o.series_id = se.id"
    "  AND o.period_start >= date '1970-01-01' + $4::int"
    "  AND o.period_start < date '1970-01-01' + $5::int OFFSET 0) o"
    " WHERE i.programme_id = $1 AND i.code IN ($2, $3)"
    " AND " SQL_FINITE("o.value") " IS NOT NULL"
    " GROUP BY 1, 2 ORDER BY 1, 2";
/* clang-format on */

/* clang-format off */ /* it would fold the macros into the literals */
/* From the score indicators to their series to each one's primary-key range: the planner
 * otherwise scanned every observation of the programme for the few score rows, on each
 * refresh (a billion rows read during the national load). */
static const char SQL_SCORES[] =
    "SELECT i.code, i.period_type, o.period_start - date '1970-01-01', o.value, o.comment"
    " FROM indicator i"
    " JOIN series se ON se.programme_id = i.programme_id AND se.indicator_id = i.id"
    " CROSS JOIN LATERAL (SELECT o.period_start, o.value, o.comment, o.received_at"
    "  FROM observation o WHERE o.programme_id = $1 AND o.series_id = se.id"
    "  ORDER BY o.period_start) o"
    " WHERE i.programme_id = $1 AND i.value_type = 'score'"
    " AND " SQL_FINITE("o.value") " IS NOT NULL"
    " ORDER BY i.code, o.period_start, o.received_at";
/* clang-format on */

/* One read: the programme's id and the period range [from, until) as text, and the request
 * it serves. */
struct reader {
    PGconn *conn;
    int64_t programme_id;
    char pid[24], from[16], until[16];
    const char *request_id;
};

static void reader_init(struct reader *rd, PGconn *conn, int64_t programme_id, int32_t from,
                        int32_t until, const char *request_id)
{
    *rd = (struct reader){.conn = conn, .programme_id = programme_id, .request_id = request_id};
    snprintf(rd->pid, sizeof(rd->pid), "%lld", (long long)programme_id);
    snprintf(rd->from, sizeof(rd->from), "%d", (int)from);
    snprintf(rd->until, sizeof(rd->until), "%d", (int)until);
}

static enum progress_site_status site_status_of(const char *name)
{
    if (strcmp(name, "active") == 0)
        return PROGRESS_SITE_ACTIVE;
    if (strcmp(name, "withdrawn") == 0)
        return PROGRESS_SITE_WITHDRAWN;
    return PROGRESS_SITE_PLANNED;
}

/* Adds region_id to the ascending set regions[0..*n) (room for one more is there). */
static void add_region(int64_t *regions, size_t *n, int64_t region_id)
{
    for (size_t i = 0; i < *n; i++)
        if (regions[i] == region_id)
            return;
    size_t at = (*n)++;
    while (at > 0 && regions[at - 1] > region_id) {
        regions[at] = regions[at - 1];
        at--;
    }
    regions[at] = region_id;
}

static bool read_sites(const struct reader *rd, struct progress_month_inputs *in)
{
    const char *values[] = {rd->pid};
    PGresult *res = db_run(rd->conn, NULL, SQL_SITES, 1, values, PGRES_TUPLES_OK, rd->request_id,
                           "read member sites");
    if (res == NULL)
        return false;
    size_t n = (size_t)PQntuples(res);
    struct progress_month_site *sites = xcalloc(n ? n : 1, sizeof(*sites));
    int64_t *regions = xcalloc(n ? n : 1, sizeof(*regions));
    in->sites = sites;
    in->regions = regions;
    for (size_t r = 0; r < n; r++) {
        struct progress_site *s = &sites[r].site;
        s->site_id = db_int64(res, (int)r, 0);
        s->region_id = db_int64(res, (int)r, 1);
        s->status = site_status_of(db_text(res, (int)r, 2));
        int64_t day;
        s->has_adopted = db_int64_opt(res, (int)r, 3, &day);
        s->adopted = s->has_adopted ? (int32_t)day : 0;
        s->has_withdrawn = db_int64_opt(res, (int)r, 4, &day);
        s->withdrawn = s->has_withdrawn ? (int32_t)day : 0;
        if (s->region_id != 0)
            add_region(regions, &in->n_regions, s->region_id);
    }
    in->n_sites = n;
    PQclear(res);
    return true;
}

/* The index of site_id in the sites (sorted by id), or n_sites. */
static size_t find_site(const struct progress_month_inputs *in, int64_t site_id)
{
    size_t lo = 0, hi = in->n_sites;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (in->sites[mid].site.site_id < site_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < in->n_sites && in->sites[lo].site.site_id == site_id ? lo : in->n_sites;
}

/* The rows come ordered by site then period, so each site's periods are one run. */
static bool read_reported(const struct reader *rd, struct progress_month_inputs *in)
{
    const char *values[] = {rd->pid, rd->from, rd->until};
    PGresult *res = db_run(rd->conn, NULL, SQL_REPORTED, 3, values, PGRES_TUPLES_OK, rd->request_id,
                           "read reporting periods");
    if (res == NULL)
        return false;
    struct progress_month_site *sites = (struct progress_month_site *)in->sites;
    int n = PQntuples(res);
    for (int r = 0; r < n;) {
        int end = r;
        while (end < n && db_int64(res, end, 0) == db_int64(res, r, 0))
            end++;
        size_t at = find_site(in, db_int64(res, r, 0));
        if (at < in->n_sites) {
            int32_t *reported = xcalloc((size_t)(end - r), sizeof(*reported));
            for (int k = r; k < end; k++)
                reported[k - r] = (int32_t)db_int64(res, k, 1);
            sites[at].reported = reported;
            sites[at].n_reported = (size_t)(end - r);
        }
        r = end;
    }
    PQclear(res);
    return true;
}

static void read_coverage_value(const PGresult *res, int r, const struct progress_month_inputs *in,
                                struct progress_month_coverage_value *v)
{
    size_t site = find_site(in, db_int64(res, r, 1));
    v->period_start = (int32_t)db_int64(res, r, 0);
    v->row.site_id = db_int64(res, r, 1);
    v->row.region_id = site < in->n_sites ? in->sites[site].site.region_id : 0;
    v->row.has_numerator = db_double_opt(res, r, 2, &v->row.numerator);
    v->row.has_denominator = db_double_opt(res, r, 3, &v->row.denominator);
}

static bool read_coverage_pair(const struct reader *rd, const struct progress_month_inputs *in,
                               struct progress_month_coverage *cov)
{
    const char *values[] = {rd->pid, cov->numerator, cov->denominator ? cov->denominator : "",
                            rd->from, rd->until};
    PGresult *res = db_run(rd->conn, NULL, SQL_COVERAGE, 5, values, PGRES_TUPLES_OK, rd->request_id,
                           "read coverage values");
    if (res == NULL)
        return false;
    size_t n = (size_t)PQntuples(res);
    struct progress_month_coverage_value *rows = xcalloc(n ? n : 1, sizeof(*rows));
    for (size_t r = 0; r < n; r++)
        read_coverage_value(res, (int)r, in, &rows[r]);
    cov->values = rows;
    cov->n = n;
    PQclear(res);
    return true;
}

/* Reads one pair per distinct (numerator, denominator) of the versions' coverage plans. */
static bool read_coverage(const struct reader *rd, const struct roadmap_versions *versions,
                          struct progress_month_inputs *in)
{
    struct roadmap_store_indicators *indicators =
        roadmap_store_indicators_load(rd->conn, rd->programme_id, rd->request_id);
    if (indicators == NULL)
        return false;
    struct progress_month_coverage *pairs = xcalloc(versions->n ? versions->n : 1, sizeof(*pairs));
    in->coverage = pairs;
    bool ok = true;
    for (size_t v = 0; ok && v < versions->n; v++) {
        const struct roadmap_coverage *c = &versions->versions[v].plan->coverage;
        if (!c->present || progress_month_coverage_of(in, c) != NULL)
            continue;
        struct progress_month_coverage *cov = &pairs[in->n_coverage++];
        cov->numerator = c->numerator;
        cov->denominator = c->denominator;
        if (!roadmap_store_indicator_period_type(indicators, c->numerator, &cov->period_type))
            cov->period_type = PERIOD_MONTHLY;
        ok = read_coverage_pair(rd, in, cov);
    }
    roadmap_store_indicators_free(&indicators);
    return ok;
}

static bool read_scores(const struct reader *rd, struct progress_month_inputs *in)
{
    const char *values[] = {rd->pid};
    PGresult *res = db_run(rd->conn, NULL, SQL_SCORES, 1, values, PGRES_TUPLES_OK, rd->request_id,
                           "read institutionalisation scores");
    if (res == NULL)
        return false;
    size_t n = (size_t)PQntuples(res);
    struct progress_month_score *scores = xcalloc(n ? n : 1, sizeof(*scores));
    for (size_t r = 0; r < n; r++) {
        struct progress_month_score *s = &scores[r];
        enum period_type type;
        if (!period_type_from_name(db_text(res, (int)r, 1), &type))
            type = PERIOD_QUARTERLY;
        s->indicator = xstrdup(db_text(res, (int)r, 0));
        s->period_start = (int32_t)db_int64(res, (int)r, 2);
        s->period_end = period_end(period_containing(type, s->period_start));
        s->value = db_double(res, (int)r, 3);
        s->comment = db_is_null(res, (int)r, 4) ? NULL : xstrdup(db_text(res, (int)r, 4));
    }
    in->scores = scores;
    in->n_scores = n;
    PQclear(res);
    return true;
}

bool progress_inputs_read_scores(PGconn *conn, int64_t programme_id,
                                 struct progress_month_inputs *in, const char *request_id)
{
    struct reader rd;
    reader_init(&rd, conn, programme_id, 0, 0, request_id);
    return read_scores(&rd, in);
}

bool progress_inputs_read_range(PGconn *conn, int64_t programme_id,
                                const struct roadmap_versions *versions, int32_t from,
                                int32_t until, struct progress_month_inputs *in,
                                const char *request_id)
{
    struct reader rd;
    reader_init(&rd, conn, programme_id, from, until, request_id);
    progress_inputs_release_range(in);
    return read_sites(&rd, in) && read_reported(&rd, in) && read_coverage(&rd, versions, in);
}

bool progress_inputs_plan_reads(PGconn *conn, int64_t programme_id,
                                const struct roadmap_versions *versions,
                                struct progress_plan_reads *reads, const char *request_id)
{
    struct roadmap_store_indicators *indicators =
        roadmap_store_indicators_load(conn, programme_id, request_id);
    if (indicators == NULL)
        return false;
    for (size_t v = 0; v < versions->n; v++) {
        const struct roadmap *rm = versions->versions[v].plan;
        reads[v] = (struct progress_plan_reads){PERIOD_MONTHLY, 1};
        if (rm->coverage.present &&
            !roadmap_store_indicator_period_type(indicators, rm->coverage.numerator,
                                                 &reads[v].activity_type))
            reads[v].activity_type = PERIOD_MONTHLY;
        if (rm->expansion.present && rm->expansion.active_within_periods > 1)
            reads[v].window = rm->expansion.active_within_periods;
    }
    roadmap_store_indicators_free(&indicators);
    return true;
}

void progress_inputs_release_range(struct progress_month_inputs *in)
{
    for (size_t i = 0; i < in->n_sites; i++)
        free((void *)in->sites[i].reported);
    free((void *)in->sites);
    free((void *)in->regions);
    for (size_t i = 0; i < in->n_coverage; i++)
        free((void *)in->coverage[i].values);
    free((void *)in->coverage);
    in->sites = NULL, in->n_sites = 0;
    in->regions = NULL, in->n_regions = 0;
    in->coverage = NULL, in->n_coverage = 0;
}

void progress_inputs_release(struct progress_month_inputs *in)
{
    progress_inputs_release_range(in);
    for (size_t i = 0; i < in->n_scores; i++) {
        free((void *)in->scores[i].indicator);
        free((void *)in->scores[i].comment);
    }
    free((void *)in->scores);
    memset(in, 0, sizeof(*in));
}
