/*
 * Rollups against a real PostgreSQL: after random inserts, revisions, late data and unchanged
 * replays through the ingest write path, and deletions as a delete would mark them (no import
 * path deletes yet), every rollup (value fields, numerator,
 * denominator, observations covered, the value received last) equals the same aggregate
 * computed from the observations by a scan; a revision recomputes only the rollups of its
 * period; a new hierarchy rebuilds them; a read sees what was committed before it; folds of
 * any number of marks (one batch, a few, a bulk load's pile) give the same rollups; while
 * requests are served the background service lets marks pile up, within its bounds.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/services/ingest.h"
#include "scaleupd/services/programme_apply.h"
#include "scaleupd/services/rollups.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/observations.h"
#include "scaleupd/storage/observations_delete.h"
#include "scaleupd/storage/observations_read.h"
#include "scaleupd/storage/rollup_store.h"

static PGconn *conn;
static int64_t programme_id;

/* country → 3 regions → 2 districts each → 3 practices each (18), a practice straight under
 * a region, and districts that report their own values too. */
#define N_REGIONS 3
#define N_DISTRICTS 2
#define N_PRACTICES 3
#define N_PERIODS 8

static const char *const indicators[] = {"enrolled", "tested_pct", "wait_days", "fee_code"};
#define N_INDICATORS 4

/* The programme document with every practice under `moved_to` district for practice GP-1-1-1
 * (to move one practice to another parent); with `swapped`, GP-1-1-3 is active and GP-1-2-1
 * planned (to change who is in the aggregates). */
static char *programme_text(const char *moved_parent, bool swapped)
{
    json_t *sites = json_array();
    json_array_append_new(
        sites, json_pack("{s:s,s:s,s:s}", "code", "C", "name", "Country", "level", "country"));
    char code[32], parent[32];
    for (int r = 1; r <= N_REGIONS; r++) {
        snprintf(code, sizeof(code), "R%d", r);
        json_array_append_new(sites, json_pack("{s:s,s:s,s:s,s:s}", "code", code, "name", code,
                                               "level", "region", "parent", "C"));
        snprintf(code, sizeof(code), "GP-%d-0", r);
        snprintf(parent, sizeof(parent), "R%d", r);
        json_array_append_new(sites, json_pack("{s:s,s:s,s:s,s:s}", "code", code, "name", code,
                                               "level", "practice", "parent", parent));
        for (int d = 1; d <= N_DISTRICTS; d++) {
            snprintf(code, sizeof(code), "D%d-%d", r, d);
            json_array_append_new(sites, json_pack("{s:s,s:s,s:s,s:s}", "code", code, "name", code,
                                                   "level", "district", "parent", parent));
            for (int p = 1; p <= N_PRACTICES; p++) {
                char gp[32], dp[32];
                snprintf(gp, sizeof(gp), "GP-%d-%d-%d", r, d, p);
                snprintf(dp, sizeof(dp), "D%d-%d", r, d);
                const char *at = strcmp(gp, "GP-1-1-1") == 0 && moved_parent ? moved_parent : dp;
                bool planned = p == 3;
                if (swapped && (strcmp(gp, "GP-1-1-3") == 0 || strcmp(gp, "GP-1-2-1") == 0))
                    planned = !planned;
                json_array_append_new(sites, json_pack("{s:s,s:s,s:s,s:s,s:s}", "code", gp, "name",
                                                       gp, "level", "practice", "parent", at,
                                                       "status", planned ? "planned" : "active"));
            }
        }
    }
    json_t *doc = json_pack(
        "{s:s,s:s,s:o,s:[{s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,s:s},"
        "{s:s,s:s,s:s,s:s,s:s}]}",
        "slug", "rollups", "name", "Rollups", "sites", sites, "indicators", "code", "enrolled",
        "name", "Enrolled", "value_type", "count", "period_type", "monthly", "aggregate", "sum",
        "code", "tested_pct", "name", "Tested", "value_type", "percentage", "period_type",
        "monthly", "aggregate", "weighted", "code", "wait_days", "name", "Wait", "value_type",
        "ratio", "period_type", "monthly", "aggregate", "mean", "code", "fee_code", "name", "Fee",
        "value_type", "score", "period_type", "monthly", "aggregate", "last");
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static int64_t apply_swapped(const char *moved_parent, bool swapped, enum programme_result expected)
{
    char *text = programme_text(moved_parent, swapped);
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    json_t *problems = NULL;
    int64_t id = 0;
    enum programme_result r = programme_apply(conn, doc, &id, &problems, "test");
    cr_assert(r == expected, "programme_apply: %d", (int)r);
    json_decref(problems);
    json_decref(doc);
    return id;
}

static int64_t apply(const char *moved_parent, enum programme_result expected)
{
    return apply_swapped(moved_parent, false, expected);
}

static void setup(void)
{
    conn = pgtest_fresh_database("scaleupd_test_rollups");
    programme_id = apply(NULL, PROGRAMME_CREATED);
    observations_set_copy_min_rows(1); /* small batches take the COPY path too */
    srand(20261201);
}

static void teardown(void)
{
    observations_set_copy_min_rows(64);
    PQfinish(conn);
}

TestSuite(rollups, .init = setup, .fini = teardown);

static long scalar_long(const char *sql)
{
    char *v = pgtest_scalar(conn, sql);
    cr_assert_not_null(v, "%s returned NULL", sql);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* Stores the JSON observations (without the enclosing document) in one transaction. */
static void store(const char *rows)
{
    size_t len = strlen(rows) + 32;
    char *json = malloc(len);
    cr_assert_not_null(json);
    snprintf(json, len, "{\"observations\":[%s]}", rows);
    struct obs_batch *batch = obs_batch_new();
    struct obs_parse_error perr;
    enum ingest_status st =
        ingest_prepare(conn, programme_id, OBS_FORMAT_JSON, json, strlen(json), batch, &perr);
    cr_assert(st == INGEST_OK, "ingest_prepare: %s %s", perr.code, perr.message);
    cr_assert_eq(batch->n_rejects, 0, "%s", batch->n_rejects ? batch->rejects[0].message : "");
    struct observations_counts c;
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_store(conn, programme_id, 0, batch, &c, "test"));
    cr_assert(db_commit(conn, "test"));
    observations_committed();
    obs_batch_free(&batch);
    free(json);
}

/* A random site that can report: a practice or a district. */
static void random_site(char *out, size_t size)
{
    int r = 1 + rand() % N_REGIONS, d = rand() % (N_DISTRICTS + 1), p = 1 + rand() % N_PRACTICES;
    if (d == 0)
        snprintf(out, size, "GP-%d-0", r);
    else if (rand() % 8 == 0)
        snprintf(out, size, "D%d-%d", r, d);
    else
        snprintf(out, size, "GP-%d-%d-%d", r, d, p);
}

/* One random observation as JSON, appended to buf, with a key not in keys (a batch names a
 * key once); late data, revisions and replays come from the small key space. */
static void random_row(char *buf, size_t size, char keys[][64], int *n_keys)
{
    char site[32], key[64];
    const char *indicator;
    int month;
    bool seen;
    do {
        random_site(site, sizeof(site));
        indicator = indicators[rand() % N_INDICATORS];
        month = 1 + rand() % N_PERIODS;
        snprintf(key, sizeof(key), "%s/%s/%d", site, indicator, month);
        seen = false;
        for (int k = 0; k < *n_keys && !seen; k++)
            seen = strcmp(keys[k], key) == 0;
    } while (seen);
    memcpy(keys[(*n_keys)++], key, sizeof(key));
    double value = strcmp(indicator, "fee_code") == 0     ? rand() % 5
                   : strcmp(indicator, "enrolled") == 0   ? rand() % 100000
                   : strcmp(indicator, "tested_pct") == 0 ? (rand() % 401) / 4.0
                                                          : (rand() % 4000) / 4.0;
    size_t at = strlen(buf);
    if (strcmp(indicator, "tested_pct") == 0 && rand() % 4 != 0) {
        int den = 1 + rand() % 200, num = rand() % (den + 1);
        snprintf(buf + at, size - at,
                 "%s{\"indicator\":\"%s\",\"site\":\"%s\",\"period\":\"2025-%02d\","
                 "\"value\":%g,\"numerator\":%d,\"denominator\":%d}",
                 at ? "," : "", indicator, site, month, 100.0 * num / den, num, den);
    } else {
        snprintf(buf + at, size - at,
                 "%s{\"indicator\":\"%s\",\"site\":\"%s\",\"period\":\"2025-%02d\","
                 "\"value\":%g}",
                 at ? "," : "", indicator, site, month, value);
    }
}

/* Deletes a random observation: mostly through the delete of the import path
 * (observations_delete, whose rollup mark says removed), one time in three as a mark written
 * before sql/029 (removed unknown), which the fold looks up. */
static void random_delete(void)
{
    char sql[1024];
    bool old_style = rand() % 3 == 0;
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM observation o JOIN series se ON se.programme_id = o.programme_id"
             " AND se.id = o.series_id JOIN indicator i ON i.id = se.indicator_id"
             " JOIN site s ON s.id = se.site_id WHERE o.programme_id = %lld"
             " ORDER BY md5(o.series_id::text || o.period_start::text || '%d') LIMIT 1",
             old_style ? "o.series_id || ' ' || o.period_start"
                       : "format('{\"observations\":[{\"indicator\":\"%s\","
                         "\"site\":\"%s\",\"period\":\"%s\",\"value\":0}]}',"
                         " i.code, s.code, to_char(o.period_start, 'YYYY-MM'))",
             (long long)programme_id, rand());
    char *picked = pgtest_scalar(conn, sql);
    if (old_style) {
        char *space = strchr(picked, ' ');
        cr_assert_not_null(space);
        *space = '\0';
        snprintf(sql, sizeof(sql),
                 "WITH gone AS (DELETE FROM observation WHERE programme_id = %lld"
                 " AND series_id = %s AND period_start = '%s' RETURNING series_id, period_start)"
                 " INSERT INTO rollup_dirty (programme_id, series_ids, periods)"
                 " SELECT %lld, array_agg(series_id), array_agg(period_start) FROM gone"
                 " HAVING count(*) > 0 RETURNING id",
                 (long long)programme_id, picked, space + 1, (long long)programme_id);
        free(pgtest_scalar(conn, sql));
        free(picked);
        return;
    }
    struct obs_batch *batch = obs_batch_new();
    struct obs_parse_error perr;
    enum ingest_status st =
        ingest_prepare(conn, programme_id, OBS_FORMAT_JSON, picked, strlen(picked), batch, &perr);
    cr_assert(st == INGEST_OK, "ingest_prepare: %s %s", perr.code, perr.message);
    long deleted = 0;
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_delete(conn, programme_id, 0, batch, NULL, &deleted, "test"));
    cr_assert(db_commit(conn, "test"));
    cr_assert_eq(deleted, 1, "%s", picked);
    obs_batch_free(&batch);
    free(picked);
}

/* The rollups that differ from the same aggregate computed from the observations of every
 * site but the planned ones (over the parents, not site_tree), either way: missing, extra, or
 * with another value. */
static const char SQL_MISMATCHES[] =
    "WITH RECURSIVE up (ancestor_id, site_id) AS ("
    " SELECT parent_id, id FROM site WHERE programme_id = $1 AND parent_id IS NOT NULL"
    " UNION SELECT s.parent_id, u.site_id FROM up u JOIN site s ON s.programme_id = $1"
    "  AND s.id = u.ancestor_id WHERE s.parent_id IS NOT NULL"
    "), scan AS ("
    " SELECT se.indicator_id, u.ancestor_id AS site_id, o.period_start, count(*) AS sites,"
    "  sum(o.value::text::numeric) AS total,"
    "  sum(o.numerator::text::numeric) FILTER (WHERE o.numerator IS NOT NULL"
    "   AND o.denominator IS NOT NULL) AS numerator,"
    "  sum(o.denominator::text::numeric) FILTER (WHERE o.numerator IS NOT NULL"
    "   AND o.denominator IS NOT NULL) AS denominator,"
    "  count(*) FILTER (WHERE o.numerator IS NOT NULL AND o.denominator IS NOT NULL)"
    "   AS weighted_sites,"
    "  (array_agg(o.value ORDER BY o.received_at DESC, o.series_id DESC))[1] AS latest_value"
    " FROM observation o JOIN series se ON se.programme_id = o.programme_id"
    "  AND se.id = o.series_id JOIN up u ON u.site_id = se.site_id"
    " WHERE o.programme_id = $1 AND NOT EXISTS (SELECT 1 FROM membership m"
    "  WHERE m.programme_id = $1 AND m.site_id = se.site_id AND m.status = 'planned')"
    " GROUP BY 1, 2, 3"
    "), r AS (SELECT * FROM rollup WHERE programme_id = $1)"
    " SELECT count(*) FILTER (WHERE scan.sites IS NULL OR r.sites IS NULL"
    "  OR (scan.sites, scan.total, scan.numerator, scan.denominator, scan.weighted_sites,"
    "   scan.latest_value) IS DISTINCT FROM (r.sites, r.total, r.numerator, r.denominator,"
    "   r.weighted_sites, r.latest_value)),"
    " count(*)"
    " FROM scan FULL JOIN r ON r.indicator_id = scan.indicator_id"
    "  AND r.site_id = scan.site_id AND r.period_start = scan.period_start";

/* The rows of site_sent that differ from what each site's observations say it sent. */
static const char SQL_SENT_MISMATCHES[] =
    "WITH scan AS ("
    " SELECT se.site_id, o.period_start, array_agg(se.indicator_id ORDER BY se.indicator_id)"
    "  AS ids FROM observation o JOIN series se ON se.programme_id = o.programme_id"
    "  AND se.id = o.series_id WHERE o.programme_id = $1 GROUP BY 1, 2"
    "), t AS (SELECT * FROM site_sent WHERE programme_id = $1 AND indicator_ids <> '{}')"
    " SELECT count(*) FILTER (WHERE scan.ids IS DISTINCT FROM t.indicator_ids), count(*)"
    " FROM scan FULL JOIN t ON t.site_id = scan.site_id AND t.period_start = scan.period_start";

/* The series whose latest period (series_latest) differs from their observations' latest,
 * or that hold values and have no time of last change. */
static const char SQL_LATEST_MISMATCHES[] =
    "SELECT count(*) FILTER (WHERE l.last_period IS DISTINCT FROM o.period"
    "  OR (o.period IS NOT NULL AND l.last_changed_at IS NULL)), count(*)"
    " FROM series se LEFT JOIN series_latest l ON l.programme_id = se.programme_id"
    "  AND l.series_id = se.id"
    " CROSS JOIN LATERAL (SELECT max(period_start) AS period FROM observation o"
    "  WHERE o.programme_id = se.programme_id AND o.series_id = se.id) o"
    " WHERE se.programme_id = $1 AND (o.period IS NOT NULL OR l.series_id IS NOT NULL)";

/* Runs a (mismatches, rows) statement of programme $1 and fails with what differs. */
static long check_statement(const char *sql, const char *what, const char *when)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *v[] = {pid};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, v, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(conn));
    long mismatches = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    long rows = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    cr_assert_eq(mismatches, 0, "%s: %ld of %ld %s differ from the scan", when, mismatches, rows,
                 what);
    return rows;
}

/* Folds every mark and checks the rollups, and what each site sent, against the scan;
 * returns how many rollups there are. */
static long check_equal_to_scan(const char *when)
{
    struct rollup_stats stats = {0};
    cr_assert_eq(rollup_store_fold(conn, programme_id, 100000, true, &stats, "test"),
                 ROLLUP_FOLDED);
    cr_assert_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), 0);
    (void)check_statement(SQL_SENT_MISMATCHES, "sites' periods sent", when);
    (void)check_statement(SQL_LATEST_MISMATCHES, "series' latest periods", when);
    return check_statement(SQL_MISMATCHES, "rollups", when);
}

/* Folds the oldest 1 to 4 marks, as the background and reads do between batches: the rollups
 * the rest name are then brought up to date by later folds, over rollups already folded. */
static void fold_some(void)
{
    struct rollup_stats stats = {0};
    cr_assert_eq(rollup_store_fold(conn, programme_id, 1 + rand() % 4, true, &stats, "test"),
                 ROLLUP_FOLDED);
}

Test(rollups, equal_to_a_scan_after_random_inserts_revisions_late_data_and_deletions)
{
    char batch[64 * 1024];
    long rollups = 0;
    for (int round = 0; round < 40; round++) {
        batch[0] = '\0';
        char keys[60][64];
        int n_keys = 0, rows = 1 + rand() % 60;
        for (int i = 0; i < rows; i++)
            random_row(batch, sizeof(batch), keys, &n_keys);
        store(batch);
        for (int d = round % 2 ? 1 + rand() % 3 : 0; d > 0; d--)
            random_delete();
        if (rand() % 3 == 0) /* otherwise the marks pile up, as in a bulk load */
            fold_some();
        if (round % 10 == 9)
            rollups = check_equal_to_scan("after a round");
    }
    cr_expect_gt(rollups, 100, "the test should cover many rollups, got %ld", rollups);
    cr_expect_gt(scalar_long("SELECT count(*) FROM observation_revision"), 10,
                 "the random batches should revise values");
}

/* Every reporting site reports every indicator in every period (values from the seed). */
static void store_everything(void)
{
    char batch[64 * 1024];
    for (int month = 1; month <= N_PERIODS; month++) {
        batch[0] = '\0';
        for (int r = 1; r <= N_REGIONS; r++)
            for (int d = 0; d <= N_DISTRICTS; d++)
                for (int p = 1; p <= (d ? N_PRACTICES : 1); p++) {
                    size_t at = strlen(batch);
                    char site[32];
                    if (d == 0)
                        snprintf(site, sizeof(site), "GP-%d-0", r);
                    else
                        snprintf(site, sizeof(site), "GP-%d-%d-%d", r, d, p);
                    snprintf(batch + at, sizeof(batch) - at,
                             "%s{\"indicator\":\"enrolled\",\"site\":\"%s\",\"period\":"
                             "\"2025-%02d\",\"value\":%d}",
                             at ? "," : "", site, month, rand() % 1000);
                }
        store(batch);
    }
}

static json_t *series(const char *indicator, const char *site)
{
    struct series_query q = {programme_id, indicator, site, false, NULL, NULL, "test", false};
    json_t *doc = NULL;
    cr_assert_eq(observations_series(conn, &q, &doc), SERIES_OK);
    return doc;
}

Test(rollups, a_revision_recomputes_only_the_rollups_of_its_period)
{
    store_everything();
    (void)check_equal_to_scan("after the load");
    long before = scalar_long("SELECT count(*) FROM rollup");
    store("{\"indicator\":\"enrolled\",\"site\":\"GP-1-1-1\",\"period\":\"2025-01\","
          "\"value\":123456}");
    struct rollup_stats stats = {0};
    cr_assert_eq(rollup_store_fold(conn, programme_id, 100, true, &stats, "test"), ROLLUP_FOLDED);
    /* its district, its region and the country, for January: the three rollups of its
     * ancestors for that period, each summing its children, never the practices below them */
    cr_expect_eq(stats.marks, 1);
    cr_expect_eq(stats.keys, 3, "recomputed %ld rollups", stats.keys);
    cr_expect_eq(stats.written, 3);
    cr_expect_leq(stats.parts, N_PRACTICES + (N_DISTRICTS + 1) + N_REGIONS,
                  "read %ld parts to recompute three rollups", stats.parts);
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup"), before);
    (void)check_equal_to_scan("after the revision");
}

Test(rollups, a_read_sees_what_was_committed_before_it)
{
    store_everything();
    long marks = scalar_long("SELECT count(*) FROM rollup_dirty");
    cr_assert_gt(marks, 0, "nothing folded in the background here");
    json_t *doc = series("enrolled", "R2");
    char *expected = pgtest_scalar(
        conn, "SELECT sum(o.value) FROM observation o JOIN series se ON se.id = o.series_id"
              " JOIN site s ON s.id = se.site_id WHERE s.code LIKE 'GP-2-%'"
              " AND NOT EXISTS (SELECT 1 FROM membership m WHERE m.site_id = s.id"
              " AND m.status = 'planned')"
              " AND o.period_start = '2025-03-01'");
    json_t *march = json_array_get(json_object_get(doc, "points"), 2);
    cr_assert_str_eq(json_string_value(json_object_get(march, "period_start")), "2025-03-01");
    cr_expect_float_eq(json_number_value(json_object_get(march, "value")), strtod(expected, NULL),
                       1e-9);
    /* n of m: the region's 7 practices report, but the point leaves out the 2 planned ones
     * (their values stay on their own charts), and it expects as many: its 4 members that are
     * not planned and GP-2-0, no member, which sends the indicator */
    cr_expect_eq(json_integer_value(json_object_get(march, "sites_reporting")), 5);
    cr_expect_eq(json_integer_value(json_object_get(doc, "sites_expected")), 5);
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), 0);
    free(expected);
    json_decref(doc);
}

/* A weighted point is Σ numerators ÷ Σ denominators of the sites that sent both: its "n" counts
 * those, not every site that sent a value, here and in the region above (a rollup of rollups);
 * a period where none sent both is no point. */
Test(rollups, a_weighted_point_counts_the_sites_that_sent_its_numerator_and_denominator)
{
    store("{\"indicator\":\"tested_pct\",\"site\":\"GP-1-1-1\",\"period\":\"2025-02\","
          "\"value\":50,\"numerator\":10,\"denominator\":20},"
          "{\"indicator\":\"tested_pct\",\"site\":\"GP-1-1-2\",\"period\":\"2025-02\","
          "\"value\":90},"
          "{\"indicator\":\"tested_pct\",\"site\":\"GP-1-2-1\",\"period\":\"2025-02\","
          "\"value\":25,\"numerator\":5,\"denominator\":20},"
          "{\"indicator\":\"tested_pct\",\"site\":\"GP-1-1-1\",\"period\":\"2025-03\","
          "\"value\":70},"
          "{\"indicator\":\"tested_pct\",\"site\":\"GP-1-1-2\",\"period\":\"2025-03\","
          "\"value\":80}");
    (void)check_equal_to_scan("after the load");
    json_t *doc = series("tested_pct", "D1-1");
    json_t *points = json_object_get(doc, "points");
    cr_assert_eq(json_array_size(points), 1, "%s", json_dumps(doc, 0));
    json_t *feb = json_array_get(points, 0);
    cr_expect_float_eq(json_number_value(json_object_get(feb, "value")), 50.0, 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(feb, "sites_reporting")), 1);
    json_decref(doc);
    doc = series("tested_pct", "R1");
    points = json_object_get(doc, "points");
    cr_assert_eq(json_array_size(points), 1, "%s", json_dumps(doc, 0));
    feb = json_array_get(points, 0);
    cr_expect_float_eq(json_number_value(json_object_get(feb, "value")), 37.5, 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(feb, "sites_reporting")), 2);
    json_decref(doc);
}

Test(rollups, a_new_hierarchy_rebuilds_them)
{
    store_everything();
    (void)check_equal_to_scan("after the load");
    (void)apply("D2-1", PROGRAMME_UPDATED); /* GP-1-1-1 moves from R1 to R2 */
    cr_expect_eq(scalar_long("SELECT count(*) FROM site_tree t JOIN site a ON a.id ="
                             " t.ancestor_id JOIN site s ON s.id = t.site_id"
                             " WHERE s.code = 'GP-1-1-1' AND a.code IN ('D2-1', 'R2', 'C')"),
                 3);
    struct rollup_stats stats = {0};
    cr_assert_eq(rollup_store_fold(conn, programme_id, 100, true, &stats, "test"), ROLLUP_FOLDED);
    cr_expect(stats.rebuilt);
    (void)check_equal_to_scan("after the move");
    /* applying the same hierarchy again changes nothing and asks for no rebuild */
    (void)apply("D2-1", PROGRAMME_UPDATED);
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), 0);
}

static bool requests_served(void *arg)
{
    (void)arg;
    return true;
}

static bool pool_quiet(void *arg)
{
    (void)arg;
    return false;
}

static void mark_empty_batches(int n)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO rollup_dirty (programme_id, series_ids, periods)"
             " SELECT %lld, '{}', '{}' FROM generate_series(1, %d) RETURNING 1",
             (long long)programme_id, n);
    free(pgtest_scalar(conn, sql));
}

Test(rollups, a_bulk_load_piles_marks_up_within_bounds_and_one_fold_takes_them)
{
    store_everything();
    long marks = scalar_long("SELECT count(*) FROM rollup_dirty");
    cr_assert_eq(marks, N_PERIODS);
    /* while requests are served, a few fresh marks wait (run again soon) */
    cr_expect(rollups_run(conn, requests_served, NULL));
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), marks);
    /* the oldest has waited ROLLUPS_MAX_WAIT: one fold takes them all */
    free(pgtest_scalar(conn, "UPDATE rollup_dirty SET marked_at = now() - interval '1 minute'"
                             " RETURNING 1"));
    cr_expect_not(rollups_run(conn, requests_served, NULL));
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), 0);
    (void)check_equal_to_scan("after the fold of the pile");
    /* ROLLUPS_PILE fresh marks are folded at once too */
    mark_empty_batches(ROLLUPS_PILE - 1);
    cr_expect(rollups_run(conn, requests_served, NULL));
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), ROLLUPS_PILE - 1);
    mark_empty_batches(1);
    /* one fold of ROLLUPS_MARKS_PER_FOLD (>= ROLLUPS_PILE) takes them: a full fold says more
     * may be left, and the run gives way to the requests after it */
    bool full = rollups_run(conn, requests_served, NULL);
    cr_expect_eq(full, ROLLUPS_PILE >= ROLLUPS_MARKS_PER_FOLD);
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), 0);
    /* and on a quiet pool, one mark is folded at once, and a revision is in the rollups */
    store("{\"indicator\":\"enrolled\",\"site\":\"GP-1-1-1\",\"period\":\"2025-01\","
          "\"value\":123456}");
    cr_expect_not(rollups_run(conn, pool_quiet, NULL));
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), 0);
    (void)check_equal_to_scan("after the revision");
}

Test(rollups, one_fold_of_many_batches_recomputes_each_rollup_once)
{
    store_everything(); /* one batch per month */
    store_everything(); /* every month again, with other values: revisions */
    char batch[8 * 1024] = "";
    for (int month = 1; month <= N_PERIODS; month++) { /* and another indicator of one practice */
        size_t at = strlen(batch);
        snprintf(batch + at, sizeof(batch) - at,
                 "%s{\"indicator\":\"wait_days\",\"site\":\"GP-1-1-1\",\"period\":"
                 "\"2025-%02d\",\"value\":%d}",
                 at ? "," : "", month, month);
    }
    store(batch);
    long marks = scalar_long("SELECT count(*) FROM rollup_dirty");
    cr_assert_gt(marks, N_PERIODS + 1);
    struct rollup_stats stats = {0};
    cr_assert_eq(
        rollup_store_fold(conn, programme_id, ROLLUPS_MARKS_PER_FOLD, false, &stats, "test"),
        ROLLUP_FOLDED);
    cr_expect_eq(stats.marks, marks);
    /* each (indicator, ancestor, period) once, however many batches named it */
    long expected =
        scalar_long("SELECT count(DISTINCT (se.indicator_id, t.ancestor_id, o.period_start))"
                    " FROM observation o JOIN series se ON se.id = o.series_id"
                    " JOIN site_tree t ON t.site_id = se.site_id");
    cr_expect_eq(stats.keys, expected, "recomputed %ld rollups, %ld exist", stats.keys, expected);
    (void)check_equal_to_scan("after one fold of every batch");
}

/* A district that sends its own value for an indicator its practices report keeps its chart:
 * the series is the practices' aggregate, not the district's one row (which replaced it, so
 * that a single row at a region's code showed the region as one point, found by an
 * exploratory test); the row counts in the region's rollup, as DHIS2 counts a parent
 * organisation unit's own values, and so in the region's sites expected. A district's own
 * indicator that nothing below it reports is its own series. */
Test(rollups, a_districts_own_row_does_not_replace_its_aggregate)
{
    store("{\"indicator\":\"enrolled\",\"site\":\"GP-1-1-1\",\"period\":\"2025-01\",\"value\":10},"
          "{\"indicator\":\"enrolled\",\"site\":\"GP-1-1-2\",\"period\":\"2025-01\",\"value\":20},"
          "{\"indicator\":\"enrolled\",\"site\":\"GP-1-1-1\",\"period\":\"2025-02\",\"value\":11}");
    store("{\"indicator\":\"enrolled\",\"site\":\"D1-1\",\"period\":\"2025-01\",\"value\":5},"
          "{\"indicator\":\"fee_code\",\"site\":\"D1-1\",\"period\":\"2025-01\",\"value\":2}");
    struct series_query q = {programme_id, "enrolled", "D1-1", false, NULL, NULL, NULL, false};
    json_t *doc = NULL;
    cr_assert_eq(observations_series(conn, &q, &doc), SERIES_OK);
    cr_expect(json_is_true(json_object_get(doc, "aggregated")), "the practices' aggregate");
    json_t *points = json_object_get(doc, "points");
    cr_assert_eq(json_array_size(points), 2, "both months, not the district's one row");
    cr_expect_eq(json_number_value(json_object_get(json_array_get(points, 0), "value")), 30);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(points, 0), "sites_reporting")),
                 2);
    json_decref(doc);
    q.site = "R1";
    doc = NULL;
    cr_assert_eq(observations_series(conn, &q, &doc), SERIES_OK);
    points = json_object_get(doc, "points");
    cr_expect_eq(json_number_value(json_object_get(json_array_get(points, 0), "value")), 35);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(points, 0), "sites_reporting")),
                 3);
    /* its 4 members that are not planned, and D1-1 */
    cr_expect_eq(json_integer_value(json_object_get(doc, "sites_expected")), 5);
    json_decref(doc);
    q.site = "D1-1";
    q.indicator = "fee_code";
    doc = NULL;
    cr_assert_eq(observations_series(conn, &q, &doc), SERIES_OK);
    cr_expect(json_is_false(json_object_get(doc, "aggregated")), "its own score");
    json_decref(doc);
    /* below it only a planned practice reports: the district's own values are its chart, not
     * an aggregate of nothing */
    store(
        "{\"indicator\":\"wait_days\",\"site\":\"D1-1\",\"period\":\"2025-01\",\"value\":12},"
        "{\"indicator\":\"wait_days\",\"site\":\"GP-1-1-3\",\"period\":\"2025-01\",\"value\":30}");
    q.indicator = "wait_days";
    doc = NULL;
    cr_assert_eq(observations_series(conn, &q, &doc), SERIES_OK);
    cr_expect(json_is_false(json_object_get(doc, "aggregated")), "its own values");
    points = json_object_get(doc, "points");
    cr_assert_eq(json_array_size(points), 1);
    cr_expect_eq(json_number_value(json_object_get(json_array_get(points, 0), "value")), 12);
    json_decref(doc);
}

/* The rollups that count more sites than their site expects: its members that are not
 * planned and the sites without a membership that sent the indicator (n of m with n > m). */
static const char SQL_N_OVER_M[] =
    "SELECT count(*) FROM rollup r WHERE r.sites > (SELECT count(*) FROM site_tree t"
    " LEFT JOIN membership m ON m.programme_id = t.programme_id AND m.site_id = t.site_id"
    " WHERE t.programme_id = r.programme_id AND t.ancestor_id = r.site_id"
    " AND CASE WHEN m.site_id IS NOT NULL THEN m.status <> 'planned' ELSE EXISTS (SELECT 1"
    " FROM series se WHERE se.indicator_id = r.indicator_id AND se.site_id = t.site_id) END)";

/* A region's point leaves out its planned practices and never covers more sites than it
 * expects (its members that are not planned, and the sites without a membership that send the
 * indicator). When a site that holds data starts or stops counting (a planned practice
 * adopts), applying the programme asks for a rebuild, as a new hierarchy does. */
Test(rollups, a_point_covers_the_members_it_expects_and_follows_their_status)
{
    store_everything();
    (void)check_equal_to_scan("after the load");
    cr_expect_eq(scalar_long(SQL_N_OVER_M), 0, "a rollup counts more sites than expected");
    json_t *doc = series("enrolled", "R1");
    json_t *march = json_array_get(json_object_get(doc, "points"), 2);
    cr_expect_eq(json_integer_value(json_object_get(march, "sites_reporting")), 5);
    cr_expect_eq(json_integer_value(json_object_get(doc, "sites_expected")), 5);
    json_decref(doc);

    (void)apply_swapped(NULL, true, PROGRAMME_UPDATED); /* GP-1-1-3 adopts, GP-1-2-1 is planned */
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty WHERE series_ids IS NULL"), 1,
                 "a status change asks for a rebuild");
    long marks = scalar_long("SELECT count(*) FROM dirty_series");
    struct rollup_stats stats = {0};
    cr_assert_eq(rollup_store_fold(conn, programme_id, 100, true, &stats, "test"), ROLLUP_FOLDED);
    cr_expect(stats.rebuilt);
    /* every aggregate is evaluated again from the rebuilt rollups: one series per (indicator,
     * parent) marked changed since always (one indicator; 3 regions, 6 districts) */
    cr_expect_eq(scalar_long("SELECT count(*) FROM dirty_series"), marks + 1);
    cr_expect_eq(scalar_long("SELECT cardinality(series_ids) FROM dirty_series"
                             " WHERE since_periods[1] = '-infinity' ORDER BY id DESC LIMIT 1"),
                 N_REGIONS * (1 + N_DISTRICTS));
    (void)check_equal_to_scan("after the status change");
    cr_expect_eq(scalar_long(SQL_N_OVER_M), 0, "a rollup counts more sites than expected");
    doc = series("enrolled", "D1-1");
    march = json_array_get(json_object_get(doc, "points"), 2);
    cr_expect_eq(json_integer_value(json_object_get(march, "sites_reporting")), 3);
    cr_expect_eq(json_integer_value(json_object_get(doc, "sites_expected")), 3);
    json_decref(doc);

    /* applying the same statuses again asks for nothing */
    (void)apply_swapped(NULL, true, PROGRAMME_UPDATED);
    cr_expect_eq(scalar_long("SELECT count(*) FROM rollup_dirty"), 0);
}
