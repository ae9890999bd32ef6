/*
 * Scale-up progress as the API answers it: keeps one snapshot per programme (and per region)
 * per complete month, recomputed from the period that late data changed (the progress_dirty
 * marks that triggers set, see sql/002) — progress_snapshots.c, with the month evaluation in
 * core/progress_month.c and the SQL in storage/progress_inputs.c and snapshot_store.c — and
 * answers the progress reads from those snapshots (progress_service.c).
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
    PROGRESS_SERVICE_DB_ERROR,
};

/*
 * Brings one programme's snapshots up to date in a transaction of its own: recomputes every
 * month from the programme's dirty mark on, adds the months completed since the last run
 * (up to the latest complete month at today in the programme's time zone, by clock_now()),
 * then clears the mark unless it changed meanwhile. Sessions refreshing one programme are
 * serialised by an advisory lock: with wait false, BUSY when another holds it.
 * *computed (may be NULL) receives the number of months recomputed.
 */
enum progress_service_result progress_service_refresh(PGconn *conn, int64_t programme_id, bool wait,
                                                      int *computed, const char *request_id)
    __attribute__((warn_unused_result));

/* Refreshes every programme that has a roadmap, skipping the ones another session is
 * refreshing. Returns the number of months recomputed, -1 on a database error. */
int progress_service_refresh_all(PGconn *conn);

/* Today in the programme's time zone by clock_now(), as days since 1970-01-01; false on a
 * database error or an unknown programme. */
bool progress_service_today(PGconn *conn, int64_t programme_id, int32_t *today)
    __attribute__((warn_unused_result));

/*
 * The progress document of the API at date `at` (days since 1970-01-01): per dimension
 * actual, planned, progress, gap, status and forecast against the roadmap version in force
 * at `at`, from the snapshots (call progress_service_refresh first); with by_region, a
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
 * GET …/progress: brings the snapshots up to date (waiting for a refresh under way), then
 * answers progress_service_get at *at, or at today when at is NULL. NO_ROADMAP when the
 * programme has none; never BUSY. On OK *out is a new object the caller owns.
 */
enum progress_service_result progress_service_read(PGconn *conn, int64_t programme_id,
                                                   const int32_t *at, bool by_region, json_t **out,
                                                   const char *request_id)
    __attribute__((warn_unused_result));

/* GET …/progress/history: the snapshots brought up to date, then progress_service_history. */
enum progress_service_result progress_service_read_history(PGconn *conn, int64_t programme_id,
                                                           bool by_region, json_t **out,
                                                           const char *request_id)
    __attribute__((warn_unused_result));

#endif /* SCALEUPD_SERVICES_PROGRESS_SERVICE_H */
