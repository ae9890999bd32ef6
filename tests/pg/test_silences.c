/*
 * Silences and acknowledgements against a throwaway PostgreSQL: a region's silence mutes its
 * practices (site_tree) in the alert list's silenced_by and in a group's message; negative
 * and regex matchers; past silences listed apart; older equality silences migrated by 018
 * and still muting; acknowledgements of one alert or several with who, comment and token.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/core/silence_doc.h"
#include "scaleupd/storage/ack_store.h"
#include "scaleupd/storage/alert_groups.h"
#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/silence_store.h"

#define NOW 1770724800.0 /* 2026-02-10T12:00:00Z */

static void run(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

/* Belgium > Wallonia > W1, W2; Belgium > Flanders > V1; an spc rule on bp and a late-feed
 * rule on hba; firing alerts: 1 bp@W1, 2 bp@W2, 3 bp@BE-WAL (the aggregate), 4 bp@V1,
 * 5 hba@W1 (late feed). A receiver "team". */
static PGconn *setup(const char *db)
{
    PGconn *conn = pgtest_fresh_database(db);
    run(conn, "INSERT INTO programme (id, slug, name, document) VALUES (1, 'icp', 'ICP', '{}')");
    run(conn,
        "INSERT INTO site (programme_id, id, code, name, level, parent_id) VALUES"
        " (1, 1, 'BE', 'Belgium', 'country', NULL), (1, 2, 'BE-WAL', 'Wallonia', 'region', 1),"
        " (1, 3, 'BE-VLG', 'Flanders', 'region', 1), (1, 4, 'W1', 'W1', 'practice', 2),"
        " (1, 5, 'W2', 'W2', 'practice', 2), (1, 6, 'V1', 'V1', 'practice', 3)");
    run(conn, "INSERT INTO site_tree (programme_id, ancestor_id, site_id, depth) VALUES"
              " (1, 1, 2, 1), (1, 1, 3, 1), (1, 2, 4, 1), (1, 1, 4, 2), (1, 2, 5, 1),"
              " (1, 1, 5, 2), (1, 3, 6, 1), (1, 1, 6, 2)");
    run(conn, "INSERT INTO indicator (programme_id, id, code, name, value_type, period_type,"
              " direction) VALUES (1, 1, 'bp', 'BP', 'percentage', 'monthly', 'up'),"
              " (1, 2, 'hba', 'HbA1c', 'percentage', 'monthly', 'up')");
    run(conn, "INSERT INTO alert_rule (programme_id, id, name, kind, indicator_id, document)"
              " VALUES (1, 1, 'spc-bp', 'spc', 1, '{}'), (1, 2, 'late-hba', 'late_feed', 2, '{}')");
    run(conn, "INSERT INTO alert (programme_id, id, rule_id, subject, indicator_id, site_id,"
              " state, updated_at) VALUES (1, 1, 1, 'a', 1, 4, 'firing', now()),"
              " (1, 2, 1, 'b', 1, 5, 'firing', now()), (1, 3, 1, 'c', 1, 2, 'firing', now()),"
              " (1, 4, 1, 'd', 1, 6, 'firing', now()), (1, 5, 2, 'e', 2, 4, 'firing', now())");
    run(conn, "INSERT INTO receiver (programme_id, name, email) VALUES (1, 'team',"
              " '{t@example.org}')");
    return conn;
}

/* Stores a silence document (as POST /api/v1/silences does); returns its id. */
static long long add_silence(PGconn *conn, const char *json)
{
    json_t *doc = json_loads(json, 0, NULL);
    cr_assert_not_null(doc, "%s", json);
    struct silence_doc s;
    json_t *problems = silence_doc_parse(doc, NOW - 60, &s);
    cr_assert_null(problems, "%s", json);
    int64_t id = 0;
    cr_assert_eq(alerts_silence_create(conn, &s, &id, &problems), ALERTS_CREATED);
    silence_doc_clear(&s);
    json_decref(doc);
    return (long long)id;
}

/* "alert id:[silence ids]" of every listed alert, oldest first, space-separated. */
static void silenced_by(PGconn *conn, char *out, size_t size)
{
    struct alerts_filter filter = {.now = NOW};
    struct page_request request = {.limit = 100};
    struct page_rows page;
    cr_assert_eq(alerts_list_page(conn, &filter, &request, &page), PAGE_ROWS_OK);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = json_array_size(page.items); i-- > 0;) {
        const json_t *a = json_array_get(page.items, i);
        char *ids = json_dumps(json_object_get(a, "silenced_by"), JSON_COMPACT);
        used += (size_t)snprintf(out + used, size - used, "%s%lld:%s", used ? " " : "",
                                 (long long)json_integer_value(json_object_get(a, "id")), ids);
        free(ids);
    }
    page_rows_free(&page);
}

/* The ids of the alerts a message to "team" shows at NOW, space-separated. */
static void group_alerts(PGconn *conn, char *out, size_t size)
{
    struct alert_group_alerts alerts;
    cr_assert(alert_groups_alerts(conn, 1, "team", NOW, false, &alerts));
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < alerts.group.n_alerts; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%lld", used ? " " : "",
                                 alerts.group.alerts[i].id);
    alert_group_alerts_clear(&alerts);
}

#define END ",\"ends_at\":\"2026-03-01T00:00:00Z\",\"author\":\"ops\"}"

Test(silences, a_region_covers_its_practices)
{
    PGconn *conn = setup("pg_silences_region");
    char got[512];
    silenced_by(conn, got, sizeof(got));
    cr_expect_str_eq(got, "1:[] 2:[] 3:[] 4:[] 5:[]");
    group_alerts(conn, got, sizeof(got));
    cr_expect_str_eq(got, "3 4 1 2 5"); /* by indicator, site */
    long long wal = add_silence(conn, "{\"matchers\":[\"region=BE-WAL\"]" END);
    char want[128];
    snprintf(want, sizeof(want), "1:[%lld] 2:[%lld] 3:[%lld] 4:[] 5:[%lld]", wal, wal, wal, wal);
    silenced_by(conn, got, sizeof(got));
    cr_expect_str_eq(got, want, "Wallonia, its aggregate and its practices");
    group_alerts(conn, got, sizeof(got));
    cr_expect_str_eq(got, "4", "only Flanders' practice is told");
    /* site stays the alert's own site */
    run(conn, "UPDATE silence SET expired_at = to_timestamp(1770724000)");
    long long own = add_silence(conn, "{\"matchers\":{\"site\":\"BE-WAL\"}" END);
    snprintf(want, sizeof(want), "1:[] 2:[] 3:[%lld] 4:[] 5:[]", own);
    silenced_by(conn, got, sizeof(got));
    cr_expect_str_eq(got, want);
    PQfinish(conn);
}

Test(silences, negative_and_regex_matchers)
{
    PGconn *conn = setup("pg_silences_ops");
    long long outside = add_silence(conn, "{\"matchers\":[\"region!=BE-WAL\",\"kind=spc\"]" END);
    long long re = add_silence(conn, "{\"programme\":\"icp\",\"matchers\":[{\"name\":"
                                     "\"indicator\",\"value\":\"h.*\",\"isRegex\":true}]" END);
    long long not_re = add_silence(conn, "{\"matchers\":[\"site!~W[0-9]\",\"indicator=bp\"]" END);
    /* anchored: "W" alone matches no site code */
    long long anchored = add_silence(conn, "{\"matchers\":[\"site=~W\"]" END);
    (void)anchored;
    char got[512], want[256];
    snprintf(want, sizeof(want), "1:[] 2:[] 3:[%lld] 4:[%lld,%lld] 5:[%lld]", not_re, outside,
             not_re, re);
    silenced_by(conn, got, sizeof(got));
    cr_expect_str_eq(got, want);
    group_alerts(conn, got, sizeof(got));
    cr_expect_str_eq(got, "1 2");
    /* another programme's silence mutes none of these */
    run(conn, "INSERT INTO programme (id, slug, name, document) VALUES (2, 'other', 'O', '{}')");
    run(conn, "UPDATE silence SET programme_id = 2");
    silenced_by(conn, got, sizeof(got));
    cr_expect_str_eq(got, "1:[] 2:[] 3:[] 4:[] 5:[]");
    PQfinish(conn);
}

/* The ids of the silences a list gives (current or past), in its order. */
static void listed(PGconn *conn, bool ended, char *out, size_t size)
{
    struct page_request request = {.limit = 100};
    struct page_rows page;
    cr_assert_eq(alerts_silence_list_page(conn, NOW, ended, &request, &page), PAGE_ROWS_OK);
    size_t used = 0;
    out[0] = '\0';
    size_t i;
    const json_t *s;
    json_array_foreach(page.items, i, s) used +=
        (size_t)snprintf(out + used, size - used, "%s%lld", used ? " " : "",
                         (long long)json_integer_value(json_object_get(s, "id")));
    page_rows_free(&page);
}

Test(silences, past_silences_are_listed_apart_and_mute_nothing)
{
    PGconn *conn = setup("pg_silences_expired");
    long long current = add_silence(conn, "{\"matchers\":[\"site=W1\"]" END);
    long long expired = add_silence(conn, "{\"matchers\":[\"site=W2\"]" END);
    long long ran_out = add_silence(conn, "{\"matchers\":[\"site=V1\"],\"starts_at\":"
                                          "\"2026-01-01T00:00:00Z\",\"duration\":\"1d\","
                                          "\"author\":\"ops\"}");
    long long later = add_silence(conn, "{\"matchers\":[\"site=BE-WAL\"],\"starts_at\":"
                                        "\"2026-02-20T00:00:00Z\"" END);
    cr_assert_eq(alerts_silence_expire(conn, expired, NOW - 30), ALERTS_OK);
    char got[256], want[256];
    listed(conn, false, got, sizeof(got));
    snprintf(want, sizeof(want), "%lld %lld", later, current);
    cr_expect_str_eq(got, want, "not yet ended: the one to come too");
    listed(conn, true, got, sizeof(got));
    snprintf(want, sizeof(want), "%lld %lld", expired, ran_out);
    cr_expect_str_eq(got, want, "ended, latest end first");
    silenced_by(conn, got, sizeof(got));
    snprintf(want, sizeof(want), "1:[%lld] 2:[] 3:[] 4:[] 5:[%lld]", current, current);
    cr_expect_str_eq(got, want, "only the one in force mutes");
    PQfinish(conn);
}

/* A database as 017 left it: 018 not applied, silences of the older object form. */
Test(silences, migration_018_keeps_equality_silences)
{
    PGconn *conn = setup("pg_silences_migrate");
    run(conn, "DELETE FROM schema_migration WHERE version = 18");
    run(conn, "ALTER TABLE silence DROP CONSTRAINT silence_matchers_list");
    run(conn, "ALTER TABLE alert DROP COLUMN ack_comment, DROP COLUMN ack_token");
    run(conn, "UPDATE alert SET acked_at = now(), acked_by = 'ops-token' WHERE id = 4");
    run(conn, "INSERT INTO silence (id, matchers, starts_at, ends_at, author) VALUES"
              " (1, '{\"site\":\"W1\",\"indicator\":\"hba\"}', to_timestamp(1770720000),"
              " to_timestamp(1770800000), 'me'), (2, '{\"rule\":\"spc-bp\",\"site\":\"W2\"}',"
              " to_timestamp(1770720000), to_timestamp(1770800000), 'me')");
    char err[512];
    cr_assert(db_migrate(conn, err, sizeof(err)), "%s", err);
    char *m = pgtest_scalar(conn, "SELECT matchers::text FROM silence WHERE id = 1");
    cr_expect_str_eq(m, "[{\"name\": \"indicator\", \"value\": \"hba\", \"isEqual\": true, "
                        "\"isRegex\": false}, {\"name\": \"site\", \"value\": \"W1\", "
                        "\"isEqual\": true, \"isRegex\": false}]");
    free(m);
    char got[256];
    silenced_by(conn, got, sizeof(got));
    cr_expect_str_eq(got, "1:[] 2:[2] 3:[] 4:[] 5:[1]");
    char *token =
        pgtest_scalar(conn, "SELECT acked_by || '/' || ack_token FROM alert WHERE id = 4");
    cr_expect_str_eq(token, "ops-token/ops-token", "the token's name, now kept as such too");
    free(token);
    PQfinish(conn);
}

Test(silences, acknowledgements_record_who_why_and_the_token)
{
    PGconn *conn = setup("pg_silences_ack");
    struct ack_by ann = {.person = "Ann Peeters", .comment = "GP2 sends late", .token = "ops"};
    cr_assert_eq(alerts_ack(conn, 2, &ann, NOW), ALERTS_OK);
    cr_expect_eq(alerts_ack(conn, 99, &ann, NOW), ALERTS_NOT_FOUND);
    json_t *alert = NULL;
    cr_assert_eq(alerts_get(conn, 2, NOW, &alert), ALERTS_OK);
    cr_expect_str_eq(json_string_value(json_object_get(alert, "acked_by")), "Ann Peeters");
    cr_expect_str_eq(json_string_value(json_object_get(alert, "ack_comment")), "GP2 sends late");
    cr_expect_str_eq(json_string_value(json_object_get(alert, "ack_token")), "ops");
    cr_expect(json_is_array(json_object_get(alert, "silenced_by")));
    json_decref(alert);
    cr_expect_eq(alerts_get(conn, 99, NOW, &alert), ALERTS_NOT_FOUND);
    /* an incident's alerts at once, through a one-click link: no token, no comment */
    int64_t ids[] = {1, 3, 99};
    struct ack_by link = {.person = "lead@example.org"};
    size_t acked = 0;
    cr_assert_eq(alerts_ack_ids(conn, ids, 3, &link, NOW + 10, &acked), ALERTS_OK);
    cr_expect_eq(acked, 2, "the ids that exist");
    char *row =
        pgtest_scalar(conn, "SELECT string_agg(id || ':' || acked_by || ':' ||"
                            " coalesce(ack_comment, '-') || ':' || coalesce(ack_token,"
                            " '-'), ' ' ORDER BY id) FROM alert WHERE acked_at IS NOT NULL");
    cr_expect_str_eq(row, "1:lead@example.org:-:- 2:Ann Peeters:GP2 sends late:ops "
                          "3:lead@example.org:-:-");
    free(row);
    cr_expect_eq(alerts_ack_ids(conn, ids, 0, &link, NOW, &acked), ALERTS_OK);
    cr_expect_eq(acked, 0);
    PQfinish(conn);
}
