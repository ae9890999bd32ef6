/*
 * Scale-up progress as the API answers it: keeps one snapshot per programme (and per region)
 * per complete month, brought up to date in the background as data changes (the
 * progress_dirty marks that triggers set, sql/002 and sql/014): progress_snapshots.c, with
 * the months to recompute planned by core/progress_plan.c, the month evaluation in
 * core/progress_month.c and the SQL in storage/progress_inputs.c and snapshot_store.c; and
 * answers the progress reads from the stored snapshots at once (progress_service.c).
 */
#ifndef SCALEUPD_SERVICES_PROGRESS_SERVICE_H
#define SCALEUPD_SERVICES_PROGRESS_SERVICE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* How many of the latest periods with a value the forecast fits its line to. */
#define PROGRESS_SERVICE_FORECAST_WINDOW 6

enum progress_service_result {
    PROGRESS_SERVICE_OK,
    PROGRESS_SERVICE_NO_ROADMAP, /* the programme has no roadmap yet */
    PROGRESS_SERVICE_BUSY,       /* another session is refreshing (only when !wait) */
    PROGRESS_SERVICE_FUTURE,     /* a read at a date after the programme's today */
    PROGRESS_SERVICE_DB_ERROR,
};

/* Whether a refresh should stop after its current chunk of months and let other work run
 * (requests waiting for a worker); arg is the caller's. */
typedef bool (*progress_service_yield_fn)(void *arg);

/*
 * Brings one programme's snapshots up to date in a transaction of its own: recomputes the
 * months the programme's dirty marks affect (progress_plan_months: a revision of one month
 * recomputes that month and the few that read it), adds the months completed since the
 * last run and the ones with no snapshot (up to the latest complete month at today in the
 * programme's time zone, by clock_now()), clears the marks it saw, and records the data
 * time the snapshots now reflect. Claimed by the programme's advisory lock, taken before
 * the transaction's snapshot: with wait false, BUSY when another session holds it, so two
 * sessions (or daemons) never compute the same marks. *computed (may be NULL) receives the
 * number of months computed.
 */
enum progress_service_result progress_service_refresh(PGconn *conn, int64_t programme_id, bool wait,
                                                      int *computed, const char *request_id)
    __attribute__((warn_unused_result));

/* The background task's body: refreshes every programme that has a roadmap, skipping the
 * ones another session is refreshing. With yield (may be NULL), gives way between chunks
 * of months and between programmes once something was computed, leaving the rest marked
 * and *more (may be NULL) true. Returns the number of months computed, -1 on a database
 * error. */
int progress_service_refresh_all(PGconn *conn, progress_service_yield_fn yield, void *yield_arg,
                                 bool *more);

/* The months computed by refreshes of this process so far (also the counter
 * scaleupd_progress_months_computed_total; scaleupd_progress_refreshes_total counts the
 * refreshes that computed some): reads never add to it. */
long progress_service_months_computed(void);

/* Today in the programme's time zone by clock_now(), as days since 1970-01-01; false on a
 * database error or an unknown programme. */
bool progress_service_today(PGconn *conn, int64_t programme_id, int32_t *today)
    __attribute__((warn_unused_result));

/*
 * The progress document of the API at date `at` (days since 1970-01-01): per dimension
 * actual, planned, progress, gap, status and forecast against the roadmap version in force
 * at `at`, from the stored snapshots; with by_region, a
 * block per region and the region that lags most. On OK *out is a new object the caller
 * owns.
 */
enum progress_service_result progress_service_get(PGconn *conn, int64_t programme_id, int32_t at,
                                                  bool by_region, json_t **out)
    __attribute__((warn_unused_result));

/*
 * The history of the API: for each dimension, the snapshots in period order (actual against
 * planned, status, the roadmap version used) and the milestones of every version, ready to
 * chart; with by_region, the same per region for coverage and expansion.
 */
enum progress_service_result progress_service_history(PGconn *conn, int64_t programme_id,
                                                      bool by_region, json_t **out)
    __attribute__((warn_unused_result));

/*
 * GET …/progress: progress_service_get at *at, or at today when at is NULL, from the stored
 * snapshots as they are (never computing, never waiting for a refresh), with how fresh they
 * are: "as_of" (the data time of the last refresh, ISO 8601 UTC, null before the first),
 * "stale" and "pending_since" (null unless stale: since when a refresh is due). NO_ROADMAP
 * when the programme has none; never BUSY. On OK *out is a new object the caller owns.
 */
enum progress_service_result progress_service_read(PGconn *conn, int64_t programme_id,
                                                   const int32_t *at, bool by_region, json_t **out,
                                                   const char *request_id)
    __attribute__((warn_unused_result));

/* GET …/progress/history: progress_service_history with the same freshness as
 * progress_service_read. */
enum progress_service_result progress_service_read_history(PGconn *conn, int64_t programme_id,
                                                           bool by_region, json_t **out,
                                                           const char *request_id)
    __attribute__((warn_unused_result));

#endif /* SCALEUPD_SERVICES_PROGRESS_SERVICE_H */
