/*
 * Receivers' webhooks and Alertmanagers against a throwaway PostgreSQL: a receivers PUT
 * stores their options and secrets with the receivers in one transaction, GET shows them
 * redacted, a dispatch queues each webhook with its own send_resolved and each Alertmanager
 * on its own channel, delivery's claim carries the endpoint's credentials, and firing
 * alerts are re-posted to an Alertmanager one interval on, until nothing fires, each post
 * superseding one still waiting.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/core/am_webhook.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/receiver_doc.h"
#include "scaleupd/services/notify.h"
#include "scaleupd/services/notify_endpoints.h"
#include "scaleupd/storage/alert_store.h"
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

static void expect_text(PGconn *conn, const char *sql, const char *want)
{
    char *v = pgtest_scalar(conn, sql);
    cr_expect_str_eq(v ? v : "(null)", want, "%s", sql);
    free(v);
}

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
    return conn;
}

/* PUTs a receivers document as the route does; the stored list (the caller frees it). */
static json_t *put(PGconn *conn, const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc);
    const json_t *receivers = NULL;
    json_t *problems = receiver_doc_parse(doc, &receivers);
    cr_assert_null(problems);
    json_t *stored = NULL;
    cr_assert_eq(alerts_receivers_put(conn, 1, receivers, &problems, &stored), ALERTS_OK);
    json_decref(doc);
    return stored;
}

static const char receivers[] =
    "{\"receivers\":[{\"name\":\"team\",\"webhook\":[\"http://127.0.0.1:1/plain\","
    "{\"url\":\"http://127.0.0.1:1/quiet\",\"send_resolved\":false,"
    "\"authorization\":{\"credentials\":\"tok-1\"}}],"
    "\"alertmanager\":[{\"url\":\"http://127.0.0.1:1/\",\"resend_interval\":60,"
    "\"basic_auth\":{\"username\":\"u\",\"password\":\"pw-1\"}}]}]}";

static void fire(PGconn *conn, enum alert_observation obs, double now)
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
                             .for_count = 1,
                             .resolve_count = 1,
                             .obs = obs,
                             .eval = &eval,
                             .period_start = 20454,
                             .now = now};
    run(conn, "BEGIN");
    cr_assert(alerts_apply(conn, &u));
    run(conn, "COMMIT");
}

Test(endpoint_store, put_keeps_secrets_out_of_the_answer)
{
    PGconn *conn = setup("pg_endpoints_put");
    json_t *stored = put(conn, receivers);
    char *text = json_dumps(stored, JSON_COMPACT);
    cr_expect_null(strstr(text, "tok-1"));
    cr_expect_null(strstr(text, "pw-1"));
    cr_expect_not_null(strstr(text, "\"credentials\":\"<redacted>\""));
    cr_expect_not_null(strstr(text, "\"alertmanager\":[{\"url\":\"http://127.0.0.1:1/\""));
    free(text);
    json_decref(stored);
    /* the receiver table keeps the plain URLs; the endpoints their options */
    expect_text(conn, "SELECT webhook::text FROM receiver",
                "{http://127.0.0.1:1/plain,http://127.0.0.1:1/quiet}");
    expect_text(conn,
                "SELECT string_agg(kind || ' ' || post_url || ' ' || coalesce(auth_type,"
                " '-'), ', ' ORDER BY kind DESC, position) FROM receiver_endpoint",
                "webhook http://127.0.0.1:1/plain -, webhook http://127.0.0.1:1/quiet bearer, "
                "alertmanager http://127.0.0.1:1/api/v2/alerts basic");
    /* a PUT that keeps an Alertmanager keeps its re-post schedule; one that drops a
     * receiver drops its endpoints */
    run(conn, "UPDATE receiver_endpoint SET next_post_at = now() WHERE kind = 'alertmanager'");
    json_decref(put(conn, receivers));
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_endpoint WHERE next_post_at IS NOT"
                             " NULL"),
                 1);
    json_decref(put(conn, "{\"receivers\":[{\"name\":\"other\"}]}"));
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_endpoint"), 0);
    PQfinish(conn);
}

static struct config *test_config(void)
{
    struct config *c = config_new_defaults();
    c->group_wait = 30;
    c->group_interval = 300;
    c->repeat_interval = 3600;
    c->send_resolved = true;
    return c;
}

Test(endpoint_store, dispatch_claim_and_resend)
{
    PGconn *conn = setup("pg_endpoints_dispatch");
    json_decref(put(conn, receivers));
    struct config *c = test_config();
    fire(conn, ALERT_OBS_HOLDS, T0);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 30), 3, "two webhooks and the Alertmanager");
    expect_text(conn, "SELECT string_agg(channel, ',' ORDER BY id) FROM outbox",
                "webhook,webhook,alertmanager");
    /* the claim carries each endpoint's credentials as stored */
    struct outbox_item items[8];
    memset(items, 0, sizeof(items));
    cr_assert_eq(outbox_claim(conn, T0 + 31, 60, items, 8), 3);
    cr_expect_null(items[0].auth_type);
    cr_expect_str_eq(items[1].auth_type, "bearer");
    cr_expect_str_eq(items[1].auth_secret, "tok-1");
    cr_expect(items[2].webhook && items[2].alertmanager);
    cr_expect_str_eq(items[2].target, "http://127.0.0.1:1/api/v2/alerts");
    cr_expect_str_eq(items[2].auth_type, "basic");
    cr_expect_str_eq(items[2].auth_username, "u");
    cr_expect_str_eq(items[2].auth_secret, "pw-1");
    json_t *posted = json_loads(items[2].body, 0, NULL);
    cr_expect(json_is_array(posted) && json_array_size(posted) == 1);
    /* firing: it ends 4 re-post intervals on unless posted again */
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(posted, 0), "endsAt")),
                     "2026-02-10T12:04:30Z");
    json_decref(posted);
    for (int i = 0; i < 3; i++) {
        cr_assert(outbox_mark_sent(conn, items[i].id, T0 + 32));
        outbox_item_clear(&items[i]);
    }
    /* re-posted one interval on, not before */
    cr_expect_eq(notify_endpoints_resend(conn, c, T0 + 89), 0);
    cr_expect_eq(notify_endpoints_resend(conn, c, T0 + 90), 1);
    cr_expect_eq(notify_endpoints_resend(conn, c, T0 + 91), 0);
    expect_text(conn, "SELECT channel FROM outbox ORDER BY id DESC LIMIT 1", "alertmanager");
    /* a re-post while the last one still waits (Alertmanager unreachable) supersedes it */
    cr_expect_eq(notify_endpoints_resend(conn, c, T0 + 150), 1);
    expect_text(conn,
                "SELECT string_agg(id || ' ' || (dead_at IS NOT NULL), ',' ORDER BY id)"
                " FROM outbox WHERE id > 3",
                "4 true,5 false");
    /* resolved: the webhook without send_resolved gets nothing, the Alertmanager its end */
    fire(conn, ALERT_OBS_OK, T0 + 100);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 400), 2);
    expect_text(conn, "SELECT string_agg(target, ',' ORDER BY id) FROM outbox WHERE id > 5",
                "http://127.0.0.1:1/plain,http://127.0.0.1:1/api/v2/alerts");
    expect_text(conn, "SELECT body::jsonb -> 0 ->> 'endsAt' FROM outbox ORDER BY id DESC LIMIT 1",
                "2026-02-10T12:01:40Z");
    /* nothing fires: no more re-posts */
    cr_expect_eq(count(conn, "SELECT count(*) FROM receiver_endpoint WHERE next_post_at IS NOT"
                             " NULL"),
                 0);
    cr_expect_eq(notify_endpoints_resend(conn, c, T0 + 10000), 0);
    config_free(&c);
    PQfinish(conn);
}

/* A group larger than one post (every practice of a country late) goes to an Alertmanager in
 * posts of AM_WEBHOOK_MAX_ALERTS alerts each, every alert in one of them; in one body it was
 * over the renderer's cap and was never posted. */
Test(endpoint_store, a_large_group_goes_to_alertmanager_in_several_posts)
{
    PGconn *conn = setup("pg_endpoints_large");
    json_decref(put(conn, "{\"receivers\":[{\"name\":\"team\",\"alertmanager\":"
                          "[{\"url\":\"http://127.0.0.1:1/\"}]}]}"));
    struct config *c = test_config();
    long n = 2 * AM_WEBHOOK_MAX_ALERTS + 1;
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "WITH a AS (INSERT INTO alert (programme_id, rule_id, subject, indicator_id, site_id,"
             " state, summary, period_start, active_since, updated_at) SELECT 1, 1, 'i1:s1:' || g,"
             " 1, 1, 'firing', 'below lower limit', date '2026-01-01', to_timestamp(%.0f),"
             " to_timestamp(%.0f) FROM generate_series(1, %ld) g RETURNING id)"
             " INSERT INTO alert_event (programme_id, receiver, alert_id, kind, created_at)"
             " SELECT 1, 'team', id, 'firing', to_timestamp(%.0f) FROM a",
             T0, T0, n, T0);
    run(conn, sql);
    cr_expect_eq(notify_dispatch(conn, c, T0 + 30), 3, "three posts");
    cr_expect_eq(count(conn, "SELECT sum(json_array_length(body::json)) FROM outbox WHERE"
                             " channel = 'alertmanager'"),
                 n);
    cr_expect_eq(count(conn, "SELECT max(json_array_length(body::json)) FROM outbox"),
                 AM_WEBHOOK_MAX_ALERTS);
    config_free(&c);
    PQfinish(conn);
}
