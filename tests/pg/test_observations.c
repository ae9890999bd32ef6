/*
 * Observation storage against a real PostgreSQL: upsert counts, the revision history with
 * the replacing token, dirty-series marks, idempotency keys, and series reads (a site's own
 * values, a region aggregated by each rule, revisions), and the whole feed write (ingest_push).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/idempotency.h"
#include "scaleupd/services/ingest.h"
#include "scaleupd/storage/observations.h"
#include "scaleupd/storage/observations_read.h"
#include "scaleupd/storage/series_cache.h"
#include "scaleupd/services/programme_apply.h"
#include "scaleupd/storage/tokens.h"

/* The example programme, plus a "mean" indicator and a planned practice, and a second
 * programme whose site code the first does not know. */
static const char programme_doc[] =
    "{\"slug\":\"icp-t2d-htn-be\",\"name\":\"ICP Belgium\",\"time_zone\":\"Europe/Brussels\","
    "\"sites\":["
    "{\"code\":\"BE\",\"name\":\"Belgium\",\"level\":\"country\"},"
    "{\"code\":\"BE-VLG\",\"name\":\"Flanders\",\"level\":\"region\",\"parent\":\"BE\"},"
    "{\"code\":\"BE-WAL\",\"name\":\"Wallonia\",\"level\":\"region\",\"parent\":\"BE\"},"
    "{\"code\":\"BE-VLG-GP001\",\"name\":\"De Linde\",\"level\":\"practice\","
    "\"parent\":\"BE-VLG\",\"adopted\":\"2025-01-01\"},"
    "{\"code\":\"BE-VLG-GP002\",\"name\":\"Zuid\",\"level\":\"practice\",\"parent\":\"BE-VLG\","
    "\"adopted\":\"2025-04-01\"},"
    "{\"code\":\"BE-WAL-GP001\",\"name\":\"Centre\",\"level\":\"practice\",\"parent\":\"BE-WAL\","
    "\"adopted\":\"2025-09-01\"}],"
    "\"indicators\":["
    "{\"code\":\"patients_enrolled\",\"name\":\"Enrolled\",\"unit\":\"patients\","
    "\"value_type\":\"count\",\"period_type\":\"monthly\",\"direction\":\"up\","
    "\"aggregate\":\"sum\",\"dimension\":\"coverage\"},"
    "{\"code\":\"hba1c_tested_pct\",\"name\":\"HbA1c tested\",\"unit\":\"%\","
    "\"value_type\":\"percentage\",\"period_type\":\"monthly\",\"direction\":\"up\","
    "\"aggregate\":\"weighted\"},"
    "{\"code\":\"wait_days\",\"name\":\"Days to first visit\",\"unit\":\"days\","
    "\"value_type\":\"ratio\",\"period_type\":\"monthly\",\"direction\":\"down\","
    "\"aggregate\":\"mean\"},"
    "{\"code\":\"inst_fee_code\",\"name\":\"Fee code\",\"unit\":\"score\","
    "\"value_type\":\"score\",\"period_type\":\"quarterly\",\"direction\":\"up\","
    "\"aggregate\":\"last\",\"dimension\":\"institutionalisation\"}]}";

static const char other_programme_doc[] =
    "{\"slug\":\"other\",\"name\":\"Other\",\"sites\":["
    "{\"code\":\"NL-GP001\",\"name\":\"Elsewhere\",\"level\":\"practice\","
    "\"adopted\":\"2025-01-01\"}],"
    "\"indicators\":[{\"code\":\"patients_enrolled\",\"name\":\"Enrolled\","
    "\"value_type\":\"count\",\"period_type\":\"monthly\"}]}";

static PGconn *conn;
static int64_t programme_id, token_a, token_b;

static int64_t apply_programme(const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc);
    json_t *problems = NULL;
    int64_t id = 0;
    enum programme_result r = programme_apply(conn, doc, &id, &problems, "test");
    cr_assert(r == PROGRAMME_CREATED, "programme_apply: %d", (int)r);
    json_decref(problems);
    json_decref(doc);
    return id;
}

static int64_t make_token(const char *name)
{
    char secret[TOKEN_SECRET_SIZE], err[256];
    int64_t id;
    cr_assert(
        token_create(conn, TOKEN_SCOPE_FEED, "icp-t2d-htn-be", name, secret, &id, err, sizeof(err)),
        "%s", err);
    return id;
}

static void setup(void)
{
    conn = pgtest_fresh_database("scaleupd_test_observations");
    programme_id = apply_programme(programme_doc);
    (void)apply_programme(other_programme_doc);
    token_a = make_token("team-a");
    token_b = make_token("team-b");
    observations_set_copy_min_rows(1); /* the small batches here take the COPY path too */
}

static void teardown(void)
{
    observations_set_copy_min_rows(64);
    PQfinish(conn);
}

TestSuite(observations, .init = setup, .fini = teardown);

static void exec(const char *sql)
{
    char err[512];
    cr_assert(db_exec(conn, sql, err, sizeof(err)), "%s: %s", sql, err);
}

/* Parses and validates a batch as the daemon does; the caller frees it. rows are the
 * observations written with single quotes for legibility, each followed by a comma. */
static struct obs_batch *prepare(const char *rows)
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
    enum ingest_status st =
        ingest_prepare(conn, programme_id, OBS_FORMAT_JSON, json, strlen(json), batch, &perr);
    cr_assert(st == INGEST_OK, "ingest_prepare: %d %s %s", (int)st, perr.code, perr.message);
    return batch;
}

/* Stores a batch in its own transaction; every row must be valid. */
static struct observations_counts store(const char *rows, int64_t token)
{
    struct obs_batch *batch = prepare(rows);
    for (size_t i = 0; i < batch->n_rejects; i++)
        cr_assert_fail("row %u rejected: %s %s", batch->rejects[i].row, batch->rejects[i].code,
                       batch->rejects[i].message);
    struct observations_counts c = {-1, -1, -1};
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_store(conn, programme_id, token, batch, &c, "test"));
    cr_assert(db_commit(conn, "test"));
    observations_committed();
    obs_batch_free(&batch);
    return c;
}

static long scalar_long(const char *sql)
{
    char *v = pgtest_scalar(conn, sql);
    cr_assert_not_null(v, "%s returned NULL", sql);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

static void assert_scalar(const char *sql, const char *expected)
{
    char *v = pgtest_scalar(conn, sql);
    if (expected == NULL)
        cr_assert_null(v, "%s: expected NULL, got %s", sql, v);
    else
        cr_assert(v != NULL && strcmp(v, expected) == 0, "%s: expected %s, got %s", sql, expected,
                  v ? v : "NULL");
    free(v);
}

#define GP1 "'site':'BE-VLG-GP001',"
#define GP2 "'site':'BE-VLG-GP002',"
#define ENROLLED "{'indicator':'patients_enrolled',"
#define HBA1C "{'indicator':'hba1c_tested_pct',"

static const char first_batch[] = ENROLLED GP1
    "'period':'2025-03','value':143}," ENROLLED GP1 "'period':'2025-04','value':150}," HBA1C GP1
    "'period':'2025-03','value':78.5,'numerator':62,'denominator':79},"
    "{'indicator':'inst_fee_code','site':'BE','period':'2025Q1','value':1},";

Test(observations, counts_imported_unchanged_updated)
{
    struct observations_counts c = store(first_batch, token_a);
    cr_expect_eq(c.imported, 4);
    cr_expect_eq(c.updated, 0);
    cr_expect_eq(c.unchanged, 0);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation"), 4);
    cr_expect_eq(scalar_long("SELECT count(*) FROM series"), 3);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation_revision"), 0);

    c = store(first_batch, token_a);
    cr_expect_eq(c.imported, 0);
    cr_expect_eq(c.updated, 0);
    cr_expect_eq(c.unchanged, 4);

    /* a changed value, a new key, a changed numerator only, the same value */
    c = store(ENROLLED GP1 "'period':'2025-03','value':144}," ENROLLED GP1
                           "'period':'2025-05','value':160}," HBA1C GP1
                           "'period':'2025-03','value':78.5,'numerator':63,'denominator':79},"
                           "{'indicator':'inst_fee_code','site':'BE','period':'2025Q1','value':1},",
              token_b);
    cr_expect_eq(c.imported, 1);
    cr_expect_eq(c.updated, 2);
    cr_expect_eq(c.unchanged, 1);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation"), 5);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation_revision"), 2);
}

Test(observations, revision_keeps_old_value_and_replacing_token)
{
    (void)store(first_batch, token_a);
    (void)store(HBA1C GP1 "'period':'2025-03','value':80,'numerator':64,'denominator':80,"
                          "'comment':'recount'},",
                token_b);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT format('%%s|%%s|%%s|%%s|%%s|%%s', r.value, r.numerator, r.denominator,"
             " r.comment IS NULL, r.token_id = %lld, r.replaced_by = %lld)"
             " FROM observation_revision r",
             (long long)token_a, (long long)token_b);
    assert_scalar(sql, "78.5|62|79|t|t|t");
    snprintf(sql, sizeof(sql),
             "SELECT format('%%s|%%s|%%s|%%s|%%s', o.value, o.numerator, o.denominator,"
             " o.comment, o.token_id = %lld) FROM observation o JOIN series s"
             " ON s.id = o.series_id JOIN indicator i ON i.id = s.indicator_id"
             " WHERE i.code = 'hba1c_tested_pct'",
             (long long)token_b);
    assert_scalar(sql, "80|64|80|recount|t");
    /* the revision keeps when the old value was received, and when it was replaced */
    assert_scalar("SELECT r.received_at < r.replaced_at FROM observation_revision r", "t");

    /* a second change keeps both earlier values */
    (void)store(HBA1C GP1 "'period':'2025-03','value':81,'numerator':65,'denominator':80},",
                token_a);
    assert_scalar("SELECT string_agg(value::text, ',' ORDER BY value) FROM observation_revision",
                  "78.5,80");
}

/* marks are append-only rows: the mark of a series is its earliest since_period and its latest
 * until_period (sql/031) */
static const char dirty_marks[] =
    "SELECT string_agg(code || '@' || since || '..' || until, ',' ORDER BY code) FROM (SELECT"
    " si.code, min(d.since_period) AS since, max(d.until_period) AS until FROM dirty_series m"
    " CROSS JOIN LATERAL unnest(m.series_ids, m.since_periods, m.until_periods)"
    " AS d(series_id, since_period, until_period) JOIN series s ON s.id = d.series_id"
    " JOIN site si ON si.id = s.site_id GROUP BY si.code) marks";

Test(observations, dirty_series_from_earliest_changed_period)
{
    (void)store(ENROLLED GP1 "'period':'2025-03','value':1}," ENROLLED GP1
                             "'period':'2025-01','value':2}," ENROLLED GP2
                             "'period':'2025-05','value':3},",
                token_a);
    assert_scalar(dirty_marks,
                  "BE-VLG-GP001@2025-01-01..2025-03-01,BE-VLG-GP002@2025-05-01..2025-05-01");

    /* a later change leaves the earlier mark; an earlier one moves it back */
    (void)store(ENROLLED GP1 "'period':'2025-06','value':4},", token_a);
    (void)store(ENROLLED GP2 "'period':'2024-11','value':5},", token_a);
    assert_scalar(dirty_marks,
                  "BE-VLG-GP001@2025-01-01..2025-06-01,BE-VLG-GP002@2024-11-01..2025-05-01");

    /* once consumed, unchanged re-sends mark nothing; an update marks its own period */
    exec("DELETE FROM dirty_series");
    (void)store(ENROLLED GP1 "'period':'2025-03','value':1}," ENROLLED GP2
                             "'period':'2025-05','value':3},",
                token_a);
    cr_expect_eq(scalar_long("SELECT count(*) FROM dirty_series"), 0);
    (void)store(ENROLLED GP1 "'period':'2025-03','value':9},", token_b);
    assert_scalar(dirty_marks, "BE-VLG-GP001@2025-03-01..2025-03-01");
}

/* Every array a batch's marks carry is compressed with lz4 (sql/010, sql/032): pglz cost
 * about 0.6 ms a rollup mark of 1,000 rows, lz4 a twentieth of it. */
Test(observations, marks_are_compressed_with_lz4)
{
    if (scalar_long("SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression'"
                    " AND 'lz4' = ANY (enumvals)") == 0)
        cr_skip_test("this PostgreSQL was built without lz4: the marks keep pglz (sql/032)");
    assert_scalar("SELECT string_agg(attrelid::regclass || '.' || attname || '=' ||"
                  " coalesce(nullif(attcompression::text, ''), 'default'), ',' ORDER BY 1)"
                  " FROM pg_attribute WHERE attrelid IN ('dirty_series'::regclass,"
                  " 'rollup_dirty'::regclass) AND attnum > 0 AND NOT attisdropped"
                  " AND attcompression <> 'l' AND atttypid::regtype::text LIKE '%[]'",
                  NULL);
    /* a mark as large as a 1,000-row batch's is stored compressed, by lz4 */
    exec("DELETE FROM rollup_dirty");
    exec("INSERT INTO rollup_dirty (programme_id, series_ids, periods, removed)"
         " SELECT p.id, array_agg(g::bigint ORDER BY g), array_agg(date '2025-01-01' ORDER BY g),"
         " false FROM programme p, generate_series(1, 1000) g"
         " WHERE p.slug = 'icp-t2d-htn-be' GROUP BY p.id");
    assert_scalar(
        "SELECT pg_column_compression(series_ids) || ',' || pg_column_compression(periods)"
        " FROM rollup_dirty",
        "lz4,lz4");
}

/* The series hint: after a batch, the later periods of its series go in without a lookup;
 * re-sends and revisions are still looked up; a hint proved wrong (a row stored behind the
 * daemon's back, as a second daemon would) costs a fallback to the upsert, never a lost or
 * doubled row, and is forgotten, then learnt again. */
Test(observations, series_hint_new_periods_and_wrong_hints)
{
    series_cache_clear();
    struct observations_counts c = store(ENROLLED GP1 "'period':'2025-01','value':1}," ENROLLED GP2
                                                      "'period':'2025-01','value':2},",
                                         token_a);
    cr_expect_eq(c.imported, 2);
    cr_expect_eq(series_cache_size(), 2, "both series are learnt");
    unsigned long fallbacks = observations_fast_path_fallbacks();
    c = store(ENROLLED GP1 "'period':'2025-02','value':3}," ENROLLED GP2
                           "'period':'2025-02','value':4},",
              token_a);
    cr_expect_eq(c.imported, 2);
    cr_expect_eq(observations_fast_path_fallbacks(), fallbacks, "hinted rows were new");

    c = store(ENROLLED GP1 "'period':'2025-02','value':3}," ENROLLED GP2
                           "'period':'2025-01','value':5},",
              token_b);
    cr_expect(c.imported == 0 && c.updated == 1 && c.unchanged == 1, "%ld/%ld/%ld", c.imported,
              c.updated, c.unchanged);

    exec("INSERT INTO observation (programme_id, series_id, period_start, value)"
         " SELECT s.programme_id, s.id, '2025-03-01', 7 FROM series s"
         " JOIN site si ON si.programme_id = s.programme_id AND si.id = s.site_id"
         " JOIN programme p ON p.id = s.programme_id WHERE p.slug = 'icp-t2d-htn-be'"
         " AND si.code = 'BE-VLG-GP001'");
    c = store(ENROLLED GP1 "'period':'2025-03','value':8}," ENROLLED GP2
                           "'period':'2025-03','value':9},",
              token_a);
    cr_expect(c.imported == 1 && c.updated == 1 && c.unchanged == 0, "%ld/%ld/%ld", c.imported,
              c.updated, c.unchanged);
    cr_expect_eq(observations_fast_path_fallbacks(), fallbacks + 1);
    cr_expect_eq(series_cache_size(), 0, "the wrong hints are forgotten");
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation"), 6);
    assert_scalar("SELECT string_agg(value::text, ',' ORDER BY value) FROM observation_revision",
                  "2,7");
    assert_scalar("SELECT string_agg(value::text, ',' ORDER BY value) FROM observation"
                  " WHERE period_start = '2025-03-01'",
                  "8,9");

    c = store(ENROLLED GP1 "'period':'2025-04','value':10}," ENROLLED GP2
                           "'period':'2025-04','value':11},",
              token_a);
    cr_expect_eq(c.imported, 2);
    cr_expect_eq(observations_fast_path_fallbacks(), fallbacks + 1);
    cr_expect_eq(series_cache_size(), 2, "learnt again");
}

/* A series created by a transaction that rolls back (a dry run) never reaches the hint: the
 * batch after it creates the series again and stores its rows under it. */
Test(observations, series_hint_learns_only_from_committed_transactions)
{
    series_cache_clear();
    struct obs_batch *batch = prepare(ENROLLED GP2 "'period':'2025-05','value':1},");
    struct observations_counts c;
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_store(conn, programme_id, token_a, batch, &c, "test"));
    db_rollback(conn, "test");
    observations_rolled_back();
    obs_batch_free(&batch);
    cr_expect_eq(series_cache_size(), 0);
    c = store(ENROLLED GP2 "'period':'2025-05','value':1},", token_a);
    cr_expect_eq(c.imported, 1);
    c = store(ENROLLED GP2 "'period':'2025-06','value':2},", token_a);
    cr_expect_eq(c.imported, 1);
    cr_expect_eq(series_cache_size(), 1);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation o WHERE NOT EXISTS (SELECT 1 FROM"
                             " series s WHERE s.programme_id = o.programme_id AND"
                             " s.id = o.series_id)"),
                 0, "no observation under a series that does not exist");
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation"), 2);
}

Test(observations, idempotency_store_replay_conflict)
{
    unsigned char fp[32], other[32];
    idempotency_fingerprint("POST", "/x", "", "application/json", "{}", 2, fp);
    idempotency_fingerprint("POST", "/x", "", "application/json", "{ }", 3, other);
    cr_assert(memcmp(fp, other, 32) != 0);
    int status = 0;
    char *response = NULL;

    cr_assert(db_begin(conn, "test"));
    cr_assert_eq(idempotency_begin(conn, token_a, "k1", fp, &status, &response), IDEMPOTENCY_NEW);
    cr_assert(idempotency_store(conn, token_a, "k1", fp, 200, "{\"imported\":4}", 14));
    cr_assert(db_commit(conn, "test"));

    cr_assert(db_begin(conn, "test"));
    cr_assert_eq(idempotency_begin(conn, token_a, "k1", fp, &status, &response),
                 IDEMPOTENCY_REPLAY);
    cr_expect_eq(status, 200);
    cr_expect_str_eq(response, "{\"imported\":4}");
    free(response);
    response = NULL;
    cr_expect_eq(idempotency_begin(conn, token_a, "k1", other, &status, &response),
                 IDEMPOTENCY_CONFLICT);
    cr_expect_null(response);
    /* keys belong to a token: another token's k1 is new */
    cr_expect_eq(idempotency_begin(conn, token_b, "k1", fp, &status, &response), IDEMPOTENCY_NEW);
    db_rollback(conn, "test");

    /* a key rolled back with its transaction was never stored */
    cr_assert(db_begin(conn, "test"));
    cr_assert_eq(idempotency_begin(conn, token_a, "k2", fp, &status, &response), IDEMPOTENCY_NEW);
    cr_assert(idempotency_store(conn, token_a, "k2", fp, 422, "{}", 2));
    db_rollback(conn, "test");
    cr_assert(db_begin(conn, "test"));
    cr_expect_eq(idempotency_begin(conn, token_a, "k2", fp, &status, &response), IDEMPOTENCY_NEW);
    db_rollback(conn, "test");

    exec("UPDATE idempotency SET created_at = now() - interval '2 days'");
    cr_expect_eq(idempotency_expire(conn, 86400), 1);
    cr_expect_eq(scalar_long("SELECT count(*) FROM idempotency"), 0);
}

/* Reads a series; the caller decrefs. */
static json_t *series(const char *indicator, const char *site, bool revisions)
{
    struct series_query q = {programme_id, indicator, site, revisions, NULL, NULL, NULL, false};
    json_t *doc = NULL;
    cr_assert_eq(observations_series(conn, &q, &doc), SERIES_OK, "series %s %s", indicator, site);
    return doc;
}

static json_t *point(json_t *doc, size_t i)
{
    json_t *p = json_array_get(json_object_get(doc, "points"), i);
    cr_assert_not_null(p, "no point %zu", i);
    return p;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

static json_int_t integer(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static const char two_practices[] = ENROLLED GP1
    "'period':'2025-04','value':143}," ENROLLED GP2 "'period':'2025-04','value':37}," ENROLLED GP1
    "'period':'2025-05','value':150}," ENROLLED
    "'site':'BE-WAL-GP001','period':'2025-04','value':5}," HBA1C GP1
    "'period':'2025-04','value':78.5,'numerator':62,'denominator':79}," HBA1C GP2
    "'period':'2025-04','value':61.2,'numerator':19,'denominator':31},"
    "{'indicator':'wait_days'," GP1 "'period':'2025-04','value':10},"
    "{'indicator':'wait_days'," GP2 "'period':'2025-04','value':20},";

Test(observations, series_region_sum_with_sites_reporting)
{
    (void)store(two_practices, token_a);
    json_t *doc = series("patients_enrolled", "BE-VLG", false);
    cr_expect(json_is_true(json_object_get(doc, "aggregated")));
    cr_expect_eq(integer(doc, "sites_expected"), 2);
    cr_assert_eq(json_array_size(json_object_get(doc, "points")), 2);
    cr_expect_str_eq(json_string_value(json_object_get(point(doc, 0), "period")), "2025-04");
    cr_expect_float_eq(num(point(doc, 0), "value"), 180.0, 1e-9);
    cr_expect_eq(integer(point(doc, 0), "sites_reporting"), 2);
    /* May: one of the two practices reported; the point says so rather than guess */
    cr_expect_float_eq(num(point(doc, 1), "value"), 150.0, 1e-9);
    cr_expect_eq(integer(point(doc, 1), "sites_reporting"), 1);
    json_decref(doc);

    /* the country aggregates every region's practices */
    doc = series("patients_enrolled", "BE", false);
    cr_expect_float_eq(num(point(doc, 0), "value"), 185.0, 1e-9);
    cr_expect_eq(integer(point(doc, 0), "sites_reporting"), 3);
    json_decref(doc);
}

Test(observations, series_region_weighted_mean_and_last)
{
    (void)store(two_practices, token_a);
    json_t *doc = series("hba1c_tested_pct", "BE-VLG", false);
    /* (62 + 19) / (79 + 31) × 100, not the mean of 78.5 and 61.2 */
    cr_expect_float_eq(num(point(doc, 0), "value"), 81.0 / 110.0 * 100.0, 1e-9);
    cr_expect_float_eq(num(point(doc, 0), "numerator"), 81.0, 1e-9);
    cr_expect_float_eq(num(point(doc, 0), "denominator"), 110.0, 1e-9);
    cr_expect_eq(integer(point(doc, 0), "sites_reporting"), 2);
    json_decref(doc);

    doc = series("wait_days", "BE-VLG", false);
    cr_expect_float_eq(num(point(doc, 0), "value"), 15.0, 1e-9);
    json_decref(doc);

    /* last: the value received last among the sites (a later transaction) */
    (void)store("{'indicator':'inst_fee_code'," GP1 "'period':'2025Q1','value':1},", token_a);
    (void)store("{'indicator':'inst_fee_code'," GP2 "'period':'2025Q1','value':3},", token_a);
    doc = series("inst_fee_code", "BE-VLG", false);
    cr_expect_float_eq(num(point(doc, 0), "value"), 3.0, 1e-9);
    cr_expect_str_eq(json_string_value(json_object_get(point(doc, 0), "period")), "2025Q1");
    json_decref(doc);
}

Test(observations, series_own_values_with_revisions_and_bounds)
{
    (void)store(first_batch, token_a);
    (void)store(ENROLLED GP1 "'period':'2025-03','value':145},", token_b);
    (void)store(ENROLLED GP1 "'period':'2025-03','value':146},", token_a);

    json_t *doc = series("patients_enrolled", "BE-VLG-GP001", false);
    cr_expect(json_is_false(json_object_get(doc, "aggregated")));
    cr_assert_eq(json_array_size(json_object_get(doc, "points")), 2);
    cr_expect_float_eq(num(point(doc, 0), "value"), 146.0, 1e-9);
    cr_expect_null(json_object_get(point(doc, 0), "revisions"));
    json_decref(doc);

    doc = series("patients_enrolled", "BE-VLG-GP001", true);
    json_t *revs = json_object_get(point(doc, 0), "revisions");
    cr_assert_eq(json_array_size(revs), 2);
    /* newest first: 145 (sent by team-b, replaced by team-a), then 143 */
    json_t *r0 = json_array_get(revs, 0), *r1 = json_array_get(revs, 1);
    cr_expect_float_eq(num(r0, "value"), 145.0, 1e-9);
    cr_expect_str_eq(json_string_value(json_object_get(r0, "token")), "team-b");
    cr_expect_str_eq(json_string_value(json_object_get(r0, "replaced_by")), "team-a");
    cr_expect_float_eq(num(r1, "value"), 143.0, 1e-9);
    cr_expect_str_eq(json_string_value(json_object_get(r1, "token")), "team-a");
    cr_expect_str_eq(json_string_value(json_object_get(r1, "replaced_by")), "team-b");
    cr_expect_not_null(json_object_get(r1, "replaced_at"));
    /* April was never revised */
    cr_expect_eq(json_array_size(json_object_get(point(doc, 1), "revisions")), 0);
    json_decref(doc);

    struct series_query q = {programme_id, "patients_enrolled", "BE-VLG-GP001", false,
                             "2025-04-01", "2025-12-31",        NULL,           false};
    cr_assert_eq(observations_series(conn, &q, &doc), SERIES_OK);
    cr_assert_eq(json_array_size(json_object_get(doc, "points")), 1);
    cr_expect_str_eq(json_string_value(json_object_get(point(doc, 0), "period")), "2025-04");
    json_decref(doc);

    q.from = q.to = NULL;
    q.indicator = "nope";
    cr_expect_eq(observations_series(conn, &q, &doc), SERIES_UNKNOWN_INDICATOR);
    q.indicator = "patients_enrolled";
    q.site = "NL-GP001"; /* a site of the other programme */
    cr_expect_eq(observations_series(conn, &q, &doc), SERIES_UNKNOWN_SITE);
}

/* Sets the stored `column` of indicator's observations at site code in period to value (SQL
 * text: values beyond what the API takes, as an older version could store them). */
static void poke(const char *column, const char *value, const char *indicator, const char *site,
                 const char *period)
{
    char sql[768];
    snprintf(sql, sizeof(sql),
             "UPDATE observation o SET %s = %s FROM series se, indicator i, site s"
             " WHERE se.programme_id = o.programme_id AND se.id = o.series_id"
             " AND i.programme_id = se.programme_id AND i.id = se.indicator_id"
             " AND s.programme_id = se.programme_id AND s.id = se.site_id AND i.code = '%s'"
             " AND s.code = '%s' AND o.period_start = '%s'",
             column, value, indicator, site, period);
    exec(sql);
}

/* The fields of a point's "out_of_range", comma-separated ("" when it has none). */
static const char *out_of_range(json_t *p, char *buf, size_t size)
{
    size_t i, len = 0;
    json_t *field;
    buf[0] = '\0';
    json_array_foreach(json_object_get(p, "out_of_range"), i, field) len +=
        (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "", json_string_value(field));
    return buf;
}

/* Values near 1e308 (or NaN) stored before the API bounded them: an aggregate beyond double's
 * range never fails the read (it did: "value out of range: overflow", a 500) and is never a
 * zero; the point stays, without the field, and says so. A mean of two such values is exact. */
Test(observations, aggregates_beyond_doubles_range_are_points_out_of_range)
{
    (void)store(two_practices, token_a);
    (void)store("{'indicator':'inst_fee_code'," GP1 "'period':'2025Q1','value':1},", token_a);
    poke("value", "1.7e308", "patients_enrolled", "BE-VLG-GP001", "2025-04-01");
    poke("value", "1.7e308", "patients_enrolled", "BE-VLG-GP002", "2025-04-01");
    poke("numerator", "1.7e308", "hba1c_tested_pct", "BE-VLG-GP001", "2025-04-01");
    poke("numerator", "1.7e308", "hba1c_tested_pct", "BE-VLG-GP002", "2025-04-01");
    poke("denominator", "1", "hba1c_tested_pct", "BE-VLG-GP001", "2025-04-01");
    poke("denominator", "1", "hba1c_tested_pct", "BE-VLG-GP002", "2025-04-01");
    poke("value", "1.7e308", "wait_days", "BE-VLG-GP001", "2025-04-01");
    poke("value", "1.7e308", "wait_days", "BE-VLG-GP002", "2025-04-01");
    poke("value", "'NaN'", "inst_fee_code", "BE-VLG-GP001", "2025-01-01");
    char fields[64];

    json_t *doc = series("patients_enrolled", "BE-VLG", false); /* 3.4e308 */
    cr_assert_eq(json_array_size(json_object_get(doc, "points")), 2);
    cr_expect_null(json_object_get(point(doc, 0), "value"), "missing, never a zero");
    cr_expect_str_eq(out_of_range(point(doc, 0), fields, sizeof(fields)), "value");
    cr_expect_eq(integer(point(doc, 0), "sites_reporting"), 2);
    cr_expect_float_eq(num(point(doc, 1), "value"), 150.0, 1e-9, "May is as it was");
    cr_expect_str_eq(out_of_range(point(doc, 1), fields, sizeof(fields)), "");
    json_decref(doc);
    doc = series("patients_enrolled", "BE", false);
    cr_expect_null(json_object_get(point(doc, 0), "value"));
    json_decref(doc);

    doc = series("hba1c_tested_pct", "BE-VLG", false); /* 3.4e308 × 100 / 2 */
    cr_expect_null(json_object_get(point(doc, 0), "value"));
    cr_expect_null(json_object_get(point(doc, 0), "numerator"));
    cr_expect_float_eq(num(point(doc, 0), "denominator"), 2.0, 1e-9);
    cr_expect_str_eq(out_of_range(point(doc, 0), fields, sizeof(fields)), "value,numerator");
    json_decref(doc);

    doc = series("wait_days", "BE-VLG", false);
    cr_expect_float_eq(num(point(doc, 0), "value"), 1.7e308, 1e294, "the mean fits");
    json_decref(doc);
    doc = series("patients_enrolled", "BE-VLG-GP001", false);
    cr_expect_float_eq(num(point(doc, 0), "value"), 1.7e308, 1e294, "a stored value is shown");
    json_decref(doc);

    doc = series("inst_fee_code", "BE-VLG", false);
    cr_expect_null(json_object_get(point(doc, 0), "value"), "NaN is no value");
    cr_expect_str_eq(out_of_range(point(doc, 0), fields, sizeof(fields)), "value");
    json_decref(doc);
    doc = series("inst_fee_code", "BE-VLG-GP001", false);
    cr_expect_null(json_object_get(point(doc, 0), "value"));
    cr_expect_str_eq(out_of_range(point(doc, 0), fields, sizeof(fields)), "value");
    json_decref(doc);

    /* what the evaluator reads leaves the point out rather than read it as 0 */
    char *iid = pgtest_scalar(conn, "SELECT id FROM indicator WHERE code = 'patients_enrolled'"
                                    " AND programme_id = (SELECT id FROM programme WHERE slug ="
                                    " 'icp-t2d-htn-be')"),
         *sid = pgtest_scalar(conn, "SELECT id FROM site WHERE code = 'BE-VLG'");
    struct aggregate_points ap;
    cr_assert(observations_aggregate(conn, programme_id, strtoll(iid, NULL, 10),
                                     strtoll(sid, NULL, 10), "sum", false, 500, &ap));
    cr_expect(ap.n == 1 && ap.values[0] == 150.0, "May only: %zu points", ap.n);
    aggregate_points_free(&ap);
    free(iid);
    free(sid);
}

Test(observations, validation_against_the_catalog_keeps_valid_rows)
{
    struct obs_batch *batch = prepare(
        ENROLLED
        "'site':'NL-GP001','period':'2025-03','value':1}," ENROLLED
        "'site':'XX-UNKNOWN','period':'2025-03','value':1},"
        "{'indicator':'nope'," GP1 "'period':'2025-03','value':1}," ENROLLED GP1
        "'period':'2025Q1','value':1}," ENROLLED GP1 "'period':'2099-01','value':1}," HBA1C GP1
        "'period':'2025-03','value':101},"
        "{'indicator':'inst_fee_code','site':'BE','period':'2025Q1','value':5}," ENROLLED GP1
        "'period':'2025-03','value':-1}," ENROLLED GP2 "'period':'2025-03','value':7},");
    static const char *codes[] = {"site_not_in_programme", "unknown_site",  "unknown_indicator",
                                  "period_type_mismatch",  "future_period", "out_of_range",
                                  "out_of_range",          "out_of_range"};
    cr_assert_eq(batch->n_rejects, 8);
    for (size_t i = 0; i < 8; i++) {
        cr_expect_eq(batch->rejects[i].row, i + 1);
        cr_expect_str_eq(batch->rejects[i].code, codes[i], "row %zu", i + 1);
    }
    struct observations_counts c;
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_store(conn, programme_id, token_a, batch, &c, "test"));
    cr_assert(db_commit(conn, "test"));
    cr_expect_eq(c.imported, 1);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation"), 1);
    obs_batch_free(&batch);
}

/* Every table the store writes, as text, with codes instead of ids: two runs compare equal
 * when they stored the same rows, revisions and marks. */
static char *stored_state(void)
{
    return pgtest_scalar(
        conn, "SELECT concat_ws(' | ',"
              " (SELECT string_agg(format('%s/%s/%s=%s,%s,%s,%s', i.code, si.code, o.period_start,"
              "  o.value, o.numerator, o.denominator, o.comment), ';' ORDER BY i.code, si.code,"
              "  o.period_start) FROM observation o JOIN series s ON s.id = o.series_id"
              "  JOIN indicator i ON i.id = s.indicator_id JOIN site si ON si.id = s.site_id),"
              " (SELECT string_agg(format('%s/%s/%s=%s', i.code, si.code, r.period_start,"
              "  r.value), ';' ORDER BY i.code, si.code, r.period_start, r.value)"
              "  FROM observation_revision r JOIN series s ON s.id = r.series_id"
              "  JOIN indicator i ON i.id = s.indicator_id JOIN site si ON si.id = s.site_id),"
              /* marks are append-only: what counts is the earliest and latest per series */
              " (SELECT string_agg(format('%s/%s@%s..%s', ind, site, since, until), ';'"
              "  ORDER BY ind, site) FROM (SELECT i.code AS ind, si.code AS site,"
              "  min(d.since_period) AS since, max(d.until_period) AS until"
              "  FROM dirty_series m CROSS JOIN LATERAL unnest(m.series_ids, m.since_periods,"
              "  m.until_periods) AS d(series_id, since_period, until_period)"
              "  JOIN series s ON s.id = d.series_id"
              "  JOIN indicator i ON i.id = s.indicator_id JOIN site si ON si.id = s.site_id"
              "  GROUP BY i.code, si.code) marks))");
}

/* New keys, a re-send, then changed, new and unchanged rows mixed with a new series, and an
 * earlier period: the counts of each batch written as "imported/updated/unchanged;". */
static void store_sequence(char *out, size_t size)
{
    static const char *const batches[] = {
        first_batch,
        first_batch,
        ENROLLED GP1 "'period':'2025-03','value':144}," ENROLLED GP1
                     "'period':'2025-05','value':160}," ENROLLED GP2
                     "'period':'2025-05','value':7}," HBA1C GP1
                     "'period':'2025-03','value':78.5,'numerator':62,'denominator':79},",
        ENROLLED GP1 "'period':'2024-12','value':1,'comment':'late'}," ENROLLED GP2
                     "'period':'2025-05','value':8},",
    };
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
        struct observations_counts c = store(batches[i], i % 2 ? token_b : token_a);
        int n =
            snprintf(out + used, size - used, "%ld/%ld/%ld;", c.imported, c.updated, c.unchanged);
        cr_assert(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

Test(observations, fast_path_and_upsert_store_the_same)
{
    char fast_counts[256], upsert_counts[256];
    store_sequence(fast_counts, sizeof(fast_counts));
    cr_expect_str_eq(fast_counts, "4/0/0;0/0/4;2/1/1;1/1/0;");
    char *fast_state = stored_state();

    exec("TRUNCATE observation, observation_revision, dirty_series, evaluation_set_aside,"
         " series_latest, series");
    series_cache_clear(); /* the series it knew are gone (the daemon never deletes one) */
    observations_set_fast_path(false);
    store_sequence(upsert_counts, sizeof(upsert_counts));
    char *upsert_state = stored_state();
    observations_set_fast_path(true);

    cr_expect_str_eq(upsert_counts, fast_counts);
    cr_expect_str_eq(upsert_state, fast_state);
    free(fast_state);
    free(upsert_state);
}

/* The second of two concurrent batches with the same new keys. */
struct racer {
    struct obs_batch *batch;
    struct observations_counts counts;
    bool stored, committed;
};

static void *race_store(void *arg)
{
    struct racer *r = arg;
    PGconn *c = PQconnectdb(pgtest_conninfo("scaleupd_test_observations"));
    if (PQstatus(c) == CONNECTION_OK && db_begin(c, "racer")) {
        r->stored = observations_store(c, programme_id, token_b, r->batch, &r->counts, "racer");
        r->committed = db_commit(c, "racer");
    }
    PQfinish(c);
    return NULL;
}

Test(observations, concurrent_batches_of_the_same_new_keys_fall_back_to_the_upsert)
{
    /* the first batch inserts the keys and holds its transaction open; the second finds
     * them new, waits on the first one's index entries, meets unique_violation when the
     * first commits, and upserts instead: no error, and its one changed value is an update */
    struct obs_batch *first = prepare(first_batch);
    struct racer r = {.batch = prepare(ENROLLED GP1 "'period':'2025-03','value':143}," ENROLLED GP1
                                                    "'period':'2025-04','value':151},"),
                      .counts = {-1, -1, -1}};
    unsigned long fallbacks = observations_fast_path_fallbacks();
    /* the racer's series exist already (a series created concurrently is waited for in
     * create_series instead, and the keys are then seen as stored) */
    (void)store(ENROLLED GP1 "'period':'2025-01','value':1},", token_a);
    struct observations_counts c;
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_store(conn, programme_id, token_a, first, &c, "test"));
    cr_expect_eq(c.imported, 4);
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, race_store, &r), 0);
    /* wait until the racer is blocked on our uncommitted keys (no time limit: ctest's) */
    PGconn *watch = PQconnectdb(pgtest_conninfo("scaleupd_test_observations"));
    cr_assert_eq(PQstatus(watch), CONNECTION_OK);
    for (;;) {
        char *waiting = pgtest_scalar(watch, "SELECT count(*) FROM pg_stat_activity WHERE"
                                             " wait_event_type = 'Lock'"
                                             " AND datname = current_database()");
        bool blocked = strcmp(waiting, "1") == 0;
        free(waiting);
        if (blocked)
            break;
        usleep(1000);
    }
    PQfinish(watch);
    cr_assert(db_commit(conn, "test"));
    cr_assert_eq(pthread_join(thread, NULL), 0);

    cr_expect(r.stored && r.committed);
    cr_expect_eq(r.counts.imported, 0);
    cr_expect_eq(r.counts.updated, 1);
    cr_expect_eq(r.counts.unchanged, 1);
    cr_expect_eq(observations_fast_path_fallbacks(), fallbacks + 1);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation"), 5);
    assert_scalar("SELECT string_agg(value::text, ',') FROM observation_revision", "150");
    obs_batch_free(&first);
    obs_batch_free(&r.batch);
}

Test(observations, ingest_never_waits_on_an_evaluation_holding_its_marks)
{
    /* an evaluator claims every alert mark and keeps its transaction open while it
     * evaluates; a batch changing the same series must go through without waiting (a
     * statement timeout turns a wait into a failure) and leave a new mark behind */
    (void)store(first_batch, token_a);
    cr_assert_gt(scalar_long("SELECT count(*) FROM dirty_series"), 0);
    PGconn *evaluator = PQconnectdb(pgtest_conninfo("scaleupd_test_observations"));
    cr_assert_eq(PQstatus(evaluator), CONNECTION_OK);
    char err[256];
    cr_assert(db_begin(evaluator, "evaluator"));
    cr_assert(db_exec(evaluator,
                      "DELETE FROM dirty_series WHERE id IN (SELECT id FROM dirty_series"
                      " FOR UPDATE SKIP LOCKED)",
                      err, sizeof(err)),
              "%s", err);
    exec("SET statement_timeout = '5s'");
    struct observations_counts c = store(ENROLLED GP1 "'period':'2025-03','value':999},", token_b);
    exec("RESET statement_timeout");
    cr_expect_eq(c.updated, 1);
    cr_assert(db_commit(evaluator, "evaluator"));
    PQfinish(evaluator);
    cr_expect_eq(scalar_long("SELECT count(*) FROM dirty_series"), 1,
                 "the mark of the change made during the evaluation is kept");
}

/* A feed write through ingest_push with an Idempotency-Key (and the JSON of rows as prepare
 * takes them); the caller frees the result. */
static enum ingest_outcome push(const char *rows, const char *key, bool dry_run,
                                struct ingest_result *result)
{
    size_t size = strlen(rows) + 32;
    char *json = malloc(size);
    cr_assert_not_null(json);
    int n = snprintf(json, size, "{\"observations\":[%s]}", rows);
    cr_assert(n > 0 && (size_t)n < size);
    for (char *c = json; *c; c++)
        if (*c == '\'')
            *c = '"';
    struct ingest_request rq = {.programme_id = programme_id,
                                .token_id = token_a,
                                .format = OBS_FORMAT_JSON,
                                .dry_run = dry_run,
                                .idempotency_key = key,
                                .body = json,
                                .body_len = strlen(json),
                                .request_id = "test"};
    idempotency_fingerprint("POST", "/x", "", "application/json", json, strlen(json),
                            rq.fingerprint);
    enum ingest_outcome outcome = ingest_push(conn, &rq, result);
    free(json);
    return outcome;
}

/* A small write reuses one generic plan of each of its statements (db_begin_keyed): planning
 * them was half of PostgreSQL's CPU for 1-point POSTs. Outside it the session plans for each
 * statement's parameters again, and a large write plans its own. Counted in the session's
 * pg_prepared_statements, not timed. */
Test(observations, a_small_write_reuses_its_statements_plans)
{
    static const char plans[] = "SELECT coalesce(sum(generic_plans), 0) || '/' ||"
                                " coalesce(sum(custom_plans), 0) FROM pg_prepared_statements"
                                " WHERE name = '%s'";
    char sql[256];
    struct ingest_result r;
    for (int v = 1; v <= 8; v++) { /* the same key, a new value each time: SQL_STORE */
        char row[160];
        snprintf(row, sizeof(row),
                 "{'indicator':'patients_enrolled','site':'BE-VLG-GP001','period':'2025-03',"
                 "'value':%d}",
                 v);
        cr_assert_eq(push(row, NULL, false, &r), INGEST_PUSH_ANSWERED);
        cr_expect_eq(r.counts.imported + r.counts.updated, 1);
        ingest_result_free(&r);
    }
    snprintf(sql, sizeof(sql), plans, "scaleupd_obs_store");
    assert_scalar(sql, "9/0"); /* the first write ran it twice: before and after the series */
    snprintf(sql, sizeof(sql), plans, "scaleupd_obs_catalog");
    assert_scalar(sql, "8/0");
    assert_scalar("SHOW plan_cache_mode", "force_custom_plan");
    assert_scalar("SHOW enable_seqscan", "on");

    /* a write of more than INGEST_KEYED_MAX_BODY bytes plans for its rows */
    struct dynbuf big;
    dynbuf_init(&big, 1 << 20);
    for (int m = 0; big.len <= INGEST_KEYED_MAX_BODY; m++)
        cr_assert(dynbuf_addf(&big,
                              "%s{'indicator':'patients_enrolled','site':'BE-VLG-GP002',"
                              "'period':'%d-%02d','value':%d}",
                              m ? "," : "", 2000 + m / 12, 1 + m % 12, m));
    cr_assert_eq(push(dynbuf_str(&big), NULL, false, &r), INGEST_PUSH_ANSWERED);
    cr_expect_gt(r.counts.imported, 100);
    ingest_result_free(&r);
    dynbuf_free(&big);
    snprintf(sql, sizeof(sql), plans, "scaleupd_obs_catalog");
    assert_scalar(sql, "8/1");
}

Test(observations, ingest_push_commits_replays_and_says_when_data_changed)
{
    const char rows[] = "{'indicator':'patients_enrolled','site':'BE-VLG-GP001',"
                        "'period':'2025-03','value':5},"
                        "{'indicator':'patients_enrolled','site':'BE-VLG-GP002',"
                        "'period':'2025-04','value':6}";
    struct ingest_result r;
    cr_assert_eq(push(rows, NULL, true, &r), INGEST_PUSH_ANSWERED);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.counts.imported, 2, "a dry run reports what it would store");
    cr_expect_not(r.changed, "a dry run is rolled back: nothing to evaluate");
    ingest_result_free(&r);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation"), 0);

    cr_assert_eq(push(rows, "k1", false, &r), INGEST_PUSH_ANSWERED);
    cr_expect_eq(r.status, 200);
    cr_expect(r.changed);
    cr_expect_eq(r.counts.imported, 2);
    cr_assert_not_null(r.body);
    char *first = strdup(r.body);
    ingest_result_free(&r);
    cr_expect_eq(scalar_long("SELECT count(*) FROM observation"), 2);

    cr_assert_eq(push(rows, "k1", false, &r), INGEST_PUSH_REPLAYED);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, first, "the replay is the answer sent the first time");
    cr_expect_not(r.changed);
    ingest_result_free(&r);
    free(first);

    cr_expect_eq(push("{'indicator':'patients_enrolled','site':'BE-VLG-GP001',"
                      "'period':'2025-05','value':1}",
                      "k1", false, &r),
                 INGEST_PUSH_KEY_REUSED);
    ingest_result_free(&r);

    cr_assert_eq(push(rows, NULL, false, &r), INGEST_PUSH_ANSWERED);
    cr_expect_eq(r.counts.unchanged, 2);
    cr_expect_not(r.changed, "the same values again change nothing");
    ingest_result_free(&r);

    cr_assert_eq(push("{'indicator':", NULL, false, &r), INGEST_PUSH_BAD_DOCUMENT);
    cr_expect_eq(r.status, 400);
    ingest_result_free(&r);

    struct ingest_request unknown = {.programme_slug = "nope",
                                     .format = OBS_FORMAT_DHIS2,
                                     .body = "{}",
                                     .body_len = 2,
                                     .request_id = "test"};
    cr_expect_eq(ingest_push(conn, &unknown, &r), INGEST_PUSH_UNKNOWN_PROGRAMME);
    ingest_result_free(&r);
}

/* A batch that creates series takes no row lock on their indicator or site (sql/037): the
 * foreign keys' FOR KEY SHARE did, and concurrent batches shared those locks of the same few
 * indicator rows through multixacts. Another session can lock both rows for update, NOWAIT,
 * while the batch's transaction is still open (it could not before). */
Test(observations, creating_series_locks_no_indicator_or_site_row)
{
    struct obs_batch *batch = prepare(ENROLLED GP2 "'period':'2025-05','value':7},");
    struct observations_counts c = {-1, -1, -1};
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_store(conn, programme_id, token_a, batch, &c, "test"));
    cr_expect_eq(c.imported, 1);
    PGconn *other = PQconnectdb(pgtest_conninfo("scaleupd_test_observations"));
    cr_assert_eq(PQstatus(other), CONNECTION_OK);
    char err[512]; /* each lock in a transaction of its own (autocommit) */
    cr_expect(db_exec(other,
                      "SELECT 1 FROM indicator WHERE code = 'patients_enrolled'"
                      " FOR UPDATE NOWAIT",
                      err, sizeof(err)),
              "the indicator's row is locked: %s", err);
    cr_expect(db_exec(other, "SELECT 1 FROM site WHERE code = 'BE-VLG-GP002' FOR UPDATE NOWAIT",
                      err, sizeof(err)),
              "the site's row is locked: %s", err);
    PQfinish(other);
    cr_assert(db_commit(conn, "test"));
    observations_committed();
    obs_batch_free(&batch);
    assert_scalar("SELECT count(*) FROM series se JOIN site s ON s.id = se.site_id"
                  " WHERE s.code = 'BE-VLG-GP002'",
                  "1");
}

/* Deleting a site or an indicator by hand deletes its series, and what hangs from them, as the
 * foreign keys' ON DELETE CASCADE did before sql/037; other series stay. */
Test(observations, deleting_a_site_or_an_indicator_deletes_its_series)
{
    (void)store(first_batch, token_a);
    (void)store(ENROLLED GP2 "'period':'2025-05','value':7}," HBA1C GP2
                             "'period':'2025-05','value':50,'numerator':1,'denominator':2},",
                token_a);
    exec("INSERT INTO series_latest (programme_id, series_id, last_period, last_changed_at)"
         " SELECT programme_id, id, date '2025-05-01', now() FROM series"
         " ON CONFLICT DO NOTHING");
    long all = scalar_long("SELECT count(*) FROM series");
    cr_assert_eq(all, 5); /* 3 of the first batch (2 at GP1, BE's score), 2 at GP2 */
    exec("DELETE FROM site WHERE code = 'BE-VLG-GP002'");
    assert_scalar("SELECT count(*) FROM series", "3");
    assert_scalar("SELECT count(*) FROM series_latest", "3");
    assert_scalar("SELECT count(*) FROM series se WHERE NOT EXISTS (SELECT 1 FROM site s"
                  " WHERE s.programme_id = se.programme_id AND s.id = se.site_id)",
                  "0");
    exec("DELETE FROM indicator WHERE code = 'hba1c_tested_pct' AND programme_id = (SELECT id"
         " FROM programme WHERE slug = 'icp-t2d-htn-be')");
    assert_scalar("SELECT count(*) FROM series", "2");
    assert_scalar("SELECT count(*) FROM series_latest", "2");
    exec("DELETE FROM programme WHERE slug = 'icp-t2d-htn-be'");
    assert_scalar("SELECT count(*) FROM series", "0");
    assert_scalar("SELECT count(*) FROM series_latest", "0");
}
