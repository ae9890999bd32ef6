/*
 * The feeds status's statements count their work: with series_latest.last_period and site_sent
 * kept (as the rollup service keeps them) the summary and a page of late sites read no
 * observation at all, one row per member site instead; for the sites a mark not folded yet
 * names they look at each series, and the due period up where last_period does not decide;
 * both give the same answer. The work is the observation table's
 * counters of the test's own transaction (pg_stat_xact_user_tables).
 * 60 practices in two regions, 3 monthly indicators, 12 months (2,160 observations): the
 * first 20 practices of region A stop after October 2026 (late for November), the rest
 * report through November.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/core/period.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/feeds_store.h"

static PGconn *conn;
static int64_t programme_id;
static struct feeds_due due[3];

static void exec(const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    cr_assert(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK, "%s: %s", sql,
              PQerrorMessage(conn));
    PQclear(res);
}

static const char setup_sql[] =
    "INSERT INTO programme (slug, name, document) VALUES ('feeds', 'Feeds', '{}');"
    "INSERT INTO site (programme_id, code, name, level) VALUES (1, 'X', 'X', 'country');"
    "INSERT INTO site (programme_id, code, name, level, parent_id)"
    " SELECT 1, r, 'Region ' || r, 'region', 1 FROM unnest(ARRAY['A', 'B']) r;"
    "INSERT INTO site (programme_id, code, name, level, parent_id)"
    " SELECT 1, format('P%s', lpad(n::text, 3, '0')), 'Practice', 'practice',"
    "  CASE WHEN n <= 30 THEN 2 ELSE 3 END FROM generate_series(1, 60) n;"
    "INSERT INTO membership (programme_id, site_id, status, adopted_on)"
    " SELECT 1, id, 'active', DATE '2025-01-01' FROM site WHERE level = 'practice';"
    "INSERT INTO indicator (programme_id, code, name, value_type, period_type)"
    " SELECT 1, 'm' || n, 'M' || n, 'count', 'monthly' FROM generate_series(1, 3) n;"
    "INSERT INTO series (programme_id, indicator_id, site_id)"
    " SELECT 1, i.id, s.id FROM indicator i CROSS JOIN site s WHERE s.level = 'practice';"
    "INSERT INTO observation (programme_id, series_id, period_start, value)"
    " SELECT 1, se.id, m::date, 1 FROM series se JOIN site s ON s.id = se.site_id"
    " CROSS JOIN generate_series(DATE '2025-12-01', DATE '2026-11-01', interval '1 month') m"
    " WHERE m < DATE '2026-11-01' OR s.code > 'P020';"
    "SELECT 1";

static void setup(void)
{
    conn = pgtest_fresh_database("t_feeds_store");
    exec(setup_sql);
    programme_id = 1;
    int32_t start, end;
    cr_assert(date_parse("2026-11-01", 10, &start) && date_parse("2026-11-30", 10, &end));
    for (int i = 0; i < 3; i++)
        due[i] = (struct feeds_due){i + 1, start, end, end + 15};
}

static void teardown(void)
{
    PQfinish(conn);
}

TestSuite(feeds_store, .init = setup, .fini = teardown);

/* The state the rollup service keeps (kept: series_latest and site_sent up to date, no
 * mark pending), or none of it (a mark not folded yet names every series, whose last_period
 * is not known: every site's series are looked at). */
static void keep_state(bool kept)
{
    exec("DELETE FROM rollup_dirty");
    exec("DELETE FROM site_sent");
    if (!kept) {
        exec("DELETE FROM series_latest");
        exec("INSERT INTO rollup_dirty (programme_id, series_ids, periods) SELECT 1,"
             " array_agg(id), array_agg(DATE '2026-11-01') FROM series");
        return;
    }
    exec("DELETE FROM series_latest");
    exec("INSERT INTO series_latest (programme_id, series_id, last_period, last_changed_at)"
         " SELECT programme_id, series_id, max(period_start), max(received_at)"
         " FROM observation GROUP BY 1, 2");
    exec("INSERT INTO site_sent (programme_id, period_start, site_id, indicator_ids)"
         " SELECT 1, o.period_start, se.site_id, array_agg(se.indicator_id ORDER BY"
         " se.indicator_id) FROM observation o JOIN series se ON se.id = o.series_id"
         " GROUP BY o.period_start, se.site_id");
}

/* Rows of observation read, and scans of it, by this session so far (the counters not yet
 * flushed, which in PostgreSQL 15 may include earlier transactions: callers subtract). */
static long long observation_work(void)
{
    char *text =
        pgtest_scalar(conn, "SELECT coalesce(seq_scan, 0) + coalesce(seq_tup_read, 0)"
                            " + coalesce(idx_scan, 0) + coalesce(idx_tup_fetch, 0)"
                            " FROM pg_stat_xact_user_tables WHERE relname = 'observation'");
    long long work = strtoll(text, NULL, 10);
    free(text);
    return work;
}

/* The summary's text and the observation work it took, in a transaction of its own. */
static char *summary(long long *work)
{
    exec("BEGIN");
    long long before = observation_work();
    json_t *doc = feeds_store_summary(conn, programme_id, due, 3, "t");
    cr_assert_not_null(doc);
    *work = observation_work() - before;
    exec("COMMIT");
    char *text = json_dumps(doc, JSON_SORT_KEYS);
    json_decref(doc);
    return text;
}

/* A page of 100 late sites' text and the observation work it took. */
static char *late_page(long long *work)
{
    struct feeds_sites_query q = {.has_status = true, .status = FEEDS_SITE_LATE, .limit = 100};
    json_t *rows = NULL;
    char *next[3] = {NULL, NULL, NULL};
    exec("BEGIN");
    long long before = observation_work();
    cr_assert(feeds_store_sites(conn, programme_id, due, 3, &q, &rows, next, "t"));
    *work = observation_work() - before;
    exec("COMMIT");
    cr_assert_null(next[0], "20 late sites fit in a page of 100");
    cr_assert_eq(json_array_size(rows), 20);
    char *text = json_dumps(rows, JSON_SORT_KEYS);
    json_decref(rows);
    return text;
}

Test(feeds_store, summary_reads_no_observation_when_the_state_is_kept)
{
    long long unknown_work, kept_work;
    keep_state(false);
    char *unknown = summary(&unknown_work);
    keep_state(true);
    char *kept = summary(&kept_work);
    cr_assert_str_eq(kept, unknown);
    cr_assert_eq(kept_work, 0, "the summary read the observations: %lld", kept_work);
    cr_assert_geq(unknown_work, 180, "one look-up per series when last_period is unknown");
    json_t *doc = json_loads(kept, 0, NULL);
    json_t *totals = json_object_get(doc, "totals");
    cr_assert_eq(json_integer_value(json_object_get(totals, "sites_late")), 20);
    cr_assert_eq(json_integer_value(json_object_get(totals, "sites_complete")), 40);
    cr_assert_eq(json_integer_value(json_object_get(totals, "values_reported")), 120);
    json_decref(doc);
    free(unknown);
    free(kept);
}

Test(feeds_store, page_of_late_sites_reads_no_observation_when_the_state_is_kept)
{
    long long unknown_work, kept_work;
    keep_state(false);
    char *unknown = late_page(&unknown_work);
    keep_state(true);
    char *kept = late_page(&kept_work);
    cr_assert_eq(kept_work, 0, "the page read the observations: %lld", kept_work);
    cr_assert_gt(unknown_work, 0);
    /* when the series last changed is the only thing that may differ: compare the rest */
    json_t *a = json_loads(kept, 0, NULL), *b = json_loads(unknown, 0, NULL);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_object_del(json_array_get(a, i), "last_received_at");
        json_object_del(json_array_get(b, i), "last_received_at");
    }
    cr_assert(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(unknown);
    free(kept);
}

/* The summary's totals: late, partial, values reported. */
static void totals_of(const char *text, long long *late, long long *partial, long long *values)
{
    json_t *doc = json_loads(text, 0, NULL);
    json_t *totals = json_object_get(doc, "totals");
    *late = json_integer_value(json_object_get(totals, "sites_late"));
    *partial = json_integer_value(json_object_get(totals, "sites_partial"));
    *values = json_integer_value(json_object_get(totals, "values_reported"));
    json_decref(doc);
}

Test(feeds_store, a_series_with_a_later_period_is_right_either_way)
{
    /* P021..P060 also sent December, P060 not November for m1: from site_sent no look-up;
     * from the series (last_period after the due period) November is looked up, not assumed */
    exec("INSERT INTO observation (programme_id, series_id, period_start, value)"
         " SELECT 1, se.id, DATE '2026-12-01', 1 FROM series se JOIN site s ON s.id = se.site_id"
         " WHERE s.code > 'P020'");
    exec("DELETE FROM observation o USING series se, site s WHERE se.id = o.series_id"
         " AND s.id = se.site_id AND s.code = 'P060' AND se.indicator_id = 1"
         " AND o.period_start = DATE '2026-11-01'");
    long long work, late, partial, values;
    for (int kept = 0; kept < 2; kept++) {
        keep_state(kept);
        exec("UPDATE series_latest l SET last_period = o.p FROM (SELECT series_id,"
             " max(period_start) p FROM observation GROUP BY series_id) o"
             " WHERE o.series_id = l.series_id");
        char *text = summary(&work);
        totals_of(text, &late, &partial, &values);
        cr_assert_eq(partial, 1);
        cr_assert_eq(values, 119);
        cr_assert_eq(late, 20);
        if (kept)
            cr_assert_eq(work, 0, "site_sent decides: %lld", work);
        else
            cr_assert_geq(work, 120, "November looked up in each later series: %lld", work);
        free(text);
    }
}

Test(feeds_store, a_series_named_by_an_unfolded_mark_is_looked_up)
{
    keep_state(true);
    /* P001 sends November; ingest marks its series for the rollup service, which has not
     * folded the mark yet: its last_period still says October */
    exec("INSERT INTO observation (programme_id, series_id, period_start, value)"
         " SELECT 1, se.id, DATE '2026-11-01', 1 FROM series se JOIN site s ON s.id = se.site_id"
         " WHERE s.code = 'P001'");
    exec("INSERT INTO rollup_dirty (programme_id, series_ids, periods) SELECT 1, array_agg(se.id),"
         " array_agg(DATE '2026-11-01') FROM series se JOIN site s ON s.id = se.site_id"
         " WHERE s.code = 'P001'");
    long long work;
    char *text = summary(&work);
    json_t *doc = json_loads(text, 0, NULL);
    json_t *totals = json_object_get(doc, "totals");
    cr_assert_eq(json_integer_value(json_object_get(totals, "sites_late")), 19);
    cr_assert_eq(json_integer_value(json_object_get(totals, "values_reported")), 123);
    cr_assert_gt(work, 0);
    cr_assert_leq(work, 20, "only the marked series are looked up: %lld", work);
    json_decref(doc);
    /* a mark for every series (a new hierarchy) moves no series' latest period: no look-up */
    exec("INSERT INTO rollup_dirty (programme_id) VALUES (1)");
    long long before = work;
    char *again = summary(&work);
    cr_assert_str_eq(again, text);
    cr_assert_eq(work, before);
    free(again);
    free(text);
}

/* Each site's reported count as the observations say: code -> count of its series holding
 * November, as "P001=3,P002=3,…" in code order. */
static char *reported_by_observation(void)
{
    return pgtest_scalar(conn, "SELECT string_agg(s.code || '=' || (SELECT count(*)"
                               " FROM series se JOIN observation o ON o.series_id = se.id"
                               " AND o.period_start = DATE '2026-11-01' WHERE se.site_id = s.id),"
                               " ',' ORDER BY s.code) FROM site s WHERE s.level = 'practice'");
}

/* Every page row's count, read in pages of 7 (each from the last row's key), as "P001=3,…" in
 * code order, with each row's status, expected count and late list checked on the way. */
static char *reported_by_pages(void)
{
    char line[60][16], after_region[16] = "", after_code[16] = "";
    size_t seen = 0;
    struct feeds_sites_query q = {.limit = 7};
    for (;;) {
        json_t *rows = NULL;
        char *next[3] = {NULL, NULL, NULL};
        cr_assert(feeds_store_sites(conn, programme_id, due, 3, &q, &rows, next, "t"));
        for (size_t i = 0; i < json_array_size(rows); i++) {
            json_t *row = json_array_get(rows, i);
            long long reported = json_integer_value(json_object_get(row, "reported"));
            const char *status = json_string_value(json_object_get(row, "status"));
            cr_assert_eq(json_integer_value(json_object_get(row, "expected")), 3);
            cr_assert_str_eq(status, reported == 3 ? "reported" : reported ? "partial" : "late");
            cr_assert_eq(json_array_size(json_object_get(row, "late")), (size_t)(3 - reported));
            cr_assert_lt(seen, 60, "a site listed twice");
            snprintf(line[seen++], sizeof(line[0]), "%s=%lld",
                     json_string_value(json_object_get(row, "code")), reported);
        }
        json_decref(rows);
        if (next[0] == NULL)
            break;
        q.has_after = true;
        q.after_status = (enum feeds_site_status)strtol(next[0], NULL, 10);
        snprintf(after_region, sizeof(after_region), "%s", next[1]);
        snprintf(after_code, sizeof(after_code), "%s", next[2]);
        q.after_region = after_region;
        q.after_code = after_code;
        for (int k = 0; k < 3; k++)
            free(next[k]);
    }
    cr_assert_eq(seen, 60, "every member site once: %zu", seen);
    qsort(line, seen, sizeof(line[0]), (int (*)(const void *, const void *))strcmp);
    size_t size = 60 * 17, used = 0;
    char *out = malloc(size);
    cr_assert_not_null(out);
    out[0] = '\0';
    for (size_t i = 0; i < seen; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "", line[i]);
    return out;
}

Test(feeds_store, every_page_row_counts_what_the_observations_hold)
{
    /* P021 lacks m1 for November, P022 m1 and m2 (partial: their site_sent rows hold some of
     * the window's indicators, not all); P001 sent m2 for November under a mark not folded */
    exec("DELETE FROM observation o USING series se, site s, indicator i WHERE"
         " se.id = o.series_id AND s.id = se.site_id AND i.id = se.indicator_id"
         " AND o.period_start = DATE '2026-11-01'"
         " AND ((s.code = 'P021' AND i.code = 'm1') OR (s.code = 'P022' AND i.code <> 'm3'))");
    for (int kept = 0; kept < 2; kept++) {
        keep_state(kept);
        exec("INSERT INTO observation (programme_id, series_id, period_start, value)"
             " SELECT 1, se.id, DATE '2026-11-01', 1 FROM series se JOIN site s"
             " ON s.id = se.site_id JOIN indicator i ON i.id = se.indicator_id"
             " WHERE s.code = 'P001' AND i.code = 'm2'");
        exec("INSERT INTO rollup_dirty (programme_id, series_ids, periods) SELECT 1,"
             " array_agg(se.id), array_agg(DATE '2026-11-01') FROM series se JOIN site s"
             " ON s.id = se.site_id JOIN indicator i ON i.id = se.indicator_id"
             " WHERE s.code = 'P001' AND i.code = 'm2'");
        char *want = reported_by_observation(), *got = reported_by_pages();
        cr_assert(strstr(want, "P001=1,") && strstr(want, "P021=2,") && strstr(want, "P022=1,"),
                  "%s", want);
        cr_assert_str_eq(got, want, "kept %d", kept);
        free(want);
        free(got);
        exec("DELETE FROM observation o USING series se, site s WHERE se.id = o.series_id"
             " AND s.id = se.site_id AND s.code = 'P001' AND o.period_start = DATE '2026-11-01'");
    }
}
