/*
 * libFuzzer target: a rule document as POST …/rules reads it (json_loadb with duplicates
 * refused, then rule_parse of core/rules.c), and a valid rule through every evaluation of
 * its kind. Checks that each problem has the {"path","code","message"} shape, that every
 * unknown member is a problem (rules.h: "a typo is not silently ignored") and that a valid
 * rule holds only values within the documented bounds.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The members rule_parse knows (the known_members table of core/rules.c). */
static const char *const known_members[] = {
    "name",      "kind",       "indicator", "site",        "dimension", "for",      "resolve",
    "receivers", "min",        "max",       "signals",     "baseline",  "alert_on", "rebase",
    "due_days",  "grace_days", "min_ratio", "description", "aggregate", NULL};

static bool known(const char *key)
{
    for (const char *const *k = known_members; *k != NULL; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

static size_t unknown_members(const json_t *doc)
{
    size_t n = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        n += !known(key);
    }
    return n;
}

static void check_rule(const struct rule *r)
{
    FUZZ_CHECK(fuzz_terminated(r->name, sizeof r->name) && r->name[0] != '\0');
    FUZZ_CHECK(strcmp(rule_kind_name(r->kind), "unknown") != 0);
    FUZZ_CHECK(fuzz_terminated(r->indicator, sizeof r->indicator));
    FUZZ_CHECK(fuzz_terminated(r->site, sizeof r->site));
    FUZZ_CHECK(fuzz_terminated(r->dimension, sizeof r->dimension));
    FUZZ_CHECK(r->for_count >= 1 && r->for_count <= 1000);
    FUZZ_CHECK(r->resolve_count >= 1 && r->resolve_count <= 1000);
    FUZZ_CHECK(r->n_receivers <= RULE_MAX_RECEIVERS && r->n_rebase <= RULE_MAX_REBASE);
    for (size_t i = 0; i < r->n_receivers; i++)
        FUZZ_CHECK(fuzz_terminated(r->receivers[i], sizeof r->receivers[i]));
    FUZZ_CHECK(!r->has_min || isfinite(r->min));
    FUZZ_CHECK(!r->has_max || isfinite(r->max));
    FUZZ_CHECK(!(r->has_min && r->has_max) || r->min <= r->max);
    FUZZ_CHECK(r->baseline == 0 || (r->baseline >= 2 && r->baseline <= 1000));
    FUZZ_CHECK(r->due_days >= 0 && r->due_days <= 366 && r->grace_days >= 0 &&
               r->grace_days <= 366);
    FUZZ_CHECK(r->min_ratio > 0 && r->min_ratio <= 1);
}

/* A valid rule through the evaluations the evaluator runs, on fixed data. */
static void evaluate(const struct rule *r)
{
    static const double values[12] = {50, 52, 49, 51, 50, 48, 53, 70, 71, 72, 73, 90};
    int32_t days[12];
    for (int i = 0; i < 12; i++)
        days[i] = 20089 + 31 * i; /* monthly from 2025-01-01 */
    struct rule_eval ev;
    rule_eval_threshold(r, 75.0, &ev);
    FUZZ_CHECK(fuzz_terminated(ev.summary, sizeof ev.summary));
    FUZZ_CHECK(rule_eval_spc(r, values, days, 12, SPC_DIRECTION_UP, &ev));
    FUZZ_CHECK(fuzz_terminated(ev.summary, sizeof ev.summary));
    rule_eval_completeness(r, 3, 10, &ev);
    rule_eval_trajectory(r, "behind", &ev);
    int32_t today = 20089 + 165;
    for (int type = PERIOD_WEEKLY; type <= PERIOD_YEARLY; type++) {
        struct period due = rule_latest_due_period(r, (enum period_type)type, today);
        FUZZ_CHECK(rule_deadline(r, due) < today);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rule rule;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *problems = rule_parse(doc, &rule); /* NULL too: the evaluator may pass it */
    FUZZ_CHECK(problems != NULL); /* rule_parse: an array, empty when the rule is valid */
    size_t unknown =
        json_array_size(problems) ? fuzz_check_problems(problems, false, "unknown_member") : 0;
    FUZZ_CHECK(doc != NULL || json_array_size(problems) == 1);
    if (json_is_object(doc))
        FUZZ_CHECK(unknown == unknown_members(doc));
    if (json_array_size(problems) == 0) {
        check_rule(&rule);
        evaluate(&rule);
    }
    json_decref(problems);
    json_decref(doc);
    return 0;
}
