/*
 * The outbox against a throwaway PostgreSQL: alert events become one grouped message per
 * address only after group_wait, repeats wait for repeat_interval, silences drop them, and
 * delivery claims are leased so two workers (or daemons) never send the same row; a
 * dead-lettered message fires the self alert for the other receivers; a deleted default rule
 * stays deleted.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"
#include "scaleupd/core/receiver_doc.h"
#include "scaleupd/storage/ack_store.h"
#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/rule_store.h"
#include "scaleupd/core/config.h"
#include "scaleupd/services/delivery.h"
#include "scaleupd/services/notify.h"
#include "scaleupd/storage/outbox.h"
#include "scaleupd/storage/receiver_store.h"

#define T0 1770724800.0

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

/* A programme with one site, one indicator, one rule and one receiver with two addresses. */
static PGconn *setup(const char *db)
{
    PGconn *conn = pgtest_fresh_database(db);
    run(conn, "INSERT INTO programme (id, slug, name, document) VALUES (1, 'p', 'P', '{}')");
    run(conn, "INSERT INTO site (programme_id, id, code, name, level) VALUES (1, 1, 'S1', 'Site 1',"
              " 'practice')");
    run(conn, "INSERT INTO indicator (programme_id, id, code, name, value_type, period_type,"
              " direction) VALUES (1, 1, 'ind', 'Indicator', 'percentage', 'monthly', 'up')");
    run(conn, "INSERT INTO alert_rule (programme_id, id, name, kind, indicator_id, document)"
              " VALUES (1, 1, 'spc-ind', 'spc', 1, '{\"name\":\"spc-ind\",\"kind\":\"spc\"}')");
    run(conn, "INSERT INTO receiver (programme_id, name, email) VALUES (1, 'team',"
              " '{a@example.org,b@example.org}')");
    return conn;
}

/* Evaluates the rule of setup() for period day (days since 1970) with the given counts, in
 * the caller's transaction. */
static void apply_step(PGconn *conn, enum alert_observation obs, int32_t day, int counts,
                       double now)
{
    struct rule_eval eval = {.holds = obs == ALERT_OBS_HOLDS,
                             .has_limits = true,
                             .value = 30,
                             .centre = 60,
                             .lower_limit = 55,
                             .upper_limit = 65};
    snprintf(eval.summary, sizeof(eval.summary), "%s",
             obs == ALERT_OBS_HOLDS ? "below lower limit" : "common cause variation");
    struct alert_update u = {.programme_id = 1,
                             .rule_id = 1,
                             .subject = "i1:s1",
                             .indicator_id = 1,
                             .site_id = 1,
                             .for_count = counts,
                             .resolve_count = counts,
                             .obs = obs,
                             .eval = &eval,
                             .period_start = day,
                             .now = now};
    cr_assert(alerts_apply(conn, &u));
}

/* apply_step in a transaction of its own. */
static void step(PGconn *conn, enum alert_observation obs, int32_t day, int counts, double now)
{
    run(conn, "BEGIN");
    apply_step(conn, obs, day, counts, now);
    run(conn, "COMMIT");
}

static void fire(PGconn *conn, enum alert_observation obs, double now)
{
    step(conn, obs, 20454, 1, now);
}

static char *alert_state(PGconn *conn)
{
    return pgtest_scalar(conn, "SELECT state || '/' || streak FROM alert");
}

/* `for` and resolve count periods: evaluating the same period again (a timer run of a
 * late-feed rule, a revision of the latest value) does not move a count on. */
Test(outbox, for_and_resolve_count_periods_not_evaluations)
{
    PGconn *conn = setup("pg_outbox_periods");
    const char *expect[][2] = {{"pending/1", "first period"},  {"pending/1", "same period"},
                               {"firing/0", "second period"},  {"firing/1", "first ok"},
                               {"firing/1", "same period ok"}, {"resolved/0", "second ok"}};
    struct {
        enum alert_observation obs;
        int32_t day;
    } steps[] = {{ALERT_OBS_HOLDS, 20454}, {ALERT_OBS_HOLDS, 20454}, {ALERT_OBS_HOLDS, 20485},
                 {ALERT_OBS_OK, 20513},    {ALERT_OBS_OK, 20513},    {ALERT_OBS_OK, 20544}};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        step(conn, steps[i].obs, steps[i].day, 2, T0 + (double)i * 60);
        char *state = alert_state(conn);
        cr_expect_str_eq(state, expect[i][0], "after the %s", expect[i][1]);
        free(state);
    }
    /* a change of what the period shows still counts: a revision that clears a pending alert */
    step(conn, ALERT_OBS_HOLDS, 20575, 2, T0 + 1000);
    step(conn, ALERT_OBS_OK, 20575, 2, T0 + 1060);
    char *state = alert_state(conn);
    cr_expect_str_eq(state, "inactive/0");
    free(state);
    /* a lower `for` applies to the period already counted: it fires without waiting for the
       next period */
    step(conn, ALERT_OBS_HOLDS, 20606, 3, T0 + 1120);
    step(conn, ALERT_OBS_HOLDS, 20606, 1, T0 + 1180);
    state = alert_state(conn);
    cr_expect_str_eq(state, "firing/0");
    free(state);
    PQfinish(conn);
}

static struct config *test_config(void)
{
    struct config *c = config_new_defaults();
    c->group_wait = 30;
    c->group_interval = 300;
    c->repeat_interval = 3600;
    return c;
}

Test(outbox, group_wait_then_one_message_per_address_then_repeat)
{
    PGconn *conn = setup("pg_outbox_group");
    struct config *c = test_config();
    fire(conn, ALERT_OBS_HOLDS, T0);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE kind = 'firing'"), 1);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_history WHERE to_state = 'firing'"), 1);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 29), 0, "nothing before group_wait");
    cr_expect_eq(notify_dispatch(conn, c, T0 + 30), 2, "one message per address");
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE dispatched_at IS NULL"), 0);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 31), 0, "nothing new");
    cr_expect_eq(notify_dispatch(conn, c, T0 + 30 + 3600), 2, "a repeat after repeat_interval");
    /* an acknowledged alert is not repeated */
    struct ack_by me = {.person = "me", .comment = "looking", .token = "ops"};
    cr_assert_eq(alerts_ack(conn, 1, &me, T0 + 4000), ALERTS_OK);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 30 + 7200), 0);
    /* resolving it is news again: the last message carried no firing alert, so the group
       waits group_wait, then sends one resolved notice per address */
    fire(conn, ALERT_OBS_OK, T0 + 8000);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE kind = 'resolved'"), 1);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 8029), 0);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 8030), 2);
    char *subject = pgtest_scalar(conn, "SELECT subject FROM outbox ORDER BY id DESC LIMIT 1");
    cr_expect_str_eq(subject,
                     "Resolved \xe2\x80\x94 P: Indicator common cause variation at Site 1");
    free(subject);
    config_free(&c);
    PQfinish(conn);
}

/* Applies a receivers document as PUT /receivers does, at the daemon's clock `now`. */
static void put_receivers(PGconn *conn, const char *text, double now)
{
    char clock_file[64];
    snprintf(clock_file, sizeof(clock_file), "/tmp/scaleupd-outbox-clock-%d", (int)getpid());
    FILE *f = fopen(clock_file, "w");
    cr_assert_not_null(f);
    fprintf(f, "%.3f\n", now);
    fclose(f);
    setenv("SCALEUPD_TEST_CLOCK_FILE", clock_file, 1);
    json_t *doc = json_loads(text, 0, NULL), *problems = NULL, *stored = NULL;
    const json_t *receivers = NULL;
    cr_assert_null(receiver_doc_parse(doc, &receivers));
    cr_assert_eq(alerts_receivers_put(conn, 1, receivers, &problems, &stored), ALERTS_OK);
    json_decref(stored);
    json_decref(doc);
    unsetenv("SCALEUPD_TEST_CLOCK_FILE");
    remove(clock_file);
}

/* A receiver added while alerts are firing hears of them after group_wait (a change team set up
 * after the data came, or a late feed open for weeks, would otherwise hear nothing until they
 * changed state); the receivers that were there already are not told again, nor is a receiver
 * applied a second time. */
Test(outbox, a_receiver_added_later_is_told_what_is_firing)
{
    PGconn *conn = setup("pg_outbox_added_later");
    struct config *c = test_config();
    fire(conn, ALERT_OBS_HOLDS, T0);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 30), 2, "the team's two addresses");
    const char *both = "{\"receivers\":[{\"name\":\"team\",\"email\":[\"a@example.org\","
                       "\"b@example.org\"]},{\"name\":\"leaders\",\"email\":"
                       "[\"c@example.org\"]}]}";
    put_receivers(conn, both, T0 + 100);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE receiver = 'leaders' AND"
                             " kind = 'firing' AND dispatched_at IS NULL"),
                 1);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE receiver = 'team' AND"
                             " dispatched_at IS NULL"),
                 0, "the team was told when it opened");
    cr_expect_eq(notify_dispatch(conn, c, T0 + 129), 0, "nothing before group_wait");
    cr_expect_eq(notify_dispatch(conn, c, T0 + 130), 1, "one message to the leaders");
    char *to = pgtest_scalar(conn, "SELECT target FROM outbox ORDER BY id DESC LIMIT 1");
    cr_expect_str_eq(to, "c@example.org");
    free(to);
    put_receivers(conn, both, T0 + 200);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE dispatched_at IS NULL"), 0,
                 "applied again: nothing new to tell");
    /* an acknowledged alert is not news to a new receiver */
    struct ack_by me = {.person = "me", .comment = "looking", .token = "ops"};
    cr_assert_eq(alerts_ack(conn, 1, &me, T0 + 300), ALERTS_OK);
    put_receivers(conn, "{\"receivers\":[{\"name\":\"board\",\"email\":[\"d@example.org\"]}]}",
                  T0 + 400);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE dispatched_at IS NULL"), 0);
    config_free(&c);
    PQfinish(conn);
}

struct put_later {
    PGconn *conn;
    const char *text;
    double now;
};

static void *put_in_thread(void *arg)
{
    struct put_later *p = arg;
    put_receivers(p->conn, p->text, p->now);
    return NULL;
}

/* A receiver added while an alert fires in a transaction not yet committed: the replacement
 * waits for that transaction (its receivers lock, storage/receiver_store.c), then sees the
 * alert and tells the new receiver, once. Without the lock each side's statement saw the other
 * before it committed, and the new receiver heard nothing until the alert changed state. */
Test(outbox, a_receiver_added_while_an_alert_fires_is_told_once)
{
    PGconn *conn = setup("pg_outbox_added_meanwhile");
    char err[256];
    PGconn *other = db_connect(pgtest_conninfo("pg_outbox_added_meanwhile"), err, sizeof(err));
    cr_assert_not_null(other, "%s", err);
    run(conn, "BEGIN");
    apply_step(conn, ALERT_OBS_HOLDS, 20454, 1, T0);
    struct put_later p = {other,
                          "{\"receivers\":[{\"name\":\"team\",\"email\":[\"a@example.org\","
                          "\"b@example.org\"]},{\"name\":\"leaders\",\"email\":"
                          "[\"c@example.org\"]}]}",
                          T0 + 1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, put_in_thread, &p), 0);
    usleep(300 * 1000); /* the PUT reaches its lock and waits there */
    cr_expect_eq(count(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                             " AND NOT granted"),
                 1, "the replacement waits for the alert's transaction");
    run(conn, "COMMIT");
    pthread_join(t, NULL);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE receiver = 'leaders' AND"
                             " kind = 'firing'"),
                 1, "the new receiver is told of the alert");
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE receiver = 'team'"), 1,
                 "the team is told once, by the alert itself");
    PQfinish(other);
    PQfinish(conn);
}

Test(outbox, silenced_alerts_are_dropped)
{
    PGconn *conn = setup("pg_outbox_silence");
    struct config *c = test_config();
    run(conn, "INSERT INTO silence (matchers, starts_at, ends_at, author) VALUES"
              " ('[{\"name\":\"site\",\"value\":\"S1\"}]', to_timestamp(1770724000), "
              "to_timestamp(1770728400), 'me')");
    fire(conn, ALERT_OBS_HOLDS, T0);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 60), 0);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE outcome = 'dropped'"), 1);
    /* after the silence ends, the repeat timer tells about the still firing alert */
    run(conn, "UPDATE alert_group SET had_firing = true, last_sent_at = to_timestamp(1770724800)");
    cr_expect_eq(notify_dispatch(conn, c, T0 + 3700), 2);
    config_free(&c);
    PQfinish(conn);
}

Test(outbox, claims_are_leased_and_skip_locked)
{
    PGconn *a = setup("pg_outbox_claim");
    PGconn *b = pgtest_fresh_database("pg_outbox_claim_unused");
    PQfinish(b);
    b = PQconnectdb(pgtest_conninfo("pg_outbox_claim"));
    cr_assert_eq(PQstatus(b), CONNECTION_OK);
    for (int i = 0; i < 3; i++)
        run(a, "INSERT INTO outbox (receiver, channel, target, body, created_at, next_at) VALUES"
               " ('team', 'email', 'a@example.org', 'x', to_timestamp(1770724800),"
               " to_timestamp(1770724800))");
    /* another worker holds a row lock on the first row: the claim skips it without waiting */
    run(b, "BEGIN");
    run(b, "SELECT id FROM outbox ORDER BY id LIMIT 1 FOR UPDATE");
    struct outbox_item items[8];
    memset(items, 0, sizeof(items));
    cr_assert_eq(outbox_claim(a, T0, 60, items, 8), 2);
    cr_expect_gt(items[0].id, 1);
    for (int i = 0; i < 2; i++)
        outbox_item_clear(&items[i]);
    run(b, "ROLLBACK");
    /* the leased rows are not claimed again until the lease ends */
    cr_assert_eq(outbox_claim(b, T0 + 1, 60, items, 8), 1);
    cr_expect_eq(items[0].id, 1);
    cr_assert(outbox_mark_retry(b, items[0].id, T0 + 100, "could not connect"));
    outbox_item_clear(&items[0]);
    cr_expect_eq(outbox_claim(b, T0 + 2, 60, items, 8), 0);
    cr_assert_eq(outbox_claim(b, T0 + 61, 60, items, 8), 2, "expired leases are taken again");
    cr_assert(delivery_record_sent(b, &items[0], T0 + 61));
    cr_assert(delivery_record_dead(b, &items[1], T0 + 61, "550 no such user"));
    outbox_item_clear(&items[0]);
    outbox_item_clear(&items[1]);
    long depth;
    double age;
    cr_assert(outbox_stats(b, T0 + 100, &depth, &age));
    cr_expect_eq(depth, 1);
    cr_expect_float_eq(age, 100, 1e-6);
    PQfinish(a);
    PQfinish(b);
}

Test(outbox, a_lease_is_renewed_only_by_the_claim_that_holds_it)
{
    PGconn *a = setup("pg_outbox_renew");
    PGconn *b = PQconnectdb(pgtest_conninfo("pg_outbox_renew"));
    cr_assert_eq(PQstatus(b), CONNECTION_OK);
    run(a, "INSERT INTO outbox (receiver, channel, target, body, created_at, next_at) VALUES"
           " ('team', 'email', 'a@example.org', 'x', to_timestamp(1770724800),"
           " to_timestamp(1770724800))");
    struct outbox_item mine, theirs;
    memset(&mine, 0, sizeof(mine));
    memset(&theirs, 0, sizeof(theirs));
    cr_assert_eq(outbox_claim(a, T0, 60, &mine, 1), 1);
    /* renewed in time, the claim keeps the message past its first lease */
    cr_expect_eq(outbox_renew_lease(a, &mine, T0 + 100), 1);
    cr_expect_eq(outbox_claim(b, T0 + 61, 60, &theirs, 1), 0, "still leased");
    /* not renewed, the lease runs out and another claim takes the message: the first
     * claim can no longer renew it, so it will not send it a second time */
    cr_assert_eq(outbox_claim(b, T0 + 101, 60, &theirs, 1), 1);
    cr_expect_eq(outbox_renew_lease(a, &mine, T0 + 200), 0);
    cr_expect_eq(outbox_renew_lease(b, &theirs, T0 + 200), 1);
    cr_assert(delivery_record_sent(b, &theirs, T0 + 102));
    cr_expect_eq(outbox_renew_lease(b, &theirs, T0 + 300), 0, "a sent message has no lease");
    outbox_item_clear(&mine);
    outbox_item_clear(&theirs);
    PQfinish(a);
    PQfinish(b);
}

/* Queues one message for receiver and claims it. */
static void claim_one(PGconn *conn, const char *receiver, double now, struct outbox_item *item)
{
    const char *params[] = {receiver};
    PGresult *res =
        PQexecParams(conn,
                     "INSERT INTO outbox (programme_id, receiver, channel, target, body,"
                     " created_at, next_at) VALUES (1, $1, 'email', 'x@example.org',"
                     " 'x', to_timestamp(1770724800), to_timestamp(1770724800))",
                     1, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(conn));
    PQclear(res);
    memset(item, 0, sizeof(*item));
    cr_assert_eq(outbox_claim(conn, now, 60, item, 1), 1);
}

Test(outbox, dead_letter_fires_the_self_alert_for_other_receivers)
{
    PGconn *conn = setup("pg_outbox_self");
    struct config *c = test_config();
    run(conn, "INSERT INTO receiver (programme_id, name, email) VALUES (1, 'ops',"
              " '{ops@example.org}')");
    cr_assert(alerts_ensure_defaults(conn, 1));
    struct outbox_item item;
    claim_one(conn, "team", T0, &item);
    cr_assert(delivery_record_dead(conn, &item, T0 + 1, "550 mailbox unavailable"));
    outbox_item_clear(&item);
    cr_expect_eq(count(conn, "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL"), 1);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert a JOIN alert_rule r ON r.id = a.rule_id"
                             " WHERE r.kind = 'self' AND r.name = 'notification-delivery' AND"
                             " a.subject = 'receiver:team' AND a.state = 'firing'"),
                 1);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE receiver = 'ops'"), 1);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE receiver = 'team'"), 0,
                 "the failing receiver is not told about itself");
    cr_expect_eq(notify_dispatch(conn, c, T0 + 31), 1, "one message to ops");
    cr_expect_eq(count(conn, "SELECT count(*) FROM outbox WHERE receiver = 'ops'"), 1);
    /* a later message to team goes through: the self alert resolves */
    claim_one(conn, "team", T0 + 100, &item);
    cr_assert(delivery_record_sent(conn, &item, T0 + 100));
    outbox_item_clear(&item);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert WHERE subject = 'receiver:team' AND"
                             " state = 'resolved'"),
                 1);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_event WHERE receiver = 'ops' AND"
                             " kind = 'resolved'"),
                 1);
    config_free(&c);
    PQfinish(conn);
}

Test(outbox, deleted_default_rule_stays_deleted)
{
    PGconn *conn = setup("pg_outbox_tombstone");
    cr_assert(alerts_ensure_defaults(conn, 1));
    const char *rule_count = "SELECT count(*) FROM alert_rule WHERE name = 'late-feed-ind'"
                             " AND enabled";
    cr_assert_eq(count(conn, rule_count), 1);
    cr_assert_eq(alerts_rule_delete(conn, 1, "late-feed-ind"), ALERTS_OK);
    cr_assert(alerts_ensure_defaults(conn, 1));
    cr_expect_eq(count(conn, rule_count), 0, "the default set does not bring it back");
    cr_expect_eq(alerts_rule_delete(conn, 1, "late-feed-ind"), ALERTS_NOT_FOUND);
    json_t *rules = alerts_rule_list(conn, 1);
    for (size_t i = 0; i < json_array_size(rules); i++)
        cr_expect_str_neq(json_string_value(json_object_get(json_array_get(rules, i), "name")),
                          "late-feed-ind");
    json_decref(rules);
    /* applying a rule of that name enables it again, as a created rule */
    json_t *doc = json_pack("{s:s, s:s, s:s}", "name", "late-feed-ind", "kind", "late_feed",
                            "indicator", "ind");
    struct rule rule;
    json_t *problems = rule_parse(doc, &rule);
    cr_assert_eq(json_array_size(problems), 0);
    json_decref(problems);
    problems = NULL;
    cr_expect_eq(alerts_rule_put(conn, 1, doc, &rule, &problems), ALERTS_CREATED);
    cr_expect_eq(count(conn, rule_count), 1);
    json_decref(doc);
    /* a rule that is not a default is deleted outright */
    cr_assert_eq(alerts_rule_delete(conn, 1, "spc-ind"), ALERTS_OK);
    cr_expect_eq(count(conn, "SELECT count(*) FROM alert_rule WHERE name = 'spc-ind'"), 0);
    PQfinish(conn);
}

/* A receiver's test message is queued in one transaction with its body: the delivery thread
 * can never claim a row whose body is not written yet, and a failure part-way leaves
 * nothing queued. A trigger makes the second message's body fail to be written. */
Test(outbox, a_test_message_is_queued_whole_or_not_at_all)
{
    PGconn *conn = setup("pg_outbox_test_message");
    struct config *c = test_config();
    cr_expect_eq(notify_queue_test(conn, c, 1, "team", T0), 2, "one message per address");
    cr_expect_eq(count(conn, "SELECT count(*) FROM outbox WHERE is_test AND body <> ''"), 2);
    run(conn, "DELETE FROM outbox");
    run(conn, "CREATE FUNCTION refuse_body() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
              " IF NEW.target = 'b@example.org' THEN RAISE EXCEPTION 'refused'; END IF;"
              " RETURN NEW; END $$");
    run(conn, "CREATE TRIGGER refuse_body BEFORE UPDATE ON outbox FOR EACH ROW"
              " EXECUTE FUNCTION refuse_body()");
    cr_expect_eq(notify_queue_test(conn, c, 1, "team", T0), -1);
    cr_expect_eq(count(conn, "SELECT count(*) FROM outbox"), 0,
                 "nothing of a failed test message stays queued");
    run(conn, "DROP TRIGGER refuse_body ON outbox");
    config_free(&c);
    PQfinish(conn);
}
