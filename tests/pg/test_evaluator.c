/*
 * The evaluator against a real PostgreSQL: a rule with "aggregate": true watches the
 * aggregate of a region (weighted: Σ numerators ÷ Σ denominators), not each practice, and
 * says how many of the region's practices the latest point covers; a rule without it
 * watches each practice. Figures by hand:
 *   2025-01  A 40/100, B 70/100  -> Flanders 110/200 = 55 %   (A alone below 50)
 *   2025-02  A 20/100, B 60/100  -> Flanders  80/200 = 40 %   (below 50)
 *   2025-03  A 50/100 only       -> Flanders  50/100 = 50 %   (1 of 2 practices)
 * and what the evaluation reads from storage/evaluation_store.c: a claim of dirty series,
 * the three set-based reads of a group, the aggregate rules it feeds, the timer pass's lock,
 * its due rules and the sites due to report.
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
#include "scaleupd/core/metrics.h"
#include "scaleupd/core/rules.h"

#include "scaleupd/storage/evaluation_store.h"

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
    cr_assert(db_begin(conn, "test"));
    cr_assert(observations_store(conn, programme_id, 0, batch, &counts, "test"));
    cr_assert(db_commit(conn, "test"));
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

/* The id of the bp series of site code. */
static int64_t series_of(const char *site)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT se.id FROM series se JOIN site s ON s.programme_id = se.programme_id"
             " AND s.id = se.site_id WHERE s.code = '%s'",
             site);
    char *id = pgtest_scalar(conn, sql);
    cr_assert_not_null(id);
    int64_t v = strtoll(id, NULL, 10);
    free(id);
    return v;
}

/* A claim takes the marks of a batch once, with its series in id order and the earliest
 * period each changed in; a group's reads give each rule once (not the aggregate one), the
 * alerts the series already have, then the values asked for, oldest first. */
Test(evaluator, a_claim_is_read_in_three_sets)
{
    push_rows(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 70, 100}, {NULL, NULL, 0, 0}});
    push_rows_unevaluated(
        (struct bp[]){{"A", "2025-02", 45, 100}, {"B", "2025-02", 75, 100}, {NULL, NULL, 0, 0}});
    int64_t a = series_of("A"), b = series_of("B");
    cr_assert(db_begin(conn, "test"));
    struct evaluation_claim claim;
    cr_assert(evaluation_claim_dirty(conn, 16, NOW, 64, &claim));
    cr_expect_geq(claim.marks, 1);
    cr_assert_eq(claim.n, 2);
    cr_expect_eq(claim.series_ids[0], a < b ? a : b);
    cr_expect_eq(claim.programme_ids[1], programme_id);
    cr_expect(claim.since[0] == 20120 && claim.since[1] == 20120, "both changed from 2025-02");
    bool touched = true;
    cr_assert(evaluation_due_alert_touched(conn, claim.series_ids, claim.n, &touched));
    cr_expect(!touched, "no late-feed alert is open");

    struct evaluation_group g;
    cr_assert(evaluation_group_read(conn, programme_id, claim.series_ids, claim.n, &g));
    cr_expect_eq(g.n_rules, 1, "bp-practice once, the aggregate bp-region not at all");
    cr_expect_eq(g.n_applications, 2);
    cr_expect(g.n_rules == 1 && strstr(g.rules[0].document, "bp-practice") != NULL);
    cr_expect(g.n_applications == 2 && g.applications[1].rule == 0 &&
              g.applications[0].direction == SPC_DIRECTION_NONE);
    cr_expect_eq(g.n_detectors, 0, "no spc rule: no detector state");
    struct evaluation_values_request req[2] = {
        {claim.series_ids[0], EVALUATION_FROM_FIRST, 500},
        {claim.series_ids[1], 20120, 500}}; /* the second from February only */
    cr_assert(evaluation_group_values(conn, programme_id, req, 2, &g));
    cr_assert_eq(g.n_values, 3);
    int64_t first = claim.series_ids[0];
    double first_jan = first == a ? 40 : 70, first_feb = first == a ? 45 : 75;
    cr_expect(g.value_series[0] == first && g.values[0] == first_jan && g.values[1] == first_feb &&
                  g.days[0] == 20089,
              "the first series' values, oldest first");
    cr_expect(g.value_series[2] == claim.series_ids[1] && g.days[2] == 20120,
              "the second series' from February");
    cr_expect(g.n_alerts == 1 && g.alerts[0].series_id == a, "A's firing bp-practice alert");
    evaluation_group_free(&g);

    struct evaluation_aggregate_rule *rules;
    size_t n;
    cr_assert(
        evaluation_aggregate_rules(conn, programme_id, claim.series_ids, claim.n, &rules, &n));
    cr_expect(n == 1 && rules[0].percentage && strcmp(rules[0].aggregate, "weighted") == 0,
              "bp-region on Flanders");
    evaluation_aggregate_rules_free(&rules, n);
    evaluation_claim_free(&claim);
    db_rollback(conn, "test");
}

/* The timer pass is one daemon's at a time; its late-feed rule at 2025-07-15 is due for
 * June, for which neither practice reported. */
Test(evaluator, the_timer_pass_reads_its_lock_rules_and_due_sites)
{
    push_rows(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 70, 100}, {NULL, NULL, 0, 0}});
    char err[512];
    PGconn *other = db_connect(pgtest_conninfo("scaleupd_test_evaluator"), err, sizeof(err));
    cr_assert_not_null(other, "%s", err);
    cr_assert(db_begin(conn, "test") && db_begin(other, "test"));
    bool mine = false, theirs = true;
    cr_assert(evaluation_timer_lock(conn, &mine) && evaluation_timer_lock(other, &theirs));
    cr_expect(mine && !theirs, "the first to ask has the lock");
    db_rollback(other, "test");
    PQfinish(other);

    struct evaluation_due_rule *rules;
    size_t n;
    cr_assert(evaluation_due_rules(conn, NOW, &rules, &n));
    cr_assert_eq(n, 1, "the default late-feed-bp rule");
    cr_expect(strstr(rules[0].rule.document, "late-feed-bp") != NULL && !rules[0].scoped &&
              rules[0].today == 20284 && strcmp(rules[0].period_type, "monthly") == 0);
    struct evaluation_due_site *sites;
    size_t n_sites;
    cr_assert(evaluation_due_sites(conn, programme_id, rules[0].indicator_id, 20240, 20269, NULL,
                                   &sites, &n_sites));
    cr_expect_eq(n_sites, 2, "A and B are active members");
    for (size_t i = 0; i < n_sites; i++)
        cr_expect(sites[i].has_feed && !sites[i].reported);
    free(sites);
    cr_assert(evaluation_due_sites(conn, programme_id, rules[0].indicator_id, 20089, 20119, NULL,
                                   &sites, &n_sites));
    cr_expect(n_sites == 2 && sites[0].reported && sites[1].reported, "both reported January");
    free(sites);
    evaluation_due_rules_free(&rules, n);
    db_rollback(conn, "test");
}

static void exec(const char *sql)
{
    char err[512];
    cr_assert(db_exec(conn, sql, err, sizeof(err)), "%s: %s", sql, err);
}

static long scalar_long(const char *sql)
{
    char *v = pgtest_scalar(conn, sql);
    cr_assert_not_null(v, "%s returned NULL", sql);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* The value of a metric sample ("name" or "name{labels}") in /metrics, -1 when absent. */
static double metric(const char *sample)
{
    size_t len;
    char *text = metrics_render(&len);
    char line[256];
    snprintf(line, sizeof(line), "\n%s ", sample);
    const char *at = strstr(text, line);
    double v = at != NULL ? strtod(at + strlen(line), NULL) : -1;
    free(text);
    return v;
}

/* Counts near 1e308 stored before values were bounded: Flanders' February numerator sum
 * leaves double's range (3e308), which failed the read of its aggregate ("value out of range:
 * overflow") and with it every evaluation of the claim, on every pass. Now the point is
 * missing for the region's rule (January stays its latest point), the practices' rules
 * evaluate, and nothing needs setting aside. */
Test(evaluator, a_region_whose_sum_overflows_is_evaluated_without_that_point)
{
    push_rows(
        (struct bp[]){{"A", "2025-01", 60, 100}, {"B", "2025-01", 70, 100}, {NULL, NULL, 0, 0}});
    push_rows_unevaluated(
        (struct bp[]){{"A", "2025-02", 20, 100}, {"B", "2025-02", 30, 100}, {NULL, NULL, 0, 0}});
    exec("UPDATE observation SET numerator = 1.5e308, denominator = 1"
         " WHERE period_start = '2025-02-01'");
    bool due_touched, more;
    cr_expect_eq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1);
    expect_alert("bp-practice", "A", "firing 20.0 below minimum 50");
    expect_alert("bp-practice", "B", "firing 30.0 below minimum 50");
    expect_alert("bp-region", "VLG", NULL); /* January, 65 %: nothing to remember */
    cr_expect_eq(scalar_long("SELECT count(*) FROM dirty_series"), 0);
    cr_expect_eq(scalar_long("SELECT count(*) FROM evaluation_set_aside"), 0);
}

/* A trigger that makes writing an alert on site `code` fail, as a series whose evaluation
 * fails for a reason of its own would. */
static void poison(const char *code)
{
    char sql[768];
    snprintf(sql, sizeof(sql),
             "CREATE OR REPLACE FUNCTION poisoned() RETURNS trigger LANGUAGE plpgsql AS $$"
             " BEGIN IF NEW.site_id = (SELECT id FROM site WHERE code = '%s') THEN"
             " RAISE EXCEPTION 'poisoned series'; END IF; RETURN NEW; END $$;"
             " CREATE OR REPLACE TRIGGER poisoned BEFORE INSERT OR UPDATE ON alert"
             " FOR EACH ROW EXECUTE FUNCTION poisoned()",
             code);
    exec(sql);
}

/* One poisoned series in a claim: the others are evaluated and committed, the poisoned one
 * is set aside with its reason and counted in /metrics, a retry before its backoff has passed
 * does not happen, one after it fails again (a longer wait), and once the cause is gone the
 * retry evaluates it and forgets it. Later claims are never held up. */
Test(evaluator, a_series_that_fails_is_set_aside_and_the_others_evaluate)
{
    poison("B");
    push_rows_unevaluated(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 30, 100}, {NULL, NULL, 0, 0}});
    bool due_touched, more;
    cr_assert_eq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1);
    expect_alert("bp-practice", "A", "firing 40.0 below minimum 50");
    expect_alert("bp-region", "VLG", "firing 35.0 below minimum 50 (2 of 2 sites)");
    expect_alert("bp-practice", "B", NULL);
    char *row = pgtest_scalar(conn, "SELECT s.code || ' ' || x.aggregate || ' ' || x.failures"
                                    " || ' ' || x.reason FROM evaluation_set_aside x JOIN site s"
                                    " ON s.id = x.site_id");
    cr_expect(row != NULL && strcmp(row, "B false 1 poisoned series (SQLSTATE P0001)") == 0,
              "set aside: %s", row ? row : "nothing");
    free(row);
    cr_expect_eq(metric("scaleupd_evaluation_set_aside"), 1);
    cr_expect_eq(metric("scaleupd_evaluation_failures_total{kind=\"series\"}"), 1);
    cr_expect_eq(scalar_long("SELECT count(*) FROM dirty_series"), 0, "the claim committed");

    /* later data is evaluated; B waits for its retry */
    push_rows((struct bp[]){{"A", "2025-02", 60, 100}, {NULL, NULL, 0, 0}});
    expect_alert("bp-practice", "A", "resolved 60.0 within thresholds");
    cr_expect_eq(evaluator_run_dirty(conn, NOW + 30, &due_touched, NULL, NULL, &more), 0);
    cr_expect_eq(scalar_long("SELECT failures FROM evaluation_set_aside"), 1, "not due yet");
    cr_expect_eq(evaluator_run_dirty(conn, NOW + 61, &due_touched, NULL, NULL, &more), 0);
    cr_expect_eq(scalar_long("SELECT failures FROM evaluation_set_aside"), 2, "retried");
    cr_expect_eq(scalar_long("SELECT extract(epoch FROM retry_at - failed_at)"
                             " FROM evaluation_set_aside"),
                 120, "the wait doubles");
    cr_expect_eq(metric("scaleupd_evaluation_failures_total{kind=\"series\"}"), 2);

    exec("DROP TRIGGER poisoned ON alert");
    cr_expect_eq(evaluator_run_dirty(conn, NOW + 61 + 121, &due_touched, NULL, NULL, &more), 0);
    expect_alert("bp-practice", "B", "firing 30.0 below minimum 50");
    cr_expect_eq(scalar_long("SELECT count(*) FROM evaluation_set_aside"), 0);
    cr_expect_eq(metric("scaleupd_evaluation_set_aside"), 0);
}

/* A region's aggregate rules that fail are set aside as the region's, not as the practices
 * that feed it: the practices' rules are evaluated, and new data of a practice (its next
 * change) retries the aggregate before its backoff has passed. */
Test(evaluator, a_region_aggregate_that_fails_is_set_aside_and_retried_on_the_next_change)
{
    poison("VLG");
    push_rows_unevaluated(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 30, 100}, {NULL, NULL, 0, 0}});
    bool due_touched, more;
    cr_assert_eq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1);
    expect_alert("bp-practice", "A", "firing 40.0 below minimum 50");
    expect_alert("bp-practice", "B", "firing 30.0 below minimum 50");
    char *row = pgtest_scalar(conn, "SELECT s.code || ' ' || x.aggregate FROM"
                                    " evaluation_set_aside x JOIN site s ON s.id = x.site_id");
    cr_expect(row != NULL && strcmp(row, "VLG true") == 0, "set aside: %s", row ? row : "none");
    free(row);
    cr_expect_eq(metric("scaleupd_evaluation_failures_total{kind=\"aggregate\"}"), 1);

    exec("DROP TRIGGER poisoned ON alert");
    push_rows((struct bp[]){{"A", "2025-02", 20, 100}, {NULL, NULL, 0, 0}});
    expect_alert("bp-region", "VLG", "firing 20.0 below minimum 50 (1 of 2 sites)");
    cr_expect_eq(scalar_long("SELECT count(*) FROM evaluation_set_aside"), 0);
}
