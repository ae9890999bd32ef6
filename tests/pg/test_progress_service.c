/*
 * Roadmap versions and progress snapshots against a real PostgreSQL, with figures computed
 * by hand: coverage summed over sites per month, expansion within the activity window, the
 * institutionalisation items, a late revision that recomputes only the months it changed, a
 * roadmap version that changes mid-history, membership changes, and the region breakdown.
 * The clock is fixed at 2025-07-15 12:00 UTC, so June 2025 is the latest complete month.
 * The month evaluation alone is proven without a database by tests/unit/test_progress_month.c
 * on the same programme; this test proves the reads, writes, marks and lock around it.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"
#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/services/ingest.h"
#include "scaleupd/storage/observations.h"
#include "scaleupd/core/period.h"
#include "scaleupd/services/programme_apply.h"
#include "scaleupd/services/progress_service.h"
#include "scaleupd/storage/roadmap_store.h"

#define EPS 1e-9
#define CLOCK_2025_07_15_NOON 1752580800.0

/* Two regions: Flanders with A (adopted January) and B (adopted April), Wallonia with C
 * (adopted March) and D (planned). */
static const char programme_doc[] =
    "{\"slug\":\"prog\",\"name\":\"Progress test\",\"time_zone\":\"Europe/Brussels\","
    "\"sites\":["
    "{\"code\":\"BE\",\"name\":\"Belgium\",\"level\":\"country\"},"
    "{\"code\":\"VLG\",\"name\":\"Flanders\",\"level\":\"region\",\"parent\":\"BE\"},"
    "{\"code\":\"WAL\",\"name\":\"Wallonia\",\"level\":\"region\",\"parent\":\"BE\"},"
    "{\"code\":\"A\",\"name\":\"A\",\"level\":\"practice\",\"parent\":\"VLG\","
    "\"adopted\":\"2025-01-01\"},"
    "{\"code\":\"B\",\"name\":\"B\",\"level\":\"practice\",\"parent\":\"VLG\","
    "\"adopted\":\"2025-04-01\"},"
    "{\"code\":\"C\",\"name\":\"C\",\"level\":\"practice\",\"parent\":\"WAL\","
    "\"adopted\":\"2025-03-01\"},"
    "{\"code\":\"D\",\"name\":\"D\",\"level\":\"practice\",\"parent\":\"WAL\","
    "\"status\":\"planned\"}],"
    "\"indicators\":["
    "{\"code\":\"enrolled\",\"name\":\"Enrolled\",\"value_type\":\"count\","
    "\"period_type\":\"monthly\",\"aggregate\":\"sum\",\"dimension\":\"coverage\"},"
    "{\"code\":\"eligible\",\"name\":\"Eligible\",\"value_type\":\"count\","
    "\"period_type\":\"monthly\",\"aggregate\":\"sum\",\"dimension\":\"coverage\"},"
    "{\"code\":\"fee\",\"name\":\"Fee "
    "code\",\"value_type\":\"score\",\"period_type\":\"quarterly\","
    "\"aggregate\":\"last\",\"dimension\":\"institutionalisation\"},"
    "{\"code\":\"nurse\",\"name\":\"Nurse role\",\"value_type\":\"score\","
    "\"period_type\":\"quarterly\",\"aggregate\":\"last\","
    "\"dimension\":\"institutionalisation\"}]}";

/* Version 1: everything planned to reach its milestone on 2025-07-01 (181 days after the
 * baseline date), flat afterwards. */
static const char roadmap_v1[] =
    "{\"programme\":\"prog\",\"label\":\"v1\",\"baseline_date\":\"2025-01-01\","
    "\"coverage\":{\"numerator\":\"enrolled\",\"denominator\":\"eligible\",\"baseline\":0.10,"
    "\"milestones\":[{\"date\":\"2025-07-01\",\"target\":0.40}],"
    "\"tolerance\":{\"behind\":0.02,\"at_risk\":0.05}},"
    "\"expansion\":{\"active_within_periods\":2,"
    "\"sites\":{\"baseline\":1,\"milestones\":[{\"date\":\"2025-07-01\",\"target\":4}]},"
    "\"regions\":{\"baseline\":1,\"milestones\":[{\"date\":\"2025-07-01\",\"target\":2}]},"
    "\"tolerance\":{\"behind\":0.10,\"at_risk\":0.25}},"
    "\"institutionalisation\":{\"items\":["
    "{\"key\":\"fee-code\",\"indicator\":\"fee\",\"target\":4,\"due\":\"2025-06-30\"},"
    "{\"key\":\"nurse-role\",\"indicator\":\"nurse\",\"target\":2}],"
    "\"baseline\":0.0,\"milestones\":[{\"date\":\"2025-07-01\",\"target\":0.5}],"
    "\"tolerance\":{\"behind\":0.05,\"at_risk\":0.15}}}";

/* Version 2 lowers the coverage milestone to 0.30. */
static const char roadmap_v2[] =
    "{\"programme\":\"prog\",\"label\":\"v2\",\"baseline_date\":\"2025-01-01\","
    "\"coverage\":{\"numerator\":\"enrolled\",\"denominator\":\"eligible\",\"baseline\":0.10,"
    "\"milestones\":[{\"date\":\"2025-07-01\",\"target\":0.30}],"
    "\"tolerance\":{\"behind\":0.02,\"at_risk\":0.05}}}";

/* Monthly values of each practice (C's May has no denominator: it is left out, not read as
 * a zero), and the quarterly scores at country level. */
static const char observations[] =
    "{'indicator':'enrolled','site':'A','period':'2025-01','value':10},"
    "{'indicator':'eligible','site':'A','period':'2025-01','value':100},"
    "{'indicator':'enrolled','site':'A','period':'2025-02','value':20},"
    "{'indicator':'eligible','site':'A','period':'2025-02','value':100},"
    "{'indicator':'enrolled','site':'A','period':'2025-03','value':30},"
    "{'indicator':'eligible','site':'A','period':'2025-03','value':100},"
    "{'indicator':'enrolled','site':'A','period':'2025-04','value':40},"
    "{'indicator':'eligible','site':'A','period':'2025-04','value':100},"
    "{'indicator':'enrolled','site':'A','period':'2025-05','value':45},"
    "{'indicator':'eligible','site':'A','period':'2025-05','value':100},"
    "{'indicator':'enrolled','site':'A','period':'2025-06','value':50},"
    "{'indicator':'eligible','site':'A','period':'2025-06','value':100},"
    "{'indicator':'enrolled','site':'B','period':'2025-04','value':5},"
    "{'indicator':'eligible','site':'B','period':'2025-04','value':50},"
    "{'indicator':'enrolled','site':'B','period':'2025-05','value':10},"
    "{'indicator':'eligible','site':'B','period':'2025-05','value':50},"
    "{'indicator':'enrolled','site':'B','period':'2025-06','value':15},"
    "{'indicator':'eligible','site':'B','period':'2025-06','value':50},"
    "{'indicator':'enrolled','site':'C','period':'2025-03','value':2},"
    "{'indicator':'eligible','site':'C','period':'2025-03','value':100},"
    "{'indicator':'enrolled','site':'C','period':'2025-04','value':4},"
    "{'indicator':'eligible','site':'C','period':'2025-04','value':100},"
    "{'indicator':'enrolled','site':'C','period':'2025-05','value':6},"
    "{'indicator':'enrolled','site':'C','period':'2025-06','value':10},"
    "{'indicator':'eligible','site':'C','period':'2025-06','value':100},"
    "{'indicator':'fee','site':'BE','period':'2025Q1','value':2,'comment':'draft decree'},"
    "{'indicator':'fee','site':'BE','period':'2025Q2','value':2,'comment':'stalled in committee'},"
    "{'indicator':'nurse','site':'BE','period':'2025Q1','value':1},";

static PGconn *conn;
static int64_t programme_id;
static char clock_path[64];

static void exec(const char *sql)
{
    char err[512];
    cr_assert(db_exec(conn, sql, err, sizeof(err)), "%s: %s", sql, err);
}

static double scalar_double(const char *sql)
{
    char *v = pgtest_scalar(conn, sql);
    cr_assert_not_null(v, "%s gave NULL", sql);
    double d = strtod(v, NULL);
    free(v);
    return d;
}

/* Stores observations (written with single quotes, each followed by a comma) as a feed does. */
static void store(const char *rows)
{
    char json[8192];
    int n = snprintf(json, sizeof(json), "{\"observations\":[%s", rows);
    cr_assert(n > 0 && (size_t)n + 2 < sizeof(json));
    for (char *c = json; *c; c++)
        if (*c == '\'')
            *c = '"';
    if (json[n - 1] == ',')
        n--;
    snprintf(json + n, sizeof(json) - (size_t)n, "]}");
    struct obs_batch *batch = obs_batch_new();
    struct obs_parse_error perr;
    cr_assert(ingest_prepare(conn, programme_id, OBS_FORMAT_JSON, json, strlen(json), batch,
                             &perr) == INGEST_OK,
              "%s", perr.message);
    cr_assert_eq(batch->n_rejects, 0, "rejected: %s",
                 batch->n_rejects ? batch->rejects[0].message : "");
    struct observations_counts counts;
    exec("BEGIN");
    cr_assert(observations_store(conn, programme_id, 0, batch, &counts, "test"));
    exec("COMMIT");
    obs_batch_free(&batch);
}

static void store_roadmap(const char *doc, int y, int m, int d, int expected_version)
{
    double created = (double)date_from_ymd(y, m, d) * 86400.0 + 43200.0;
    int version = 0;
    exec("BEGIN");
    cr_assert(roadmap_store_add(conn, programme_id, doc, NULL, 0, created, &version, "test"));
    exec("COMMIT");
    cr_assert_eq(version, expected_version);
}

static int refresh(void)
{
    int computed = -1;
    cr_assert_eq(progress_service_refresh(conn, programme_id, true, &computed, "test"),
                 PROGRESS_SERVICE_OK);
    return computed;
}

static void setup(void)
{
    snprintf(clock_path, sizeof(clock_path), "/tmp/scaleupd-progress-clock.%d", (int)getpid());
    FILE *f = fopen(clock_path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%.0f\n", CLOCK_2025_07_15_NOON);
    fclose(f);
    setenv("SCALEUPD_TEST_CLOCK_FILE", clock_path, 1);
    conn = pgtest_fresh_database("scaleupd_test_progress_service");
    json_t *doc = json_loads(programme_doc, 0, NULL);
    json_t *problems = NULL;
    cr_assert_eq(programme_apply(conn, doc, &programme_id, &problems, "test"), PROGRAMME_CREATED);
    json_decref(problems);
    json_decref(doc);
    store(observations);
}

static void teardown(void)
{
    PQfinish(conn);
    unlink(clock_path);
}

TestSuite(progress_service, .init = setup, .fini = teardown);

/* A snapshot value: `column` of the (month, dimension, region code or NULL) row. */
static double snap(const char *column, const char *month, const char *dimension, const char *region)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM progress_snapshot WHERE period_start = '%s' AND dimension = '%s'"
             " AND region_id = coalesce((SELECT id FROM site WHERE code = '%s'), 0)",
             column, month, dimension, region ? region : "");
    return scalar_double(sql);
}

static char *snap_text(const char *column, const char *month, const char *dimension)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM progress_snapshot WHERE period_start = '%s' AND dimension = '%s'"
             " AND region_id = 0",
             column, month, dimension);
    return pgtest_scalar(conn, sql);
}

static void expect_status(const char *month, const char *dimension, const char *status)
{
    char *s = snap_text("status", month, dimension);
    cr_expect_str_eq(s, status, "%s %s", month, dimension);
    free(s);
}

Test(progress_service, versions_are_kept_and_listed)
{
    cr_expect_eq(progress_service_refresh(conn, programme_id, true, NULL, "test"),
                 PROGRESS_SERVICE_NO_ROADMAP);
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    store_roadmap(roadmap_v2, 2025, 5, 15, 2);
    json_t *doc = NULL;
    /* on 2025-05-14 version 1 is in force, from 2025-05-15 version 2 */
    cr_assert_eq(roadmap_store_get(conn, programme_id, 0, date_from_ymd(2025, 5, 14), &doc, "test"),
                 ROADMAP_STORE_OK);
    cr_expect_eq(json_integer_value(json_object_get(doc, "version")), 1);
    cr_expect_eq(json_array_size(json_object_get(doc, "versions")), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(doc, "roadmap"), "label")),
                     "v1");
    json_decref(doc);
    cr_assert_eq(roadmap_store_get(conn, programme_id, 0, date_from_ymd(2025, 5, 15), &doc, "test"),
                 ROADMAP_STORE_OK);
    cr_expect_eq(json_integer_value(json_object_get(doc, "version")), 2);
    cr_expect(json_is_true(
        json_object_get(json_array_get(json_object_get(doc, "versions"), 1), "in_force")));
    json_decref(doc);
    cr_expect_eq(roadmap_store_get(conn, programme_id, 3, date_from_ymd(2025, 5, 15), &doc, "test"),
                 ROADMAP_STORE_NONE);
    struct roadmap_versions set;
    cr_assert(roadmap_store_load(conn, programme_id, &set, "test"));
    cr_expect_eq(set.n, 2);
    cr_expect_eq(roadmap_versions_in_force(&set, date_from_ymd(2025, 3, 1))->version, 1);
    cr_expect_eq(roadmap_versions_in_force(&set, date_from_ymd(2025, 6, 1))->version, 2);
    roadmap_versions_release(&set);
}

Test(progress_service, snapshots_match_hand_computed_figures)
{
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    cr_expect_eq(refresh(), 6, "January to June 2025");
    cr_expect_eq(scalar_double("SELECT count(DISTINCT period_start) FROM progress_snapshot"), 6);
    /* June: (50 + 15 + 10) / (100 + 50 + 100) = 0.30 against 0.40 on 2025-07-01: at risk */
    cr_expect_float_eq(snap("actual", "2025-06-01", "coverage", NULL), 0.30, EPS);
    cr_expect_float_eq(snap("planned", "2025-06-01", "coverage", NULL), 0.40, EPS);
    cr_expect_float_eq(snap("gap", "2025-06-01", "coverage", NULL), -0.10, EPS);
    expect_status("2025-06-01", "coverage", "at_risk");
    cr_expect_float_eq(snap("(detail->>'sites_covered')::int", "2025-06-01", "coverage", NULL), 3,
                       EPS);
    /* May: C sent no denominator, so (45 + 10) / (100 + 50); planned on 2025-06-01, day 151 */
    cr_expect_float_eq(snap("actual", "2025-05-01", "coverage", NULL), 55.0 / 150.0, EPS);
    cr_expect_float_eq(snap("planned", "2025-05-01", "coverage", NULL), 0.10 + 0.30 * 151 / 181,
                       EPS);
    expect_status("2025-05-01", "coverage", "on_track");
    /* regions in June: Flanders 65 / 150, Wallonia 10 / 100 */
    cr_expect_float_eq(snap("actual", "2025-06-01", "coverage", "VLG"), 65.0 / 150.0, EPS);
    cr_expect_float_eq(snap("actual", "2025-06-01", "coverage", "WAL"), 0.10, EPS);
    /* expansion on 2025-07-01, window May-June: A, B, C active (D planned), 2 regions;
     * sites 3 against 4 planned is 25 % short: behind (at risk only beyond 25 %) */
    cr_expect_float_eq(snap("actual", "2025-06-01", "expansion", NULL), 3, EPS);
    cr_expect_float_eq(snap("planned", "2025-06-01", "expansion", NULL), 4, EPS);
    cr_expect_float_eq(snap("(detail->>'active_regions')::int", "2025-06-01", "expansion", NULL), 2,
                       EPS);
    expect_status("2025-06-01", "expansion", "behind");
    /* in February only A had adopted and reported: 1 site, 1 region, planned 1 + 3 * 59/181 */
    cr_expect_float_eq(snap("actual", "2025-02-01", "expansion", NULL), 1, EPS);
    cr_expect_float_eq(snap("planned", "2025-02-01", "expansion", NULL), 1.0 + 3.0 * 59 / 181, EPS);
    /* institutionalisation on 2025-07-01: fee 2/4 (Q2), nurse 1/2 (Q1): mean 0.5 = planned */
    cr_expect_float_eq(snap("actual", "2025-06-01", "institutionalisation", NULL), 0.5, EPS);
    expect_status("2025-06-01", "institutionalisation", "on_track");
    /* in March no quarter had ended: no item scored, no value (missing, not 0 %) */
    char *none = pgtest_scalar(conn, "SELECT coalesce(actual::text, 'null') || ' ' || status"
                                     " FROM progress_snapshot WHERE period_start = '2025-02-01'"
                                     " AND dimension = 'institutionalisation' AND region_id = 0");
    cr_expect_str_eq(none, "null no_data");
    free(none);
    cr_expect_eq(refresh(), 0, "nothing changed: nothing recomputed");
}

Test(progress_service, late_revision_recomputes_from_the_changed_month)
{
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    (void)refresh();
    char *computed_at = snap_text("computed_at::text", "2025-05-01", "coverage");
    /* Wallonia's C corrects June's denominator from 100 to 50 */
    store("{'indicator':'eligible','site':'C','period':'2025-06','value':50},");
    cr_expect_float_eq(scalar_double("SELECT since_period - date '2025-06-01' FROM progress_dirty"),
                       0, EPS);
    cr_expect_float_eq(scalar_double("SELECT count(*) FROM progress_dirty WHERE until_period ="
                                     " '2025-06-01' AND score_since IS NULL"),
                       1, EPS, "a value, not a score: June alone is marked");
    cr_expect_eq(refresh(), 1, "only June is recomputed");
    cr_expect_float_eq(snap("actual", "2025-06-01", "coverage", NULL), 75.0 / 200.0, EPS);
    expect_status("2025-06-01", "coverage", "behind"); /* gap -0.025 */
    cr_expect_float_eq(snap("actual", "2025-06-01", "coverage", "WAL"), 10.0 / 50.0, EPS);
    char *after = snap_text("computed_at::text", "2025-05-01", "coverage");
    cr_expect_str_eq(after, computed_at, "May was left alone");
    free(after);
    free(computed_at);
    cr_expect_float_eq(scalar_double("SELECT count(*) FROM progress_dirty"), 0, EPS);
    /* the evaluator's marks are not ours to consume */
    cr_expect_gt(scalar_double("SELECT count(*) FROM dirty_series"), 0);
    /* a revision of March recomputes March's coverage and the months whose two-month
     * activity window holds March: March and April, not May or June */
    computed_at = snap_text("computed_at::text", "2025-05-01", "coverage");
    store("{'indicator':'enrolled','site':'A','period':'2025-03','value':38},");
    cr_expect_eq(refresh(), 2);
    cr_expect_float_eq(snap("actual", "2025-03-01", "coverage", NULL), 40.0 / 200.0, EPS);
    after = snap_text("computed_at::text", "2025-05-01", "coverage");
    cr_expect_str_eq(after, computed_at, "May does not read March");
    free(after);
    free(computed_at);
    /* a revised score of 2025Q2 counts for every month from April on */
    store("{'indicator':'fee','site':'BE','period':'2025Q2','value':3,'comment':'adopted'},");
    cr_expect_float_eq(scalar_double("SELECT score_since - date '2025-04-01' FROM progress_dirty"),
                       0, EPS);
    cr_expect_eq(refresh(), 3, "April to June");
    cr_expect_float_eq(snap("actual", "2025-06-01", "institutionalisation", NULL),
                       (3.0 / 4.0 + 1.0 / 2.0) / 2.0, EPS);
}

Test(progress_service, version_change_mid_history)
{
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    (void)refresh();
    store_roadmap(roadmap_v2, 2025, 5, 15, 2);
    cr_expect_eq(refresh(), 6, "a new version recomputes the whole history");
    /* April's snapshot speaks for 2025-05-01 (day 120): version 1 */
    cr_expect_float_eq(snap("roadmap_version", "2025-04-01", "coverage", NULL), 1, EPS);
    cr_expect_float_eq(snap("planned", "2025-04-01", "coverage", NULL), 0.10 + 0.30 * 120 / 181,
                       EPS);
    /* May's speaks for 2025-06-01 (day 151): version 2 */
    cr_expect_float_eq(snap("roadmap_version", "2025-05-01", "coverage", NULL), 2, EPS);
    cr_expect_float_eq(snap("planned", "2025-05-01", "coverage", NULL), 0.10 + 0.20 * 151 / 181,
                       EPS);
    /* June: 0.30 against version 2's 0.30 is on track (it was at risk against version 1) */
    expect_status("2025-06-01", "coverage", "on_track");
    /* version 2 plans coverage only */
    cr_expect_float_eq(scalar_double("SELECT count(*) FROM progress_snapshot WHERE period_start"
                                     " >= '2025-05-01' AND dimension <> 'coverage'"),
                       0, EPS);
    json_t *doc = NULL;
    cr_assert_eq(progress_service_history(conn, programme_id, false, &doc), PROGRESS_SERVICE_OK);
    json_t *points =
        json_object_get(json_object_get(json_object_get(doc, "dimensions"), "coverage"), "points");
    cr_expect_eq(json_array_size(points), 6);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(points, 5), "roadmap_version")),
                 2);
    json_t *plans =
        json_object_get(json_object_get(json_object_get(doc, "dimensions"), "coverage"), "plans");
    cr_expect_eq(json_array_size(plans), 2);
    json_decref(doc);
}

Test(progress_service, membership_change_recomputes)
{
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    (void)refresh();
    /* D joins in June but sends nothing: Wallonia has 1 of 2 adopted sites active */
    exec("UPDATE membership SET status = 'active', adopted_on = '2025-06-01'"
         " WHERE site_id = (SELECT id FROM site WHERE code = 'D')");
    cr_expect_eq(refresh(), 6);
    cr_expect_float_eq(snap("actual", "2025-06-01", "expansion", "WAL"), 1, EPS);
    cr_expect_float_eq(snap("planned", "2025-06-01", "expansion", "WAL"), 2, EPS);
    char sql[] =
        "SELECT status FROM progress_snapshot WHERE period_start = '2025-06-01' AND"
        " dimension = 'expansion' AND region_id = (SELECT id FROM site WHERE code = 'WAL')";
    char *status = pgtest_scalar(conn, sql);
    cr_expect_str_eq(status, "at_risk");
    free(status);
}

static json_t *dimension(json_t *doc, const char *name)
{
    return json_object_get(json_object_get(doc, "dimensions"), name);
}

static double number(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

Test(progress_service, progress_now_with_regions_and_items)
{
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    (void)refresh();
    int32_t today;
    cr_assert(progress_service_today(conn, programme_id, &today));
    cr_expect_eq(today, date_from_ymd(2025, 7, 15));
    json_t *doc = NULL;
    cr_assert_eq(progress_service_get(conn, programme_id, today, true, &doc), PROGRESS_SERVICE_OK);
    json_t *cov = dimension(doc, "coverage");
    cr_expect_float_eq(number(cov, "actual"), 0.30, EPS);
    cr_expect_float_eq(number(cov, "planned"), 0.40, EPS); /* flat after the last milestone */
    cr_expect_float_eq(number(cov, "progress"), (0.30 - 0.10) / (0.40 - 0.10), EPS);
    cr_expect_str_eq(json_string_value(json_object_get(cov, "status")), "at_risk");
    cr_expect_str_eq(json_string_value(json_object_get(cov, "period")), "2025-06");
    cr_expect_float_eq(number(cov, "sites_covered"), 3, EPS);
    json_t *exp = dimension(doc, "expansion");
    cr_expect_str_eq(json_string_value(json_object_get(exp, "status")), "behind");
    cr_expect_float_eq(number(json_object_get(exp, "sites"), "actual"), 3, EPS);
    cr_expect_float_eq(number(json_object_get(exp, "regions"), "actual"), 2, EPS);
    json_t *inst = dimension(doc, "institutionalisation");
    cr_expect_float_eq(number(inst, "actual"), 0.5, EPS);
    json_t *fee = json_array_get(json_object_get(inst, "items"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(fee, "key")), "fee-code");
    cr_expect_float_eq(number(fee, "ratio"), 0.5, EPS);
    cr_expect(json_is_true(json_object_get(fee, "overdue")), "due 2025-06-30, half way");
    cr_expect_str_eq(json_string_value(json_object_get(fee, "comment")), "stalled in committee");
    json_t *regions = json_object_get(doc, "regions");
    cr_assert_eq(json_array_size(regions), 2);
    json_t *vlg = json_array_get(regions, 0);
    cr_expect_str_eq(json_string_value(json_object_get(vlg, "code")), "VLG");
    cr_expect_float_eq(number(json_object_get(vlg, "coverage"), "actual"), 65.0 / 150.0, EPS);
    cr_expect_float_eq(number(json_object_get(vlg, "expansion"), "active_sites"), 2, EPS);
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(regions, 1), "coverage"), "status")),
                     "at_risk");
    cr_expect_str_eq(
        json_string_value(json_object_get(json_object_get(doc, "lagging_region"), "code")), "WAL");
    json_decref(doc);
    /* at 2025-04-10 the latest complete month is March: (30 + 2) / 200 */
    cr_assert_eq(progress_service_get(conn, programme_id, date_from_ymd(2025, 4, 10), false, &doc),
                 PROGRESS_SERVICE_OK);
    cr_expect_float_eq(number(dimension(doc, "coverage"), "actual"), 32.0 / 200.0, EPS);
    cr_expect_float_eq(number(dimension(doc, "coverage"), "planned"), 0.10 + 0.30 * 99 / 181, EPS);
    cr_expect_null(json_object_get(doc, "regions"));
    json_decref(doc);
}

Test(progress_service, one_refresh_at_a_time_per_programme)
{
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    char err[256], sql[128];
    PGconn *other = db_connect(pgtest_conninfo("scaleupd_test_progress_service"), err, sizeof(err));
    cr_assert_not_null(other, "%s", err);
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(7242004, %lld)", (long long)programme_id);
    cr_assert(db_exec(other, sql, err, sizeof(err)), "%s", err);
    int computed = -1;
    cr_expect_eq(progress_service_refresh(conn, programme_id, false, &computed, "test"),
                 PROGRESS_SERVICE_BUSY);
    cr_expect_eq(progress_service_refresh_all(conn, NULL, NULL, NULL), 0,
                 "the busy programme is skipped");
    cr_expect_float_eq(scalar_double("SELECT count(*) FROM progress_snapshot"), 0, EPS);
    /* unlock explicitly: PQfinish returns before the server has ended the session, so its
     * lock may outlive the call for a moment on a busy machine */
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(7242004, %lld)", (long long)programme_id);
    cr_assert(db_exec(other, sql, err, sizeof(err)), "%s", err);
    PQfinish(other);
    cr_expect_eq(progress_service_refresh_all(conn, NULL, NULL, NULL), 6);
    cr_expect_float_eq(scalar_double("SELECT count(*) FROM progress_dirty"), 0, EPS);
}

/* ---- in the background, never on a read ---------------------------------------------- */

static json_t *read_progress(void)
{
    json_t *doc = NULL;
    cr_assert_eq(progress_service_read(conn, programme_id, NULL, false, &doc, "test"),
                 PROGRESS_SERVICE_OK);
    return doc;
}

static double coverage_actual(json_t *doc)
{
    return number(dimension(doc, "coverage"), "actual");
}

Test(progress_service, reads_answer_from_the_snapshots_and_never_compute)
{
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    long before = progress_service_months_computed();
    json_t *doc = read_progress();
    cr_expect(json_is_true(json_object_get(doc, "stale")), "nothing computed yet");
    cr_expect(json_is_string(json_object_get(doc, "pending_since")));
    cr_expect(json_is_null(json_object_get(doc, "as_of")), "no refresh yet");
    cr_expect(json_is_null(json_object_get(dimension(doc, "coverage"), "actual")),
              "no snapshot: no data, never a zero");
    json_decref(doc);
    cr_expect_eq(progress_service_months_computed(), before, "the read computed nothing");
    cr_expect_eq(refresh(), 6);
    cr_expect_eq(progress_service_months_computed(), before + 6);
    doc = read_progress();
    cr_expect(json_is_false(json_object_get(doc, "stale")));
    cr_expect(json_is_null(json_object_get(doc, "pending_since")));
    cr_expect(json_is_string(json_object_get(doc, "as_of")));
    cr_expect_float_eq(coverage_actual(doc), 0.30, EPS);
    char *as_of = xstrdup(json_string_value(json_object_get(doc, "as_of")));
    json_decref(doc);
    /* June's denominator of C is revised: the read still answers the stored June, stale */
    store("{'indicator':'eligible','site':'C','period':'2025-06','value':50},");
    for (int i = 0; i < 3; i++) {
        doc = read_progress();
        cr_expect(json_is_true(json_object_get(doc, "stale")));
        cr_expect(json_is_string(json_object_get(doc, "pending_since")));
        cr_expect_str_eq(json_string_value(json_object_get(doc, "as_of")), as_of);
        cr_expect_float_eq(coverage_actual(doc), 0.30, EPS, "the previous snapshot");
        json_decref(doc);
        json_t *history = NULL;
        cr_assert_eq(progress_service_read_history(conn, programme_id, false, &history, "test"),
                     PROGRESS_SERVICE_OK);
        cr_expect(json_is_true(json_object_get(history, "stale")));
        json_decref(history);
    }
    cr_expect_eq(progress_service_months_computed(), before + 6, "reads computed nothing");
    /* the background refresh brings it up to date */
    cr_expect_eq(progress_service_refresh_all(conn, NULL, NULL, NULL), 1, "June alone");
    cr_expect_eq(progress_service_months_computed(), before + 7);
    doc = read_progress();
    cr_expect(json_is_false(json_object_get(doc, "stale")));
    cr_expect_float_eq(coverage_actual(doc), 75.0 / 200.0, EPS);
    cr_expect_str_neq(json_string_value(json_object_get(doc, "as_of")), as_of);
    json_decref(doc);
    free(as_of);
}

/* Two refreshers, each with its own session as two daemons would have, started together on
 * the same marks: the programme's claim lets one of them compute each change. */
struct refresher {
    pthread_barrier_t *start;
    const char *conninfo; /* pgtest_conninfo's buffer is shared: read it before the threads */
    int computed;
    char err[256];
};

static void *run_refresher(void *arg)
{
    struct refresher *r = arg;
    PGconn *own = db_connect(r->conninfo, r->err, sizeof(r->err));
    pthread_barrier_wait(r->start);
    r->computed = own != NULL ? progress_service_refresh_all(own, NULL, NULL, NULL) : -1;
    if (own != NULL && r->computed < 0)
        snprintf(r->err, sizeof(r->err), "%s", PQerrorMessage(own));
    PQfinish(own);
    return NULL;
}

Test(progress_service, concurrent_refreshers_never_compute_a_change_twice)
{
    store_roadmap(roadmap_v1, 2025, 1, 1, 1);
    (void)refresh();
    for (int round = 0; round < 12; round++) {
        char row[160];
        snprintf(row, sizeof(row),
                 "{'indicator':'eligible','site':'C','period':'2025-06','value':%d},", 60 + round);
        store(row);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        char conninfo[1200];
        snprintf(conninfo, sizeof(conninfo), "%s",
                 pgtest_conninfo("scaleupd_test_progress_service"));
        struct refresher a = {&start, conninfo, 0, ""}, b = {&start, conninfo, 0, ""};
        pthread_t ta, tb;
        cr_assert_eq(pthread_create(&ta, NULL, run_refresher, &a), 0);
        cr_assert_eq(pthread_create(&tb, NULL, run_refresher, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&start);
        cr_assert(a.computed >= 0 && b.computed >= 0, "round %d: a refresher failed: %s%s", round,
                  a.computed < 0 ? a.err : "", b.computed < 0 ? b.err : "");
        /* a refresher that found the claim taken skipped the programme; one that came after
         * found no mark left: June is computed once per change */
        cr_expect_eq(a.computed + b.computed, 1, "round %d: %d + %d months", round, a.computed,
                     b.computed);
    }
    cr_expect_float_eq(scalar_double("SELECT count(*) FROM progress_dirty"), 0, EPS);
    cr_expect_float_eq(snap("actual", "2025-06-01", "coverage", "WAL"), 10.0 / 71.0, EPS);
}

/* A refresh that gives way to requests after its first chunk leaves the rest marked, exactly. */
static bool always_yield(void *arg)
{
    int *asked = arg;
    (*asked)++;
    return true;
}

Test(progress_service, a_refresh_gives_way_and_leaves_the_rest_marked)
{
    /* a baseline three and a half years back: 42 months to compute, in chunks of 12 */
    static const char old_roadmap[] =
        "{\"programme\":\"prog\",\"baseline_date\":\"2022-01-01\","
        "\"coverage\":{\"numerator\":\"enrolled\",\"denominator\":\"eligible\",\"baseline\":0.1,"
        "\"milestones\":[{\"date\":\"2025-07-01\",\"target\":0.4}]}}";
    store_roadmap(old_roadmap, 2022, 1, 1, 1);
    int asked = 0;
    bool more = false;
    cr_expect_eq(progress_service_refresh_all(conn, always_yield, &asked, &more), 12);
    cr_expect(more, "months are left");
    cr_expect_gt(asked, 0);
    json_t *doc = read_progress();
    cr_expect(json_is_true(json_object_get(doc, "stale")), "a refresh is still due");
    json_decref(doc);
    int total = 12;
    for (int run = 0; run < 8 && more; run++)
        total += progress_service_refresh_all(conn, always_yield, &asked, &more);
    cr_expect_not(more);
    cr_expect_eq(total, 42, "January 2022 to June 2025, each month once");
    cr_expect_float_eq(scalar_double("SELECT count(DISTINCT period_start) FROM progress_snapshot"),
                       42, EPS);
    cr_expect_float_eq(snap("actual", "2025-06-01", "coverage", NULL), 0.30, EPS);
    doc = read_progress();
    cr_expect(json_is_false(json_object_get(doc, "stale")));
    json_decref(doc);
}
