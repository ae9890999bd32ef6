/*
 * Incidents against a real PostgreSQL (storage/incident_store.h, docs/ARCHITECTURE.md
 * "Incidents"), through the evaluator as feeds drive it: a stable series of 120 months raises
 * no alert and no incident; a shift at both practices of a region raises one signal incident
 * whose members are exactly the alerts that fire (both practices and the region's aggregate),
 * also when the practices signal in consecutive months (one incident while it is open, a new
 * one after it resolved, one when two sessions open it at once);
 * late feeds are one incident per practice and due period, carry their period and due date and
 * no value, are acknowledged and silenced as one, and resolve when their last member does.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/core/period.h"
#include "scaleupd/core/rules.h"
#include "scaleupd/services/evaluator.h"
#include "scaleupd/services/incidents.h"
#include "scaleupd/services/ingest.h"
#include "scaleupd/services/programme_apply.h"
#include "scaleupd/storage/alert_groups.h"
#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/incident_store.h"
#include "scaleupd/storage/observations.h"
#include "scaleupd/storage/rule_store.h"

#define NOW 1752580800.0 /* 2025-07-15 12:00 UTC */

/* Region R with practices P and Q, two higher-is-better indicators (default rules: spc-x,
 * spc-y, late-feed-x, late-feed-y). */
static const char programme_doc[] =
    "{\"slug\":\"inc\",\"name\":\"Incident test\",\"time_zone\":\"UTC\",\"sites\":["
    "{\"code\":\"C\",\"name\":\"Country\",\"level\":\"country\"},"
    "{\"code\":\"R\",\"name\":\"Region\",\"level\":\"region\",\"parent\":\"C\"},"
    "{\"code\":\"P\",\"name\":\"Practice P\",\"level\":\"practice\",\"parent\":\"R\","
    "\"adopted\":\"2014-01-01\"},"
    "{\"code\":\"Q\",\"name\":\"Practice Q\",\"level\":\"practice\",\"parent\":\"R\","
    "\"adopted\":\"2014-01-01\"}],"
    "\"indicators\":[{\"code\":\"x\",\"name\":\"X\",\"value_type\":\"ratio\","
    "\"period_type\":\"monthly\",\"direction\":\"up\",\"aggregate\":\"mean\"},"
    "{\"code\":\"y\",\"name\":\"Y\",\"value_type\":\"ratio\","
    "\"period_type\":\"monthly\",\"direction\":\"up\",\"aggregate\":\"mean\"}]}";

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
    conn = pgtest_fresh_database("scaleupd_test_incidents");
    json_t *doc = json_loads(programme_doc, 0, NULL);
    json_t *problems = NULL;
    cr_assert_eq(programme_apply(conn, doc, &programme_id, &problems, "test"), PROGRAMME_CREATED);
    json_decref(problems);
    json_decref(doc);
    put_rule("{\"name\":\"x-region\",\"kind\":\"spc\",\"indicator\":\"x\",\"site\":\"R\","
             "\"aggregate\":true}");
}

static void teardown(void)
{
    PQfinish(conn);
}

TestSuite(incidents, .init = setup, .fini = teardown);

static long scalar_long(const char *sql)
{
    char *text = pgtest_scalar(conn, sql);
    cr_assert_not_null(text, "%s", sql);
    long v = strtol(text, NULL, 10);
    free(text);
    return v;
}

/* Stores one batch of observations (a JSON array's items) and evaluates what it marked. */
static void push(const char *items)
{
    char json[4096];
    snprintf(json, sizeof(json), "{\"observations\":[%s]}", items);
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
    bool due_touched, more;
    cr_assert_geq(evaluator_run_dirty(conn, NOW, &due_touched, NULL, NULL, &more), 1);
}

#define PERIOD_TEXT 24

/* Month t (0: 2015-01) of x at P and Q in one batch, as a feed sends a month. */
static void push_month(int t, double p, double q)
{
    char period[PERIOD_TEXT], items[512];
    snprintf(period, sizeof(period), "%04d-%02d", 2015 + t / 12, t % 12 + 1);
    snprintf(items, sizeof(items),
             "{\"indicator\":\"x\",\"site\":\"P\",\"period\":\"%s\",\"value\":%.17g},"
             "{\"indicator\":\"x\",\"site\":\"Q\",\"period\":\"%s\",\"value\":%.17g}",
             period, p, period, q);
    push(items);
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

#define OPEN_ALERTS "SELECT count(*) FROM alert WHERE state IN ('pending', 'firing', 'no_data')"

Test(incidents, a_stable_series_of_120_months_raises_no_alert)
{
    uint64_t seed = 7;
    for (int t = 0; t < 120; t++) {
        push_month(t, 100 + 3 * noise(&seed), 100 + 3 * noise(&seed));
        cr_expect_eq(scalar_long(OPEN_ALERTS), 0, "no open alert at month %d", t);
    }
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert WHERE state <> 'inactive'"), 0);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 0, "no incident");
}

/* The member alerts of incident id as "rule@site" in id order, joined by spaces. */
static char *members_of(long long id)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(r.name || '@' || s.code, ' ' ORDER BY r.name, s.code) FROM alert a"
             " JOIN alert_rule r ON r.id = a.rule_id JOIN site s ON s.id = a.site_id"
             " WHERE a.incident_id = %lld",
             id);
    return pgtest_scalar(conn, sql);
}

Test(incidents, a_shift_at_a_region_raises_one_incident_with_its_members)
{
    uint64_t seed = 7;
    int first = -1;
    for (int t = 0; t < 60 && first < 0; t++) {
        double shift = t >= 48 ? 30 : 0; /* -10 SD at both practices from month 48 */
        push_month(t, 100 + 3 * noise(&seed) - shift, 100 + 3 * noise(&seed) - shift);
        if (scalar_long(OPEN_ALERTS) > 0)
            first = t;
    }
    cr_assert_eq(first, 48, "alerts open with the shift (month %d)", first);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 1, "one incident");
    long long id = scalar_long("SELECT id FROM incident");
    char *members = members_of(id);
    cr_expect_str_eq(members, "spc-x@P spc-x@Q x-region@R");
    free(members);
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert WHERE state = 'firing' AND"
                             " incident_id IS DISTINCT FROM (SELECT id FROM incident)"),
                 0, "every firing alert is a member");
    json_t *incident = NULL;
    cr_assert_eq(incidents_get(conn, id, NOW, &incident), ALERTS_OK);
    cr_expect_str_eq(json_string_value(json_object_get(incident, "kind")), "signal");
    cr_expect_str_eq(json_string_value(json_object_get(incident, "state")), "open");
    cr_expect_str_eq(json_string_value(json_object_get(incident, "site")), "R");
    cr_expect_str_eq(json_string_value(json_object_get(incident, "indicator")), "x");
    cr_expect_str_eq(json_string_value(json_object_get(incident, "period")), "2019-01");
    cr_expect_str_eq(json_string_value(json_object_get(incident, "title")),
                     "X signals in Region since 2019-01");
    cr_expect_eq(json_array_size(json_object_get(incident, "members")), 3);
    json_decref(incident);
}

/* x and y at site for months first..last of 2025 (1-based), one batch. */
static void push_reports(const char *site, int first, int last)
{
    char items[4096];
    size_t len = 0;
    for (int m = first; m <= last; m++)
        for (int k = 0; k < 2; k++)
            len += (size_t)snprintf(items + len, sizeof(items) - len,
                                    "%s{\"indicator\":\"%s\",\"site\":\"%s\",\"period\":"
                                    "\"2025-%02d\",\"value\":%d}",
                                    len ? "," : "", k ? "y" : "x", site, m, 90 + m % 3);
    cr_assert_lt(len, sizeof(items));
    push(items);
}

/* The id of the open incident of practice site. */
static long long late_incident(const char *site)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT n.id FROM incident n JOIN site s ON s.id = n.site_id WHERE s.code = '%s'"
             " AND n.kind = 'late_feed'",
             site);
    return scalar_long(sql);
}

static long late_incident_count(const char *site)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM incident n JOIN site s ON s.id = n.site_id WHERE s.code = '%s'",
             site);
    return scalar_long(sql);
}

static json_t *incident_json(long long id)
{
    json_t *incident = NULL;
    cr_assert_eq(incidents_get(conn, id, NOW, &incident), ALERTS_OK);
    return incident;
}

static const char *text_of(const json_t *object, const char *key)
{
    const char *text = json_string_value(json_object_get(object, key));
    return text != NULL ? text : "(none)";
}

/* Months 0..last of a series stable at P and Q, then P shifted by -10 SD from month 48
 * (2019-01) and Q from month 49 (2019-02): the month each practice's alert opens. */
static void shift_p_then_q(uint64_t *seed, int last)
{
    for (int t = 0; t <= last; t++) {
        double p = t >= 48 ? 30 : 0, q = t >= 49 ? 30 : 0;
        push_month(t, 100 + 3 * noise(seed) - p, 100 + 3 * noise(seed) - q);
        if (t == 47)
            cr_assert_eq(scalar_long(OPEN_ALERTS), 0, "nothing open before the shift");
    }
}

#define ALERT_AT(rule, site)                                                                       \
    "SELECT a.id FROM alert a JOIN alert_rule r ON r.id = a.rule_id JOIN site s ON"                \
    " s.id = a.site_id WHERE r.name = '" rule "' AND s.code = '" site "'"

/* One cause, one incident across periods: P signals in 2019-01, Q in 2019-02; Q joins the
 * incident P (and the region's aggregate) opened, which says since when. */
Test(incidents, practices_signalling_in_consecutive_months_are_one_incident)
{
    uint64_t seed = 7;
    shift_p_then_q(&seed, 48);
    cr_assert_eq(scalar_long("SELECT count(*) FROM incident"), 1, "P's signal opens one");
    long long id = scalar_long("SELECT id FROM incident");
    char *members = members_of(id);
    cr_expect_str_eq(members, "spc-x@P x-region@R", "2019-01: P and the region");
    free(members);
    push_month(49, 100 + 3 * noise(&seed) - 30, 100 + 3 * noise(&seed) - 30);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 1, "Q joins it in 2019-02");
    members = members_of(id);
    cr_expect_str_eq(members, "spc-x@P spc-x@Q x-region@R");
    free(members);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident_member"), 3);
    json_t *incident = incident_json(id);
    cr_expect_str_eq(text_of(incident, "state"), "open");
    cr_expect_eq(json_integer_value(json_object_get(incident, "open_members")), 3);
    cr_expect_str_eq(text_of(incident, "period"), "2019-01", "the period it began in");
    cr_expect_str_eq(text_of(incident, "title"), "X signals in Region since 2019-01");
    json_decref(incident);
}

/* Once every member resolved, the incident is resolved and a new signal of the same indicator
 * and region opens a new incident, which keeps the old one's members apart. */
Test(incidents, a_signal_after_the_incident_resolved_opens_a_new_one)
{
    uint64_t seed = 7;
    shift_p_then_q(&seed, 49);
    long long first = scalar_long("SELECT id FROM incident");
    int t = 50;
    for (; t < 80 && scalar_long(OPEN_ALERTS) > 0; t++)
        push_month(t, 100 + 3 * noise(&seed), 100 + 3 * noise(&seed));
    cr_assert_eq(scalar_long(OPEN_ALERTS), 0, "the shift's alerts resolved by month %d", t);
    json_t *incident = incident_json(first);
    cr_expect_str_eq(text_of(incident, "state"), "resolved");
    json_decref(incident);
    push_month(t, 100 + 3 * noise(&seed) - 30, 100 + 3 * noise(&seed));
    cr_assert_gt(scalar_long(OPEN_ALERTS), 0, "P signals again at month %d", t);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 2, "a new incident");
    long long second = scalar_long("SELECT id FROM incident WHERE resolved_at IS NULL");
    cr_expect_neq(second, first);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_member WHERE incident_id = %lld",
             first);
    cr_expect_eq(scalar_long(sql), 3, "the resolved incident keeps its three members");
    char *members = members_of(second);
    cr_expect(members != NULL && strstr(members, "spc-x@P") != NULL, "P is in the new one: %s",
              members ? members : "(none)");
    cr_expect(members != NULL && strstr(members, "spc-x@Q") == NULL, "Q is not: %s",
              members ? members : "(none)");
    free(members);
}

#define ALERT_ID(rule, site) ALERT_AT(rule, site) " AND a.state = 'firing'"

/* A rule narrowed to part of what it watched drops the alerts outside its new scope and keeps
 * those inside it as they were (open, not notified again); a rule that now watches practices
 * instead of the region drops the region's; deleting a rule resolves an incident it leaves
 * with no open member, which would otherwise stay open for ever. */
Test(incidents, a_rule_narrowed_or_deleted_drops_the_alerts_it_no_longer_watches)
{
    uint64_t seed = 7;
    shift_p_then_q(&seed, 49);
    cr_assert_eq(scalar_long("SELECT count(*) FROM incident"), 1);
    long long id = scalar_long("SELECT id FROM incident");
    char *members = members_of(id);
    cr_assert_str_eq(members, "spc-x@P spc-x@Q x-region@R");
    free(members);
    long long p_alert = scalar_long(ALERT_ID("spc-x", "P"));
    long history = scalar_long("SELECT count(*) FROM alert_history");

    put_rule("{\"name\":\"spc-x\",\"kind\":\"spc\",\"indicator\":\"x\",\"site\":\"P\"}");
    members = members_of(id);
    cr_expect_str_eq(members, "spc-x@P x-region@R", "Q is outside spc-x's new scope");
    free(members);
    cr_expect_eq(scalar_long(ALERT_ID("spc-x", "P")), p_alert, "P's alert is the same, firing");
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert_history"), history,
                 "nothing changed state");

    put_rule("{\"name\":\"x-region\",\"kind\":\"spc\",\"indicator\":\"x\",\"site\":\"R\"}");
    members = members_of(id);
    cr_expect_str_eq(members, "spc-x@P", "x-region watches R's practices now, not R");
    free(members);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident WHERE resolved_at IS NULL"), 1,
                 "P is still open");

    cr_assert_eq(alerts_rule_delete(conn, programme_id, "spc-x"), ALERTS_OK);
    cr_expect_eq(scalar_long(OPEN_ALERTS), 0);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident WHERE resolved_at IS NULL"), 0,
                 "the incident is resolved with its last open member gone");
    json_t *incident = incident_json(id);
    cr_expect_str_eq(text_of(incident, "state"), "resolved");
    json_decref(incident);
}

/* The SQL of migration version (db_migrations, embedded from sql/). */
static const char *migration_sql(int version)
{
    for (const struct db_migration *m = db_migrations; m->name != NULL; m++)
        if (m->version == version)
            return m->sql;
    cr_assert_fail("no migration %d", version);
    return NULL;
}

/* An open signal incident of x in region R as an older version keyed it (with its period). */
static long long old_signal_incident(const char *period)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "INSERT INTO incident (programme_id, kind, key, title, indicator_id, site_id,"
             " period_start, period, opened_at) SELECT %lld, 'signal', 'signal:i' || i.id ||"
             " ':r' || s.id || ':d' || (date '%s-01' - date '1970-01-01'), 'X signals in Region, "
             "%s', i.id, s.id, date '%s-01', '%s', now() FROM indicator i, site s WHERE"
             " i.code = 'x' AND s.code = 'R' RETURNING id",
             (long long)programme_id, period, period, period, period);
    return scalar_long(sql);
}

/* Upgrading: sql/027 gives the oldest open signal incident of an indicator and region the key
 * without a period and a "since" title, so that a signal after the upgrade joins it; another
 * open one of the same pair keeps its key (one open incident per key). */
Test(incidents, the_upgrade_rekeys_the_oldest_open_signal_incident)
{
    long long march = old_signal_incident("2018-12"), april = old_signal_incident("2019-01");
    PGresult *res = PQexec(conn, migration_sql(27));
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
    PQclear(res);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT key || ' / ' || title FROM incident WHERE id = %lld", march);
    char *text = pgtest_scalar(conn, sql);
    long long x = scalar_long("SELECT id FROM indicator WHERE code = 'x'");
    long long r = scalar_long("SELECT id FROM site WHERE code = 'R'");
    char want[128];
    snprintf(want, sizeof(want), "signal:i%lld:r%lld / X signals in Region since 2018-12", x, r);
    cr_expect_str_eq(text, want);
    free(text);
    snprintf(sql, sizeof(sql), "SELECT title FROM incident WHERE id = %lld", april);
    text = pgtest_scalar(conn, sql);
    cr_expect_str_eq(text, "X signals in Region, 2019-01", "the other keeps its key and title");
    free(text);
    uint64_t seed = 7;
    shift_p_then_q(&seed, 48);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 2, "no new incident");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM alert WHERE incident_id = %lld", march);
    cr_expect_eq(scalar_long(sql), 2, "P and the region joined the rekeyed incident");
}

/* Both practices miss 2025-05 (due 2025-06-15) for x and y: two incidents, one per practice,
 * each listing its two indicators, with the period and due date and no value. */
Test(incidents, late_feeds_are_one_incident_per_practice_and_period)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 4);
    cr_assert(evaluator_run_timer(conn, NOW));
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert WHERE state = 'firing'"), 4);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 2, "one per practice");
    char *members = members_of(late_incident("P"));
    cr_expect_str_eq(members, "late-feed-x@P late-feed-y@P");
    free(members);
    json_t *incident = incident_json(late_incident("Q"));
    cr_expect_str_eq(text_of(incident, "kind"), "late_feed");
    cr_expect_str_eq(text_of(incident, "period"), "2025-05");
    cr_expect_str_eq(text_of(incident, "due"), "2025-06-15");
    cr_expect_str_eq(text_of(incident, "title"),
                     "Practice Q: no report for 2025-05 (due 2025-06-15)");
    size_t i;
    json_t *member;
    json_array_foreach(json_object_get(incident, "members"), i, member)
    {
        cr_expect(json_is_null(json_object_get(member, "value")), "a late feed has no value");
        cr_expect_str_eq(text_of(member, "due"), "2025-06-15");
        cr_expect_str_eq(text_of(member, "period"), "2025-05-01");
        cr_expect_str_eq(text_of(member, "site"), "Q");
    }
    json_decref(incident);
}

/* The alerts' own list keeps its shape and says the incident, the period and the due date. */
/* The timer pass again, the practices still late for the same month: no alert row written
 * or locked (each row's xmin and xmax as before), no incident or history added. A national
 * programme has 140,000 such alerts, and each pass rewrote them all. Then one practice
 * reports: only its alerts change. */
Test(incidents, a_pass_over_practices_still_late_writes_nothing)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 4);
    cr_assert(evaluator_run_timer(conn, NOW));
    const char *versions = "SELECT string_agg(id || ':' || xmin || ':' || xmax, ' ' ORDER BY id)"
                           " FROM alert";
    char *before = pgtest_scalar(conn, versions);
    long history = scalar_long("SELECT count(*) FROM alert_history");
    cr_assert(evaluator_run_timer(conn, NOW + 3600));
    char *after = pgtest_scalar(conn, versions);
    cr_expect_str_eq(after, before, "no alert row written or locked");
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert_history"), history);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 2);
    free(before);
    free(after);
    push_reports("P", 5, 5);
    cr_assert(evaluator_run_timer(conn, NOW + 7200));
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert a JOIN site s ON s.id = a.site_id"
                             " WHERE a.state = 'firing' AND s.code = 'Q'"),
                 2, "Q still late");
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert a JOIN site s ON s.id = a.site_id"
                             " WHERE a.state = 'firing' AND s.code = 'P'"),
                 0, "P reported");
}

Test(incidents, the_alert_list_shows_the_incident_and_the_due_date)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 5);
    cr_assert(evaluator_run_timer(conn, NOW));
    struct page_request request = {.limit = 10};
    struct page_rows page;
    struct alerts_filter filter = {.programme = "inc", .state = "firing"};
    cr_assert_eq(alerts_list_page(conn, &filter, &request, &page), PAGE_ROWS_OK);
    cr_assert_eq(json_array_size(page.items), 2);
    size_t i;
    json_t *alert;
    json_array_foreach(page.items, i, alert)
    {
        cr_expect(json_is_null(json_object_get(alert, "value")), "missing is not a value");
        cr_expect_str_eq(text_of(alert, "due"), "2025-06-15");
        cr_expect_str_eq(text_of(alert, "period"), "2025-05-01");
        cr_expect_eq(json_integer_value(json_object_get(alert, "incident_id")), late_incident("P"));
    }
    page_rows_free(&page);
}

static void silence(const char *matchers)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO silence (programme_id, matchers, starts_at, ends_at, author)"
             " VALUES (%lld, '%s', to_timestamp(%.0f), to_timestamp(%.0f), 'test') RETURNING id",
             (long long)programme_id, matchers, NOW - 60, NOW + 3600);
    free(pgtest_scalar(conn, sql));
}

/* A silence of some members says which; one of all members silences the incident. */
Test(incidents, a_silence_of_all_members_silences_the_incident)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 5);
    cr_assert(evaluator_run_timer(conn, NOW));
    long long id = late_incident("P");
    silence("[{\"name\":\"site\",\"value\":\"P\",\"isRegex\":false,\"isEqual\":true},{\"name\":"
            "\"indicator\",\"value\":\"x\",\"isRegex\":false,\"isEqual\":true}]");
    json_t *incident = incident_json(id);
    cr_expect(json_is_false(json_object_get(incident, "silenced")), "one of two is silenced");
    json_t *silenced = json_object_get(incident, "silenced_members");
    cr_assert_eq(json_array_size(silenced), 1);
    long long x = scalar_long("SELECT a.id FROM alert a JOIN alert_rule r ON r.id = a.rule_id"
                              " WHERE r.name = 'late-feed-x'");
    cr_expect_eq(json_integer_value(json_array_get(silenced, 0)), x);
    json_decref(incident);
    silence("[{\"name\":\"site\",\"value\":\"P\",\"isRegex\":false,\"isEqual\":true}]");
    incident = incident_json(id);
    cr_expect(json_is_true(json_object_get(incident, "silenced")), "all members are silenced");
    cr_expect_eq(json_array_size(json_object_get(incident, "silenced_members")), 2);
    json_decref(incident);
}

/* Acknowledging an incident acknowledges each open member, through the alerts' own path. */
Test(incidents, acknowledging_an_incident_acknowledges_its_members)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 4);
    cr_assert(evaluator_run_timer(conn, NOW));
    json_t *acked = NULL;
    struct ack_by nurse = {.person = "nurse", .comment = "called the practice"};
    cr_assert_eq(incidents_ack(conn, late_incident("P"), &nurse, NOW, "test", &acked), ALERTS_OK);
    cr_expect_eq(json_array_size(acked), 2);
    json_decref(acked);
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert WHERE acked_by = 'nurse'"
                             " AND ack_comment = 'called the practice'"),
                 2);
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert a JOIN site s ON s.id = a.site_id"
                             " WHERE s.code = 'Q' AND acked_at IS NOT NULL"),
                 0, "the other practice's incident is not acknowledged");
    json_t *incident = incident_json(late_incident("P"));
    cr_expect(json_is_true(json_object_get(incident, "acked")));
    json_decref(incident);
    /* a member acknowledged before keeps who did it and why */
    long long q_first = scalar_long("SELECT min(a.id) FROM alert a JOIN site s ON s.id = a.site_id"
                                    " WHERE s.code = 'Q' AND a.state = 'firing'");
    struct ack_by doctor = {.person = "doctor", .comment = "known outage"};
    cr_assert_eq(alerts_ack(conn, q_first, &doctor, NOW), ALERTS_OK);
    cr_assert_eq(incidents_ack(conn, late_incident("Q"), &nurse, NOW, "test", &acked), ALERTS_OK);
    cr_expect_eq(json_array_size(acked), 1, "only the member not acknowledged yet");
    json_decref(acked);
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert WHERE acked_by = 'doctor'"
                             " AND ack_comment = 'known outage'"),
                 1);
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert WHERE acked_by = 'nurse'"), 3);
    cr_expect_eq(incidents_ack(conn, 999999, &nurse, NOW, "test", &acked), ALERTS_NOT_FOUND);
}

/* The incident stays open while a member is; the last member's resolve resolves it. */
Test(incidents, an_incident_resolves_with_its_last_member)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 4);
    cr_assert(evaluator_run_timer(conn, NOW));
    long long id = late_incident("P");
    push("{\"indicator\":\"x\",\"site\":\"P\",\"period\":\"2025-05\",\"value\":91}");
    cr_assert(evaluator_run_timer(conn, NOW));
    json_t *incident = incident_json(id);
    cr_expect_str_eq(text_of(incident, "state"), "open", "y is still missing");
    cr_expect_eq(json_integer_value(json_object_get(incident, "open_members")), 1);
    json_decref(incident);
    push("{\"indicator\":\"y\",\"site\":\"P\",\"period\":\"2025-05\",\"value\":91}");
    cr_assert(evaluator_run_timer(conn, NOW));
    incident = incident_json(id);
    cr_expect_str_eq(text_of(incident, "state"), "resolved");
    cr_expect(json_is_string(json_object_get(incident, "resolved_at")));
    json_decref(incident);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident WHERE resolved_at IS NULL"), 1,
                 "Q's is still open");
    /* a month on, P misses 2025-06: a new incident; the resolved one keeps its members */
    cr_assert(evaluator_run_timer(conn, NOW + 31 * 86400.0));
    long long next = scalar_long("SELECT n.id FROM incident n JOIN site s ON s.id = n.site_id"
                                 " WHERE s.code = 'P' AND n.resolved_at IS NULL");
    cr_expect_neq(next, id);
    incident = incident_json(next);
    cr_expect_str_eq(text_of(incident, "period"), "2025-06");
    cr_expect_eq(json_array_size(json_object_get(incident, "members")), 2);
    json_decref(incident);
    incident = incident_json(id);
    cr_expect_str_eq(text_of(incident, "state"), "resolved");
    json_t *members = json_object_get(incident, "members");
    cr_expect_eq(json_array_size(members), 2, "the resolved incident keeps its members");
    cr_expect_str_eq(text_of(json_array_get(members, 0), "state"), "resolved");
    json_decref(incident);
    cr_expect_eq(late_incident_count("Q"), 1, "Q's late feeds go on in their incident");
}

/* Only what is open is acknowledged: a resolved alert or incident is 409's ALERTS_CONFLICT
 * and nothing is written, so no acknowledgement outlives what it was about. */
Test(incidents, a_resolved_alert_or_incident_is_not_acknowledged)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 4);
    cr_assert(evaluator_run_timer(conn, NOW));
    long long id = late_incident("P");
    push_reports("P", 5, 5);
    cr_assert(evaluator_run_timer(conn, NOW));
    json_t *incident = incident_json(id);
    cr_assert_str_eq(text_of(incident, "state"), "resolved");
    json_decref(incident);
    long long x = scalar_long("SELECT a.id FROM alert a JOIN alert_rule r ON r.id = a.rule_id"
                              " JOIN site s ON s.id = a.site_id WHERE r.name = 'late-feed-x'"
                              " AND s.code = 'P' AND a.state = 'resolved'");
    struct ack_by nurse = {.person = "nurse", .comment = "too late"};
    cr_expect_eq(alerts_ack(conn, x, &nurse, NOW), ALERTS_CONFLICT, "a resolved alert");
    json_t *acked = NULL;
    cr_expect_eq(incidents_ack(conn, id, &nurse, NOW, "test", &acked), ALERTS_CONFLICT,
                 "a resolved incident");
    cr_expect_null(acked);
    cr_expect_eq(alerts_ack(conn, 999999, &nurse, NOW), ALERTS_NOT_FOUND);
    cr_expect_eq(scalar_long("SELECT count(*) FROM alert WHERE acked_at IS NOT NULL"), 0,
                 "nothing acknowledged");
    /* Q's incident is open: acknowledging it still acknowledges its open members */
    cr_assert_eq(incidents_ack(conn, late_incident("Q"), &nurse, NOW, "test", &acked), ALERTS_OK);
    cr_expect_eq(json_array_size(acked), 2);
    json_decref(acked);
}

/* A pending alert acknowledged, then gone inactive, keeps no acknowledgement. */
Test(incidents, an_acknowledgement_does_not_survive_into_inactive)
{
    put_rule("{\"name\":\"x-high\",\"kind\":\"threshold\",\"indicator\":\"x\",\"site\":\"P\","
             "\"max\":95,\"for\":2}");
    push("{\"indicator\":\"x\",\"site\":\"P\",\"period\":\"2025-01\",\"value\":99}");
    long long a = scalar_long("SELECT a.id FROM alert a JOIN alert_rule r ON r.id = a.rule_id"
                              " WHERE r.name = 'x-high' AND a.state = 'pending'");
    struct ack_by nurse = {.person = "nurse"};
    cr_assert_eq(alerts_ack(conn, a, &nurse, NOW), ALERTS_OK, "a pending alert is open");
    push("{\"indicator\":\"x\",\"site\":\"P\",\"period\":\"2025-02\",\"value\":90}");
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM alert WHERE id = %lld AND state = 'inactive'"
             " AND acked_at IS NULL AND acked_by IS NULL",
             a);
    cr_expect_eq(scalar_long(sql), 1, "inactive, without its acknowledgement");
    cr_expect_eq(alerts_ack(conn, a, &nurse, NOW), ALERTS_CONFLICT, "an inactive alert");
}

/* The list is newest first, a page at a time, and filters by kind and state. */
Test(incidents, the_list_is_paged_and_filtered)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 4);
    cr_assert(evaluator_run_timer(conn, NOW));
    struct page_request request = {.limit = 1};
    struct page_rows page;
    struct incidents_filter filter = {.programme = "inc"};
    cr_assert_eq(incidents_list_page(conn, &filter, NOW, &request, &page), PAGE_ROWS_OK);
    cr_assert_eq(json_array_size(page.items), 1);
    cr_assert_not_null(page.next, "a second page follows");
    long long newest = json_integer_value(json_object_get(json_array_get(page.items, 0), "id"));
    cr_expect_eq(newest, scalar_long("SELECT max(id) FROM incident"));
    page_rows_free(&page);
    filter.kind = "signal";
    request.limit = 10;
    cr_assert_eq(incidents_list_page(conn, &filter, NOW, &request, &page), PAGE_ROWS_OK);
    cr_expect_eq(json_array_size(page.items), 0);
    page_rows_free(&page);
    filter = (struct incidents_filter){.state = "open", .kind = "late_feed"};
    cr_assert_eq(incidents_list_page(conn, &filter, NOW, &request, &page), PAGE_ROWS_OK);
    cr_expect_eq(json_array_size(page.items), 2);
    cr_expect_null(page.next);
    page_rows_free(&page);
}

/* A group's message reads each alert's incident, so that renderers can group by it. */
Test(incidents, a_notification_names_each_alert_incident)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 4);
    cr_assert(evaluator_run_timer(conn, NOW));
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO receiver (programme_id, name, email) VALUES (%lld, 'team',"
             " '{team@example.org}') RETURNING name",
             (long long)programme_id);
    free(pgtest_scalar(conn, sql));
    struct alert_group_alerts out;
    cr_assert(alert_groups_alerts(conn, programme_id, "team", NOW, true, &out));
    cr_assert_eq(out.group.n_alerts, 4);
    for (size_t i = 0; i < out.group.n_alerts; i++) {
        const struct notify_alert *a = &out.group.alerts[i];
        long long want = late_incident(a->site);
        cr_expect_eq(a->incident_id, want, "alert %lld at %s", a->id, a->site);
        cr_expect(a->incident_title != NULL && strstr(a->incident_title, "no report for 2025-05"),
                  "title %s", a->incident_title ? a->incident_title : "(none)");
        cr_expect_not(a->has_value, "a late feed has no value to show");
    }
    alert_group_alerts_clear(&out);
}

/* ---- two sessions opening the same incident --------------------------------------------- */

struct joiner {
    int64_t alert_id;
    bool ok;
};

/* Another session, as another pool worker: joins alert_id to its incident and commits. */
static void *join_in_another_session(void *arg)
{
    struct joiner *j = arg;
    PGconn *other = PQconnectdb(pgtest_conninfo("scaleupd_test_incidents"));
    j->ok = PQstatus(other) == CONNECTION_OK && db_begin(other, "other") &&
            incidents_attach(other, programme_id, j->alert_id, NOW) && db_commit(other, "other");
    PQfinish(other);
    return NULL;
}

/* While the first session's new incident is not committed, the second session's join of the
 * same key waits on the unique index of open keys, then joins that incident. */
Test(incidents, a_second_session_waits_and_joins_the_same_incident)
{
    push_reports("P", 1, 4);
    push_reports("Q", 1, 5);
    cr_assert(evaluator_run_timer(conn, NOW));
    free(pgtest_scalar(conn, "WITH m AS (DELETE FROM incident_member RETURNING 1),"
                             " a AS (UPDATE alert SET incident_id = NULL RETURNING 1)"
                             " DELETE FROM incident RETURNING 1"));
    int64_t x = scalar_long("SELECT a.id FROM alert a JOIN alert_rule r ON r.id = a.rule_id"
                            " WHERE r.name = 'late-feed-x'");
    struct joiner j = {.alert_id =
                           scalar_long("SELECT a.id FROM alert a JOIN alert_rule r"
                                       " ON r.id = a.rule_id WHERE r.name = 'late-feed-y'")};
    cr_assert(db_begin(conn, "test"));
    cr_assert(incidents_attach(conn, programme_id, x, NOW));
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, join_in_another_session, &j), 0);
    /* the other session is seen waiting for a lock before this one commits */
    long waiting = 0;
    for (int poll = 0; poll < 100000 && waiting == 0; poll++) {
        free(pgtest_scalar(conn, "SELECT pg_stat_clear_snapshot()::text"));
        waiting = scalar_long("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                              " current_database() AND wait_event_type = 'Lock'");
    }
    cr_expect_eq(waiting, 1, "the second session waits");
    cr_assert(db_commit(conn, "test"));
    pthread_join(thread, NULL);
    cr_assert(j.ok);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 1, "one incident");
    cr_expect_eq(scalar_long("SELECT count(DISTINCT incident_id) FROM alert WHERE incident_id"
                             " IS NOT NULL"),
                 1);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident_member"), 2);
}

/* Two sessions open the signal incident of one indicator and region for practices that
 * signalled in different months (P in 2019-01, Q in 2019-02): the second waits and joins the
 * first's, so there is one incident with both. */
Test(incidents, two_sessions_joining_signals_of_two_periods_make_one_incident)
{
    uint64_t seed = 7;
    shift_p_then_q(&seed, 49);
    free(pgtest_scalar(conn, "WITH m AS (DELETE FROM incident_member RETURNING 1),"
                             " a AS (UPDATE alert SET incident_id = NULL RETURNING 1)"
                             " DELETE FROM incident RETURNING 1"));
    int64_t p = scalar_long(ALERT_AT("spc-x", "P"));
    struct joiner j = {.alert_id = scalar_long(ALERT_AT("spc-x", "Q"))};
    /* P's alert as it opened, in 2019-01 (an alert's period is its latest point's) */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "UPDATE alert SET period_start = '2019-01-01' WHERE id = %lld RETURNING id",
             (long long)p);
    free(pgtest_scalar(conn, sql));
    cr_assert(db_begin(conn, "test"));
    cr_assert(incidents_attach(conn, programme_id, p, NOW));
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, join_in_another_session, &j), 0);
    long waiting = 0;
    for (int poll = 0; poll < 100000 && waiting == 0; poll++) {
        free(pgtest_scalar(conn, "SELECT pg_stat_clear_snapshot()::text"));
        waiting = scalar_long("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                              " current_database() AND wait_event_type = 'Lock'");
    }
    cr_expect_eq(waiting, 1, "the second session waits");
    cr_assert(db_commit(conn, "test"));
    pthread_join(thread, NULL);
    cr_assert(j.ok);
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident"), 1, "one incident");
    cr_expect_eq(scalar_long("SELECT count(*) FROM incident_member"), 2);
    cr_expect_eq(scalar_long("SELECT count(DISTINCT incident_id) FROM alert WHERE id IN"
                             " (SELECT alert_id FROM incident_member)"),
                 1);
    char *period = pgtest_scalar(conn, "SELECT period FROM incident");
    cr_expect_str_eq(period, "2019-01", "named after the first session's period");
    free(period);
}
