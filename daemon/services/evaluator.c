/* The evaluator: claims series that ingest marked dirty (SKIP LOCKED, so two daemons never
 * take the same) and runs their spc and threshold rules (an spc rule's detector going on from
 * its stored state, or rebuilt); on a timer, under an advisory lock, runs late-feed and
 * completeness rules against due dates in each programme's time zone. Its reads are
 * storage/evaluation_store.h's and its writes alerts_apply's; this file composes them with
 * the pure rules of core/rules.c and core/detector.c (docs/ARCHITECTURE.md). */
#include "scaleupd/services/evaluator.h"
#include "scaleupd/services/rollups.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/rule_store.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/storage/observations_read.h"
#include "scaleupd/core/period.h"
#include "scaleupd/services/progress_service.h"
#include "scaleupd/core/rules.h"
#include "scaleupd/core/alloc.h"
#include "scaleupd/core/detector.h"
#include "scaleupd/storage/evaluation_store.h"

/* EVALUATOR_MAX_WAIT was 1 s: each claim made during a bulk load evaluates series whose next
 * months are still coming (evaluated again after it), and at one claim a second that took
 * about as much of the database as the load's COPY (bench/ingest.sh, 2026-12-02). */
/* EVALUATOR_BATCH was 16: a catch-up of 1,000 practices x 48 months evaluated each series 35
 * times (16.3 s); with 64, 10 times (6.8 s). With 64, 2,000 practices x 10 indicators x 36
 * months (bench/ingest.sh SITES=2000) were 297,000 series evaluations, 39 s: a series was
 * stepped once per claim that named it, and the claims grew in number with the load; with
 * 1,024, 9.8 s. The claim comes back as lists (storage/evaluation_store.c), so a claim of a
 * national load's 160,000 series holds about 8 MB. */
#define EVALUATOR_BATCH 1024   /* marks per transaction; a mark lists up to 1,000 series */
#define EVALUATOR_BATCH_BUSY 4 /* marks of the one claim made while requests are served */
#define EVALUATOR_SLICE 16384  /* series of a claim evaluated in one transaction */
static atomic_size_t claim_slice = EVALUATOR_SLICE;
#define EVALUATOR_MAX_WAIT 5.0 /* seconds dirty series wait at most for ingest to pause */
#define EVALUATOR_HISTORY 500  /* points of a series a plain MDC spc rule looks at */
#define EVALUATOR_GROUP 250    /* series whose values are read at once (≤ 125,000 points) */
#define EVALUATOR_RETRIES 64   /* set-aside evaluations a claim retries at most */
#define EVALUATOR_SAVEPOINT "scaleupd_evaluation" /* around each attempt that may be set aside */
#define EVALUATOR_REASON_MAX 512
#define EVALUATOR_KEY_MAX (DETECTOR_KEY_MAX + 32) /* a params key and an aggregation */

/* Parses a stored rule document (valid when stored; a bad one is skipped with a warning). */
static bool stored_rule(const char *text, struct rule *rule)
{
    json_t *doc = json_loads(text ? text : "", 0, NULL);
    json_t *problems = rule_parse(doc, rule);
    bool ok = doc != NULL && json_array_size(problems) == 0;
    if (!ok)
        log_warning("could not use a stored rule: its document is not valid");
    json_decref(problems);
    json_decref(doc);
    return ok;
}

/* One claim's evaluation of one programme, and what it did to set-aside evaluations. */
struct claim_context {
    int64_t programme_id;
    double now;
    double budget;   /* the programme's false alerts per series-year (NAN: the default) */
    int64_t *failed; /* the series set aside by this claim (their own rules), this programme */
    size_t n_failed, cap_failed;
    long set_aside[2]; /* evaluations set aside: series' own rules, aggregates */
    long cleared;      /* set-aside evaluations that evaluated again */
    long points_read;  /* rollup points read by aggregate evaluations */
};

/* The evaluation of a claim's series is set-based: evaluation_group_read reads the spc and
 * threshold rules of a group of them, the detector states of their spc rules and the alerts
 * they already have, in three statements; then what each series needs of its values is decided
 * (the points after its detector states' last one, all of them for a state to rebuild, the
 * latest EVALUATOR_HISTORY for a plain Making Data Count rule, the latest for a threshold) and
 * read in one more; each series is evaluated in memory, only alerts that exist or start to hold
 * are written, and the detector states that moved are stored in one statement. */

/* One group's evaluation: its reads, its rules parsed once each, the states to store. */
struct group_eval {
    struct evaluation_group g;
    signed char *state; /* per rule of the group: 0 not parsed yet, 1 usable, -1 not */
    struct rule *rules;
    double budget; /* the programme's, false alerts per series-year (NAN: the default) */
    const int32_t *since;
    const int32_t *until; /* per series: the latest period its claimed marks wrote */
    struct evaluation_detector_save *saves;
    struct detector_state *save_states;
    char (*save_keys)[EVALUATOR_KEY_MAX];
    size_t n_saves;
    long rebuilt; /* states rebuilt from every point, not gone on from the stored one */
};

static const struct rule *group_rule(struct group_eval *ge, size_t index)
{
    if (ge->state[index] == 0)
        ge->state[index] = stored_rule(ge->g.rules[index].document, &ge->rules[index]) ? 1 : -1;
    return ge->state[index] > 0 ? &ge->rules[index] : NULL;
}

/* One series' values, pointing into the group's arrays. */
struct series_values {
    const double *values;
    const int32_t *days;
    size_t n;
};

/* A detector application of one series: its params, and the stored state to go on from
 * (NULL: the state is rebuilt from every point). */
struct detector_plan {
    struct detector_params params;
    char key[EVALUATOR_KEY_MAX];
    const struct detector_state *stored;
    bool from_prior; /* stored is an aggregate's state before its last point (sql/025) */
};

/* The stored row of (series, rule), NULL when there is none: a binary search, the rows are by
 * series, then rule. */
static const struct evaluation_detector_row *stored_row(const struct evaluation_group *g,
                                                        int64_t series_id, int64_t rule_id)
{
    size_t lo = 0, hi = g->n_detectors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct evaluation_detector_row *d = &g->detectors[mid];
        if (d->series_id < series_id || (d->series_id == series_id && d->rule_id < rule_id))
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct evaluation_detector_row *d = lo < g->n_detectors ? &g->detectors[lo] : NULL;
    return d != NULL && d->series_id == series_id && d->rule_id == rule_id ? d : NULL;
}

/* len bytes as a state these params could have left, else NULL (then it is rebuilt rather
 * than trusted). The bytes were allocated by the reader: aligned for the struct. */
static const struct detector_state *state_of_bytes(const unsigned char *bytes, size_t len,
                                                   const struct detector_plan *plan)
{
    if (bytes == NULL || len != sizeof(struct detector_state))
        return NULL;
    const struct detector_state *st = (const struct detector_state *)(const void *)bytes;
    return st->n_waiting <= plan->params.lag ? st : NULL;
}

/* The stored state a detector goes on from with the points from `since` on (the earliest
 * period the marks changed), shared by series (sql/013) and aggregates (sql/025): the state
 * when since is after its last point; its prior state (the state before its last point, kept
 * for aggregates only) when nothing before its last point changed; NULL when it must be
 * rebuilt: no row, another rule version or params, bytes not whole, an older change, or since
 * not known. Sets plan->stored and plan->from_prior. */
static void go_on_from(const struct evaluation_detector_row *d, int64_t rule_updated_us,
                       int32_t since, struct detector_plan *plan)
{
    plan->stored = NULL;
    plan->from_prior = false;
    if (d == NULL || d->rule_updated_us != rule_updated_us || d->params == NULL ||
        strcmp(d->params, plan->key) != 0 || since == INT32_MIN)
        return;
    const struct detector_state *st = state_of_bytes(d->state, d->state_len, plan);
    if (st != NULL && (st->last_day == INT32_MIN || since > st->last_day)) {
        plan->stored = st;
        return;
    }
    const struct detector_state *prior = state_of_bytes(d->prior, d->prior_len, plan);
    if (st != NULL && prior != NULL && since == st->last_day &&
        (prior->last_day == INT32_MIN || prior->last_day < st->last_day)) {
        plan->stored = prior;
        plan->from_prior = true;
    }
}

/* The last period a stored row's state saw (INT32_MIN: none, or no state to read). */
static int32_t stored_last_day(const struct evaluation_detector_row *d)
{
    struct detector_state st;
    if (d == NULL || d->state == NULL || d->state_len != sizeof(st))
        return INT32_MIN;
    memcpy(&st, d->state, sizeof(st));
    return st.last_day;
}

/* The latest period a detector state is fed up to: the latest its claimed marks wrote
 * (until, sql/031), or the last point the stored state had seen when that is later (a
 * revision rebuilds it up to where it was). Points stored after it belong to marks not
 * claimed yet: fed now, they would make each of those marks look like a revision of a period
 * the state has seen, and rebuild it from the whole history (a backfill of N months rebuilt
 * each series about N / EVALUATOR_BATCH times). EVALUATION_TO_LAST when a mark does not say. */
static int32_t feed_until(const struct evaluation_detector_row *d, int32_t until)
{
    int32_t seen = stored_last_day(d);
    return until == EVALUATION_TO_LAST || seen <= until ? until : seen;
}

static bool is_detector(const struct rule *rule)
{
    return rule->kind == RULE_SPC && rule->method == RULE_METHOD_DETECTOR;
}

/* The plan of a detector application: params from the rule, the indicator's direction and
 * the programme's budget; the stored state when it can go on. */
static void plan_detector(struct group_eval *ge, const struct evaluation_application *app,
                          const struct rule *rule, int32_t since, struct detector_plan *plan)
{
    rule_detector_params(rule, app->direction, ge->budget, &plan->params);
    detector_params_key(&plan->params, plan->key, sizeof(plan->key));
    const struct evaluation_rule *stored = &ge->g.rules[app->rule];
    go_on_from(stored_row(&ge->g, app->series_id, stored->id), stored->updated_us, since, plan);
}

/* What one series needs of its values, from the rules that apply to it (apps[0..n)). */
static struct evaluation_values_request values_needed(struct group_eval *ge,
                                                      const struct evaluation_application *apps,
                                                      size_t n, int32_t since, int32_t until)
{
    bool all = false, mdc = false, latest = false, go_on = false;
    int32_t from = INT32_MAX, to = INT32_MIN; /* to: the latest period a detector is fed to */
    for (size_t i = 0; i < n; i++) {
        const struct rule *rule = group_rule(ge, apps[i].rule);
        if (rule == NULL)
            continue;
        if (rule->kind == RULE_THRESHOLD) {
            latest = true;
        } else if (!is_detector(rule)) {
            mdc = true;
        } else {
            struct detector_plan plan;
            plan_detector(ge, &apps[i], rule, since, &plan);
            all = all || plan.stored == NULL || plan.stored->last_day == INT32_MIN;
            if (plan.stored != NULL && plan.stored->last_day < from)
                from = plan.stored->last_day; /* the last point seen, then the new ones */
            go_on = go_on || plan.stored != NULL;
            const struct evaluation_rule *stored = &ge->g.rules[apps[i].rule];
            int32_t bound = feed_until(stored_row(&ge->g, apps[i].series_id, stored->id), until);
            to = bound > to ? bound : to;
        }
    }
    /* threshold and plain MDC rules judge the latest point there is: no bound for them */
    struct evaluation_values_request r = {apps[0].series_id, EVALUATION_FROM_FIRST, INT32_MAX,
                                          mdc || latest || to == INT32_MIN ? EVALUATION_TO_LAST
                                                                           : to};
    if (all || (mdc && go_on))
        return r;
    if (mdc)
        r.limit = EVALUATOR_HISTORY;
    else if (go_on)
        r.from_day = from;
    else if (latest)
        r.limit = 1;
    return r;
}

/* The row that stores state under plan's key (state_len, last_day, holding), for rule. */
static struct evaluation_detector_save detector_save(int64_t series_id,
                                                     const struct evaluation_rule *rule,
                                                     const char *key,
                                                     const struct detector_state *state)
{
    return (struct evaluation_detector_save){.series_id = series_id,
                                             .rule_id = rule->id,
                                             .params = key,
                                             .state = state,
                                             .state_len = sizeof(*state),
                                             .last_day = state->last_day,
                                             .holding = state->holding,
                                             .rule_updated_us = rule->updated_us};
}

/* Stores nothing yet: queues the state of (series, rule) for the group's one write. */
static void queue_state(struct group_eval *ge, const struct evaluation_application *app,
                        const struct detector_plan *plan, const struct detector_state *state)
{
    size_t i = ge->n_saves++;
    memcpy(&ge->save_states[i], state, sizeof(*state));
    memcpy(ge->save_keys[i], plan->key, sizeof(plan->key));
    ge->saves[i] = detector_save(app->series_id, &ge->g.rules[app->rule], ge->save_keys[i],
                                 &ge->save_states[i]);
}

/* The state a plan starts from: the stored one, copied whole (padding too: a rebuild compares
 * equal), or an empty one to rebuild from every point. */
static void plan_start(const struct detector_plan *plan, struct detector_state *state)
{
    if (plan->stored != NULL)
        memcpy(state, plan->stored, sizeof(*state));
    else
        detector_reset(state);
}

/* Feeds the points after the state's last one, up to the period that starts on until
 * (values[i] of the period starting days[i], oldest first), as series and aggregates alike go
 * on: *eval and *day get the last fed point's, *before (may be NULL) the state before it.
 * Returns the points fed. */
static size_t feed_new_points(const struct detector_params *params, struct detector_state *state,
                              struct detector_state *before, const double *values,
                              const int32_t *days, size_t n, int32_t until, struct rule_eval *eval,
                              int32_t *day)
{
    size_t fed = 0;
    for (size_t i = 0; i < n && days[i] <= until; i++) {
        if (state->last_day != INT32_MIN && days[i] <= state->last_day)
            continue; /* seen already */
        struct detector_state was;
        if (before != NULL)
            memcpy(&was, state, sizeof(was));
        struct rule_eval point;
        if (rule_eval_detector(params, state, values[i], days[i], &point) != DETECTOR_OK)
            continue; /* the state is as it was */
        *eval = point;
        *day = days[i];
        if (before != NULL)
            memcpy(before, &was, sizeof(was));
        fed++;
    }
    return fed;
}

/* A detector spc rule on one series: its state goes on with the points after its last one
 * (or is rebuilt from every point) up to what the claim's marks wrote (feed_until), *eval is
 * the last point's, *day its period. False when no point was fed: nothing new to tell. */
static bool evaluate_detector(struct group_eval *ge, const struct evaluation_application *app,
                              const struct rule *rule, int32_t since, int32_t until,
                              const struct series_values *sv, struct rule_eval *eval, int32_t *day)
{
    struct detector_plan plan;
    plan_detector(ge, app, rule, since, &plan);
    struct detector_state state;
    plan_start(&plan, &state);
    int32_t to = feed_until(stored_row(&ge->g, app->series_id, ge->g.rules[app->rule].id), until);
    size_t fed =
        feed_new_points(&plan.params, &state, NULL, sv->values, sv->days, sv->n, to, eval, day);
    if (fed > 0)
        queue_state(ge, app, &plan, &state);
    if (fed > 0 && plan.stored == NULL)
        ge->rebuilt++;
    return fed > 0;
}

/* Evaluates one application of a rule on the series' values; `exists` says whether the rule
 * has an alert on the series. */
static bool evaluate_application(PGconn *conn, struct group_eval *ge,
                                 const struct evaluation_application *app, int64_t programme_id,
                                 int32_t since, int32_t until, const struct series_values *sv,
                                 bool exists, double now)
{
    const struct rule *rule = group_rule(ge, app->rule);
    if (rule == NULL)
        return true;
    struct rule_eval eval;
    int32_t day = sv->days[sv->n - 1];
    size_t tail = sv->n > EVALUATOR_HISTORY ? sv->n - EVALUATOR_HISTORY : 0;
    if (rule->kind == RULE_THRESHOLD)
        rule_eval_threshold(rule, sv->values[sv->n - 1], &eval);
    else if (is_detector(rule)) {
        if (!evaluate_detector(ge, app, rule, since, until, sv, &eval, &day))
            return true;
    } else if (!rule_eval_spc(rule, sv->values + tail, sv->days + tail, sv->n - tail,
                              app->direction, &eval))
        return true;
    if (!eval.holds && !exists)
        return true; /* a quiet subject: nothing to remember */
    const struct evaluation_rule *stored = &ge->g.rules[app->rule];
    char subject[64];
    snprintf(subject, sizeof(subject), "i%lld:s%lld", (long long)app->indicator_id,
             (long long)app->site_id);
    struct alert_update u = {.programme_id = programme_id,
                             .rule_id = stored->id,
                             .subject = subject,
                             .indicator_id = app->indicator_id,
                             .site_id = app->site_id,
                             .for_count = stored->for_count,
                             .resolve_count = stored->resolve_count,
                             .obs = eval.holds ? ALERT_OBS_HOLDS : ALERT_OBS_OK,
                             .eval = &eval,
                             .period_start = day,
                             .now = now};
    return alerts_apply(conn, &u);
}

/* Walks the group's sorted lists along the series ids of the claim (ascending). */
struct group_cursor {
    size_t value, application, alert;
};

/* The applications of series_id: *n of them from the returned index. */
static size_t applications_of(const struct evaluation_group *g, size_t *at, int64_t series_id,
                              size_t *n)
{
    while (*at < g->n_applications && g->applications[*at].series_id < series_id)
        (*at)++;
    size_t first = *at;
    while (*at < g->n_applications && g->applications[*at].series_id == series_id)
        (*at)++;
    *n = *at - first;
    return first;
}

/* Evaluates the rules that apply to one series of the group. */
static bool evaluate_series(PGconn *conn, struct group_eval *ge, struct group_cursor *c,
                            int64_t programme_id, int64_t series_id, int32_t since, int32_t until,
                            double now)
{
    const struct evaluation_group *g = &ge->g;
    while (c->value < g->n_values && g->value_series[c->value] < series_id)
        c->value++;
    struct series_values sv = {g->values + c->value, g->days + c->value, 0};
    while (c->value < g->n_values && g->value_series[c->value] == series_id)
        c->value++, sv.n++;
    size_t n_apps, first = applications_of(g, &c->application, series_id, &n_apps);
    while (c->alert < g->n_alerts && g->alerts[c->alert].series_id < series_id)
        c->alert++;
    bool ok = true;
    for (size_t a = first; ok && sv.n > 0 && a < first + n_apps; a++) {
        const struct evaluation_application *app = &g->applications[a];
        int64_t rule_id = g->rules[app->rule].id;
        while (c->alert < g->n_alerts && g->alerts[c->alert].series_id == series_id &&
               g->alerts[c->alert].rule_id < rule_id)
            c->alert++;
        bool exists = c->alert < g->n_alerts && g->alerts[c->alert].series_id == series_id &&
                      g->alerts[c->alert].rule_id == rule_id;
        ok = evaluate_application(conn, ge, app, programme_id, since, until, &sv, exists, now);
    }
    return ok;
}

/* Reads what each of the n series needs of its values (one statement for the group). */
static bool read_group_values(PGconn *conn, struct group_eval *ge, int64_t programme_id,
                              const int64_t *series_ids, size_t n)
{
    struct evaluation_values_request *requests = xcalloc(n + 1, sizeof(*requests));
    size_t k = 0, at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t n_apps, first = applications_of(&ge->g, &at, series_ids[i], &n_apps);
        if (n_apps > 0)
            requests[k++] =
                values_needed(ge, ge->g.applications + first, n_apps, ge->since[i], ge->until[i]);
    }
    bool ok = evaluation_group_values(conn, programme_id, requests, k, &ge->g);
    free(requests);
    return ok;
}

static void group_eval_free(struct group_eval *ge)
{
    free(ge->state);
    free(ge->rules);
    free(ge->saves);
    free(ge->save_states);
    free(ge->save_keys);
    evaluation_group_free(&ge->g);
}

/* Evaluates the spc and threshold rules of the n claimed series (one programme's, in id
 * order; since[i] and until[i] the earliest and latest period the marks of series i changed). */
static bool evaluate_group(PGconn *conn, const struct claim_context *ctx, const int64_t *series_ids,
                           const int32_t *since, const int32_t *until, size_t n)
{
    struct group_eval ge = {.budget = ctx->budget, .since = since, .until = until};
    if (!evaluation_group_read(conn, ctx->programme_id, series_ids, n, &ge.g))
        return false;
    size_t n_apps = ge.g.n_applications;
    ge.state = xcalloc(ge.g.n_rules + 1, sizeof(signed char));
    ge.rules = xcalloc(ge.g.n_rules + 1, sizeof(struct rule));
    ge.saves = xcalloc(n_apps + 1, sizeof(*ge.saves));
    ge.save_states = xcalloc(n_apps + 1, sizeof(*ge.save_states));
    ge.save_keys = xcalloc(n_apps + 1, sizeof(*ge.save_keys));
    bool ok = read_group_values(conn, &ge, ctx->programme_id, series_ids, n);
    struct group_cursor cursor = {0, 0, 0};
    for (size_t i = 0; ok && i < n; i++)
        ok = evaluate_series(conn, &ge, &cursor, ctx->programme_id, series_ids[i], since[i],
                             until[i], ctx->now);
    ok = ok && evaluation_detector_store(conn, ctx->programme_id, ge.saves, ge.n_saves, ctx->now);
    if (ok)
        metrics_add("scaleupd_detector_rebuilds_total", "", (double)ge.rebuilt);
    group_eval_free(&ge);
    return ok;
}

/* Groups of EVALUATOR_GROUP series keep what one read of values holds bounded. */
static bool evaluate_groups(PGconn *conn, const struct claim_context *ctx,
                            const int64_t *series_ids, const int32_t *since, const int32_t *until,
                            size_t n)
{
    bool ok = true;
    for (size_t g = 0; ok && g < n; g += EVALUATOR_GROUP)
        ok = evaluate_group(conn, ctx, series_ids + g, since + g, until + g,
                            n - g > EVALUATOR_GROUP ? EVALUATOR_GROUP : n - g);
    return ok;
}

/* ---- aggregate rules -------------------------------------------------------------------
 * A subject is an indicator over the descendants of one site, its points the rollups
 * (storage/rollup_store.h). Its detector rules keep their state per (rule, subject) in
 * aggregate_detector_state (sql/025), read and locked in one statement, stored in one: a new
 * rollup point goes on from the state as a series' does (go_on_from, feed_new_points), a change
 * of the state's last period alone goes on from the state before it, anything older rebuilds
 * that subject from its whole rollup history (docs/ARCHITECTURE.md, "The path of an
 * evaluation"). Threshold and plain Making Data Count rules read the history as before. Every
 * aggregate rule sees only the points its gate judges (judged_points, core/rules.h): complete,
 * or due and covering min_coverage of the sites owing them, none from the first that waits; a
 * rebuild feeds the same points, so it gives the state the step-by-step path reached. */

/* One subject's evaluation: its rules (rules[0..n), one subject), each parsed once, the
 * detector plans and stored states of its detector rules, and the states to store. */
struct subject_eval {
    const struct evaluation_aggregate_rule *rules;
    size_t n;
    struct rule *parsed;
    bool *usable;
    struct detector_plan *plans;
    struct evaluation_detector_row *rows; /* stored states, by rule id */
    size_t n_rows;
    struct evaluation_detector_save *saves;
    struct detector_state *save_states; /* per save: the state, then the one before it */
    size_t n_saves;
    long rebuilt;
};

/* The stored row of rule_id, NULL when there is none. */
static const struct evaluation_detector_row *subject_row(const struct subject_eval *se,
                                                         int64_t rule_id)
{
    for (size_t i = 0; i < se->n_rows; i++)
        if (se->rows[i].rule_id == rule_id)
            return &se->rows[i];
    return NULL;
}

/* The detector plan of rule i: params from the rule, the indicator's direction and the
 * programme's budget, keyed with the aggregation too (a changed aggregation rebuilds). */
static void plan_aggregate(struct subject_eval *se, size_t i, double budget)
{
    const struct evaluation_aggregate_rule *a = &se->rules[i];
    struct detector_plan *plan = &se->plans[i];
    rule_detector_params(&se->parsed[i], a->direction, budget, &plan->params);
    char key[DETECTOR_KEY_MAX];
    detector_params_key(&plan->params, key, sizeof(key));
    snprintf(plan->key, sizeof(plan->key), "%s agg=%s%s", key, a->aggregate ? a->aggregate : "",
             a->percentage ? "%" : "");
    int32_t since = a->set_aside ? INT32_MIN : a->since; /* a retry: anything may have changed */
    go_on_from(subject_row(se, a->rule.id), a->rule.updated_us, since, plan);
}

/* Parses the subject's rules, plans its detector rules (reading their states first when it
 * has any) and says from which period its points are needed (INT32_MIN: all of them). */
static bool plan_subject(PGconn *conn, const struct claim_context *ctx, struct subject_eval *se,
                         int32_t *from)
{
    bool detectors = false, all = false;
    for (size_t i = 0; i < se->n; i++) {
        se->usable[i] = stored_rule(se->rules[i].rule.document, &se->parsed[i]);
        detectors = detectors || (se->usable[i] && is_detector(&se->parsed[i]));
    }
    const struct evaluation_aggregate_rule *a = &se->rules[0];
    if (detectors && !evaluation_aggregate_states(conn, ctx->programme_id, a->indicator_id,
                                                  a->site_id, &se->rows, &se->n_rows))
        return false;
    *from = INT32_MAX;
    for (size_t i = 0; i < se->n; i++) {
        if (!se->usable[i])
            continue;
        if (!is_detector(&se->parsed[i])) {
            all = true; /* threshold: the latest point; mdc: the latest EVALUATOR_HISTORY */
            continue;
        }
        plan_aggregate(se, i, ctx->budget);
        const struct detector_state *st = se->plans[i].stored;
        all = all || st == NULL || st->last_day == INT32_MIN;
        if (st != NULL && st->last_day < *from)
            *from = st->last_day; /* the last point seen, then the new ones */
    }
    if (all || *from == INT32_MAX)
        *from = INT32_MIN;
    return true;
}

/* A detector rule on the subject's points: goes on from its plan's state (or rebuilds), and
 * queues the state when it moved. *eval and *day get the last point fed; false when none
 * was (nothing new to tell). */
static bool aggregate_detector(struct subject_eval *se, size_t i, const struct aggregate_points *ap,
                               struct rule_eval *eval, int32_t *day)
{
    const struct detector_plan *plan = &se->plans[i];
    struct detector_state *state = &se->save_states[2 * se->n_saves],
                          *before = &se->save_states[2 * se->n_saves + 1];
    plan_start(plan, state);
    size_t fed = feed_new_points(&plan->params, state, before, ap->values, ap->days, ap->n,
                                 INT32_MAX, eval, day);
    if (fed == 0 && plan->stored != NULL && !plan->from_prior)
        return false; /* nothing after the state's last point: it stands */
    struct evaluation_detector_save *save = &se->saves[se->n_saves++];
    *save = detector_save(0, &se->rules[i].rule, plan->key, state);
    if (fed > 0) { /* else the state's last point is gone, and what came before it unknown */
        save->prior = before;
        save->prior_len = sizeof(*before);
    }
    se->rebuilt += plan->stored == NULL;
    return fed > 0;
}

/* Evaluates rule i of the subject on the points it judges (the summary says how many of the
 * sites owing it the latest point covers: a missing report is never a zero). */
static bool evaluate_aggregate_rule(PGconn *conn, struct subject_eval *se, size_t i,
                                    const struct aggregate_points *ap,
                                    const struct claim_context *ctx)
{
    const struct evaluation_aggregate_rule *a = &se->rules[i];
    const struct rule *rule = &se->parsed[i];
    struct rule_eval eval;
    int32_t day = ap->n > 0 ? ap->days[ap->n - 1] : 0;
    size_t tail = ap->n > EVALUATOR_HISTORY ? ap->n - EVALUATOR_HISTORY : 0;
    bool have = ap->n > 0;
    if (is_detector(rule))
        have = aggregate_detector(se, i, ap, &eval, &day);
    else if (have && rule->kind == RULE_THRESHOLD)
        rule_eval_threshold(rule, ap->values[ap->n - 1], &eval);
    else if (have)
        have = rule_eval_spc(rule, ap->values + tail, ap->days + tail, ap->n - tail, a->direction,
                             &eval);
    if (!have)
        return true;
    size_t len = strlen(eval.summary);
    snprintf(eval.summary + len, sizeof(eval.summary) - len, " (%ld of %ld sites)",
             ap->sites[ap->n - 1], ap->owed[ap->n - 1]);
    char subject[64];
    snprintf(subject, sizeof(subject), "i%lld:a%lld", (long long)a->indicator_id,
             (long long)a->site_id);
    struct alert_update u = {.programme_id = ctx->programme_id,
                             .rule_id = a->rule.id,
                             .subject = subject,
                             .indicator_id = a->indicator_id,
                             .site_id = a->site_id,
                             .for_count = a->rule.for_count,
                             .resolve_count = a->rule.resolve_count,
                             .obs = eval.holds ? ALERT_OBS_HOLDS : ALERT_OBS_OK,
                             .eval = &eval,
                             .period_start = day,
                             .now = ctx->now};
    return alerts_apply(conn, &u);
}

/* The points of ap that rule judges today (core/rules.h, rule_aggregate_judged: complete, or
 * due and covering min_coverage of the sites owing them; none from the first that waits), in
 * arrays of their own; the caller frees *out with aggregate_points_free. */
static void judged_points(const struct rule *rule, const struct aggregate_points *ap,
                          struct aggregate_points *out)
{
    size_t *kept = xcalloc(ap->n + 1, sizeof(size_t));
    size_t k = rule_aggregate_judged(rule, ap->period_type, ap->today, ap->days, ap->sites,
                                     ap->owed, ap->n, kept);
    *out = (struct aggregate_points){.values = xcalloc(k + 1, sizeof(double)),
                                     .days = xcalloc(k + 1, sizeof(int32_t)),
                                     .sites = xcalloc(k + 1, sizeof(long)),
                                     .owed = xcalloc(k + 1, sizeof(long)),
                                     .n = k,
                                     .expected = ap->expected,
                                     .period_type = ap->period_type,
                                     .today = ap->today};
    for (size_t j = 0; j < k; j++) {
        out->values[j] = ap->values[kept[j]];
        out->days[j] = ap->days[kept[j]];
        out->sites[j] = ap->sites[kept[j]];
        out->owed[j] = ap->owed[kept[j]];
    }
    free(kept);
}

/* The last period of ap the rule's gate decides today, judged or skipped: the one before the
 * first that waits (INT32_MIN: none). */
static int32_t gated_through(const struct rule *rule, const struct aggregate_points *ap)
{
    int32_t day = INT32_MIN;
    for (size_t i = 0; i < ap->n; i++) {
        struct period p = period_containing(ap->period_type, ap->days[i]);
        if (rule_aggregate_gate(rule, p, ap->sites[i], ap->owed[i], ap->today) == RULE_GATE_WAIT)
            break;
        day = ap->days[i];
    }
    return day;
}

/* The rules of a subject whose gate decided a period after their state's last point (a due
 * month skipped as missing), to record (sql/030) so that the due-date sweep does not look at
 * it again. */
struct subject_gated {
    int64_t *rule_ids;
    int32_t *days;
    size_t n;
};

/* After detector rule i was evaluated (its save, if it moved, from index saves on): notes its
 * gate's last decided period when that is after the state's last point and not recorded yet. */
static void note_gated(const struct subject_eval *se, size_t i, const struct aggregate_points *ap,
                       size_t saves, struct subject_gated *gated)
{
    const struct detector_plan *plan = &se->plans[i];
    int32_t last = se->n_saves > saves    ? se->save_states[2 * saves].last_day
                   : plan->stored != NULL ? plan->stored->last_day
                                          : INT32_MIN;
    const struct evaluation_detector_row *row = subject_row(se, se->rules[i].rule.id);
    int32_t recorded = row != NULL ? row->gated_through : INT32_MIN;
    int32_t day = gated_through(&se->parsed[i], ap);
    if (day == INT32_MIN || day <= last || day <= recorded)
        return;
    gated->rule_ids[gated->n] = se->rules[i].rule.id;
    gated->days[gated->n++] = day;
}

static void subject_eval_free(struct subject_eval *se)
{
    free(se->parsed);
    free(se->usable);
    free(se->plans);
    free(se->saves);
    free(se->save_states);
    evaluation_detector_rows_free(&se->rows, se->n_rows);
}

/* The n aggregate rules of one subject: their states, the points they need (one read), each
 * rule, and the states that moved (one write). */
static bool evaluate_subject_rules(PGconn *conn, struct claim_context *ctx,
                                   const struct evaluation_aggregate_rule *rules, size_t n)
{
    struct subject_eval se = {.rules = rules,
                              .n = n,
                              .parsed = xcalloc(n, sizeof(struct rule)),
                              .usable = xcalloc(n, sizeof(bool)),
                              .plans = xcalloc(n, sizeof(struct detector_plan)),
                              .saves = xcalloc(n, sizeof(struct evaluation_detector_save)),
                              .save_states = xcalloc(2 * n, sizeof(struct detector_state))};
    int32_t from;
    struct aggregate_points ap = {0};
    const char *aggregate = rules[0].aggregate ? rules[0].aggregate : "";
    bool ok = plan_subject(conn, ctx, &se, &from) &&
              observations_aggregate_from(conn, ctx->programme_id, rules[0].indicator_id,
                                          rules[0].site_id, aggregate, rules[0].percentage, from,
                                          ctx->now, SIZE_MAX, &ap);
    metrics_add("scaleupd_aggregate_points_read_total", "", (double)ap.n);
    ctx->points_read += (long)ap.n;
    struct subject_gated gated = {.rule_ids = xcalloc(n + 1, sizeof(int64_t)),
                                  .days = xcalloc(n + 1, sizeof(int32_t))};
    for (size_t i = 0; ok && i < n; i++) {
        if (!se.usable[i])
            continue;
        struct aggregate_points judged;
        judged_points(&se.parsed[i], &ap, &judged);
        size_t saves = se.n_saves;
        ok = evaluate_aggregate_rule(conn, &se, i, &judged, ctx);
        aggregate_points_free(&judged);
        if (ok && is_detector(&se.parsed[i]))
            note_gated(&se, i, &ap, saves, &gated);
    }
    ok = ok && evaluation_aggregate_state_store(conn, ctx->programme_id, rules[0].indicator_id,
                                                rules[0].site_id, se.saves, se.n_saves, ctx->now);
    ok = ok &&
         evaluation_aggregate_gated_store(conn, ctx->programme_id, rules[0].indicator_id,
                                          rules[0].site_id, gated.rule_ids, gated.days, gated.n);
    free(gated.rule_ids);
    free(gated.days);
    if (ok) {
        metrics_add("scaleupd_aggregate_detector_rebuilds_total", "", (double)se.rebuilt);
        metrics_add("scaleupd_aggregate_evaluations_total", "", 1);
    }
    aggregate_points_free(&ap);
    subject_eval_free(&se);
    return ok;
}

/* ---- setting aside what fails --------------------------------------------------------
 * Each attempt that may fail for a reason of its own data runs under a savepoint: the spc
 * and threshold rules of a programme's claimed series (halved until the failing series is
 * alone), and the aggregate rules of each region. A failure is rolled back alone and set
 * aside (evaluation_set_aside, sql/011) with its reason; the rest of the claim goes on and
 * commits. A failure of the database itself (a lost connection, a deadlock) still fails the
 * whole batch, whose marks then come back for the next pass. */

/* After an attempt under the savepoint failed: true when the failure is the evaluation's own
 * (then *reason says why and the attempt is undone), false when it is the database's. */
static bool undo_attempt(PGconn *conn, char *reason, size_t size)
{
    if (db_failure_of(conn) != DB_FAILURE_INTERNAL)
        return false;
    evaluation_failure_reason(conn, reason, size);
    return db_rollback_to(conn, EVALUATOR_SAVEPOINT, NULL) &&
           db_release(conn, EVALUATOR_SAVEPOINT, NULL);
}

static bool begin_attempt(PGconn *conn)
{
    db_clear_last_sqlstate();
    return db_savepoint(conn, EVALUATOR_SAVEPOINT, NULL);
}

/* Records the failure, and logs it the first time (with the series and the reason). */
static bool set_aside(PGconn *conn, struct claim_context *ctx, const struct evaluation_failure *f)
{
    struct evaluation_set_aside_row row;
    if (!evaluation_set_aside(conn, f, &row))
        return false;
    if (row.failures == 0)
        return true; /* the series is gone meanwhile */
    ctx->set_aside[f->aggregate]++;
    const char *how = f->aggregate ? "aggregated over" : "at";
    double wait = row.retry_at - f->now;
    if (row.failures == 1)
        log_warning("set aside the evaluation of %s %s %s (series %lld) of programme %lld: %s; "
                    "retrying in %.0f s",
                    row.indicator, how, row.site, (long long)row.series_id,
                    (long long)f->programme_id, f->reason, wait);
    else
        log_debug("the evaluation of %s %s %s (series %lld) of programme %lld failed again (%d "
                  "times): %s; retrying in %.0f s",
                  row.indicator, how, row.site, (long long)row.series_id,
                  (long long)f->programme_id, row.failures, f->reason, wait);
    return true;
}

/* The spc and threshold rules of the n series in one attempt; when it fails for a reason of
 * its own, each half in its own attempt, down to the one series that is set aside. */
static bool evaluate_series_isolated(PGconn *conn, struct claim_context *ctx,
                                     const int64_t *series_ids, const int32_t *since,
                                     const int32_t *until, size_t n)
{
    if (n == 0)
        return true;
    if (!begin_attempt(conn))
        return false;
    if (evaluate_groups(conn, ctx, series_ids, since, until, n))
        return db_release(conn, EVALUATOR_SAVEPOINT, NULL);
    char reason[EVALUATOR_REASON_MAX];
    if (!undo_attempt(conn, reason, sizeof(reason)))
        return false;
    if (n > 1)
        return evaluate_series_isolated(conn, ctx, series_ids, since, until, n / 2) &&
               evaluate_series_isolated(conn, ctx, series_ids + n / 2, since + n / 2, until + n / 2,
                                        n - n / 2);
    struct evaluation_failure f = {.programme_id = ctx->programme_id,
                                   .series_id = series_ids[0],
                                   .reason = reason,
                                   .now = ctx->now};
    if (ctx->n_failed == ctx->cap_failed) {
        ctx->cap_failed = ctx->cap_failed ? 2 * ctx->cap_failed : 8;
        ctx->failed = xrealloc(ctx->failed, ctx->cap_failed * sizeof(*ctx->failed));
    }
    ctx->failed[ctx->n_failed++] = series_ids[0];
    return set_aside(conn, ctx, &f);
}

static bool failed_in_claim(const struct claim_context *ctx, int64_t series_id)
{
    for (size_t i = 0; i < ctx->n_failed; i++)
        if (ctx->failed[i] == series_id)
            return true;
    return false;
}

/* Forgets the set-aside series of the claim that evaluated this time. */
static bool clear_recovered(PGconn *conn, struct claim_context *ctx, const int64_t *series_ids,
                            const bool *was_set_aside, size_t n)
{
    size_t k = 0;
    int64_t *recovered = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!was_set_aside[i] || failed_in_claim(ctx, series_ids[i]))
            continue;
        if (recovered == NULL)
            recovered = xcalloc(n, sizeof(*recovered));
        recovered[k++] = series_ids[i];
        log_info("series %lld of programme %lld evaluates again: no longer set aside",
                 (long long)series_ids[i], (long long)ctx->programme_id);
    }
    bool ok = k == 0 || evaluation_set_aside_clear_series(conn, ctx->programme_id, recovered, k);
    ctx->cleared += (long)k;
    free(recovered);
    return ok;
}

/* The n aggregate rules of one subject (indicator, site) in one attempt, set aside together
 * when it fails for a reason of its own. */
static bool evaluate_aggregate_subject(PGconn *conn, struct claim_context *ctx,
                                       const struct evaluation_aggregate_rule *rules, size_t n)
{
    if (!begin_attempt(conn))
        return false;
    bool ok = evaluate_subject_rules(conn, ctx, rules, n);
    if (ok) {
        if (!db_release(conn, EVALUATOR_SAVEPOINT, NULL))
            return false;
        if (!rules[0].set_aside)
            return true;
        log_info("the aggregate rules of indicator %lld at site %lld of programme %lld evaluate "
                 "again: no longer set aside",
                 (long long)rules[0].indicator_id, (long long)rules[0].site_id,
                 (long long)ctx->programme_id);
        ctx->cleared++;
        return evaluation_set_aside_clear_aggregate(conn, ctx->programme_id, rules[0].indicator_id,
                                                    rules[0].site_id);
    }
    char reason[EVALUATOR_REASON_MAX];
    if (!undo_attempt(conn, reason, sizeof(reason)))
        return false;
    struct evaluation_failure f = {.programme_id = ctx->programme_id,
                                   .aggregate = true,
                                   .indicator_id = rules[0].indicator_id,
                                   .site_id = rules[0].site_id,
                                   .reason = reason,
                                   .now = ctx->now};
    return set_aside(conn, ctx, &f);
}

/* The aggregate rules fed by the n claimed series of one programme, subject by subject. */
static bool evaluate_aggregates(PGconn *conn, struct claim_context *ctx, const int64_t *series_ids,
                                const int32_t *since, size_t n)
{
    struct evaluation_aggregate_rule *rules;
    size_t n_rules;
    if (!evaluation_aggregate_rules(conn, ctx->programme_id, series_ids, since, n, &rules,
                                    &n_rules))
        return false;
    /* the rollups folded before any state is read: a rebuild deletes the states it folds */
    bool ok = n_rules == 0 || observations_aggregates_current(conn, ctx->programme_id);
    for (size_t i = 0, end; ok && i < n_rules; i = end) {
        for (end = i + 1; end < n_rules && rules[end].indicator_id == rules[i].indicator_id &&
                          rules[end].site_id == rules[i].site_id;
             end++)
            ;
        ok = evaluate_aggregate_subject(conn, ctx, rules + i, end - i);
    }
    evaluation_aggregate_rules_free(&rules, n_rules);
    return ok;
}

/* ---- the due-date sweep -------------------------------------------------------------- */

/* Whether a rule of the subject (rules[0..n), their since its first month after what its
 * states decided) is past that month's due date: the gate then judges or skips it. */
static bool waiting_month_due(const struct evaluation_aggregate_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct rule rule;
        if (rules[i].today == INT32_MIN || !stored_rule(rules[i].rule.document, &rule))
            continue;
        struct period p = period_containing(rules[i].period_type, rules[i].since);
        if (rule_deadline(&rule, p) < rules[i].today)
            return true;
    }
    return false;
}

bool evaluator_sweep_aggregates(PGconn *conn, int64_t programme_id, double now,
                                struct evaluator_sweep *out)
{
    struct evaluator_sweep done = {0};
    struct claim_context ctx = {.programme_id = programme_id, .now = now};
    struct evaluation_aggregate_rule *rules = NULL;
    size_t n_rules = 0;
    bool ok = evaluation_waiting_aggregates(conn, programme_id, now, &rules, &n_rules);
    bool folded = false;
    for (size_t i = 0, end; ok && i < n_rules; i = end) {
        for (end = i + 1; end < n_rules && rules[end].indicator_id == rules[i].indicator_id &&
                          rules[end].site_id == rules[i].site_id;
             end++)
            ;
        done.subjects++;
        if (!waiting_month_due(rules + i, end - i))
            continue; /* partial and not due yet: it waits on */
        /* the rollups folded before a state is read for an evaluation (a rebuild deletes the
           states it folds), only when a month is due: a timer pass does no fold otherwise */
        if (!folded)
            ok = observations_aggregates_current(conn, programme_id) &&
                 evaluation_programme_budget(conn, programme_id, &ctx.budget);
        folded = true;
        done.due++;
        for (size_t r = i; ok && r < end; r++)
            rules[r].since = INT32_MAX; /* nothing the states saw changed: they go on */
        ok = ok && evaluate_aggregate_subject(conn, &ctx, rules + i, end - i);
    }
    done.points_read = ctx.points_read;
    evaluation_aggregate_rules_free(&rules, n_rules);
    free(ctx.failed);
    if (out != NULL)
        *out = done;
    return ok;
}

/* Commits the piece when ok, else rolls it back; false when it did not commit. */
static bool end_piece(PGconn *conn, bool ok)
{
    if (ok)
        return db_commit(conn, NULL);
    db_rollback(conn, NULL);
    return false;
}

/* Every programme's due-date sweep, a programme a transaction (the timer pass commits in
 * pieces). */
static bool sweep_all_aggregates(PGconn *conn, double now)
{
    int64_t *ids;
    size_t n;
    if (!evaluation_programme_ids(conn, &ids, &n))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        ok = db_begin(conn, NULL);
        ok = end_piece(conn, ok && evaluator_sweep_aggregates(conn, ids[i], now, NULL));
    }
    free(ids);
    return ok;
}

/* The series of one programme in a claim: their own rules, then the aggregate rules they
 * feed. */
static bool evaluate_programme(PGconn *conn, struct claim_context *ctx, const int64_t *series_ids,
                               const int32_t *since, const int32_t *until,
                               const bool *was_set_aside, size_t n)
{
    if (!alerts_ensure_defaults(conn, ctx->programme_id) ||
        !evaluation_programme_budget(conn, ctx->programme_id, &ctx->budget))
        return false;
    ctx->n_failed = 0;
    return evaluate_series_isolated(conn, ctx, series_ids, since, until, n) &&
           clear_recovered(conn, ctx, series_ids, was_set_aside, n) &&
           evaluate_aggregates(conn, ctx, series_ids, since, n);
}

/* Evaluates the claimed series, programme by programme (the claim is ordered by both). */
static bool evaluate_claim(PGconn *conn, const struct evaluation_claim *claim,
                           struct claim_context *ctx)
{
    bool ok = true;
    for (size_t first = 0, end; ok && first < claim->n; first = end) {
        int64_t programme_id = claim->programme_ids[first];
        for (end = first + 1; end < claim->n && claim->programme_ids[end] == programme_id; end++)
            ;
        ctx->programme_id = programme_id;
        ok = evaluate_programme(conn, ctx, claim->series_ids + first, claim->since + first,
                                claim->until + first, claim->set_aside + first, end - first);
    }
    return ok;
}

static void describe_metrics(void)
{
    metrics_describe("scaleupd_evaluation_set_aside", METRIC_GAUGE,
                     "Evaluations set aside after a failure (series or region aggregates), "
                     "waiting for a retry.");
    metrics_describe("scaleupd_evaluation_failures_total", METRIC_COUNTER,
                     "Evaluations that failed and were set aside, by kind (series, aggregate).");
    metrics_describe("scaleupd_detector_rebuilds_total", METRIC_COUNTER,
                     "Detector states of spc rules rebuilt from a series' history (a first "
                     "evaluation, a revision, a changed rule or budget) rather than updated.");
    metrics_describe("scaleupd_aggregate_detector_rebuilds_total", METRIC_COUNTER,
                     "Detector states of aggregate rules rebuilt from a rollup's history (a first "
                     "evaluation, a change of an older period, a changed rule or budget, a new "
                     "hierarchy) rather than updated.");
    metrics_describe("scaleupd_aggregate_points_read_total", METRIC_COUNTER,
                     "Rollup points read to evaluate aggregate rules.");
    metrics_describe("scaleupd_aggregate_evaluations_total", METRIC_COUNTER,
                     "Aggregate subjects (indicator, site) whose rules were evaluated.");
}

void evaluator_describe_metrics(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, describe_metrics);
}

/* Exports the set-aside count (once committed) when it may have changed. */
static void export_set_aside(PGconn *conn)
{
    long n;
    if (evaluation_set_aside_count(conn, &n))
        metrics_set("scaleupd_evaluation_set_aside", "", (double)n);
}

/* One fold of each programme's rollups, in its own short transaction: the aggregates the next
 * batch reads then seldom need a fold inside it (which holds the fold lock until it commits). */
static bool one_fold(void *arg)
{
    (void)arg;
    return true;
}

void evaluator_set_slice(size_t series)
{
    atomic_store(&claim_slice, series > 0 ? series : EVALUATOR_SLICE);
}

/* One batch of marks in one transaction: the series they name (and the set-aside ones due
 * for a retry) are evaluated once each, the first EVALUATOR_SLICE of them, the rest put back
 * (*put_back) for the next batch. Returns the number of marks claimed (the caller stops below
 * a full batch unless some were put back), -1 on error; *due_touched is set when the series
 * may change an open late-feed or completeness alert (then the due rules are evaluated now
 * rather than at their next interval). */
static long evaluate_dirty_batch(PGconn *conn, double now, int marks, bool *due_touched,
                                 bool *put_back)
{
    (void)rollups_run(conn, one_fold, NULL); /* marks left are folded inside if needed */
    if (!db_begin(conn, NULL))
        return -1;
    struct evaluation_claim claim;
    size_t per = atomic_load(&claim_slice);
    bool ok = evaluation_claim_dirty(conn, marks, per, now, EVALUATOR_RETRIES, &claim);
    *put_back = ok && claim.put_back;
    if (ok && !*due_touched) {
        bool touched = false;
        ok = evaluation_due_alert_touched(conn, claim.programme_ids, claim.series_ids, claim.n,
                                          &touched);
        *due_touched = touched;
    }
    struct claim_context ctx = {.now = now};
    ok = ok && evaluate_claim(conn, &claim, &ctx);
    long claimed = claim.marks;
    evaluation_claim_free(&claim);
    free(ctx.failed);
    if (!ok) {
        db_rollback(conn, NULL);
        return -1;
    }
    if (!db_commit(conn, NULL))
        return -1;
    metrics_add("scaleupd_evaluation_failures_total", "kind=\"series\"", (double)ctx.set_aside[0]);
    metrics_add("scaleupd_evaluation_failures_total", "kind=\"aggregate\"",
                (double)ctx.set_aside[1]);
    if (ctx.set_aside[0] + ctx.set_aside[1] + ctx.cleared > 0)
        export_set_aside(conn);
    return claimed;
}

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* When this daemon last claimed dirty series (monotonic; only the evaluate task, which never
 * runs twice at once, touches it), and how long dirty series may wait for requests. */
static double last_claim_mono;
static _Atomic double max_wait = EVALUATOR_MAX_WAIT;

void evaluator_set_max_wait(double seconds)
{
    atomic_store(&max_wait, seconds < 0 ? EVALUATOR_MAX_WAIT : seconds);
}

/* When (monotonic) a run of evaluator_run must stop claiming so that the due rules get their
 * turn (0: no limit, as for a direct call); set by evaluator_run around its claims. */
static double claims_until_mono;

long evaluator_run_dirty(PGconn *conn, double now, bool *due_touched, evaluator_yield_fn yield,
                         void *yield_arg, bool *more)
{
    long total = 0;
    *due_touched = false;
    *more = false;
    evaluator_describe_metrics();
    for (int round = 0; round < 50; round++) {
        /* the catch-up after a bulk load (50 claims can take minutes) stops when the due
         * rules are due, so that a late-feed alert whose data has come meanwhile resolves on
         * the interval, not only once every mark is evaluated; the next run goes on */
        if (round > 0 && claims_until_mono > 0 && monotonic_now() >= claims_until_mono) {
            *more = true;
            break;
        }
        /* while requests are served, dirty series wait up to EVALUATOR_MAX_WAIT, then one
         * small claim goes ahead; the run stops as soon as requests come */
        bool busy = yield != NULL && yield(yield_arg);
        if (busy && (round > 0 || monotonic_now() - last_claim_mono < atomic_load(&max_wait))) {
            *more = true;
            break;
        }
        last_claim_mono = monotonic_now();
        int marks = busy ? EVALUATOR_BATCH_BUSY : EVALUATOR_BATCH;
        bool put_back = false;
        long n = evaluate_dirty_batch(conn, now, marks, due_touched, &put_back);
        if (n < 0)
            return -1;
        total += n;
        *more = n == marks || put_back; /* a full claim, or a slice of one: more waits */
        if (!*more)
            break;
    }
    return total;
}

/* Parks the firing spc and threshold alerts of a late series in no_data (not those of an
 * aggregate rule on that site: its region's other sites may well have reported). */
static bool mark_no_data(PGconn *conn, int64_t programme_id, int64_t indicator_id, int64_t site_id,
                         double now)
{
    struct evaluation_open_alert *alerts;
    size_t n;
    if (!evaluation_open_alerts(conn, programme_id, indicator_id, site_id, &alerts, &n))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        struct alert_update u = {.programme_id = programme_id,
                                 .rule_id = alerts[i].rule.id,
                                 .subject = alerts[i].subject ? alerts[i].subject : "",
                                 .indicator_id = indicator_id,
                                 .site_id = site_id,
                                 .for_count = alerts[i].rule.for_count,
                                 .resolve_count = alerts[i].rule.resolve_count,
                                 .obs = ALERT_OBS_NO_DATA,
                                 .period_start = -1,
                                 .now = now};
        ok = alerts_apply(conn, &u);
    }
    evaluation_open_alerts_free(&alerts, n);
    return ok;
}

/* A due rule for one indicator, parsed, at its latest due period. */
struct due_rule {
    const struct evaluation_due_rule *stored;
    struct rule rule;
    struct period due;
    double now;
};

static struct alert_update due_update(const struct due_rule *d, const char *subject, int64_t site,
                                      bool holds, const struct rule_eval *eval)
{
    return (struct alert_update){.programme_id = d->stored->programme_id,
                                 .rule_id = d->stored->rule.id,
                                 .subject = subject,
                                 .indicator_id = d->stored->indicator_id,
                                 .site_id = site,
                                 .for_count = d->stored->rule.for_count,
                                 .resolve_count = d->stored->rule.resolve_count,
                                 .obs = holds ? ALERT_OBS_HOLDS : ALERT_OBS_OK,
                                 .eval = eval,
                                 .period_start = period_start(d->due),
                                 .has_due = d->rule.kind == RULE_LATE_FEED,
                                 .due_day = rule_deadline(&d->rule, d->due),
                                 .now = d->now};
}

/* A late-feed rule on one due site: a feed is a site that sends this indicator, so one that
 * never has (a practice, for an indicator reported nationally) is not late. Nothing is
 * written (nor locked) when the step changes nothing stored: the same practice still late
 * for the same period, or one that reported with no alert open. */
static bool evaluate_late_site(PGconn *conn, const struct due_rule *d,
                               const struct evaluation_due_site *site, const char *period,
                               const char *deadline)
{
    if (!site->has_feed)
        return true;
    /* a late feed has no value and no limits: absent, never 0 (core/notify_render.c shows "-") */
    struct rule_eval eval = {.holds = !site->reported,
                             .value = NAN,
                             .centre = NAN,
                             .lower_limit = NAN,
                             .upper_limit = NAN};
    snprintf(eval.summary, sizeof(eval.summary), "no value for %s by %s", period, deadline);
    char subject[64];
    snprintf(subject, sizeof(subject), "i%lld:s%lld", (long long)d->stored->indicator_id,
             (long long)site->site_id);
    struct alert_update u = due_update(d, subject, site->site_id, !site->reported, &eval);
    bool park = !site->reported && site->series_alerts_open;
    if (!park && alerts_rewrites_nothing(&u, &site->alert))
        return true;
    bool ok = alerts_apply(conn, &u);
    if (ok && park)
        ok = mark_no_data(conn, d->stored->programme_id, d->stored->indicator_id, site->site_id,
                          d->now);
    return ok;
}

/* Sites whose late-feed alerts one transaction of the timer pass steps: a national
 * programme's first pass after a backfill opens one alert (and incident membership) per
 * practice and indicator, 140,000 at 7,000 practices, and one transaction for them all held
 * back vacuum for the whole load (18 minutes in bench/scale.sh at 10 M observations, the
 * `series` table bloated 25-fold meanwhile) and a graceful stop with it. */
#define TIMER_SITES_PER_TRANSACTION 500

/* A late-feed or completeness rule for one indicator at its latest due period (completeness
 * still counts the sites that never sent the indicator): late-feed sites a piece at a time,
 * each piece its own transaction (the steps are idempotent for a period: a pass cut short
 * leaves what it committed right, and the next pass does the rest). */
static bool evaluate_due_rule(PGconn *conn, const struct due_rule *d)
{
    char start[DATE_FORMAT_MAX], end[DATE_FORMAT_MAX], deadline[DATE_FORMAT_MAX],
        period[PERIOD_FORMAT_MAX];
    if (!date_format(period_start(d->due), start, sizeof(start)) ||
        !date_format(period_end(d->due), end, sizeof(end)) ||
        !date_format(rule_deadline(&d->rule, d->due), deadline, sizeof(deadline)) ||
        !period_format(d->due, period, sizeof(period)))
        return true; /* a date outside years 1..9999: nothing to say about it */
    struct evaluation_due_site *sites;
    size_t n;
    if (!evaluation_due_sites(conn, d->stored->programme_id, d->stored->indicator_id,
                              d->stored->rule.id, period_start(d->due), period_end(d->due),
                              d->stored->scoped ? &d->stored->site_scope : NULL, &sites, &n))
        return false;
    bool ok = true;
    long reported = 0, active = (long)n;
    for (size_t i = 0; i < n; i++)
        reported += sites[i].reported;
    for (size_t from = 0; ok && d->rule.kind == RULE_LATE_FEED && from < n;
         from += TIMER_SITES_PER_TRANSACTION) {
        size_t to = from + TIMER_SITES_PER_TRANSACTION < n ? from + TIMER_SITES_PER_TRANSACTION : n;
        ok = db_begin(conn, NULL);
        for (size_t i = from; ok && i < to; i++)
            ok = evaluate_late_site(conn, d, &sites[i], period, deadline);
        ok = end_piece(conn, ok);
    }
    free(sites);
    if (ok && d->rule.kind == RULE_COMPLETENESS) {
        struct rule_eval eval;
        rule_eval_completeness(&d->rule, reported, active, &eval);
        char subject[64];
        snprintf(subject, sizeof(subject), "i%lld", (long long)d->stored->indicator_id);
        struct alert_update u = due_update(d, subject, 0, eval.holds, &eval);
        ok = db_begin(conn, NULL);
        ok = end_piece(conn, ok && alerts_apply(conn, &u));
    }
    return ok;
}

static bool evaluate_due_rules(PGconn *conn, double now)
{
    struct evaluation_due_rule *rules;
    size_t n;
    if (!evaluation_due_rules(conn, now, &rules, &n))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        struct due_rule d = {.stored = &rules[i], .now = now};
        enum period_type type;
        if (!stored_rule(rules[i].rule.document, &d.rule) || rules[i].period_type == NULL ||
            !period_type_from_name(rules[i].period_type, &type))
            continue;
        d.due = rule_latest_due_period(&d.rule, type, rules[i].today);
        ok = evaluate_due_rule(conn, &d);
    }
    evaluation_due_rules_free(&rules, n);
    return ok;
}

/* One trajectory rule against the progress document of its programme. */
static bool evaluate_trajectory_rule(PGconn *conn, const struct evaluation_trajectory_rule *t,
                                     const json_t *progress, double now)
{
    struct rule rule;
    if (!stored_rule(t->rule.document, &rule))
        return true;
    const char *dimension = t->dimension ? t->dimension : "";
    const json_t *dim = json_object_get(json_object_get(progress, "dimensions"), dimension);
    const char *status = json_string_value(json_object_get(dim, "status"));
    char subject[48];
    snprintf(subject, sizeof(subject), "d%s", dimension);
    struct rule_eval eval;
    rule_eval_trajectory(&rule, status, &eval);
    /* expansion's status is the worse of its sites' and its regions': its figures are those
     * of the measure that gave it (the sites' when both did) */
    bool expansion = strcmp(dimension, "expansion") == 0;
    const json_t *figures = expansion ? json_object_get(dim, "sites") : dim;
    const char *unit = "sites";
    if (expansion && status != NULL) {
        const json_t *regions = json_object_get(dim, "regions");
        const char *by_sites = json_string_value(json_object_get(figures, "status"));
        const char *by_regions = json_string_value(json_object_get(regions, "status"));
        if ((by_sites == NULL || strcmp(by_sites, status) != 0) && by_regions != NULL &&
            strcmp(by_regions, status) == 0)
            figures = regions, unit = "regions";
    }
    const json_t *actual = json_object_get(figures, "actual"),
                 *planned = json_object_get(figures, "planned");
    if (status != NULL && json_is_number(actual) && json_is_number(planned)) {
        eval.value = json_number_value(actual);
        eval.centre = json_number_value(planned); /* the plan is the line to compare with */
        eval.has_limits = true;                   /* (with no limits: they stay NaN) */
        const char *how = strcmp(status, "at_risk") == 0  ? "is at risk against"
                          : strcmp(status, "behind") == 0 ? "is behind"
                                                          : "is on track with";
        /* coverage and institutionalisation are shares, shown as the progress view shows
         * them; expansion's are counts */
        if (!expansion)
            snprintf(eval.summary, sizeof(eval.summary),
                     "%s %s the roadmap: %.1f %% actual, %.1f %% planned", dimension, how,
                     100 * eval.value, 100 * eval.centre);
        else /* whole sites or regions; the plan between milestones may fall between two */
            snprintf(eval.summary, sizeof(eval.summary),
                     "%s %s the roadmap: %.0f %s actual, %.*f planned", dimension, how, eval.value,
                     unit, eval.centre == floor(eval.centre) ? 0 : 1, eval.centre);
    }
    bool no_data = status == NULL || strcmp(status, "no_data") == 0;
    struct alert_update u = {.programme_id = t->programme_id,
                             .rule_id = t->rule.id,
                             .subject = subject,
                             .for_count = t->rule.for_count,
                             .resolve_count = t->rule.resolve_count,
                             .obs = no_data      ? ALERT_OBS_NO_DATA
                                    : eval.holds ? ALERT_OBS_HOLDS
                                                 : ALERT_OBS_OK,
                             .eval = no_data ? NULL : &eval,
                             .period_start = -1,
                             .now = now};
    return alerts_apply(conn, &u);
}

/* Trajectory rules read each programme's progress from its snapshots (the progress task
 * keeps them current); a programme without a roadmap has nothing to fall behind. */
/* How long a programme's trajectory rules wait for its progress snapshots to be refreshed:
 * judged on snapshots a refresh has not caught up with (a bulk load's first months), the
 * demo opened "coverage at risk: 12.1 %" and an expansion alert that resolved a pass later,
 * both in the first e-mail. A refresh takes seconds; one that keeps being due (a feed that
 * never pauses) does not hold the rules back for longer than this. */
#define TRAJECTORY_WAIT_FOR_REFRESH 600.0

/* Whether the progress document says a refresh is due, since less than the wait: its
 * "pending_since" (UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ") against now. */
static bool progress_refreshing(const json_t *progress, double now)
{
    if (!json_is_true(json_object_get(progress, "stale")))
        return false;
    const char *p = json_string_value(json_object_get(progress, "pending_since"));
    static const char seps[] = "--T::"; /* after year, month, day, hour, minute */
    long field[6];
    for (int i = 0; i < 6; i++) {
        char *end;
        if (p == NULL || *p < '0' || *p > '9')
            return false;
        field[i] = strtol(p, &end, 10);
        if (i < 5 && *end != seps[i])
            return false;
        p = end + (i < 5);
    }
    struct tm tm = {.tm_year = (int)field[0] - 1900,
                    .tm_mon = (int)field[1] - 1,
                    .tm_mday = (int)field[2],
                    .tm_hour = (int)field[3],
                    .tm_min = (int)field[4],
                    .tm_sec = (int)field[5]};
    return now - (double)timegm(&tm) < TRAJECTORY_WAIT_FOR_REFRESH;
}

static bool evaluate_trajectory_rules(PGconn *conn, double now)
{
    struct evaluation_trajectory_rule *rules;
    size_t n;
    if (!evaluation_trajectory_rules(conn, &rules, &n))
        return false;
    bool ok = true, have = false;
    int64_t current = 0;
    json_t *progress = NULL;
    for (size_t i = 0; ok && i < n; i++) {
        int64_t pid = rules[i].programme_id;
        if (pid != current) {
            json_decref(progress);
            progress = NULL;
            current = pid;
            int32_t today;
            enum progress_service_result r = PROGRESS_SERVICE_DB_ERROR;
            if (progress_service_today(conn, pid, &today))
                r = progress_service_get(conn, pid, today, false, &progress);
            ok = r != PROGRESS_SERVICE_DB_ERROR;
            have = r == PROGRESS_SERVICE_OK && !progress_refreshing(progress, now);
        }
        if (ok && have)
            ok = evaluate_trajectory_rule(conn, &rules[i], progress, now);
    }
    json_decref(progress);
    evaluation_trajectory_rules_free(&rules, n);
    return ok;
}

/* Creates the default rules every programme lacks. */
static bool ensure_all_defaults(PGconn *conn)
{
    int64_t *ids;
    size_t n;
    if (!evaluation_programme_ids(conn, &ids, &n))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++)
        ok = alerts_ensure_defaults(conn, ids[i]);
    free(ids);
    return ok;
}

/* The timer pass; *ran says whether this daemon did it (false: another holds the lock).
 * It holds the session's lock throughout and commits in pieces: the default rules, each due
 * rule's sites a piece at a time, the trajectory rules. */
static bool run_timer(PGconn *conn, double now, bool *ran)
{
    *ran = false;
    if (!evaluation_timer_lock(conn, ran))
        return false;
    if (!*ran)
        return true;
    bool ok = db_begin(conn, NULL);
    ok = end_piece(conn, ok && ensure_all_defaults(conn));
    ok = ok && evaluate_due_rules(conn, now);
    if (ok) {
        ok = db_begin(conn, NULL);
        ok = end_piece(conn, ok && evaluate_trajectory_rules(conn, now));
    }
    ok = ok && sweep_all_aggregates(conn, now);
    /* a lost connection took the lock with it */
    return evaluation_timer_unlock(conn) && ok;
}

bool evaluator_run_timer(PGconn *conn, double now)
{
    bool ran;
    evaluator_describe_metrics();
    bool ok = run_timer(conn, now, &ran);
    if (ok && ran)
        export_set_aside(conn);
    return ok;
}

/* When the due rules last ran, by the daemon's clock (which tests move) and by the
 * monotonic one. Only the evaluate task touches them, and it never runs twice at once. */
static double last_timer_clock, last_timer_mono;

bool evaluator_run(PGconn *conn, int interval, evaluator_yield_fn yield, void *yield_arg)
{
    double now = clock_now(), mono = monotonic_now();
    bool due_touched = false, more = false;
    /* the due rules cost work in proportion to the programmes' sites: they run on their
     * interval (by either clock: a test that moves time forward makes them due), not after
     * every batch, unless the batch may close one of their alerts */
    double due_after = 0.9 * (interval > 0 ? interval : 1);
    claims_until_mono = (last_timer_mono > 0 ? last_timer_mono : mono) + due_after;
    long n = evaluator_run_dirty(conn, now, &due_touched, yield, yield_arg, &more);
    claims_until_mono = 0;
    if (n < 0)
        log_warning("could not evaluate the series changed by ingest");
    else if (n > 0)
        log_debug("evaluated the series of %ld dirty marks", n);
    now = clock_now(); /* the claims may have taken minutes */
    mono = monotonic_now();
    bool due = last_timer_mono == 0 || now - last_timer_clock >= due_after ||
               mono - last_timer_mono >= due_after || now < last_timer_clock;
    if (!due && !due_touched)
        return more;
    bool ran = false;
    if (!run_timer(conn, now, &ran)) {
        log_warning("could not evaluate late-feed and completeness rules");
        return more;
    }
    if (ran) { /* else another daemon's pass, which may not have seen the latest data: ours
                  stays due */
        export_set_aside(conn); /* the set-aside count, as every daemon's claims left it */
        last_timer_clock = now;
        last_timer_mono = mono;
    }
    return more;
}
