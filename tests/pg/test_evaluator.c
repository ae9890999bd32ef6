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
#include <math.h>
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
#include "scaleupd/core/detector.h"
#include "scaleupd/core/period.h"
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

    /* one practice of two reported a due month: below the rule's min_coverage (1 by default), it is
     * missing, never judged (core/rules.h, rule_aggregate_gate); once both have, it is */
    push_rows((struct bp[]){{"A", "2025-03", 50, 100}, {NULL, NULL, 0, 0}});
    expect_alert("bp-region", "VLG", "firing 40.0 below minimum 50 (2 of 2 sites)");
    push_rows((struct bp[]){{"B", "2025-03", 60, 100}, {NULL, NULL, 0, 0}});
    expect_alert("bp-region", "VLG", "resolved 55.0 within thresholds (2 of 2 sites)");
}

/* A claim is evaluated a slice of its series at a time (one here): each series and the
 * region's aggregate come out as when the claim is evaluated whole. */
Test(evaluator, a_claim_evaluated_a_slice_at_a_time_gives_the_same_alerts)
{
    evaluator_set_slice(1);
    push_rows_unevaluated(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 70, 100}, {NULL, NULL, 0, 0}});
    /* what a slice leaves goes back as the first mark, with its since and until, and the next
     * claim takes that mark alone */
    cr_assert(db_begin(conn, "test"));
    struct evaluation_claim claim;
    cr_assert(evaluation_claim_dirty(conn, 16, 1, NOW, 64, &claim));
    cr_expect_eq(claim.n, 1);
    cr_expect(claim.put_back);
    int64_t first_id = claim.series_ids[0];
    evaluation_claim_free(&claim);
    char *first = pgtest_scalar(conn, "SELECT (id < 0) || ' ' || cardinality(series_ids) || ' '"
                                      " || since_periods[1] || ' ' || until_periods[1]"
                                      " FROM dirty_series ORDER BY id LIMIT 1");
    cr_expect_str_eq(first, "true 1 2025-01-01 2025-01-01");
    free(first);
    push_rows_unevaluated((struct bp[]){{"A", "2025-02", 45, 100}, {NULL, NULL, 0, 0}});
    cr_assert(evaluation_claim_dirty(conn, 16, 1, NOW, 64, &claim));
    cr_expect_eq(claim.marks, 1, "the mark put back alone, before the later one");
    cr_expect_eq(claim.n, 1);
    cr_expect_neq(claim.series_ids[0], first_id);
    cr_expect(!claim.put_back);
    evaluation_claim_free(&claim);
    PQclear(PQexec(conn, "ROLLBACK"));
    push_rows(
        (struct bp[]){{"A", "2025-02", 20, 100}, {"B", "2025-02", 60, 100}, {NULL, NULL, 0, 0}});
    evaluator_set_slice(0);
    expect_alert("bp-practice", "A", "firing 20.0 below minimum 50");
    expect_alert("bp-practice", "B", NULL);
    expect_alert("bp-region", "VLG", "firing 40.0 below minimum 50 (2 of 2 sites)");
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
    cr_assert(evaluation_claim_dirty(conn, 16, 16384, NOW, 64, &claim));
    cr_expect_geq(claim.marks, 1);
    cr_assert_eq(claim.n, 2);
    cr_expect_eq(claim.series_ids[0], a < b ? a : b);
    cr_expect_eq(claim.programme_ids[1], programme_id);
    cr_expect(claim.since[0] == 20120 && claim.since[1] == 20120, "both changed from 2025-02");
    bool touched = true;
    cr_assert(evaluation_due_alert_touched(conn, claim.programme_ids, claim.series_ids, claim.n,
                                           &touched));
    cr_expect(!touched, "no late-feed alert is open");
    /* an open late-feed alert on A's indicator at A: its new data may resolve it */
    char sql[768];
    snprintf(sql, sizeof(sql),
             "SAVEPOINT touched; INSERT INTO alert (programme_id, rule_id, subject, indicator_id,"
             " site_id, state, updated_at) SELECT s.programme_id, r.id, 'test', s.indicator_id,"
             " s.site_id, 'firing', now() FROM series s JOIN alert_rule r ON r.programme_id ="
             " s.programme_id AND r.kind = 'late_feed' WHERE s.programme_id = %lld AND s.id ="
             " %lld LIMIT 1",
             (long long)programme_id, (long long)a);
    PGresult *res = PQexec(conn, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(conn));
    cr_assert_str_eq(PQcmdTuples(res), "1", "a late-feed rule of the programme");
    PQclear(res);
    cr_assert(evaluation_due_alert_touched(conn, claim.programme_ids, claim.series_ids, claim.n,
                                           &touched));
    cr_expect(touched, "A's data may resolve its open late-feed alert");
    PQclear(PQexec(conn, "ROLLBACK TO SAVEPOINT touched"));

    struct evaluation_group g;
    cr_assert(evaluation_group_read(conn, programme_id, claim.series_ids, claim.n, &g));
    cr_expect_eq(g.n_rules, 1, "bp-practice once, the aggregate bp-region not at all");
    cr_expect_eq(g.n_applications, 2);
    cr_expect(g.n_rules == 1 && strstr(g.rules[0].document, "bp-practice") != NULL);
    cr_expect(g.n_applications == 2 && g.applications[1].rule == 0 &&
              g.applications[0].direction == SPC_DIRECTION_NONE);
    cr_expect_eq(g.n_detectors, 0, "no spc rule: no detector state");
    struct evaluation_values_request req[2] = {
        {claim.series_ids[0], EVALUATION_FROM_FIRST, 500, EVALUATION_TO_LAST},
        {claim.series_ids[1], 20120, 500, EVALUATION_TO_LAST}}; /* the second from February */
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
    cr_expect(claim.until[0] == 20120 && claim.until[1] == 20120,
              "each series' marks wrote up to February");
    evaluation_group_free(&g);

    /* bounded above too: the first series up to January only */
    cr_assert(evaluation_group_read(conn, programme_id, claim.series_ids, claim.n, &g));
    struct evaluation_values_request upto = {first, EVALUATION_FROM_FIRST, 500, 20089};
    cr_assert(evaluation_group_values(conn, programme_id, &upto, 1, &g));
    cr_expect(g.n_values == 1 && g.days[0] == 20089 && g.values[0] == first_jan,
              "only January, the latest point on or before the until day");
    evaluation_group_free(&g);

    struct evaluation_aggregate_rule *rules;
    size_t n;
    cr_assert(evaluation_aggregate_rules(conn, programme_id, claim.series_ids, claim.since, claim.n,
                                         &rules, &n));
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
    db_rollback(conn, "test");
    cr_assert(evaluation_timer_lock(other, &theirs));
    cr_expect(!theirs,
              "the lock outlives the transaction that took it (the pass commits in pieces)");
    cr_assert(evaluation_timer_unlock(conn) && evaluation_timer_lock(other, &theirs));
    cr_expect(theirs, "released, the other daemon takes it");
    cr_assert(evaluation_timer_unlock(other));
    PQfinish(other);
    cr_assert(db_begin(conn, "test"));

    struct evaluation_due_rule *rules;
    size_t n;
    cr_assert(evaluation_due_rules(conn, NOW, &rules, &n));
    cr_assert_eq(n, 1, "the default late-feed-bp rule");
    cr_expect(strstr(rules[0].rule.document, "late-feed-bp") != NULL && !rules[0].scoped &&
              rules[0].today == 20284 && strcmp(rules[0].period_type, "monthly") == 0);
    struct evaluation_due_site *sites;
    size_t n_sites;
    cr_assert(evaluation_due_sites(conn, programme_id, rules[0].indicator_id, rules[0].rule.id,
                                   20240, 20269, NULL, &sites, &n_sites));
    cr_expect_eq(n_sites, 2, "A and B are active members");
    for (size_t i = 0; i < n_sites; i++)
        cr_expect(sites[i].has_feed && !sites[i].reported);
    free(sites);
    cr_assert(evaluation_due_sites(conn, programme_id, rules[0].indicator_id, rules[0].rule.id,
                                   20089, 20119, NULL, &sites, &n_sites));
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
    /* (a month that both practices reported: one of two is never judged, rule_aggregate_gate) */
    push_rows(
        (struct bp[]){{"A", "2025-02", 20, 100}, {"B", "2025-02", 30, 100}, {NULL, NULL, 0, 0}});
    expect_alert("bp-region", "VLG", "firing 25.0 below minimum 50 (2 of 2 sites)");
    cr_expect_eq(scalar_long("SELECT count(*) FROM evaluation_set_aside"), 0);
}

/* ---- the alerting detector (core/detector.h) through the evaluator ---------------------
 * A programme whose indicator x is higher-is-better, so its default rule spc-x is a detector
 * rule; x-mdc is the plain Making Data Count rule on the same series, for comparison. Points
 * are pushed one month at a time, each evaluated, as a feed sends them. */

static const char detector_doc[] =
    "{\"slug\":\"det\",\"name\":\"Detector test\",\"time_zone\":\"UTC\",%s\"sites\":["
    "{\"code\":\"C\",\"name\":\"Country\",\"level\":\"country\"},"
    "{\"code\":\"R\",\"name\":\"Region\",\"level\":\"region\",\"parent\":\"C\"},"
    "{\"code\":\"P\",\"name\":\"P\",\"level\":\"practice\",\"parent\":\"R\","
    "\"adopted\":\"2019-01-01\"},"
    "{\"code\":\"Q\",\"name\":\"Q\",\"level\":\"practice\",\"parent\":\"R\","
    "\"adopted\":\"2019-01-01\"}],"
    "\"indicators\":[{\"code\":\"x\",\"name\":\"X\",\"value_type\":\"ratio\","
    "\"period_type\":\"monthly\",\"direction\":\"up\"}]}";

static void apply_detector_programme(const char *budget)
{
    char text[2048];
    snprintf(text, sizeof(text), detector_doc, budget);
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc);
    json_t *problems = NULL;
    enum programme_result r = programme_apply(conn, doc, &programme_id, &problems, "test");
    cr_assert(r == PROGRAMME_CREATED || r == PROGRAMME_UPDATED, "programme_apply: %d", (int)r);
    json_decref(problems);
    json_decref(doc);
}

static void detector_setup(void)
{
    conn = pgtest_fresh_database("scaleupd_test_evaluator");
    apply_detector_programme("");
    put_rule("{\"name\":\"x-mdc\",\"kind\":\"spc\",\"indicator\":\"x\",\"method\":\"mdc\"}");
}

TestSuite(detector, .init = detector_setup, .fini = teardown);

#define DET_MONTHS 48
#define BACKFILL_MONTHS 66 /* more than one claim's marks (EVALUATOR_BATCH, 64), before NOW */
#define PERIOD_TEXT 24     /* "YYYY-MM" of any int year, for the compiler's truncation check */

/* The month t (0: 2020-01) as a period and as days since 1970. */
static void month_of(int t, char period[PERIOD_TEXT], int32_t *day)
{
    snprintf(period, PERIOD_TEXT, "%04d-%02d", 2020 + t / 12, t % 12 + 1);
    *day = date_from_ymd(2020 + t / 12, t % 12 + 1, 1);
}

/* Pushes x = value at site for month t (one batch, one mark) without evaluating. */
static void push_x_unevaluated(const char *site, int t, double value)
{
    char period[PERIOD_TEXT], json[256];
    int32_t day;
    month_of(t, period, &day);
    snprintf(json, sizeof(json),
             "{\"observations\":[{\"indicator\":\"x\",\"site\":\"%s\",\"period\":\"%s\","
             "\"value\":%.17g}]}",
             site, period, value);
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
    cr_assert_eq(counts.imported + counts.updated, 1, "%s %s: imported %ld updated %ld", site,
                 period, (long)counts.imported, (long)counts.updated);
}

/* Pushes x = value at site for month t and evaluates. */
static void push_x(const char *site, int t, double value)
{
    push_x_unevaluated(site, t, value);
    bool due_touched, more;
    cr_assert_geq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1, "%s month %d",
                  site, t);
}

/* The state of the rule's alert on site, "none" without one. */
static char *state_of(const char *rule, const char *site)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT a.state FROM alert a JOIN alert_rule r ON r.programme_id = a.programme_id"
             " AND r.id = a.rule_id JOIN site s ON s.programme_id = a.programme_id"
             " AND s.id = a.site_id WHERE r.name = '%s' AND s.code = '%s'",
             rule, site);
    char *state = pgtest_scalar(conn, sql);
    return state != NULL ? state : strdup("none");
}

static bool firing(const char *rule, const char *site)
{
    char *state = state_of(rule, site);
    bool yes = strcmp(state, "firing") == 0;
    free(state);
    return yes;
}

/* The rule as the evaluator parses it. */
static void parsed_rule(const char *text, struct rule *rule)
{
    json_t *doc = json_loads(text, 0, NULL);
    json_t *problems = rule_parse(doc, rule);
    cr_assert_eq(json_array_size(problems), 0);
    json_decref(problems);
    json_decref(doc);
}

/* The state a rebuild from scratch gives the n values from month 0 on, as hex. */
static void rebuilt_hex(const struct detector_params *params, const double *values, size_t n,
                        char *hex, size_t size)
{
    int32_t days[BACKFILL_MONTHS];
    char period[PERIOD_TEXT];
    cr_assert_leq(n, BACKFILL_MONTHS);
    for (size_t i = 0; i < n; i++)
        month_of((int)i, period, &days[i]);
    struct detector_state state;
    cr_assert_eq(detector_rebuild(&state, params, values, days, n, NULL), DETECTOR_OK);
    const unsigned char *bytes = (const unsigned char *)&state;
    cr_assert_geq(size, 2 * sizeof(state) + 1);
    for (size_t b = 0; b < sizeof(state); b++)
        snprintf(hex + 2 * b, 3, "%02x", bytes[b]);
}

/* The stored state of rule on site's series, as hex; "params" gets its key. */
static char *stored_hex(const char *rule, const char *site, char **params)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM detector_state d JOIN alert_rule r ON r.programme_id ="
             " d.programme_id AND r.id = d.rule_id JOIN series se ON se.programme_id ="
             " d.programme_id AND se.id = d.series_id JOIN site s ON s.programme_id ="
             " se.programme_id AND s.id = se.site_id WHERE r.name = '%s' AND s.code = '%s'",
             "d.params", rule, site);
    *params = pgtest_scalar(conn, sql);
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM detector_state d JOIN alert_rule r ON r.programme_id ="
             " d.programme_id AND r.id = d.rule_id JOIN series se ON se.programme_id ="
             " d.programme_id AND se.id = d.series_id JOIN site s ON s.programme_id ="
             " se.programme_id AND s.id = se.site_id WHERE r.name = '%s' AND s.code = '%s'",
             "encode(d.state, 'hex')", rule, site);
    return pgtest_scalar(conn, sql);
}

/* Expects the stored state of rule on site to be a rebuild from scratch of values[0..n). */
static void expect_state_is_rebuild(const char *rule_text, const char *rule, const char *site,
                                    const double *values, size_t n, double budget)
{
    struct rule parsed;
    parsed_rule(rule_text, &parsed);
    struct detector_params params;
    rule_detector_params(&parsed, SPC_DIRECTION_UP, budget, &params);
    char want[2 * sizeof(struct detector_state) + 1], key[DETECTOR_KEY_MAX];
    rebuilt_hex(&params, values, n, want, sizeof(want));
    detector_params_key(&params, key, sizeof(key));
    char *params_text = NULL, *got = stored_hex(rule, site, &params_text);
    cr_expect(got != NULL && strcmp(got, want) == 0,
              "%s on %s: the state is a rebuild of %zu points", rule, site, n);
    cr_expect(params_text != NULL && strcmp(params_text, key) == 0, "params %s, want %s",
              params_text ? params_text : "none", key);
    free(got);
    free(params_text);
}

#define SPC_X "{\"name\":\"spc-x\",\"kind\":\"spc\",\"indicator\":\"x\"}"

/* Stable around 100 (a pattern of +-2), then seven points at 99.5: a run below the mean,
 * which Making Data Count calls a shift of concern. The detector sees a point 0.2 sigma below
 * the mean, well within its reference value: no alert. */
Test(detector, a_stable_series_does_not_alert_where_mdc_would)
{
    static const double pattern[] = {-2, 2, -1, 1, -2, 2};
    double values[31];
    for (int t = 0; t < 31; t++) {
        values[t] = t < 24 ? 100 + pattern[t % 6] : 99.5;
        push_x("P", t, values[t]);
        bool mdc = firing("x-mdc", "P");
        cr_expect(!mdc || t >= 30, "x-mdc quiet until the seventh point of the run (t %d)", t);
        cr_expect(!firing("spc-x", "P"), "the detector never alerts (t %d)", t);
    }
    cr_expect(firing("x-mdc", "P"), "Making Data Count alerts on the run of seven");
    char *state = state_of("spc-x", "P");
    cr_expect_str_eq(state, "none", "no alert row at all for the detector rule");
    free(state);
    expect_state_is_rebuild(SPC_X, "spc-x", "P", values, 31, NAN);
}

/* Deterministic noise, roughly N(0, 1): the sum of 12 uniforms less 6. */
static double noise(uint64_t *seed)
{
    double sum = 0;
    for (int i = 0; i < 12; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        sum += (double)(*seed >> 11) / 9007199254740992.0;
    }
    return sum - 6;
}

/* A -3 SD shift from month 30 on fires the detector's alert within 5 points, at the very
 * period the pure detector (core/detector.c) holds first on the same points; the series is
 * quiet before. */
Test(detector, a_shift_alerts_within_the_expected_points)
{
    uint64_t seed = 42;
    double values[DET_MONTHS];
    int32_t days[DET_MONTHS];
    char period[PERIOD_TEXT];
    for (int t = 0; t < DET_MONTHS; t++) {
        values[t] = 100 + 3 * noise(&seed) - (t >= 30 ? 9 : 0);
        month_of(t, period, &days[t]);
    }
    struct rule parsed;
    parsed_rule(SPC_X, &parsed);
    struct detector_params params;
    rule_detector_params(&parsed, SPC_DIRECTION_UP, NAN, &params);
    struct detector_state pure;
    detector_reset(&pure);
    int pure_first = -1, first = -1;
    for (int t = 0; t < DET_MONTHS && first < 0; t++) {
        struct detector_result r;
        cr_assert_eq(detector_update(&pure, &params, values[t], days[t], &r), DETECTOR_OK);
        if (r.holds && pure_first < 0)
            pure_first = t;
        push_x("P", t, values[t]);
        if (firing("spc-x", "P"))
            first = t;
    }
    cr_expect(pure_first >= 30, "the pure detector is quiet before the shift (%d)", pure_first);
    cr_expect_eq(first, pure_first, "the evaluator fires where the detector holds");
    cr_expect(first >= 30 && first < 35, "detected %d points into the shift", first - 29);
    char *summary =
        pgtest_scalar(conn, "SELECT a.summary FROM alert a JOIN alert_rule r ON r.id = a.rule_id"
                            " WHERE r.name = 'spc-x'");
    cr_expect(summary != NULL && strstr(summary, "below the mean") != NULL, "summary %s",
              summary ? summary : "none");
    free(summary);
}

static long det_count(const char *sql)
{
    return scalar_long(sql);
}

/* Fed one point at a time, the state is a rebuild of every point; it goes on without reading
 * the history (a point removed behind the evaluator's back is still in it); a revision of an
 * old period rebuilds it from the points as they now are. */
Test(detector, a_revision_of_an_old_period_rebuilds_the_state)
{
    uint64_t seed = 7;
    double values[DET_MONTHS];
    for (int t = 0; t < 30; t++) {
        values[t] = 50 + 4 * noise(&seed);
        push_x("P", t, values[t]);
    }
    expect_state_is_rebuild(SPC_X, "spc-x", "P", values, 30, NAN);
    cr_expect_eq(metric("scaleupd_detector_rebuilds_total"), 1,
                 "built at the first point, then updated by each new one");

    /* month 2 goes without a mark: the state, which does not read the history, keeps it */
    exec("DELETE FROM observation WHERE period_start = '2020-03-01'");
    values[30] = 50 + 4 * noise(&seed);
    push_x("P", 30, values[30]);
    expect_state_is_rebuild(SPC_X, "spc-x", "P", values, 31, NAN);

    /* a revision of month 5: rebuilt from the points there are (month 2 is gone) */
    values[5] = 20;
    push_x("P", 5, values[5]);
    double now_there[DET_MONTHS];
    int32_t days[DET_MONTHS];
    size_t n = 0;
    char period[PERIOD_TEXT];
    for (int t = 0; t < 31; t++)
        if (t != 2) {
            now_there[n] = values[t];
            month_of(t, period, &days[n]);
            n++;
        }
    struct rule parsed;
    parsed_rule(SPC_X, &parsed);
    struct detector_params params;
    rule_detector_params(&parsed, SPC_DIRECTION_UP, NAN, &params);
    struct detector_state state;
    cr_assert_eq(detector_rebuild(&state, &params, now_there, days, n, NULL), DETECTOR_OK);
    char want[2 * sizeof(state) + 1];
    for (size_t b = 0; b < sizeof(state); b++)
        snprintf(want + 2 * b, 3, "%02x", ((const unsigned char *)&state)[b]);
    char *key = NULL, *got = stored_hex("spc-x", "P", &key);
    cr_expect(got != NULL && strcmp(got, want) == 0, "rebuilt from the 30 points there are");
    cr_expect_eq(metric("scaleupd_detector_rebuilds_total"), 2, "the revision rebuilt it");
    free(got);
    free(key);
    cr_expect_eq(det_count("SELECT count(*) FROM detector_state"), 1,
                 "one row: spc-x on P (x-mdc keeps no state)");
}

/* A backfill that lands before it is evaluated (66 months, a batch each, claimed 64 marks at
 * a time): each claim feeds the state only up to the months its marks wrote (sql/031), so the
 * next claim goes on from there. When a claim fed every point stored, each later claim looked
 * like a revision of months the state had seen and rebuilt it from the whole history: two
 * rebuilds here, about N / 64 for N months of a series whose marks come 64 at a time. A revision of
 * a month the state has seen still rebuilds it, up to where it was. */
Test(detector, a_backfill_evaluated_behind_goes_on_rather_than_rebuilding)
{
    uint64_t seed = 11;
    double values[BACKFILL_MONTHS];
    double rebuilds = metric("scaleupd_detector_rebuilds_total");
    rebuilds = rebuilds < 0 ? 0 : rebuilds; /* not exported before the first evaluation */
    for (int t = 0; t < BACKFILL_MONTHS; t++) {
        values[t] = 50 + 4 * noise(&seed);
        push_x_unevaluated("P", t, values[t]);
    }
    cr_assert_eq(det_count("SELECT count(*) FROM dirty_series"), BACKFILL_MONTHS);
    bool due_touched, more;
    cr_expect_eq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), BACKFILL_MONTHS,
                 "claims of 64 and 2 marks in one run");
    expect_state_is_rebuild(SPC_X, "spc-x", "P", values, BACKFILL_MONTHS, NAN);
    cr_expect_eq(metric("scaleupd_detector_rebuilds_total") - rebuilds, 1,
                 "built by the first claim, gone on by the second");

    /* month 3 revised, every month seen: rebuilt up to the last month, not only to month 3 */
    values[3] = 20;
    push_x_unevaluated("P", 3, values[3]);
    cr_expect_eq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1);
    expect_state_is_rebuild(SPC_X, "spc-x", "P", values, BACKFILL_MONTHS, NAN);
    cr_expect_eq(metric("scaleupd_detector_rebuilds_total") - rebuilds, 2, "the revision rebuilt");
}

/* A rule that changes (a fixed baseline) and a budget that changes rebuild the state with the
 * new params; every (detector rule, series) has one row. */
Test(detector, a_rule_or_budget_change_rebuilds_and_one_row_per_rule_and_series)
{
    put_rule("{\"name\":\"x-any\",\"kind\":\"spc\",\"indicator\":\"x\",\"alert_on\":\"any\"}");
    uint64_t seed = 11;
    double values[DET_MONTHS];
    for (int t = 0; t < 24; t++) {
        values[t] = 70 + 2 * noise(&seed);
        push_x("P", t, values[t]);
        push_x("Q", t, values[t] + 1);
    }
    cr_expect_eq(det_count("SELECT count(*) FROM detector_state"), 4, "spc-x and x-any on P and Q");
    cr_expect_eq(det_count("SELECT count(*) FROM (SELECT DISTINCT rule_id, series_id"
                           " FROM detector_state) d"),
                 4);

#define SPC_X_FIXED "{\"name\":\"spc-x\",\"kind\":\"spc\",\"indicator\":\"x\",\"baseline\":12}"
    put_rule(SPC_X_FIXED);
    bool due_touched, more;
    cr_expect_geq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1,
                  "putting the rule marks its series");
    expect_state_is_rebuild(SPC_X_FIXED, "spc-x", "P", values, 24, NAN);

    apply_detector_programme("\"alert_budget\":{\"false_alerts_per_100_series_years\":1},");
    values[24] = 70 + 2 * noise(&seed);
    push_x("P", 24, values[24]);
    expect_state_is_rebuild(SPC_X_FIXED, "spc-x", "P", values, 25, 0.01);
    cr_expect_eq(det_count("SELECT count(*) FROM detector_state"), 4);
}

/* A late feed is missing data: its alert has a period and a summary, but no value and no
 * limits (before, it stored a value of 0: "value 0 for 2025-05"). */
Test(evaluator, a_late_feed_alert_has_no_value)
{
    push_rows(
        (struct bp[]){{"A", "2025-01", 40, 100}, {"B", "2025-01", 70, 100}, {NULL, NULL, 0, 0}});
    cr_assert(evaluator_run_timer(conn, NOW));
    char *row = pgtest_scalar(
        conn, "SELECT a.state || ' ' || (a.value IS NULL) || ' ' || (a.lower_limit IS NULL)"
              " || ' ' || (a.period_start IS NOT NULL) || ' ' || left(a.summary, 12) FROM alert a"
              " JOIN alert_rule r ON r.id = a.rule_id JOIN site s ON s.id = a.site_id"
              " WHERE r.kind = 'late_feed' AND s.code = 'A'");
    cr_expect(row != NULL && strcmp(row, "firing true true true no value for") == 0,
              "late feed: %s", row ? row : "none");
    free(row);
}
