/* Storage of the evaluation use case (docs/ARCHITECTURE.md): claiming the series that ingest
 * marked dirty, the three set-based reads of a claim (the rules that apply to its series,
 * their latest values, the alerts they already have), the aggregate rules a claim feeds, the
 * evaluations set aside after a failure (sql/011), and the reads of the timer pass (its
 * advisory lock, late-feed, completeness and trajectory rules, the sites due to report).
 * Alert writes are storage/alert_store.h's (alerts_apply).
 * Every function runs inside the caller's transaction, logs a failure ("could not …") and
 * returns false; what it fills is owned by the caller and freed with the matching _free. */
#ifndef SCALEUPD_STORAGE_EVALUATION_STORE_H
#define SCALEUPD_STORAGE_EVALUATION_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/spc.h"
#include "scaleupd/storage/alert_store.h"

/* A stored rule as the evaluator needs it: its document (parsed by the service with
 * rule_parse) and the counts of its state machine. */
struct evaluation_rule {
    int64_t id;
    char *document;
    int for_count, resolve_count;
    int64_t updated_us; /* updated_at, microseconds since 1970 (evaluation_group_read only) */
};

/* ---- dirty series ------------------------------------------------------------------- */

/* The series of the marks one claim consumed, and of the set-aside evaluations whose retry
 * was due: each once, ordered by programme, then id. */
struct evaluation_claim {
    int64_t *programme_ids; /* per series */
    int64_t *series_ids;
    bool *set_aside; /* per series: its own rules are set aside (evaluation_set_aside) */
    int32_t *since;  /* per series: the earliest period its marks changed (days since 1970);
                        INT32_MIN when not known (a set-aside retry): anything may have */
    int32_t *until;  /* per series: the latest period its marks wrote (sql/031); INT32_MAX
                        when any of them does not say (a deletion, a retry, an older mark) */
    size_t n;
    long marks;    /* the marks consumed (each lists up to 1,000 series) */
    long retries;  /* the set-aside evaluations due for a retry that the claim took */
    bool put_back; /* series past the slice went back as marks, for the next claim */
};

/* Deletes the oldest `marks` rows of dirty_series that no other evaluator holds (FOR UPDATE
 * SKIP LOCKED), locks up to `retries` set-aside evaluations whose retry is due at `now` (unix
 * seconds) likewise, and fills *claim with the first `slice` series they name (by programme,
 * then id); the others go back as marks that the next claim takes first (put_back), so that a
 * claim of many marks is evaluated a slice per transaction, each committed: the transaction's
 * locks (its series' alerts and states) and memory are a slice's, while each series is still
 * stepped once for all the marks claimed. When the oldest mark alone names `slice` series or
 * more (one put back), it is taken alone: the marks after it would only go back with it. */
bool evaluation_claim_dirty(PGconn *conn, int marks, size_t slice, double now, int retries,
                            struct evaluation_claim *claim) __attribute__((warn_unused_result));

void evaluation_claim_free(struct evaluation_claim *claim);

/* Whether new data in the n series (programme_ids[i], series_ids[i]) can change an open
 * late-feed or completeness alert (a late site that reported, an indicator whose completeness
 * was low): *touched. */
bool evaluation_due_alert_touched(PGconn *conn, const int64_t *programme_ids,
                                  const int64_t *series_ids, size_t n, bool *touched)
    __attribute__((warn_unused_result));

/* ---- the set-based reads of a group of one programme's series ----------------------- */

/* A spc or threshold rule (not an aggregate one) that applies to a series: its indicator is
 * the series' or none, its site the series' site, an ancestor of it, or none. */
struct evaluation_application {
    int64_t series_id;
    size_t rule; /* index into evaluation_group.rules */
    int64_t indicator_id, site_id;
    enum spc_direction direction; /* the indicator's */
};

/* One alert that exists on a series, by rule. */
struct evaluation_alert_key {
    int64_t series_id, rule_id;
};

/* The stored detector state of one (spc rule, series) (sql/013); it is stale when its rule's
 * updated_us differs from rule_updated_us. */
struct evaluation_detector_row {
    int64_t series_id, rule_id;
    char *params;         /* the detector_params_key it was fed with */
    unsigned char *state; /* struct detector_state's bytes, state_len of them */
    size_t state_len;
    int64_t rule_updated_us; /* its rule's updated_at then, microseconds since 1970 */
    unsigned char *prior;    /* an aggregate's state before its last point (sql/025), prior_len
                                bytes; NULL for a series' state or when there is none */
    size_t prior_len;
    int32_t gated_through; /* an aggregate's last period its gate decided after the state's
                              last point (sql/030); INT32_MIN when none */
};

struct evaluation_group {
    struct evaluation_rule *rules; /* each rule of the applications once */
    size_t n_rules;
    struct evaluation_application *applications; /* by series id, then rule id */
    size_t n_applications;
    struct evaluation_detector_row *detectors; /* by series id, then rule id */
    size_t n_detectors;
    struct evaluation_alert_key *alerts; /* by series id, then rule id */
    size_t n_alerts;
    /* filled by evaluation_group_values: */
    int64_t *value_series; /* the values read of each series: by series id, oldest first */
    double *values;
    int32_t *days; /* period starts, days since 1970-01-01 */
    size_t n_values;
};

/* Reads, in three statements, the applications, the stored detector states and the alerts
 * of the n series (of programme_id) into *group; values are read next, with
 * evaluation_group_values, once the caller knows which each series needs. */
bool evaluation_group_read(PGconn *conn, int64_t programme_id, const int64_t *series_ids, size_t n,
                           struct evaluation_group *group) __attribute__((warn_unused_result));

/* from_day of a values request that wants the series' points from its first on. */
#define EVALUATION_FROM_FIRST (-1000000)

/* until_day of a values request that wants the series' points up to its last. */
#define EVALUATION_TO_LAST INT32_MAX

/* What to read of one series: its points on or after from_day (EVALUATION_FROM_FIRST: all)
 * and on or before until_day (EVALUATION_TO_LAST: all), the latest `limit` of them. */
struct evaluation_values_request {
    int64_t series_id;
    int32_t from_day;
    int32_t limit;
    int32_t until_day;
};

/* Reads the values of the n requests (series ids ascending) into group's value arrays in one
 * statement: finite values only (a NaN or infinity an older version stored is no value),
 * oldest first per series. */
bool evaluation_group_values(PGconn *conn, int64_t programme_id,
                             const struct evaluation_values_request *requests, size_t n,
                             struct evaluation_group *group) __attribute__((warn_unused_result));

/* A detector state to store (the row of its rule and series is created or replaced). */
struct evaluation_detector_save {
    int64_t series_id, rule_id;
    const char *params; /* detector_params_key */
    const void *state;  /* struct detector_state */
    size_t state_len;
    int32_t last_day; /* its last point's period start; INT32_MIN: none */
    bool holding;
    int64_t rule_updated_us; /* the updated_us of the rule it was fed under */
    const void *prior;       /* an aggregate's state before its last point, prior_len bytes;
                                NULL: none (a series' state keeps none) */
    size_t prior_len;
};

/* Stores the n states in one statement (those of a rule deleted meanwhile are dropped). */
bool evaluation_detector_store(PGconn *conn, int64_t programme_id,
                               const struct evaluation_detector_save *rows, size_t n, double now)
    __attribute__((warn_unused_result));

/* The programme's false-alert budget of its spc rules, in false alerts per series-year (its
 * document's alert_budget.false_alerts_per_100_series_years / 100): *per_series_year, NAN when
 * the document sets none (the detector's default then applies). */
bool evaluation_programme_budget(PGconn *conn, int64_t programme_id, double *per_series_year)
    __attribute__((warn_unused_result));

void evaluation_group_free(struct evaluation_group *group);

/* An enabled spc or threshold rule with "aggregate": true that n claimed series of one
 * programme feed, with the site whose descendants it aggregates (its scope site, or each
 * top-level site when it has none) for each indicator, when that site has descendants and
 * one of them is a claimed series' site. */
struct evaluation_aggregate_rule {
    struct evaluation_rule rule;
    int64_t indicator_id, site_id;
    enum spc_direction direction;
    char *aggregate; /* the indicator's: sum, mean, weighted, last */
    bool percentage; /* the indicator's value type is percentage */
    bool set_aside;  /* the aggregate of indicator_id at site_id is set aside */
    int32_t since;   /* the earliest period the claimed series feeding the subject changed in
                        (days since 1970); INT32_MIN when not known: anything may have */
    /* read by evaluation_waiting_aggregates only (else monthly and INT32_MIN): */
    enum period_type period_type; /* the indicator's */
    int32_t today;                /* in the programme's time zone */
};

/* The aggregate rules the n series feed, ordered by indicator and site (the subject), then
 * rule; since[i] is the earliest period series i changed in (evaluation_claim.since; NULL:
 * not known). rule.updated_us is read. */
bool evaluation_aggregate_rules(PGconn *conn, int64_t programme_id, const int64_t *series_ids,
                                const int32_t *since, size_t n,
                                struct evaluation_aggregate_rule **rules, size_t *n_rules)
    __attribute__((warn_unused_result));

/* The stored detector states of the aggregate rules of one subject (indicator_id over the
 * descendants of site_id; sql/025), every rule's, by rule id, locked (FOR UPDATE) until the
 * transaction ends so that two evaluations of one subject go one after the other; series_id is
 * 0. The caller frees *rows with evaluation_detector_rows_free. */
bool evaluation_aggregate_states(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                 int64_t site_id, struct evaluation_detector_row **rows, size_t *n)
    __attribute__((warn_unused_result));

void evaluation_detector_rows_free(struct evaluation_detector_row **rows, size_t n);

/* Stores the n states of one subject's aggregate rules (series_id unused) in one statement,
 * each with its prior state; those of a rule deleted meanwhile are dropped. */
bool evaluation_aggregate_state_store(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                      int64_t site_id, const struct evaluation_detector_save *rows,
                                      size_t n, double now) __attribute__((warn_unused_result));

void evaluation_aggregate_rules_free(struct evaluation_aggregate_rule **rules, size_t n);

/* Records, for each of the n rules (rule_ids[i]) of one subject, days[i] as the last period
 * its gate decided (sql/030's gated_through), on the rows stored already. */
bool evaluation_aggregate_gated_store(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                      int64_t site_id, const int64_t *rule_ids, const int32_t *days,
                                      size_t n) __attribute__((warn_unused_result));

/* The due-date sweep's work (services/evaluator.h, evaluator_sweep_aggregates): the enabled
 * aggregate rules of programme_id's subjects that have a stored detector state and a rollup
 * point after everything those states decided (their last point fed and gated_through), not
 * set aside, as evaluation_aggregate_rules gives them, with since the first such period,
 * period_type and today (in the programme's time zone at now, unix seconds). One row per
 * subject and rule, by subject then rule; it reads the rollup points after what was decided
 * only. The caller frees *rules with evaluation_aggregate_rules_free. */
bool evaluation_waiting_aggregates(PGconn *conn, int64_t programme_id, double now,
                                   struct evaluation_aggregate_rule **rules, size_t *n_rules)
    __attribute__((warn_unused_result));

/* ---- set-aside evaluations (sql/011) -----------------------------------------------
 * An evaluation that failed for a reason of its own (not a lost connection or a deadlock):
 * a series' own rules, or the aggregate rules of a region's descendants, recorded with the
 * reason and retried after a backoff (1 minute, doubling up to 1 hour) or when its series is
 * marked again; docs/ARCHITECTURE.md, "The path of an evaluation". */
struct evaluation_failure {
    int64_t programme_id;
    int64_t series_id;             /* the series (read only when not aggregate) */
    bool aggregate;                /* else the series' own rules */
    int64_t indicator_id, site_id; /* the aggregate's (read only when aggregate) */
    const char *reason;            /* evaluation_failure_reason */
    double now;                    /* unix seconds */
};

/* What evaluation_set_aside recorded: failures 0 when the series no longer exists (or the
 * aggregate has none). */
struct evaluation_set_aside_row {
    int failures;      /* 1 the first time */
    double retry_at;   /* unix seconds */
    int64_t series_id; /* the series a retry claims: for an aggregate, the first that feeds it */
    char indicator[128], site[128]; /* codes, for the log line */
};

/* Records the failure (a new row, or one more failure of a row and a longer wait). */
bool evaluation_set_aside(PGconn *conn, const struct evaluation_failure *failure,
                          struct evaluation_set_aside_row *row) __attribute__((warn_unused_result));

/* Forgets that the own rules of the n series were set aside (they evaluated). */
bool evaluation_set_aside_clear_series(PGconn *conn, int64_t programme_id,
                                       const int64_t *series_ids, size_t n)
    __attribute__((warn_unused_result));

/* Forgets that the aggregate of indicator_id at site_id was set aside (it evaluated). */
bool evaluation_set_aside_clear_aggregate(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                                          int64_t site_id) __attribute__((warn_unused_result));

/* The evaluations set aside now, across the database (every daemon's): *n. */
bool evaluation_set_aside_count(PGconn *conn, long *n) __attribute__((warn_unused_result));

/* Why the last statement on conn failed, for a set-aside row and its log line: its message's
 * first line and SQLSTATE ("value out of range: overflow (SQLSTATE 22003)"), or a generic
 * text when no statement failed (a failure outside the database). Call it before the next
 * statement. */
void evaluation_failure_reason(PGconn *conn, char *buf, size_t size);

/* ---- the timer pass ------------------------------------------------------------------ */

/* Takes the session's advisory lock of the timer pass without waiting: *mine says whether
 * this daemon has it (false: another is doing the pass). The pass commits in pieces, so the
 * lock outlives each transaction; it goes with the session if the daemon dies. */
bool evaluation_timer_lock(PGconn *conn, bool *mine) __attribute__((warn_unused_result));

/* Releases the lock evaluation_timer_lock took. */
bool evaluation_timer_unlock(PGconn *conn) __attribute__((warn_unused_result));

/* Every programme's id, in id order; the caller frees *ids. */
bool evaluation_programme_ids(PGconn *conn, int64_t **ids, size_t *n)
    __attribute__((warn_unused_result));

/* An enabled late-feed or completeness rule for one of the indicators it covers. */
struct evaluation_due_rule {
    struct evaluation_rule rule;
    int64_t programme_id, indicator_id;
    char *period_type; /* the indicator's: monthly, quarterly… */
    int32_t today;     /* the date at `now` in the programme's time zone, days since 1970 */
    bool scoped;       /* the rule watches the sites under site_scope, not the programme */
    int64_t site_scope;
};

/* Every such rule and indicator at time now, ordered by programme, rule and indicator. */
bool evaluation_due_rules(PGconn *conn, double now, struct evaluation_due_rule **rules, size_t *n)
    __attribute__((warn_unused_result));

void evaluation_due_rules_free(struct evaluation_due_rule **rules, size_t n);

/* An active member site (adopted by the period's end) that should report an indicator. */
struct evaluation_due_site {
    int64_t site_id;
    bool reported;             /* it has a value for the period that starts on period_start */
    bool has_feed;             /* it has a series of the indicator at all */
    bool series_alerts_open;   /* a spc or threshold alert of its series is pending or firing */
    struct alert_stored alert; /* the due rule's alert on it, as stored (id 0: none) */
};

/* The member sites of the programme (under site_scope when not NULL) due to report
 * indicator_id for the period [period_start, period_end] (days since 1970), by site id, each
 * with the alert of late-feed rule rule_id on it; the caller frees *sites. */
bool evaluation_due_sites(PGconn *conn, int64_t programme_id, int64_t indicator_id, int64_t rule_id,
                          int32_t period_start, int32_t period_end, const int64_t *site_scope,
                          struct evaluation_due_site **sites, size_t *n)
    __attribute__((warn_unused_result));

/* A pending or firing alert of a (non-aggregate) spc or threshold rule on one series. */
struct evaluation_open_alert {
    struct evaluation_rule rule; /* document NULL: not read */
    char *subject;
};

/* The open spc and threshold alerts on the series of indicator_id at site_id. */
bool evaluation_open_alerts(PGconn *conn, int64_t programme_id, int64_t indicator_id,
                            int64_t site_id, struct evaluation_open_alert **alerts, size_t *n)
    __attribute__((warn_unused_result));

void evaluation_open_alerts_free(struct evaluation_open_alert **alerts, size_t n);

/* An enabled trajectory rule and the scale-up dimension it watches. */
struct evaluation_trajectory_rule {
    struct evaluation_rule rule;
    int64_t programme_id;
    char *dimension;
};

/* Every such rule, ordered by programme, then rule. */
bool evaluation_trajectory_rules(PGconn *conn, struct evaluation_trajectory_rule **rules, size_t *n)
    __attribute__((warn_unused_result));

void evaluation_trajectory_rules_free(struct evaluation_trajectory_rule **rules, size_t n);

#endif
