/*
 * The gate of aggregate rules (core/rules.h, rule_aggregate_gate and rule_aggregate_judged;
 * docs/ARCHITECTURE.md "The path of an evaluation"): a period is judged once complete, or past
 * its due date with at least min_coverage of the sites owing it; below that it is skipped; a
 * period neither complete nor due waits, and so do the periods after it. min_coverage is
 * validated with its field named.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/rules.h"

static struct rule parsed(const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc, "%s", text);
    struct rule rule;
    json_t *problems = rule_parse(doc, &rule);
    cr_assert_eq(json_array_size(problems), 0, "%s", text);
    json_decref(problems);
    json_decref(doc);
    return rule;
}

#define AGG "{\"name\":\"r\",\"kind\":\"spc\",\"indicator\":\"x\",\"aggregate\":true"

static int32_t day(int y, int m, int d)
{
    return date_from_ymd(y, m, d);
}

Test(aggregate_gate, table)
{
    struct rule dflt = parsed(AGG ",\"min_coverage\":0.8}"),
                low = parsed(AGG ",\"min_coverage\":0.5}"),
                all = parsed(AGG ",\"min_coverage\":1}"),
                late = parsed(AGG ",\"grace_days\":10,\"min_coverage\":0.8}");
    struct period march = {PERIOD_MONTHLY, 2025, 3};
    static const struct {
        const char *name;
        int rule; /* 0 min 0.8, 1 min 0.5, 2 min 1, 3 due 10 days later */
        long sites, owed;
        int32_t today;
        enum rule_gate want;
    } cases[] = {
        {"complete before its end", 0, 10, 10, 0, RULE_GATE_JUDGE},
        {"complete, no member owes it", 0, 0, 0, 0, RULE_GATE_JUDGE},
        {"more sites than owe it", 0, 11, 10, 0, RULE_GATE_JUDGE},
        {"partial before the due date", 0, 9, 10, 1, RULE_GATE_WAIT},
        {"partial on the due date (the 15th)", 0, 9, 10, 2, RULE_GATE_WAIT},
        {"9 of 10 the day after", 0, 9, 10, 3, RULE_GATE_JUDGE},
        {"8 of 10: 0.8", 0, 8, 10, 3, RULE_GATE_JUDGE},
        {"7 of 10 below 0.8", 0, 7, 10, 3, RULE_GATE_SKIP},
        {"none of 10", 0, 0, 10, 3, RULE_GATE_SKIP},
        {"5 of 10 with 0.5", 1, 5, 10, 3, RULE_GATE_JUDGE},
        {"9 of 10 with 1", 2, 9, 10, 3, RULE_GATE_SKIP},
        {"day unknown", 0, 9, 10, -1, RULE_GATE_WAIT},
        {"10 days of grace more: still waits", 3, 9, 10, 3, RULE_GATE_WAIT},
        {"10 days of grace more: then due", 3, 9, 10, 4, RULE_GATE_JUDGE},
    };
    const struct rule *rules[] = {&dflt, &low, &all, &late};
    /* today: 0 the 1st of March, 1 the 14th of April, 2 the 15th, 3 the 16th, 4 the 26th */
    const int32_t days[] = {day(2025, 3, 1), day(2025, 4, 14), day(2025, 4, 15), day(2025, 4, 16),
                            day(2025, 4, 26)};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int32_t today = cases[i].today < 0 ? INT32_MIN : days[cases[i].today];
        cr_expect_eq(
            rule_aggregate_gate(rules[cases[i].rule], march, cases[i].sites, cases[i].owed, today),
            cases[i].want, "%s", cases[i].name);
    }
}

/* Months 1..6 of 2025 on 2025-06-20: May is partial and due (judged at 0.8, skipped at 0.6
 * with min 0.8), June partial and not due: it waits, and so does July though complete. */
Test(aggregate_gate, judged_points_stop_at_the_first_that_waits)
{
    struct rule rule = parsed(AGG ",\"min_coverage\":0.8}");
    int32_t days[7];
    for (int m = 0; m < 7; m++)
        days[m] = day(2025, m + 1, 1);
    const long sites[7] = {5, 4, 3, 5, 4, 2, 5}, owed[7] = {5, 5, 5, 5, 5, 5, 5};
    size_t kept[7];
    size_t n =
        rule_aggregate_judged(&rule, PERIOD_MONTHLY, day(2025, 6, 20), days, sites, owed, 7, kept);
    static const size_t want[] = {0, 1, 3, 4};
    cr_assert_eq(n, 4, "%zu judged", n);
    for (size_t k = 0; k < n; k++)
        cr_expect_eq(kept[k], want[k], "point %zu: %zu", k, kept[k]);
    n = rule_aggregate_judged(&rule, PERIOD_MONTHLY, day(2025, 7, 16), days, sites, owed, 7, kept);
    cr_expect(n == 5 && kept[4] == 6, "June skipped once due (2 of 5), July complete: %zu", n);
}

Test(aggregate_gate, min_coverage_is_validated_with_its_field)
{
    static const char *const bad[] = {
        AGG ",\"min_coverage\":1.5}",
        AGG ",\"min_coverage\":-0.1}",
        AGG ",\"min_coverage\":\"all\"}",
        "{\"name\":\"r\",\"kind\":\"spc\",\"indicator\":\"x\",\"min_coverage\":0.5}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc = json_loads(bad[i], 0, NULL);
        cr_assert_not_null(doc);
        struct rule rule;
        json_t *problems = rule_parse(doc, &rule);
        const char *path = json_string_value(json_object_get(json_array_get(problems, 0), "path"));
        cr_expect(json_array_size(problems) == 1 && path && strcmp(path, "$.min_coverage") == 0,
                  "%s: %zu problems", bad[i], json_array_size(problems));
        json_decref(problems);
        json_decref(doc);
    }
    cr_expect_float_eq(parsed(AGG "}").min_coverage, 1, 1e-12, "the default");
    cr_expect_float_eq(parsed(AGG ",\"min_coverage\":0}").min_coverage, 0, 1e-12);
}
