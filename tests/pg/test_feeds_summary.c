/*
 * The kept feeds summary against a real PostgreSQL: after random pushes through the ingest
 * write path (new values, revisions, late data), deletions as a delete marks them, folds of
 * all or some of the marks, membership changes, a move in the hierarchy and other due dates
 * and graces, the summary a read is answered with (kept, or computed and kept) equals one
 * computed from scratch: from the observations themselves (every series looked at, under a
 * mark naming all of them, rolled back). A kept answer reads no site_sent row.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/core/period.h"
#include "scaleupd/services/ingest.h"
#include "scaleupd/services/programme_apply.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/feeds_store.h"
#include "scaleupd/storage/observations.h"
#include "scaleupd/storage/rollup_store.h"

static PGconn *conn;
static int64_t programme_id;
static int64_t indicator_ids[3];

#define N_REGIONS 3
#define N_PRACTICES 6
#define N_PERIODS 8
static const char *const indicators[] = {"enrolled", "tested", "waiting"};
#define N_INDICATORS 3

/* country → 3 regions → 6 practices each; GP-1-2 is moved to region 2 when `moved`. The fifth
 * practice of each region is planned. */
static char *programme_text(bool moved)
{
    json_t *sites = json_array();
    json_array_append_new(
        sites, json_pack("{s:s,s:s,s:s}", "code", "C", "name", "Country", "level", "country"));
    for (int r = 1; r <= N_REGIONS; r++) {
        char code[32], parent[32];
        snprintf(code, sizeof(code), "R%d", r);
        json_array_append_new(sites, json_pack("{s:s,s:s,s:s,s:s}", "code", code, "name", code,
                                               "level", "region", "parent", "C"));
        for (int p = 1; p <= N_PRACTICES; p++) {
            snprintf(code, sizeof(code), "GP-%d-%d", r, p);
            snprintf(parent, sizeof(parent), "R%d", moved && r == 1 && p == 2 ? 2 : r);
            json_array_append_new(sites, json_pack("{s:s,s:s,s:s,s:s,s:s}", "code", code, "name",
                                                   code, "level", "practice", "parent", parent,
                                                   "status", p == 5 ? "planned" : "active"));
        }
    }
    json_t *doc = json_pack("{s:s,s:s,s:o,s:[{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s},"
                            "{s:s,s:s,s:s,s:s}]}",
                            "slug", "feeds", "name", "Feeds", "sites", sites, "indicators", "code",
                            "enrolled", "name", "Enrolled", "value_type", "count", "period_type",
                            "monthly", "code", "tested", "name", "Tested", "value_type", "count",
                            "period_type", "monthly", "code", "waiting", "name", "Waiting",
                            "value_type", "count", "period_type", "monthly");
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static int64_t apply(bool moved, enum programme_result expected)
{
    char *text = programme_text(moved);
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

static void exec(const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    cr_assert(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK, "%s: %s", sql,
              PQerrorMessage(conn));
    PQclear(res);
}

static void setup(void)
{
    conn = pgtest_fresh_database("scaleupd_test_feeds_summary");
    programme_id = apply(false, PROGRAMME_CREATED);
    for (int i = 0; i < 3; i++) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "SELECT id FROM indicator WHERE programme_id = %lld ORDER BY id OFFSET %d",
                 (long long)programme_id, i);
        char *id = pgtest_scalar(conn, sql);
        cr_assert_not_null(id);
        indicator_ids[i] = strtoll(id, NULL, 10);
        free(id);
    }
    observations_set_copy_min_rows(1);
    srand(20261202);
}

static void teardown(void)
{
    observations_set_copy_min_rows(64);
    PQfinish(conn);
}

TestSuite(feeds_summary, .init = setup, .fini = teardown);

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
    struct observations_counts c;
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_store(conn, programme_id, 0, batch, &c, "test"));
    cr_assert(db_commit(conn, "test"));
    observations_committed();
    obs_batch_free(&batch);
    free(json);
}

/* A batch of up to 20 random rows (distinct keys; late data and revisions come from the small
 * key space). */
static void random_push(void)
{
    char batch[8192] = "", seen[20][48];
    int n = 1 + rand() % 20, kept = 0;
    for (int i = 0; i < n; i++) {
        char key[48];
        int r = 1 + rand() % N_REGIONS, p = 1 + rand() % N_PRACTICES, m = 1 + rand() % N_PERIODS;
        const char *ind = indicators[rand() % N_INDICATORS];
        snprintf(key, sizeof(key), "GP-%d-%d/%s/%d", r, p, ind, m);
        bool dup = false;
        for (int k = 0; k < kept && !dup; k++)
            dup = strcmp(seen[k], key) == 0;
        if (dup)
            continue;
        memcpy(seen[kept++], key, sizeof(key));
        size_t at = strlen(batch);
        snprintf(batch + at, sizeof(batch) - at,
                 "%s{\"indicator\":\"%s\",\"site\":\"GP-%d-%d\",\"period\":\"2025-%02d\","
                 "\"value\":%d}",
                 at ? "," : "", ind, r, p, m, rand() % 100);
    }
    store(batch);
}

/* Deletes a few random observations as a delete of the import path would: the rows go and
 * their (series, period) are marked. */
static void random_delete(void)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "WITH gone AS (DELETE FROM observation WHERE (programme_id, series_id, period_start)"
             " IN (SELECT programme_id, series_id, period_start FROM observation"
             "  WHERE programme_id = %lld ORDER BY md5(series_id::text || period_start::text"
             "  || '%d') LIMIT %d) RETURNING series_id, period_start)"
             " INSERT INTO rollup_dirty (programme_id, series_ids, periods)"
             " SELECT %lld, array_agg(series_id), array_agg(period_start) FROM gone"
             " HAVING count(*) > 0",
             (long long)programme_id, rand(), 1 + rand() % 4, (long long)programme_id);
    exec(sql);
}

/* A random practice's membership: planned, active since a random month, or withdrawn. */
static void random_membership(void)
{
    static const char *const changes[] = {
        "status = 'planned', adopted_on = NULL, withdrawn_on = NULL",
        "status = 'active', adopted_on = DATE '2025-01-01' + %d * interval '1 month',"
        " withdrawn_on = NULL",
        "status = 'withdrawn', withdrawn_on = DATE '2025-01-01' + %d * interval '1 month'",
        "status = 'active', adopted_on = NULL, withdrawn_on = NULL",
    };
    char set[256], sql[768];
    snprintf(set, sizeof(set), changes[rand() % 4], rand() % N_PERIODS);
    snprintf(sql, sizeof(sql),
             "UPDATE membership m SET %s FROM site s WHERE s.id = m.site_id"
             " AND s.code = 'GP-%d-%d'",
             set, 1 + rand() % N_REGIONS, 1 + rand() % N_PRACTICES);
    exec(sql);
}

/* The due periods: month `month` of 2025 for each indicator, due grace days after its end. */
static size_t due_of(int month, int grace, struct feeds_due due[N_INDICATORS])
{
    char text[16];
    snprintf(text, sizeof(text), "2025-%02d-01", month);
    int32_t start;
    cr_assert(date_parse(text, 10, &start));
    struct period p = period_containing(PERIOD_MONTHLY, start);
    for (int i = 0; i < N_INDICATORS; i++)
        due[i] = (struct feeds_due){indicator_ids[i], period_start(p), period_end(p),
                                    period_end(p) + grace};
    return N_INDICATORS;
}

/* Index scans and rows read of site_sent by this session so far. */
static long long site_sent_work(void)
{
    char *text = pgtest_scalar(conn, "SELECT coalesce(seq_scan, 0) + coalesce(seq_tup_read, 0)"
                                     " + coalesce(idx_scan, 0) + coalesce(idx_tup_fetch, 0)"
                                     " FROM pg_stat_xact_user_tables WHERE relname = 'site_sent'");
    long long work = strtoll(text, NULL, 10);
    free(text);
    return work;
}

static char *text_of(json_t *doc)
{
    cr_assert_not_null(doc);
    char *text = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* The summary as a read answers it: kept when its key holds (then reading no site_sent row,
 * counted in *hits), else computed and kept. */
static char *maintained(const struct feeds_due *due, size_t n, int grace, int *hits)
{
    json_t *doc = NULL;
    bool pending = false;
    exec("BEGIN");
    long long before = site_sent_work();
    cr_assert(feeds_store_summary_kept(conn, programme_id, grace, due, n, &doc, &pending, "t"));
    long long work = site_sent_work() - before;
    exec("COMMIT");
    if (doc != NULL) {
        cr_assert_eq(work, 0, "a kept summary read site_sent: %lld", work);
        cr_assert(!pending);
        (*hits)++;
        return text_of(doc);
    }
    bool kept = false;
    doc = feeds_store_summary_keep(conn, programme_id, grace, due, n, true, &kept, "t");
    cr_assert_eq(kept, !pending, "kept unless a mark is pending");
    return text_of(doc);
}

/* The summary from scratch: every series looked up in the observations (a mark naming all of
 * them, rolled back), site_sent and last_period decide nothing. */
static char *from_scratch(const struct feeds_due *due, size_t n)
{
    exec("BEGIN");
    exec("INSERT INTO rollup_dirty (programme_id, series_ids, periods) SELECT programme_id,"
         " array_agg(id), array_agg(DATE '2025-01-01') FROM series GROUP BY programme_id");
    exec("DELETE FROM series_latest");
    char *text = text_of(feeds_store_summary(conn, programme_id, due, n, "t"));
    exec("ROLLBACK");
    return text;
}

static void fold(long max_marks)
{
    struct rollup_stats stats = {0};
    cr_assert_eq(rollup_store_fold(conn, programme_id, max_marks, true, &stats, "test"),
                 ROLLUP_FOLDED);
}

Test(feeds_summary, kept_equals_from_scratch_after_random_changes)
{
    struct feeds_due due[N_INDICATORS];
    int month = 3, grace = 15, hits = 0, checks = 0, kept_after_change = 0;
    for (int round = 0; round < 160; round++) {
        switch (rand() % 10) {
        case 0:
        case 1:
        case 2:
            random_push();
            break;
        case 3:
            random_delete();
            break;
        case 4:
        case 5:
            fold(100000);
            break;
        case 6:
            fold(1); /* some marks stay */
            break;
        case 7:
            random_membership();
            break;
        case 8:
            month = 2 + rand() % (N_PERIODS - 1); /* another day: other due periods */
            grace = rand() % 2 ? 15 : 0;
            break;
        default:
            (void)apply(round % 2 == 0, PROGRAMME_UPDATED); /* GP-1-2 moves, or back */
            fold(100000);
            break;
        }
        size_t n = due_of(month, grace, due);
        char *scratch = from_scratch(due, n);
        int before = hits;
        for (int read = 0; read < 2; read++) {
            char *answer = maintained(due, n, grace, &hits);
            cr_assert_str_eq(answer, scratch, "round %d, read %d", round, read);
            free(answer);
            checks++;
        }
        kept_after_change += hits > before;
        free(scratch);
    }
    cr_expect_gt(hits, 60, "the reads should often be answered from the kept summary: %d", hits);
    cr_expect_gt(checks - hits, 40, "changes should often make the kept summary stale: %d",
                 checks - hits);
    cr_expect_gt(kept_after_change, 40, "%d", kept_after_change);
}

/* The kept summary is not used across a mark naming series, nor after a membership change;
 * then the next read keeps the new one. */
Test(feeds_summary, a_pending_mark_or_a_membership_change_makes_it_stale)
{
    struct feeds_due due[N_INDICATORS];
    size_t n = due_of(3, 15, due);
    int hits = 0;
    random_push();
    fold(100000);
    free(maintained(due, n, 15, &hits));
    free(maintained(due, n, 15, &hits));
    cr_assert_eq(hits, 1);
    store("{\"indicator\":\"enrolled\",\"site\":\"GP-1-1\",\"period\":\"2025-03\",\"value\":7}");
    free(maintained(due, n, 15, &hits));
    free(maintained(due, n, 15, &hits));
    cr_assert_eq(hits, 1, "a pending mark: computed each time, kept never");
    fold(100000);
    free(maintained(due, n, 15, &hits));
    free(maintained(due, n, 15, &hits));
    cr_assert_eq(hits, 2);
    exec("UPDATE membership SET status = 'withdrawn', withdrawn_on = DATE '2025-01-01'"
         " WHERE site_id = (SELECT id FROM site WHERE code = 'GP-1-1')");
    char *after = maintained(due, n, 15, &hits);
    cr_assert_eq(hits, 2, "a membership change: computed again");
    char *scratch = from_scratch(due, n);
    cr_assert_str_eq(after, scratch);
    free(after);
    free(scratch);
}
