/* The evaluator service: spc and threshold rules on the series that ingest changed, and
 * late-feed and completeness rules on a timer against due dates. Safe with several daemons
 * on one database: dirty series are claimed with SKIP LOCKED, the timer pass takes an
 * advisory lock. */
#ifndef SCALEUPD_EVALUATOR_H
#define SCALEUPD_EVALUATOR_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* Whether the evaluator should stop after its current claim and let other work run (requests
 * waiting for a worker); arg is the caller's. */
typedef bool (*evaluator_yield_fn)(void *arg);

/* Evaluates every claimed dirty series (in batches, each its own transaction) at time now,
 * with the set-aside evaluations whose retry is due. A series (its own rules) or a region's
 * aggregate (its aggregate rules) whose evaluation fails for a reason of its own is rolled
 * back alone and set aside with the reason (logged the first time, counted in
 * scaleupd_evaluation_failures_total and the scaleupd_evaluation_set_aside gauge, retried
 * after a backoff of 1 minute doubling to 1 hour, or when it is marked again); the rest of
 * the batch commits. Returns the number of dirty marks consumed, -1 on a database error (a
 * lost connection, a deadlock: the batch's marks come back); *due_touched says whether a
 * series may change an open late-feed or completeness alert. With yield (may be NULL),
 * stops early when it says so, sets *more, and returns what it did so far. */
long evaluator_run_dirty(PGconn *conn, double now, bool *due_touched, evaluator_yield_fn yield,
                         void *yield_arg, bool *more);

/* How many series of a claim are evaluated together (EVALUATOR_SLICE, 16,384; 0 restores it):
 * a claim of a national load names 160,000, and the statements' arrays grow with a slice.
 * For tests, which cross slices with a few series. */
void evaluator_set_slice(size_t series);

/* Declares the evaluator's metrics (idempotent; the evaluator also does it on its first
 * run): scaleupd_evaluation_set_aside, scaleupd_evaluation_failures_total{kind}. */
void evaluator_describe_metrics(void);

/* Sets how long dirty series wait at most for waiting requests (seconds; negative: the
 * default, EVALUATOR_MAX_WAIT). For tests. */
void evaluator_set_max_wait(double seconds);

/* Creates missing default rules and evaluates late-feed and completeness rules at now, in
 * one transaction, unless another daemon is doing it. False on a database error. */
bool evaluator_run_timer(PGconn *conn, double now) __attribute__((warn_unused_result));

/* What one due-date sweep did. */
struct evaluator_sweep {
    long subjects;    /* aggregate subjects (indicator x region) with a month after their states */
    long due;         /* of them, evaluated: their first such month's due date had passed */
    long points_read; /* rollup points the evaluations read (those after each state's last) */
};

/*
 * The due-date sweep of one programme's aggregate rules: a region's month that waited,
 * partial, before its due date (core/rules.h, rule_aggregate_gate) is judged once that date
 * has passed, on the sites that sent it when they cover the rule's min_coverage, else skipped
 * as missing, even when no new data come for the region: each subject whose first month after
 * what its detector states decided is past a rule's due date on now (unix seconds) is
 * evaluated as a claim evaluates it, going on from the stored states (no history read; under
 * a savepoint, set aside when it fails for a reason of its own). A month judged or skipped is
 * recorded (sql/030) and not looked at again; one judged complete before its due date was
 * judged when its data came and is not looked at. Runs in the caller's transaction and
 * commits nothing; *out (may be NULL) says what it did. False on a database error.
 */
bool evaluator_sweep_aggregates(PGconn *conn, int64_t programme_id, double now,
                                struct evaluator_sweep *out) __attribute__((warn_unused_result));

/* The background task's body, at clock_now(): the dirty series, then the timer pass when
 * interval seconds have passed since the last one (or the dirty series may close one of its
 * alerts); failures are logged. Ingest comes first: while yield says other work is on the
 * pool, the dirty series wait (marks pile up, and once the pool is quiet, claims of up to 16
 * marks evaluate a series once however many batches touched it), but never longer than
 * EVALUATOR_MAX_WAIT seconds between claims: then a claim of 4 marks goes ahead. Under
 * ingest that never pauses and adds more than about 0.8 marks a second, the backlog grows
 * until it does. Returns true when dirty series are left for a run soon. */
bool evaluator_run(PGconn *conn, int interval, evaluator_yield_fn yield, void *yield_arg);

#endif
