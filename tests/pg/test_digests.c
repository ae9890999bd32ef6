/*
 * Digests against a throwaway PostgreSQL: time zones as the database knows them (summer
 * time included), the claim of a due digest that a second session skips, and the digest
 * task end to end: a new schedule is given its first due time, a due digest is queued once
 * per address with its record, and a second run at the same time queues nothing.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/digest_schedule.h"
#include "scaleupd/core/period.h"
#include "scaleupd/services/digest.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/digest_store.h"

static double utc(int y, int mo, int d, int h)
{
    return (double)date_from_ymd(y, mo, d) * 86400.0 + h * 3600.0;
}

static void run(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

static long count(PGconn *conn, const char *sql)
{
    char *v = pgtest_scalar(conn, sql);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* A programme with a digest receiver (two addresses and a webhook) due Mondays 08:00. */
static PGconn *setup(const char *db)
{
    PGconn *conn = pgtest_fresh_database(db);
    run(conn, "INSERT INTO programme (id, slug, name, time_zone, document) VALUES (1, 'p',"
              " 'Programme P', 'Europe/Brussels', '{}')");
    run(conn, "INSERT INTO receiver (programme_id, name, email, webhook, time_zone) VALUES (1,"
              " 'leaders', '{a@example.org,b@example.org}', '{http://127.0.0.1:9/hook}',"
              " 'Europe/Brussels')");
    run(conn, "INSERT INTO receiver_digest (programme_id, receiver, notify, schedule, since)"
              " VALUES (1, 'leaders', 'digest', '{\"every\":\"week\",\"day\":\"monday\","
              "\"hour\":8}', '2026-10-14T12:00:00Z')");
    return conn;
}

Test(digests, zone_offsets_and_next_due_from_the_database)
{
    PGconn *conn = pgtest_fresh_database("pg_digests_zone");
    struct digest_store_zone z = {conn, "Europe/Brussels"};
    int s = 0;
    cr_assert(digest_store_zone_offset(&z, utc(2026, 1, 15, 12), &s));
    cr_expect_eq(s, 3600);
    cr_assert(digest_store_zone_offset(&z, utc(2026, 7, 15, 12), &s));
    cr_expect_eq(s, 7200);
    struct digest_store_zone ny = {conn, "America/New_York"};
    cr_assert(digest_store_zone_offset(&ny, utc(2026, 1, 15, 12), &s));
    cr_expect_eq(s, -18000);
    struct digest_zone zone = {digest_store_zone_offset, &z};
    struct digest_schedule monday = {.every = DIGEST_WEEKLY, .weekday = 1, .hour = 8};
    double due;
    cr_assert(digest_next_due(&monday, &zone, utc(2026, 10, 19, 6) + 1, &due));
    cr_expect_eq(due, utc(2026, 10, 26, 7), "a week later by the wall clock: %.0f", due);
    struct digest_schedule sunday = {.every = DIGEST_WEEKLY, .weekday = 7, .hour = 2};
    cr_assert(digest_next_due(&sunday, &zone, utc(2026, 3, 25, 0), &due));
    cr_expect_eq(due, utc(2026, 3, 29, 1), "02:00 that does not exist is 03:00 CEST");
    PQfinish(conn);
}

Test(digests, a_claimed_digest_is_skipped_by_another_session)
{
    PGconn *a = setup("pg_digests_claim");
    PGconn *b = PQconnectdb(pgtest_conninfo("pg_digests_claim"));
    cr_assert_eq(PQstatus(b), CONNECTION_OK);
    double now = utc(2026, 10, 20, 0);
    cr_assert(db_begin(a, NULL) && db_begin(b, NULL));
    struct digest_claim ca, cb;
    cr_expect_eq(digest_store_claim(a, now, "{}", &ca), 1);
    cr_expect_not(ca.has_next_due, "a new schedule has no due time yet");
    cr_expect_eq(digest_store_claim(b, now, "{}", &cb), 0, "locked by a: skipped");
    digest_claim_clear(&cb);
    cr_expect_eq(digest_store_claim(b, now, "{}", &cb), 0);
    db_rollback(b, NULL);
    /* the skip list: the same session does not take it again */
    cr_assert(db_begin(b, NULL));
    digest_claim_clear(&ca);
    db_rollback(a, NULL);
    cr_expect_eq(digest_store_claim(b, now, "{\"1/leaders\"}", &cb), 0);
    cr_expect_eq(digest_store_claim(b, now, "{\"2/leaders\"}", &cb), 1);
    digest_claim_clear(&cb);
    db_rollback(b, NULL);
    PQfinish(b);
    PQfinish(a);
}

Test(digests, the_task_schedules_then_queues_once)
{
    PGconn *conn = setup("pg_digests_task");
    struct config *config = config_new_defaults();
    bool more = true;
    /* first run: the schedule's first due time after `since` (Wednesday 14 October) */
    cr_expect_eq(digest_run(conn, config, utc(2026, 10, 14, 13), &more), 0);
    cr_expect_not(more);
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_digest WHERE next_due_at ="
                             " '2026-10-19T06:00:00Z'"),
                 1);
    cr_expect_eq(digest_run(conn, config, utc(2026, 10, 19, 5), NULL), 0, "not due yet");
    cr_expect_eq(count(conn, "SELECT count(*) FROM outbox"), 0);
    /* due: one message per e-mail address (the webhook gets none), and its record */
    cr_expect_eq(digest_run(conn, config, utc(2026, 10, 19, 6) + 30, NULL), 2);
    cr_expect_eq(count(conn, "SELECT count(*) FROM outbox WHERE channel = 'email' AND subject"
                             " LIKE '[scaleupd] Weekly digest · Programme P: 0 opened, %'"),
                 2);
    cr_expect_eq(count(conn, "SELECT count(*) FROM digest_sent WHERE due_at ="
                             " '2026-10-19T06:00:00Z' AND covers_from = '2026-10-14T12:00:00Z'"
                             " AND cardinality(messages) = 2"),
                 1);
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_digest WHERE next_due_at ="
                             " '2026-10-26T07:00:00Z' AND last_due_at = '2026-10-19T06:00:00Z'"),
                 1, "the next one a week later in Brussels, an hour later in UTC");
    cr_expect_eq(digest_run(conn, config, utc(2026, 10, 19, 6) + 60, NULL), 0, "never twice");
    cr_expect_eq(count(conn, "SELECT count(*) FROM outbox"), 2);
    /* a daemon down for three weeks sends one digest, then waits for the next Monday */
    cr_expect_eq(digest_run(conn, config, utc(2026, 11, 18, 12), NULL), 2);
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_digest WHERE next_due_at ="
                             " '2026-11-23T07:00:00Z'"),
                 1);
    cr_expect_eq(digest_run(conn, config, utc(2026, 11, 18, 13), NULL), 0);
    char *body = pgtest_scalar(conn, "SELECT body FROM outbox ORDER BY id LIMIT 1");
    cr_expect(strstr(body, "Content-Type: multipart/alternative") != NULL, "%.300s", body);
    free(body);
    config_free(&config);
    PQfinish(conn);
}

static bool put(PGconn *conn, const char *settings, double now)
{
    json_t *doc = json_loads(settings, 0, NULL);
    cr_assert_not_null(doc);
    bool ok = digest_store_put(conn, 1, doc, now);
    json_decref(doc);
    return ok;
}

Test(digests, a_put_keeps_the_last_digest_unless_the_receiver_had_none)
{
    PGconn *conn = setup("pg_digests_put");
    run(conn, "UPDATE receiver_digest SET last_due_at = '2026-10-19T06:00:00Z', next_due_at ="
              " '2026-10-26T07:00:00Z'");
    run(conn, "INSERT INTO receiver (programme_id, name, email) VALUES (1, 'team',"
              " '{t@example.org}')");
    const char *both = "[{\"name\":\"leaders\",\"notify\":\"digest\",\"digest\":{\"every\":"
                       "\"week\",\"day\":\"monday\",\"hour\":8}},{\"name\":\"team\",\"notify\":"
                       "\"immediate\",\"digest\":null}]";
    cr_assert(put(conn, both, utc(2026, 10, 21, 0)));
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_digest WHERE receiver = 'leaders'"
                             " AND last_due_at = '2026-10-19T06:00:00Z' AND next_due_at IS NULL"
                             " AND since = '2026-10-14T12:00:00Z'"),
                 1, "kept: its next digest still covers from its last one");
    const char *team = "[{\"name\":\"team\",\"notify\":\"both\",\"digest\":{\"every\":\"week\","
                       "\"day\":\"friday\",\"hour\":17}}]";
    cr_assert(put(conn, team, utc(2026, 11, 2, 0)));
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_digest"), 1, "leaders' is gone");
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_digest WHERE receiver = 'team' AND"
                             " since = '2026-11-02T00:00:00Z' AND notify = 'both'"),
                 1, "a receiver that had immediate notices starts its digests at the PUT");
    bool immediate = false;
    cr_assert(digest_store_immediate(conn, 1, "team", &immediate));
    cr_expect(immediate, "both: immediate notices too");
    PQfinish(conn);
}
