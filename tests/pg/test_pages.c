/*
 * Keyset pages of the lists (storage/page_rows.h) against a throwaway PostgreSQL with a few
 * thousand rows in each list and many ties in the sort keys: every page walked, with several
 * page sizes, gives exactly the rows of the list in its documented order (none missing, none
 * repeated); and one page reads no more than its rows through an index, never the whole
 * table (work counted with pg_stat_xact_user_tables, not timed).
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/core/page.h"
#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/page_rows.h"
#include "scaleupd/storage/revision_store.h"
#include "scaleupd/storage/silence_store.h"
#include "scaleupd/storage/tokens.h"

#define NOW 1900000000.0 /* 2030-03-17: silences ending after it are current */

static PGconn *conn;
static long long programme_id;

static void exec(const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
              "%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

/* A programme with two practices and two indicators; 5,000 alerts (a quarter inactive);
 * 3,000 silences whose ends come in groups of 7 equal ones, a third expired; 2,000 tokens;
 * 8,000 revisions whose replaced_at come in groups of 5 equal ones. */
static void setup(void)
{
    conn = pgtest_fresh_database("pg_pages");
    exec("INSERT INTO programme (slug, name, document) VALUES ('pg-pages', 'P', '{}')");
    exec("INSERT INTO site (programme_id, code, name, level) SELECT id, c, c, 'practice'"
         " FROM programme, unnest(ARRAY['GP1', 'GP2']) c");
    exec("INSERT INTO indicator (programme_id, code, name, value_type, period_type)"
         " SELECT id, c, c, 'count', 'monthly' FROM programme, unnest(ARRAY['a', 'b']) c");
    exec("INSERT INTO series (programme_id, indicator_id, site_id) SELECT i.programme_id, i.id,"
         " s.id FROM indicator i JOIN site s ON s.programme_id = i.programme_id");
    exec("INSERT INTO alert_rule (programme_id, name, kind, document) SELECT id, 'r',"
         " 'threshold', '{}' FROM programme");
    exec("INSERT INTO alert (programme_id, rule_id, subject, state, updated_at)"
         " SELECT r.programme_id, r.id, 's' || g, (ARRAY['firing', 'resolved', 'inactive',"
         " 'pending'])[1 + g % 4], now() FROM alert_rule r, generate_series(1, 5000) g");
    exec("INSERT INTO silence (matchers, starts_at, ends_at, author, expired_at)"
         " SELECT '[]', to_timestamp(1898000000 + g / 7 * 36000 - 86400),"
         " to_timestamp(1898000000 + g / 7 * 36000),"
         " 'x', CASE WHEN g % 3 = 0 THEN to_timestamp(1850000000) END"
         " FROM generate_series(1, 3000) g");
    exec("INSERT INTO token (hash, scope, name) SELECT sha256(g::text::bytea), 'read', 't' || g"
         " FROM generate_series(1, 2000) g");
    exec("INSERT INTO observation_revision (programme_id, series_id, period_start, value,"
         " received_at, replaced_at) SELECT se.programme_id, se.id, date '2020-01-01'"
         " + (g % 60) * interval '1 month', g, to_timestamp(1700000000),"
         " to_timestamp(1750000000 + g / 5) FROM series se, generate_series(1, 2000) g");
    exec("ANALYZE");
    char *pid = pgtest_scalar(conn, "SELECT id FROM programme");
    programme_id = strtoll(pid, NULL, 10);
    free(pid);
}

static void teardown(void)
{
    PQfinish(conn);
}

TestSuite(pages, .init = setup, .fini = teardown);

enum list { LIST_ALERTS, LIST_SILENCES, LIST_EXPIRED, LIST_TOKENS, LIST_REVISIONS };

/* One page of a list, the cursor decoded from text as the edge does. */
static struct page_rows read_page(enum list which, const char *after, int limit,
                                  const struct revision_query *rq)
{
    struct page_request request = {limit, after != NULL, {0}};
    size_t fields = which == LIST_ALERTS || which == LIST_TOKENS ? 1 : 2;
    if (after != NULL)
        cr_assert(page_cursor_decode(after, fields, &request.after), "cursor %s", after);
    struct page_rows page = {NULL, NULL};
    struct alerts_filter all = {NULL, NULL, NULL, NULL, 0, 0};
    bool ok = false;
    if (which == LIST_ALERTS)
        ok = alerts_list_page(conn, &all, &request, &page) == PAGE_ROWS_OK;
    else if (which == LIST_SILENCES || which == LIST_EXPIRED)
        ok = alerts_silence_list_page(conn, NOW, which == LIST_EXPIRED, &request, &page) ==
             PAGE_ROWS_OK;
    else if (which == LIST_TOKENS)
        ok = token_list_page(conn, &request, &page) == PAGE_ROWS_OK;
    else
        ok = revision_list_page(conn, rq, &request, &page) == REVISION_OK;
    cr_assert(ok, "list %d after %s", which, after ? after : "-");
    page_cursor_clear(&request.after);
    return page;
}

/* The ids (for revisions, values) of every page walked with limit, joined by ','. */
static char *walk(enum list which, int limit, const struct revision_query *rq, int *pages)
{
    size_t cap = 1 << 20, used = 0;
    char *out = calloc(1, cap);
    char *after = NULL;
    *pages = 0;
    do {
        struct page_rows page = read_page(which, after, limit, rq);
        (*pages)++;
        cr_assert_leq(json_array_size(page.items), (size_t)limit);
        size_t i;
        json_t *item;
        json_array_foreach(page.items, i, item)
        {
            json_t *key = json_object_get(item, which == LIST_REVISIONS ? "value" : "id");
            used += (size_t)snprintf(out + used, cap - used, "%s%lld", used ? "," : "",
                                     (long long)json_number_value(key));
        }
        free(after);
        after = page.next ? strdup(page.next) : NULL;
        cr_assert(after == NULL || json_array_size(page.items) == (size_t)limit,
                  "a short page with a next link");
        page_rows_free(&page);
    } while (after != NULL);
    return out;
}

static void check_walks(enum list which, const char *expected_sql, const struct revision_query *rq)
{
    char *expected = pgtest_scalar(conn, expected_sql);
    cr_assert_not_null(expected);
    static const int limits[] = {1000, 7, 100, 1};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        if (limits[l] == 1 && which != LIST_TOKENS && which != LIST_EXPIRED)
            continue; /* one row a page: a few thousand round trips, once is enough */
        int pages = 0;
        char *got = walk(which, limits[l], rq, &pages);
        cr_expect_str_eq(got, expected, "list %d, limit %d", which, limits[l]);
        free(got);
    }
    free(expected);
}

Test(pages, alerts_newest_first)
{
    check_walks(LIST_ALERTS,
                "SELECT string_agg(id::text, ',' ORDER BY id DESC) FROM alert"
                " WHERE state <> 'inactive'",
                NULL);
}

Test(pages, silences_by_end_then_id_with_ties)
{
    check_walks(
        LIST_SILENCES,
        "SELECT string_agg(id::text, ',' ORDER BY least(ends_at, expired_at) DESC,"
        " id DESC) FROM silence WHERE least(ends_at, expired_at) > to_timestamp(1900000000)",
        NULL);
    check_walks(
        LIST_EXPIRED,
        "SELECT string_agg(id::text, ',' ORDER BY least(ends_at, expired_at) DESC,"
        " id DESC) FROM silence WHERE least(ends_at, expired_at) <= to_timestamp(1900000000)",
        NULL);
}

Test(pages, tokens_by_id)
{
    check_walks(LIST_TOKENS, "SELECT string_agg(id::text, ',' ORDER BY id) FROM token", NULL);
}

Test(pages, revisions_newest_first_with_ties_and_filters)
{
    struct revision_query all = {programme_id, NULL, NULL, NULL, NULL};
    check_walks(LIST_REVISIONS,
                "SELECT string_agg(value::text, ',' ORDER BY replaced_at DESC, id DESC)"
                " FROM observation_revision",
                &all);
    struct revision_query one = {programme_id, "b", "GP2", "2021-01-01", "2022-06-30"};
    check_walks(LIST_REVISIONS,
                "SELECT string_agg(r.value::text, ',' ORDER BY replaced_at DESC, r.id DESC)"
                " FROM observation_revision r JOIN series se ON se.id = r.series_id"
                " JOIN indicator i ON i.id = se.indicator_id JOIN site s ON s.id = se.site_id"
                " WHERE i.code = 'b' AND s.code = 'GP2'"
                " AND period_start BETWEEN '2021-01-01' AND '2022-06-30'",
                &one);
    struct revision_query site = {programme_id, NULL, "GP1", NULL, NULL};
    check_walks(LIST_REVISIONS,
                "SELECT string_agg(r.value::text, ',' ORDER BY replaced_at DESC, r.id DESC)"
                " FROM observation_revision r JOIN series se ON se.id = r.series_id"
                " JOIN site s ON s.id = se.site_id WHERE s.code = 'GP1'",
                &site);
}

/* Rows this session read from table (as far as not yet reported to the statistics):
 * sequentially and through indexes. */
static void table_reads(const char *table, long *seq_rows, long *index_rows)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(seq_tup_read, 0) || ' ' || coalesce(idx_tup_fetch, 0)"
             " FROM pg_stat_xact_user_tables WHERE relname = '%s'",
             table);
    char *text = pgtest_scalar(conn, sql);
    char *end = NULL;
    *seq_rows = strtol(text, &end, 10);
    *index_rows = strtol(end, NULL, 10);
    free(text);
}

/* A page deep in a list reads its limit + 1 rows of the table through an index (at most
 * max_rows: for one series, its revisions), never the table. */
static void check_one_page_work(enum list which, const char *table, const struct revision_query *rq,
                                long max_rows)
{
    /* the cursor of a page in the middle */
    struct page_rows first = read_page(which, NULL, 1000, rq);
    cr_assert_not_null(first.next);
    char *after = strdup(first.next);
    page_rows_free(&first);
    /* counts not yet reported stay pending, so the page's own are a difference; nothing is
     * reported inside a transaction */
    exec("BEGIN");
    long seq_before = -1, index_before = -1, seq_rows = -1, index_rows = -1;
    table_reads(table, &seq_before, &index_before);
    struct page_rows page = read_page(which, after, 50, rq);
    cr_assert_eq(json_array_size(page.items), 50);
    table_reads(table, &seq_rows, &index_rows);
    exec("COMMIT");
    seq_rows -= seq_before;
    index_rows -= index_before;
    cr_expect_eq(seq_rows, 0, "list %d read %ld rows of %s sequentially", which, seq_rows, table);
    /* limit + 1 rows (55: and a few the planner may read at an end of the index when it
     * estimates a range, get_actual_variable_range); a scan of the list reads thousands */
    cr_expect_leq(index_rows, max_rows, "list %d fetched %ld rows of %s for a page of 50", which,
                  index_rows, table);
    cr_expect_geq(index_rows, 50);
    page_rows_free(&page);
    free(after);
}

Test(pages, one_page_is_a_range_of_an_index)
{
    struct revision_query all = {programme_id, NULL, NULL, NULL, NULL};
    struct revision_query one = {programme_id, "a", "GP1", NULL, NULL};
    check_one_page_work(LIST_ALERTS, "alert", NULL, 55);
    check_one_page_work(LIST_EXPIRED, "silence", NULL, 55);
    check_one_page_work(LIST_TOKENS, "token", NULL, 55);
    check_one_page_work(LIST_REVISIONS, "observation_revision", &all, 55);
    /* one series of four: its 2,000 revisions at most, not the programme's 8,000 */
    check_one_page_work(LIST_REVISIONS, "observation_revision", &one, 2000);
}

Test(pages, cursors_that_are_not_of_the_list_are_refused)
{
    static const char *const bad[][2] = {
        {"x", "1"}, {"1", "x"}, {"-62135596800000001", "1"}, {"253402300799000001", "1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct page_request request = {10, true, {2, {strdup(bad[i][0]), strdup(bad[i][1])}}};
        struct page_rows page;
        struct revision_query all = {programme_id, NULL, NULL, NULL, NULL};
        cr_expect_eq(alerts_silence_list_page(conn, NOW, false, &request, &page),
                     PAGE_ROWS_BAD_CURSOR, "%s/%s", bad[i][0], bad[i][1]);
        cr_expect_eq(revision_list_page(conn, &all, &request, &page), REVISION_BAD_CURSOR);
        page_cursor_clear(&request.after);
    }
    /* a cursor of two fields is not an alert's or a token's */
    struct page_request request = {10, true, {2, {strdup("1"), strdup("2")}}};
    struct page_rows page;
    struct alerts_filter any = {NULL, NULL, NULL, NULL, 0, 0};
    cr_expect_eq(alerts_list_page(conn, &any, &request, &page), PAGE_ROWS_BAD_CURSOR);
    cr_expect_eq(token_list_page(conn, &request, &page), PAGE_ROWS_BAD_CURSOR);
    page_cursor_clear(&request.after);
    /* the edges of the time range are accepted */
    struct page_request edge = {10, true, {2, {strdup("-62135596800000000"), strdup("1")}}};
    cr_assert_eq(alerts_silence_list_page(conn, NOW, false, &edge, &page), PAGE_ROWS_OK);
    cr_expect_eq(json_array_size(page.items), 0);
    page_rows_free(&page);
    page_cursor_clear(&edge.after);
}
