/* Alert rules (docs/ARCHITECTURE.md, core): the JSON document of a rule validated with JSON
 * paths, and the evaluation of each kind on data the caller hands in. Pure: no I/O. */
#ifndef SCALEUPD_RULES_H
#define SCALEUPD_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/detector.h"
#include "scaleupd/core/period.h"
#include "scaleupd/core/spc.h"

#define RULE_NAME_MAX 63
#define RULE_MAX_REBASE 8
#define RULE_MAX_RECEIVERS 8

enum rule_kind { RULE_THRESHOLD, RULE_SPC, RULE_TRAJECTORY, RULE_LATE_FEED, RULE_COMPLETENESS };

/* How an spc rule alerts ("method"): the alerting detector under the programme's false-alert
   budget (core/detector.h; the default), or Making Data Count's special cause of concern of the
   latest point ("mdc", what the chart shows). */
enum rule_method { RULE_METHOD_DETECTOR, RULE_METHOD_MDC };

/* A parsed rule. Scope codes are "" when the rule applies to every indicator or site. */
struct rule {
    char name[RULE_NAME_MAX + 1];
    enum rule_kind kind;
    char indicator[64]; /* indicator code */
    char site[64];      /* site or region code: the rule covers the site and its descendants */
    char dimension[32]; /* trajectory: coverage, expansion or institutionalisation */
    int for_count;      /* consecutive evaluations that must hold before firing (>= 1) */
    int resolve_count;  /* consecutive evaluations that must not hold before resolving */
    bool aggregate;     /* threshold, spc: watch the aggregate of the scope site's descendants
                           (of each top-level site without a site), not each site */
    char receivers[RULE_MAX_RECEIVERS][64];
    size_t n_receivers; /* 0: every receiver of the programme */
    /* threshold */
    bool has_min, has_max;
    double min, max;
    /* spc */
    enum rule_method method;         /* "method": "detector" (default) or "mdc" */
    unsigned signals;                /* enum spc_signal bits that alert (default all four) */
    size_t baseline;                 /* fix the limits after this many points; 0 = all points */
    bool alert_improvement;          /* alert on any special cause, not only concern */
    int32_t rebase[RULE_MAX_REBASE]; /* re-baseline dates, days since 1970-01-01 */
    size_t n_rebase;
    /* late_feed and completeness: a period is due due_days after the next period starts
       (14: monthly data due by the 15th of the next month), late grace_days after that */
    int due_days, grace_days;
    double min_ratio;    /* completeness: share of active sites that must have reported */
    double min_coverage; /* aggregate: share of the sites owing a period that a period past its
                            due date must cover to be judged (rule_aggregate_gate; 1) */
    bool at_risk_only;   /* trajectory: alert only at_risk, not behind */
};

/*
 * Parses a rule document into *out. Returns an array of problems, each {"path":"$.min",
 * "code":…,"message":…}, empty when the rule is valid (the caller owns the array; *out is
 * meaningful only when it is empty). Unknown members are problems too, so a typo is not
 * silently ignored. Pure: indicator and site codes are not checked against a programme.
 */
json_t *rule_parse(const json_t *doc, struct rule *out);

/* "threshold", "spc", "trajectory", "late_feed", "completeness"; "unknown" if out of range. */
const char *rule_kind_name(enum rule_kind kind);

/* What an evaluation found for one subject. */
struct rule_eval {
    bool holds; /* the rule's condition is true: drift */
    bool has_limits;
    double value, centre, lower_limit, upper_limit;
    char summary[96]; /* "below lower limit", "shift below the mean", "above maximum 90" */
};

/* Threshold on the latest value. */
void rule_eval_threshold(const struct rule *rule, double value, struct rule_eval *out);

/*
 * SPC on the reported values (oldest first) with the indicator's direction and target; days
 * are their period starts, for re-baseline dates. Holds when the latest point is a special
 * cause of concern (of any kind with alert_improvement) through one of the rule's signals.
 * Returns false when the chart cannot be computed (non-finite values, no memory).
 */
bool rule_eval_spc(const struct rule *rule, const double *values, const int32_t *days, size_t n,
                   enum spc_direction direction, struct rule_eval *out)
    __attribute__((warn_unused_result));

/*
 * The detector's parameters for an spc rule on a series of the given direction under a budget
 * of false alerts per series-year (DETECTOR_DEFAULT_BUDGET when not a positive finite number):
 * the sides watched (alert_on), the fixed baseline (baseline) and the re-baseline dates. When
 * the direction is none and improvement does not alert, both sides are watched (there is no
 * side of concern).
 */
void rule_detector_params(const struct rule *rule, enum spc_direction direction,
                          double per_series_year, struct detector_params *out);

/*
 * The evaluation of a detector spc rule at one new point (value for the period starting on
 * day): feeds it to *state (detector_update) and fills *out from the result (value, the
 * baseline's centre and limits once judged, a summary). The per-point path of the evaluator
 * and of bench/signals.sh. Returns the detector's status (OK, SKIPPED for a non-finite value,
 * NEEDS_REBUILD for a day not after the last point's, ERR_ARGUMENT); *out holds only on OK.
 */
enum detector_status rule_eval_detector(const struct detector_params *params,
                                        struct detector_state *state, double value, int32_t day,
                                        struct rule_eval *out) __attribute__((warn_unused_result));

/* "detector", "mdc"; "unknown" if out of range. */
const char *rule_method_name(enum rule_method method);

/* The last day on which data for period p is still on time under the rule's due_days and
 * grace_days. */
int32_t rule_deadline(const struct rule *rule, struct period p);

/* The latest period of the type whose deadline lies before today (days since 1970-01-01 in
 * the programme's time zone): the period whose data must be there by now. */
struct period rule_latest_due_period(const struct rule *rule, enum period_type type, int32_t today);

/* What an aggregate rule does with the rollup point of one period (docs/ARCHITECTURE.md, "The
 * path of an evaluation"): a missing report is never judged as if it were a value. */
enum rule_gate {
    RULE_GATE_JUDGE, /* complete (it covers every member site owing the period), or past its
                        due date and covering at least min_coverage of them: fed, may alert */
    RULE_GATE_SKIP,  /* past its due date below min_coverage: missing, never fed */
    RULE_GATE_WAIT,  /* neither complete nor due: not judged yet, nor any later period */
};

/* The gate of an aggregate rule at the point of period p that covers `sites` of the `owed`
 * member sites that owe it, on `today` (days since 1970-01-01 in the programme's time zone;
 * INT32_MIN: not known, nothing is due). Due: rule_deadline(rule, p) is before today (the due
 * date of a late-feed rule with the same due_days and grace_days; by default the 15th of the
 * next month for monthly data, as the feeds status's default grace of 15 days). */
enum rule_gate rule_aggregate_gate(const struct rule *rule, struct period p, long sites, long owed,
                                   int32_t today);

/* The points of an aggregate (n of them, oldest first: period starts days[i] of periods of
 * `type`, each covering sites[i] of owed[i]) that an aggregate rule judges on `today`: the
 * indices of those whose gate is RULE_GATE_JUDGE, up to the first that waits, into kept[]
 * (room for n). Returns their number. The evaluator's and bench/signals.sh's filter, and what
 * a rebuild of an aggregate rule's detector state is fed. */
size_t rule_aggregate_judged(const struct rule *rule, enum period_type type, int32_t today,
                             const int32_t *days, const long *sites, const long *owed, size_t n,
                             size_t *kept);

/* Completeness: holds when reported / active < min_ratio (never with no active site). */
void rule_eval_completeness(const struct rule *rule, long reported, long active,
                            struct rule_eval *out);

/* Trajectory: holds for "at_risk", and for "behind" unless at_risk_only. */
void rule_eval_trajectory(const struct rule *rule, const char *status, struct rule_eval *out);

#endif
