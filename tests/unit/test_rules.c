/* Rule documents (problems with JSON paths) and the evaluation of each rule kind. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "scaleupd/core/rules.h"

struct invalid_case {
    const char *doc;
    const char *path;
    const char *code;
};

static const struct invalid_case invalid[] = {
    {"[]", "$", "invalid_type"},
    {"{\"name\":\"x\"}", "$.kind", "missing_field"},
    {"{\"name\":\"x\",\"kind\":\"magic\"}", "$.kind", "invalid_value"},
    {"{\"kind\":\"spc\"}", "$.name", "missing_field"},
    {"{\"name\":\"x\",\"kind\":\"threshold\"}", "$.min", "missing_field"},
    {"{\"name\":\"x\",\"kind\":\"threshold\",\"min\":5,\"max\":1}", "$.max", "out_of_range"},
    {"{\"name\":\"x\",\"kind\":\"threshold\",\"min\":\"5\"}", "$.min", "invalid_type"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"for\":0}", "$.for", "out_of_range"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"resolve\":-2}", "$.resolve", "out_of_range"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"signals\":[\"outside\",\"wobble\"]}", "$.signals[1]",
     "unknown_signal"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"rebase\":[\"2025-02-30\"]}", "$.rebase[0]",
     "invalid_date"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"baseline\":1}", "$.baseline", "out_of_range"},
    {"{\"name\":\"x\",\"kind\":\"late_feed\",\"grace_days\":-1}", "$.grace_days", "out_of_range"},
    {"{\"name\":\"x\",\"kind\":\"completeness\",\"min_ratio\":1.5}", "$.min_ratio", "out_of_range"},
    {"{\"name\":\"x\",\"kind\":\"trajectory\"}", "$.dimension", "invalid_value"},
    {"{\"name\":\"x\",\"kind\":\"trajectory\",\"dimension\":\"coverage\",\"site\":\"BE\"}",
     "$.site", "invalid_value"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"treshold\":3}", "$.treshold", "unknown_member"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"receivers\":[\"\"]}", "$.receivers[0]", "invalid_type"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"alert_on\":\"behind\"}", "$.alert_on", "invalid_value"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"aggregate\":1}", "$.aggregate", "invalid_type"},
    {"{\"name\":\"x\",\"kind\":\"late_feed\",\"aggregate\":true}", "$.aggregate", "invalid_value"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"method\":\"ewma\"}", "$.method", "invalid_value"},
    {"{\"name\":\"x\",\"kind\":\"spc\",\"method\":1}", "$.method", "invalid_value"},
    {"{\"name\":\"x\",\"kind\":\"threshold\",\"min\":1,\"method\":\"mdc\"}", "$.method",
     "invalid_value"},
};

static bool has_problem(const json_t *problems, const char *path, const char *code)
{
    size_t i;
    const json_t *p;
    json_array_foreach(problems, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "path")), path) == 0 &&
            strcmp(json_string_value(json_object_get(p, "code")), code) == 0)
            return true;
    }
    return false;
}

Test(rules, invalid_documents_name_the_path)
{
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        json_t *doc = json_loads(invalid[i].doc, JSON_DECODE_ANY, NULL);
        cr_assert_not_null(doc, "%s", invalid[i].doc);
        struct rule rule;
        json_t *problems = rule_parse(doc, &rule);
        char *dump = json_dumps(problems, 0);
        cr_expect(has_problem(problems, invalid[i].path, invalid[i].code), "%s: want %s %s, got %s",
                  invalid[i].doc, invalid[i].path, invalid[i].code, dump);
        free(dump);
        json_decref(problems);
        json_decref(doc);
    }
}

Test(rules, valid_document_fills_the_rule)
{
    json_t *doc =
        json_loads("{\"name\":\"bp-spc\",\"kind\":\"spc\",\"indicator\":\"bp\","
                   "\"site\":\"BE-VLG\",\"for\":2,\"resolve\":3,\"signals\":[\"outside\"],"
                   "\"baseline\":12,\"rebase\":[\"2025-06-01\"],\"receivers\":[\"ops\"],"
                   "\"aggregate\":true}",
                   0, NULL);
    struct rule r;
    json_t *problems = rule_parse(doc, &r);
    cr_assert_eq(json_array_size(problems), 0);
    cr_expect_eq(r.kind, RULE_SPC);
    cr_expect_str_eq(r.name, "bp-spc");
    cr_expect_str_eq(r.indicator, "bp");
    cr_expect_str_eq(r.site, "BE-VLG");
    cr_expect_eq(r.for_count, 2);
    cr_expect_eq(r.resolve_count, 3);
    cr_expect_eq(r.signals, SPC_SIGNAL_OUTSIDE);
    cr_expect_eq(r.baseline, 12);
    cr_expect_eq(r.n_rebase, 1);
    cr_expect_eq(r.rebase[0], date_from_ymd(2025, 6, 1));
    cr_expect_eq(r.n_receivers, 1);
    cr_expect_str_eq(r.receivers[0], "ops");
    cr_expect(r.aggregate);
    json_decref(problems);
    json_decref(doc);
}

Test(rules, threshold)
{
    struct rule r = {
        .kind = RULE_THRESHOLD, .has_min = true, .min = 50, .has_max = true, .max = 90};
    struct rule_eval e;
    const struct {
        double value;
        bool holds;
        const char *summary;
    } rows[] = {{49.9, true, "below minimum 50"},
                {50, false, "within thresholds"},
                {90, false, "within thresholds"},
                {90.5, true, "above maximum 90"}};
    for (size_t i = 0; i < 4; i++) {
        rule_eval_threshold(&r, rows[i].value, &e);
        cr_expect_eq(e.holds, rows[i].holds, "value %g", rows[i].value);
        cr_expect_str_eq(e.summary, rows[i].summary);
    }
}

/* Limits worked by hand: baseline 10,12,11,13,12,11,12,13,11,12 (mean 11.7; moving ranges
 * 2,1,2,1,1,1,1,2,1 → mean 12/9 = 1.3333; limits 11.7 -+ 2.66 x 1.3333 = 8.1533 .. 15.2467). */
Test(rules, spc_point_below_the_lower_limit_is_concern_when_up_is_better)
{
    double v[] = {10, 12, 11, 13, 12, 11, 12, 13, 11, 12, 5};
    int32_t days[11];
    for (int i = 0; i < 11; i++)
        days[i] = date_from_ymd(2024, 1 + i, 1);
    struct rule r;
    json_t *doc = json_pack("{s:s,s:s,s:i}", "name", "x", "kind", "spc", "baseline", 10);
    json_decref(rule_parse(doc, &r));
    json_decref(doc);
    struct rule_eval e;
    cr_assert(rule_eval_spc(&r, v, days, 11, SPC_DIRECTION_UP, &e));
    cr_expect(e.holds);
    cr_expect_str_eq(e.summary, "below lower limit");
    cr_expect_float_eq(e.centre, 11.7, 1e-9);
    cr_expect_float_eq(e.lower_limit, 11.7 - 2.66 * 12.0 / 9.0, 1e-9);
    cr_expect_float_eq(e.upper_limit, 11.7 + 2.66 * 12.0 / 9.0, 1e-9);
    /* the same point is improvement when lower is better: no alert by default */
    cr_assert(rule_eval_spc(&r, v, days, 11, SPC_DIRECTION_DOWN, &e));
    cr_expect_not(e.holds);
    r.alert_improvement = true;
    cr_assert(rule_eval_spc(&r, v, days, 11, SPC_DIRECTION_DOWN, &e));
    cr_expect(e.holds);
    /* a rule that only watches trends ignores it */
    r.alert_improvement = false;
    r.signals = SPC_SIGNAL_TREND;
    cr_assert(rule_eval_spc(&r, v, days, 11, SPC_DIRECTION_UP, &e));
    cr_expect_not(e.holds);
    /* with no direction nothing is concern */
    r.signals = SPC_SIGNAL_OUTSIDE;
    cr_assert(rule_eval_spc(&r, v, days, 11, SPC_DIRECTION_NONE, &e));
    cr_expect_not(e.holds);
}

Test(rules, spc_common_cause_and_rebase)
{
    double v[] = {10, 12, 11, 13, 12, 11, 12, 13, 11, 12, 12};
    int32_t days[11];
    for (int i = 0; i < 11; i++)
        days[i] = date_from_ymd(2024, 1 + i, 1);
    struct rule r;
    json_t *doc = json_pack("{s:s,s:s}", "name", "x", "kind", "spc");
    json_decref(rule_parse(doc, &r));
    json_decref(doc);
    struct rule_eval e;
    cr_assert(rule_eval_spc(&r, v, days, 11, SPC_DIRECTION_UP, &e));
    cr_expect_not(e.holds);
    cr_expect_str_eq(e.summary, "common cause variation");
    /* a step down to 5 after a re-baseline on the step is the new normal */
    double w[] = {12, 12, 13, 12, 11, 12, 13, 5, 6, 5, 6};
    r.rebase[0] = days[7];
    r.n_rebase = 1;
    cr_assert(rule_eval_spc(&r, w, days, 11, SPC_DIRECTION_UP, &e));
    cr_expect_not(e.holds);
    cr_expect_float_eq(e.centre, 5.5, 1e-9);
    r.n_rebase = 0;
    cr_assert(rule_eval_spc(&r, w, days, 11, SPC_DIRECTION_UP, &e));
    cr_expect(e.holds);
    double bad[] = {1, NAN};
    cr_expect_not(rule_eval_spc(&r, bad, days, 2, SPC_DIRECTION_UP, &e));
}

Test(rules, latest_due_period_monthly_due_by_the_15th)
{
    struct rule r = {.due_days = 14, .grace_days = 0};
    const struct {
        int y, m, d;
        int due_y, due_m;
    } rows[] = {
        {2025, 4, 15, 2025, 2}, /* March is due by 15 April: not late on the 15th */
        {2025, 4, 16, 2025, 3}, /* late from the 16th */
        {2025, 1, 10, 2024, 11},
        {2025, 1, 16, 2024, 12},
    };
    for (size_t i = 0; i < 4; i++) {
        struct period p = rule_latest_due_period(&r, PERIOD_MONTHLY,
                                                 date_from_ymd(rows[i].y, rows[i].m, rows[i].d));
        cr_expect_eq(p.year, rows[i].due_y, "row %zu", i);
        cr_expect_eq(p.index, rows[i].due_m, "row %zu: month %d", i, p.index);
    }
    r.grace_days = 3;
    struct period p = rule_latest_due_period(&r, PERIOD_MONTHLY, date_from_ymd(2025, 4, 18));
    cr_expect_eq(p.index, 2);
    p = rule_latest_due_period(&r, PERIOD_MONTHLY, date_from_ymd(2025, 4, 19));
    cr_expect_eq(p.index, 3);
}

Test(rules, completeness_and_trajectory)
{
    struct rule r = {.min_ratio = 0.8};
    struct rule_eval e;
    rule_eval_completeness(&r, 3, 4, &e);
    cr_expect(e.holds);
    cr_expect_str_eq(e.summary, "3 of 4 active sites reported");
    rule_eval_completeness(&r, 4, 5, &e);
    cr_expect_not(e.holds);
    rule_eval_completeness(&r, 0, 0, &e);
    cr_expect_not(e.holds);
    rule_eval_trajectory(&r, "behind", &e);
    cr_expect(e.holds);
    r.at_risk_only = true;
    rule_eval_trajectory(&r, "behind", &e);
    cr_expect_not(e.holds);
    rule_eval_trajectory(&r, "at_risk", &e);
    cr_expect(e.holds);
    rule_eval_trajectory(&r, "on_track", &e);
    cr_expect_not(e.holds);
}

/* "method": detector by default for an spc rule, mdc when asked. */
Test(rules, an_spc_rule_has_a_method)
{
    static const struct {
        const char *doc;
        enum rule_method method;
    } cases[] = {
        {"{\"name\":\"a\",\"kind\":\"spc\"}", RULE_METHOD_DETECTOR},
        {"{\"name\":\"a\",\"kind\":\"spc\",\"method\":\"detector\"}", RULE_METHOD_DETECTOR},
        {"{\"name\":\"a\",\"kind\":\"spc\",\"method\":\"mdc\"}", RULE_METHOD_MDC},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = json_loads(cases[i].doc, 0, NULL);
        struct rule r;
        json_t *problems = rule_parse(doc, &r);
        cr_expect_eq(json_array_size(problems), 0, "%s", cases[i].doc);
        cr_expect_eq(r.method, cases[i].method, "%s", cases[i].doc);
        json_decref(problems);
        json_decref(doc);
    }
    cr_expect_str_eq(rule_method_name(RULE_METHOD_MDC), "mdc");
    cr_expect_str_eq(rule_method_name((enum rule_method)9), "unknown");
}

/* The detector's params follow the rule, the direction and the budget. */
Test(rules, detector_params_follow_the_rule_direction_and_budget)
{
    json_t *doc = json_loads("{\"name\":\"a\",\"kind\":\"spc\",\"baseline\":24,"
                             "\"rebase\":[\"2025-06-01\"]}",
                             0, NULL);
    struct rule r;
    json_t *problems = rule_parse(doc, &r);
    cr_assert_eq(json_array_size(problems), 0);
    struct detector_params p, one, def;
    rule_detector_params(&r, SPC_DIRECTION_UP, NAN, &def);
    cr_expect(def.watch_low && !def.watch_high, "higher is better: the low side");
    cr_expect(def.fix_after_n == 24 && def.n_rebase == 1 && def.rebase[0] == 20240);
    /* h is the table's (core/detector.c) for 95 % of the budget: 1.90 per 100 series-years
       lies between the rows (2.484, 3.75) and (1.859, 4.00), so h = 3.75 + 0.25 x
       ln(1.90 / 2.484) / ln(1.859 / 2.484) = 3.981 */
    cr_expect(fabs(def.h - 3.981) < 0.002, "the default budget: h %g", def.h);
    rule_detector_params(&r, SPC_DIRECTION_DOWN, 0.01, &one);
    cr_expect(one.watch_high && !one.watch_low);
    /* 0.95 between (1.059, 4.50) and (0.788, 4.75): 4.50 + 0.25 x ln(0.95 / 1.059) /
       ln(0.788 / 1.059) = 4.592 */
    cr_expect(fabs(one.h - 4.592) < 0.002, "1 per 100 series-years: h %g", one.h);
    rule_detector_params(&r, SPC_DIRECTION_NONE, 0.02, &p);
    cr_expect(p.watch_high && p.watch_low && p.h > def.h, "both sides share the budget");
    rule_detector_params(&r, SPC_DIRECTION_UP, -1, &p);
    cr_expect_eq(p.h, def.h, "a budget that is not positive: the default");
    char a[DETECTOR_KEY_MAX], b[DETECTOR_KEY_MAX];
    detector_params_key(&def, a, sizeof(a));
    detector_params_key(&one, b, sizeof(b));
    cr_expect(strcmp(a, b) != 0, "different params, different keys");
    json_decref(problems);
    json_decref(doc);
}

/* One point through the evaluator's per-point path: judged once the baseline is there. */
Test(rules, the_detector_evaluates_one_point)
{
    json_t *doc = json_loads("{\"name\":\"a\",\"kind\":\"spc\"}", 0, NULL);
    struct rule r;
    json_t *problems = rule_parse(doc, &r);
    struct detector_params p;
    rule_detector_params(&r, SPC_DIRECTION_UP, NAN, &p);
    struct detector_state st;
    detector_reset(&st);
    struct rule_eval e;
    for (int t = 0; t < 12; t++) { /* the 13th point is the first judged */
        cr_assert_eq(rule_eval_detector(&p, &st, 100 + (t % 2 ? 1 : -1), 20000 + 31 * t, &e),
                     DETECTOR_OK);
        cr_expect(!e.holds && !e.has_limits && isnan(e.centre), "not judged yet (t %d)", t);
    }
    cr_assert_eq(rule_eval_detector(&p, &st, 80, 20000 + 31 * 12, &e), DETECTOR_OK);
    cr_expect(e.holds && e.has_limits && e.value == 80 && fabs(e.centre - 100) < 1e-9);
    cr_expect(strstr(e.summary, "far below the mean") != NULL, "%s", e.summary);
    cr_expect_eq(rule_eval_detector(&p, &st, 90, 20000, &e), DETECTOR_NEEDS_REBUILD);
    cr_expect(!e.holds);
    cr_expect_eq(rule_eval_detector(&p, &st, NAN, 20000 + 31 * 13, &e), DETECTOR_SKIPPED);
    json_decref(problems);
    json_decref(doc);
}
