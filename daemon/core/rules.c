/* Rule documents (validation with JSON paths) and the evaluation of the five rule kinds on
 * data given by the caller. Pure: the evaluator (evaluator.c) fetches the data. */
#include "scaleupd/core/rules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/problems.h"

static const char *const kind_names[] = {"threshold", "spc", "trajectory", "late_feed",
                                         "completeness"};

const char *rule_kind_name(enum rule_kind kind)
{
    if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
        return "unknown";
    return kind_names[kind];
}

/* An optional string member copied into buf; false (reported) when present but invalid. */
static bool opt_string(json_t **problems, const json_t *doc, const char *key, char *buf,
                       size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "$.%s", key);
    const json_t *v = json_object_get(doc, key);
    buf[0] = '\0';
    if (v == NULL)
        return true;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size) {
        problems_add(problems, path, "invalid_type", "%s must be a string of 1 to %zu characters",
                     key, size - 1);
        return false;
    }
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return true;
}

/* An optional integer member within [min, max]. */
static void opt_int(json_t **problems, const json_t *doc, const char *key, long min, long max,
                    int *out)
{
    char path[64];
    snprintf(path, sizeof(path), "$.%s", key);
    const json_t *v = json_object_get(doc, key);
    if (v == NULL)
        return;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        problems_add(problems, path, json_is_integer(v) ? "out_of_range" : "invalid_type",
                     "%s must be a whole number from %ld to %ld", key, min, max);
        return;
    }
    *out = (int)json_integer_value(v);
}

/* An optional finite number member. */
static void opt_number(json_t **problems, const json_t *doc, const char *key, bool *has,
                       double *out)
{
    char path[64];
    snprintf(path, sizeof(path), "$.%s", key);
    const json_t *v = json_object_get(doc, key);
    if (v == NULL)
        return;
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        problems_add(problems, path, "invalid_type", "%s must be a number", key);
        return;
    }
    *has = true;
    *out = json_number_value(v);
}

static void parse_signals(json_t **problems, const json_t *doc, struct rule *out)
{
    const json_t *v = json_object_get(doc, "signals");
    if (v == NULL)
        return;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        problems_add(problems, "$.signals", "invalid_type", "signals must be a non-empty array");
        return;
    }
    out->signals = 0;
    size_t i;
    const json_t *s;
    json_array_foreach(v, i, s)
    {
        unsigned bit = 0;
        for (unsigned k = 0; k < SPC_SIGNAL_KINDS && json_is_string(s); k++)
            if (strcmp(json_string_value(s), spc_signal_name(1u << k)) == 0)
                bit = 1u << k;
        if (bit == 0) {
            char path[64];
            snprintf(path, sizeof(path), "$.signals[%zu]", i);
            problems_add(problems, path, "unknown_signal",
                         "a signal is one of outside, shift, trend, two_in_three");
        }
        out->signals |= bit;
    }
}

static void parse_rebase(json_t **problems, const json_t *doc, struct rule *out)
{
    const json_t *v = json_object_get(doc, "rebase");
    if (v == NULL)
        return;
    if (!json_is_array(v) || json_array_size(v) > RULE_MAX_REBASE) {
        problems_add(problems, "$.rebase", "invalid_type",
                     "rebase must be an array of at most %d dates", RULE_MAX_REBASE);
        return;
    }
    size_t i;
    const json_t *d;
    json_array_foreach(v, i, d)
    {
        int32_t day;
        if (!json_is_string(d) || !date_parse(json_string_value(d), json_string_length(d), &day)) {
            char path[64];
            snprintf(path, sizeof(path), "$.rebase[%zu]", i);
            problems_add(problems, path, "invalid_date", "a re-baseline date is YYYY-MM-DD");
            continue;
        }
        out->rebase[out->n_rebase++] = day;
    }
}

static void parse_receivers(json_t **problems, const json_t *doc, struct rule *out)
{
    const json_t *v = json_object_get(doc, "receivers");
    if (v == NULL)
        return;
    if (!json_is_array(v) || json_array_size(v) > RULE_MAX_RECEIVERS) {
        problems_add(problems, "$.receivers", "invalid_type",
                     "receivers must be an array of at most %d names", RULE_MAX_RECEIVERS);
        return;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(v, i, r)
    {
        if (!json_is_string(r) || json_string_length(r) == 0 || json_string_length(r) > 63) {
            char path[64];
            snprintf(path, sizeof(path), "$.receivers[%zu]", i);
            problems_add(problems, path, "invalid_type",
                         "a receiver is a name of 1 to 63 characters");
            continue;
        }
        memcpy(out->receivers[out->n_receivers++], json_string_value(r), json_string_length(r) + 1);
    }
}

static const char *const known_members[] = {
    "name",      "kind",      "indicator",    "site",       "dimension", "for",
    "resolve",   "receivers", "min",          "max",        "signals",   "baseline",
    "alert_on",  "rebase",    "due_days",     "grace_days", "min_ratio", "description",
    "aggregate", "method",    "min_coverage", NULL};

static void check_members(json_t **problems, const json_t *doc)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        bool known = false;
        for (const char *const *k = known_members; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known) {
            char path[96];
            snprintf(path, sizeof(path), "$.%.80s", key);
            problems_add(problems, path, "unknown_member", "a rule has no member \"%.80s\"", key);
        }
    }
}

static void defaults(struct rule *out)
{
    memset(out, 0, sizeof(*out));
    out->for_count = 1;
    out->resolve_count = 1;
    out->signals =
        SPC_SIGNAL_OUTSIDE | SPC_SIGNAL_SHIFT | SPC_SIGNAL_TREND | SPC_SIGNAL_TWO_IN_THREE;
    out->due_days = 14;
    out->min_ratio = 0.8;
    out->min_coverage = 1; /* a partial month waits for its last site */
}

static void parse_kind_specific(json_t **problems, const json_t *doc, struct rule *out)
{
    double baseline = 0, ratio = out->min_ratio;
    bool has_baseline = false, has_ratio = false;
    opt_number(problems, doc, "min", &out->has_min, &out->min);
    opt_number(problems, doc, "max", &out->has_max, &out->max);
    opt_number(problems, doc, "baseline", &has_baseline, &baseline);
    opt_number(problems, doc, "min_ratio", &has_ratio, &ratio);
    if (has_baseline && (baseline < 2 || baseline > 1000 || baseline != floor(baseline)))
        problems_add(problems, "$.baseline", "out_of_range",
                     "baseline must be a whole number 2..1000");
    else if (has_baseline)
        out->baseline = (size_t)baseline;
    if (has_ratio && (ratio <= 0 || ratio > 1))
        problems_add(problems, "$.min_ratio", "out_of_range", "min_ratio must be in (0, 1]");
    out->min_ratio = ratio;
    opt_int(problems, doc, "due_days", 0, 366, &out->due_days);
    opt_int(problems, doc, "grace_days", 0, 366, &out->grace_days);
    parse_signals(problems, doc, out);
    parse_rebase(problems, doc, out);
    const json_t *aggregate = json_object_get(doc, "aggregate");
    if (aggregate != NULL && !json_is_boolean(aggregate))
        problems_add(problems, "$.aggregate", "invalid_type", "aggregate is true or false");
    out->aggregate = json_is_true(aggregate);
    const char *alert_on = json_string_value(json_object_get(doc, "alert_on"));
    if (json_object_get(doc, "alert_on") != NULL) {
        bool spc_ok =
            alert_on && (strcmp(alert_on, "concern") == 0 || strcmp(alert_on, "any") == 0);
        bool traj_ok =
            alert_on && (strcmp(alert_on, "behind") == 0 || strcmp(alert_on, "at_risk") == 0);
        if (out->kind == RULE_SPC && spc_ok)
            out->alert_improvement = strcmp(alert_on, "any") == 0;
        else if (out->kind == RULE_TRAJECTORY && traj_ok)
            out->at_risk_only = strcmp(alert_on, "at_risk") == 0;
        else
            problems_add(problems, "$.alert_on", "invalid_value",
                         "alert_on is concern or any (spc), behind or at_risk (trajectory)");
    }
}

static const char *const method_names[] = {"detector", "mdc"};

const char *rule_method_name(enum rule_method method)
{
    if ((unsigned)method >= sizeof(method_names) / sizeof(method_names[0]))
        return "unknown";
    return method_names[method];
}

/* "method": how an spc rule alerts; only an spc rule has one. */
static void parse_method(json_t **problems, const json_t *doc, struct rule *out)
{
    const json_t *v = json_object_get(doc, "method");
    if (v == NULL)
        return;
    bool known = false;
    for (unsigned m = 0; json_is_string(v) && m < 2 && !known; m++)
        if (strcmp(json_string_value(v), method_names[m]) == 0)
            out->method = (enum rule_method)m, known = true;
    if (!known)
        problems_add(problems, "$.method", "invalid_value", "method is detector or mdc");
    else if (out->kind != RULE_SPC)
        problems_add(problems, "$.method", "invalid_value", "only an spc rule has a method");
}

/* "min_coverage": the share of owing sites a due period of an aggregate must cover. */
static void parse_min_coverage(json_t **problems, const json_t *doc, struct rule *out)
{
    bool has = false;
    double share = out->min_coverage;
    opt_number(problems, doc, "min_coverage", &has, &share);
    if (!has)
        return;
    if (share < 0 || share > 1)
        problems_add(problems, "$.min_coverage", "out_of_range",
                     "min_coverage must be a share from 0 to 1");
    else if (!out->aggregate)
        problems_add(problems, "$.min_coverage", "invalid_value",
                     "only an aggregate rule (\"aggregate\": true) has a min_coverage");
    else
        out->min_coverage = share;
}

static void check_kind_needs(json_t **problems, struct rule *out)
{
    if (out->kind == RULE_THRESHOLD && !out->has_min && !out->has_max)
        problems_add(problems, "$.min", "missing_field", "a threshold rule needs min, max or both");
    if (out->kind == RULE_THRESHOLD && out->has_min && out->has_max && out->min > out->max)
        problems_add(problems, "$.max", "out_of_range", "max must not be below min");
    if (out->kind == RULE_TRAJECTORY && strcmp(out->dimension, "coverage") != 0 &&
        strcmp(out->dimension, "expansion") != 0 &&
        strcmp(out->dimension, "institutionalisation") != 0)
        problems_add(
            problems, "$.dimension", "invalid_value",
            "a trajectory rule needs dimension coverage, expansion or institutionalisation");
    if (out->kind != RULE_TRAJECTORY && out->dimension[0] != '\0')
        problems_add(problems, "$.dimension", "invalid_value",
                     "only a trajectory rule has a dimension");
    if (out->aggregate && out->kind != RULE_THRESHOLD && out->kind != RULE_SPC)
        problems_add(problems, "$.aggregate", "invalid_value",
                     "only threshold and spc rules can watch an aggregate");
    if (out->kind == RULE_TRAJECTORY && (out->indicator[0] || out->site[0]))
        problems_add(problems, out->indicator[0] ? "$.indicator" : "$.site", "invalid_value",
                     "a trajectory rule is scoped by dimension, not indicator or site");
}

json_t *rule_parse(const json_t *doc, struct rule *out)
{
    json_t *problems = json_array();
    defaults(out);
    if (!json_is_object(doc)) {
        problems_add(&problems, "$", "invalid_type", "a rule is a JSON object");
        return problems;
    }
    check_members(&problems, doc);
    const json_t *kind = json_object_get(doc, "kind");
    bool kind_ok = false;
    for (unsigned k = 0; json_is_string(kind) && k < 5 && !kind_ok; k++)
        if (strcmp(json_string_value(kind), kind_names[k]) == 0)
            out->kind = (enum rule_kind)k, kind_ok = true;
    if (!kind_ok)
        problems_add(&problems, "$.kind", kind ? "invalid_value" : "missing_field",
                     "kind is one of threshold, spc, trajectory, late_feed, completeness");
    if (json_object_get(doc, "name") == NULL)
        problems_add(&problems, "$.name", "missing_field", "name is required");
    opt_string(&problems, doc, "name", out->name, sizeof(out->name));
    opt_string(&problems, doc, "indicator", out->indicator, sizeof(out->indicator));
    opt_string(&problems, doc, "site", out->site, sizeof(out->site));
    opt_string(&problems, doc, "dimension", out->dimension, sizeof(out->dimension));
    opt_int(&problems, doc, "for", 1, 1000, &out->for_count);
    opt_int(&problems, doc, "resolve", 1, 1000, &out->resolve_count);
    parse_receivers(&problems, doc, out);
    parse_kind_specific(&problems, doc, out);
    parse_min_coverage(&problems, doc, out);
    if (kind_ok) {
        check_kind_needs(&problems, out);
        parse_method(&problems, doc, out);
    }
    return problems;
}

void rule_eval_threshold(const struct rule *rule, double value, struct rule_eval *out)
{
    memset(out, 0, sizeof(*out));
    out->value = value;
    out->has_limits = true;
    out->lower_limit = rule->has_min ? rule->min : NAN;
    out->upper_limit = rule->has_max ? rule->max : NAN;
    out->centre = NAN;
    if (rule->has_min && value < rule->min) {
        out->holds = true;
        snprintf(out->summary, sizeof(out->summary), "below minimum %g", rule->min);
    } else if (rule->has_max && value > rule->max) {
        out->holds = true;
        snprintf(out->summary, sizeof(out->summary), "above maximum %g", rule->max);
    } else {
        snprintf(out->summary, sizeof(out->summary), "within thresholds");
    }
}

/* "below lower limit", "shift above the mean"…: what the latest point shows. */
static void spc_summary(const struct spc_point *p, char *buf, size_t size)
{
    const char *side = spc_point_type_side(p->type);
    bool high = side != NULL && strcmp(side, "high") == 0;
    switch (p->cause) {
    case SPC_SIGNAL_OUTSIDE:
        snprintf(buf, size, "%s", high ? "above upper limit" : "below lower limit");
        break;
    case SPC_SIGNAL_TREND:
        snprintf(buf, size, "%s", high ? "rising trend" : "falling trend");
        break;
    case SPC_SIGNAL_TWO_IN_THREE:
        snprintf(buf, size, "%s", high ? "close to upper limit" : "close to lower limit");
        break;
    case SPC_SIGNAL_SHIFT:
        snprintf(buf, size, "%s", high ? "shift above the mean" : "shift below the mean");
        break;
    default:
        snprintf(buf, size, "common cause variation");
        break;
    }
}

bool rule_eval_spc(const struct rule *rule, const double *values, const int32_t *days, size_t n,
                   enum spc_direction direction, struct rule_eval *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return true;
    struct spc_options opt;
    spc_options_init(&opt);
    opt.direction = direction;
    opt.fix_after_n = rule->baseline;
    size_t rebase_at[RULE_MAX_REBASE];
    for (size_t r = 0; r < rule->n_rebase; r++) {
        size_t i = 0;
        while (i < n && days[i] < rule->rebase[r])
            i++;
        rebase_at[r] = i;
    }
    opt.rebase_at = rebase_at;
    opt.n_rebase = rule->n_rebase;
    struct spc_result *res = NULL;
    if (spc_compute(values, n, &opt, &res) != SPC_OK)
        return false;
    const struct spc_point *last = &res->points[n - 1];
    out->value = last->value;
    out->has_limits = last->has_limits;
    out->centre = last->mean;
    out->lower_limit = last->lower_limit;
    out->upper_limit = last->upper_limit;
    bool special = last->type != SPC_POINT_COMMON;
    bool wanted = rule->alert_improvement ? special : spc_point_type_is_concern(last->type);
    out->holds = wanted && (last->signals & rule->signals) != 0;
    spc_summary(last, out->summary, sizeof(out->summary));
    spc_result_free(&res);
    return true;
}

void rule_detector_params(const struct rule *rule, enum spc_direction direction,
                          double per_series_year, struct detector_params *out)
{
    detector_params_init(out);
    detector_params_watch(out, direction, rule->alert_improvement);
    if (!detector_params_for_budget(out, per_series_year)) {
        bool ok = detector_params_for_budget(out, DETECTOR_DEFAULT_BUDGET);
        (void)ok; /* the default lies in the table and a side is watched */
    }
    out->fix_after_n = rule->baseline;
    out->n_rebase = rule->n_rebase < DETECTOR_MAX_REBASE ? rule->n_rebase : DETECTOR_MAX_REBASE;
    memcpy(out->rebase, rule->rebase, out->n_rebase * sizeof(out->rebase[0]));
}

enum detector_status rule_eval_detector(const struct detector_params *params,
                                        struct detector_state *state, double value, int32_t day,
                                        struct rule_eval *out)
{
    memset(out, 0, sizeof(*out));
    out->value = value;
    out->centre = out->lower_limit = out->upper_limit = NAN;
    struct detector_result r;
    enum detector_status st = detector_update(state, params, value, day, &r);
    if (st != DETECTOR_OK) {
        snprintf(out->summary, sizeof(out->summary), "not judged");
        return st;
    }
    out->holds = r.holds;
    out->has_limits = r.judged;
    if (r.judged) {
        out->centre = r.centre;
        out->lower_limit = r.lower_limit;
        out->upper_limit = r.upper_limit;
    }
    detector_summary(&r, out->summary, sizeof(out->summary));
    return st;
}

int32_t rule_deadline(const struct rule *rule, struct period p)
{
    return period_start(period_add(p, 1)) + rule->due_days + rule->grace_days;
}

struct period rule_latest_due_period(const struct rule *rule, enum period_type type, int32_t today)
{
    struct period p = period_containing(type, today);
    while (rule_deadline(rule, p) >= today)
        p = period_add(p, -1);
    return p;
}

enum rule_gate rule_aggregate_gate(const struct rule *rule, struct period p, long sites, long owed,
                                   int32_t today)
{
    if (sites >= owed)
        return RULE_GATE_JUDGE; /* complete: every member site owing it has reported */
    if (today == INT32_MIN || rule_deadline(rule, p) >= today)
        return RULE_GATE_WAIT;
    /* owed > sites >= 0 here: the share is defined */
    return (double)sites >= rule->min_coverage * (double)owed ? RULE_GATE_JUDGE : RULE_GATE_SKIP;
}

size_t rule_aggregate_judged(const struct rule *rule, enum period_type type, int32_t today,
                             const int32_t *days, const long *sites, const long *owed, size_t n,
                             size_t *kept)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        enum rule_gate gate =
            rule_aggregate_gate(rule, period_containing(type, days[i]), sites[i], owed[i], today);
        if (gate == RULE_GATE_WAIT)
            break;
        if (gate == RULE_GATE_JUDGE)
            kept[k++] = i;
    }
    return k;
}

void rule_eval_completeness(const struct rule *rule, long reported, long active,
                            struct rule_eval *out)
{
    memset(out, 0, sizeof(*out));
    out->value = active > 0 ? (double)reported / (double)active : NAN;
    out->has_limits = true;
    out->lower_limit = rule->min_ratio;
    out->upper_limit = NAN;
    out->centre = NAN;
    out->holds = active > 0 && out->value < rule->min_ratio;
    snprintf(out->summary, sizeof(out->summary), "%ld of %ld active sites reported", reported,
             active);
}

void rule_eval_trajectory(const struct rule *rule, const char *status, struct rule_eval *out)
{
    memset(out, 0, sizeof(*out));
    out->value = out->centre = out->lower_limit = out->upper_limit = NAN;
    bool at_risk = status != NULL && strcmp(status, "at_risk") == 0;
    bool behind = status != NULL && strcmp(status, "behind") == 0;
    out->holds = at_risk || (behind && !rule->at_risk_only);
    snprintf(out->summary, sizeof(out->summary), "%s against the roadmap",
             status ? status : "unknown");
}
