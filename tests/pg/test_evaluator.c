/*
 * The evaluator against a real PostgreSQL: a rule with "aggregate": true watches the
 * aggregate of a region (weighted: Σ numerators ÷ Σ denominators), not each practice, and
 * says how many of the region's practices the latest point covers; a rule without it
 * watches each practice. Figures by hand:
 *   2025-01  A 40/100, B 70/100  -> Flanders 110/200 = 55 %   (A alone below 50)
 *   2025-02  A 20/100, B 60/100  -> Flanders  80/200 = 40 %   (below 50)
 *   2025-03  A 50/100 only       -> Flanders  50/100 = 50 %   (1 of 2 practices)
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/storage/rule_store.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/services/evaluator.h"
#include "scaleupd/services/ingest.h"
#include "scaleupd/storage/observations.h"
#include "scaleupd/services/programme_apply.h"
#include "scaleupd/core/rules.h"

#define NOW 1752580800.0 /* 2025-07-15 12:00 UTC */

static const char programme_doc[] =
    "{\"slug\":\"agg\",\"name\":\"Aggregate test\",\"time_zone\":\"UTC\",\"sites\":["
    "{\"code\":\"BE\",\"name\":\"Belgium\",\"level\":\"country\"},"
    "{\"code\":\"VLG\",\"name\":\"Flanders\",\"level\":\"region\",\"parent\":\"BE\"},"
    "{\"code\":\"A\",\"name\":\"A\",\"level\":\"practice\",\"parent\":\"VLG\","
    "\"adopted\":\"2024-01-01\"},"
    "{\"code\":\"B\",\"name\":\"B\",\"level\":\"practice\",\"parent\":\"VLG\","
    "\"adopted\":\"2024-01-01\"}],"
    "\"indicators\":[{\"code\":\"bp\",\"name\":\"BP controlled\",\"value_type\":\"percentage\","
    "\"period_type\":\"monthly\",\"aggregate\":\"weighted\"}]}";

static PGconn *conn;
static int64_t programme_id;

static void exec(const char *sql)
{
    char err[512];
    cr_assert(db_exec(conn, sql, err, sizeof(err)), "%s: %s", sql, err);
}

static void put_rule(const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc);
    struct rule rule;
    json_t *problems = rule_parse(doc, &rule);
    cr_assert_eq(json_array_size(problems), 0, "%s", text);
    json_decref(problems);
    problems = NULL;
    enum alerts_result r = alerts_rule_put(conn, programme_id, doc, &rule, &problems);
    cr_assert(r == ALERTS_CREATED || r == ALERTS_OK, "alerts_rule_put: %d", (int)r);
    json_decref(problems);
    json_decref(doc);
}

static void setup(void)
{
    conn = pgtest_fresh_database("scaleupd_test_evaluator");
    json_t *doc = json_loads(programme_doc, 0, NULL);
    json_t *problems = NULL;
    cr_assert_eq(programme_apply(conn, doc, &programme_id, &problems, "test"), PROGRAMME_CREATED);
    json_decref(problems);
    json_decref(doc);
    put_rule("{\"name\":\"bp-region\",\"kind\":\"threshold\",\"indicator\":\"bp\","
             "\"site\":\"VLG\",\"min\":50,\"aggregate\":true}");
    put_rule("{\"name\":\"bp-practice\",\"kind\":\"threshold\",\"indicator\":\"bp\",\"min\":50}");
}

static void teardown(void)
{
    PQfinish(conn);
}

TestSuite(evaluator, .init = setup, .fini = teardown);

/* One bp observation: numerator and denominator; the value is their percentage. */
struct bp {
    const char *site, *period;
    int num, den;
};

/* Stores the rows (up to a {NULL} row) as bp observations, then runs the evaluator. */
static void push_rows_unevaluated(const struct bp *rows)
{
    char json[2048];
    size_t len = (size_t)snprintf(json, sizeof(json), "{\"observations\":[");
    for (const struct bp *r = rows; r->site != NULL && len < sizeof(json); r++)
        len += (size_t)snprintf(json + len, sizeof(json) - len,
                                "%s{\"indicator\":\"bp\",\"site\":\"%s\",\"period\":\"%s\","
                                "\"value\":%g,\"numerator\":%d,\"denominator\":%d}",
                                r == rows ? "" : ",", r->site, r->period, 100.0 * r->num / r->den,
                                r->num, r->den);
    cr_assert_lt(len + 3, sizeof(json));
    snprintf(json + len, sizeof(json) - len, "]}");
    struct obs_batch *batch = obs_batch_new();
    struct obs_parse_error perr;
    cr_assert_eq(
        ingest_prepare(conn, programme_id, OBS_FORMAT_JSON, json, strlen(json), batch, &perr),
        INGEST_OK, "%s", perr.message);
    cr_assert_eq(batch->n_rejects, 0, "%s", batch->n_rejects ? batch->rejects[0].message : "");
    struct observations_counts counts;
    exec("BEGIN");
    cr_assert(observations_store(conn, programme_id, 0, batch, &counts, "test"));
    exec("COMMIT");
    observations_committed();
    obs_batch_free(&batch);
}

static void push_rows(const struct bp *rows)
{
    push_rows_unevaluated(rows);
    bool due_touched, more;
    cr_assert_geq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1);
}

/* "STATE VALUE SUMMARY" of the rule's alert on site code, or NULL without one. */
static char *alert_of(const char *rule, const char *site)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT a.state || ' ' || round(a.value::numeric, 1) || ' ' || a.summary FROM alert a"
             " JOIN alert_rule r ON r.programme_id = a.programme_id AND r.id = a.rule_id"
             " JOIN site s ON s.programme_id = a.programme_id AND s.id = a.site_id"
             " WHERE r.name = '%s' AND s.code = '%s'",
             rule, site);
    return pgtest_scalar(conn, sql);
}

static void expect_alert(const char *rule, const char *site, const char *expected)
{
    char *got = alert_of(rule, site);
    if (expected == NULL)
        cr_expect_null(got, "%s on %s: no alert expected, got %s", rule, site, got);
    else
        cr_expect(got != NULL && strcmp(got, expected) == 0, "%s on %s: expected %s, got %s", rule,
                  site, expected, got ? got : "none");
    free(got);
}

Test(evaluator, an_aggregate_rule_watches_the_region_not_each_practice)
{
    push_rows(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 70, 100}, {NULL, NULL, 0, 0}});
    expect_alert("bp-practice", "A", "firing 40.0 below minimum 50");
    expect_alert("bp-practice", "B", NULL);
    expect_alert("bp-region", "VLG", NULL); /* 55 %: nothing to remember */
    expect_alert("bp-region", "A", NULL);

    push_rows(
        (struct bp[]){{"A", "2025-02", 20, 100}, {"B", "2025-02", 60, 100}, {NULL, NULL, 0, 0}});
    expect_alert("bp-region", "VLG", "firing 40.0 below minimum 50 (2 of 2 sites)");
    expect_alert("bp-region", "BE", NULL); /* the rule's scope is Flanders */

    /* one practice reported: the point says so, and 50 % is not below the minimum */
    push_rows((struct bp[]){{"A", "2025-03", 50, 100}, {NULL, NULL, 0, 0}});
    expect_alert("bp-region", "VLG", "resolved 50.0 within thresholds (1 of 2 sites)");
}

/* A rule applied after the data is there watches it at once: putting it marks its series. */
Test(evaluator, a_new_rule_is_evaluated_on_the_data_already_there)
{
    push_rows(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 70, 100}, {NULL, NULL, 0, 0}});
    bool due_touched, more;
    cr_expect_eq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 0,
                 "nothing left to evaluate");
    put_rule("{\"name\":\"bp-b\",\"kind\":\"threshold\",\"indicator\":\"bp\","
             "\"site\":\"B\",\"max\":65}");
    cr_expect_geq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1,
                  "the rule's series are marked");
    expect_alert("bp-b", "B", "firing 70.0 above maximum 65");
    expect_alert("bp-b", "A", NULL);
}

static bool always(void *arg)
{
    int *asked = arg;
    ++*asked;
    return true;
}

/* Ingest comes first: while requests wait, dirty series wait too, but only so long; then
 * one claim goes ahead, and the run stops after it. */
Test(evaluator, evaluation_gives_way_to_waiting_requests_but_not_for_ever)
{
    put_rule("{\"name\":\"bp-b\",\"kind\":\"threshold\",\"indicator\":\"bp\","
             "\"site\":\"B\",\"max\":65}");
    bool due_touched, more;
    evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more); /* a claim just now */
    push_rows_unevaluated(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 70, 100}, {NULL, NULL, 0, 0}});
    int asked = 0;
    evaluator_set_max_wait(3600);
    cr_expect_eq(evaluator_run_dirty(conn, NOW, &due_touched, always, &asked, &more), 0);
    cr_expect(more, "the dirty series are left for later");
    cr_expect_eq(asked, 1);
    expect_alert("bp-b", "B", NULL);

    evaluator_set_max_wait(0); /* waited long enough */
    cr_expect_eq(evaluator_run_dirty(conn, NOW, &due_touched, always, &asked, &more), 1);
    evaluator_set_max_wait(-1);
    expect_alert("bp-b", "B", "firing 70.0 above maximum 65");
}
