/* Storage of alerts: one row per (rule, subject) with its state, streak and last values,
 * its append-only history, and the outbox events (alert_event) written in the same
 * statement when receivers must be told. Also the self alerts of receivers whose
 * notifications are dead-lettered. Times come from the caller (clock_now()), never now(). */
#ifndef SCALEUPD_STORAGE_ALERT_STORE_H
#define SCALEUPD_STORAGE_ALERT_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/alert_state.h"
#include "scaleupd/core/rules.h"
#include "scaleupd/storage/alerts_result.h"
#include "scaleupd/storage/page_rows.h"

/* What an evaluation found for one alert subject. */
struct alert_update {
    int64_t programme_id;
    int64_t rule_id;
    const char *subject;           /* "i12:s34" */
    int64_t indicator_id, site_id; /* 0: none */
    int for_count, resolve_count;
    enum alert_observation obs;
    const struct rule_eval *eval; /* NULL with ALERT_OBS_NO_DATA */
    int32_t period_start;         /* day of the value's period; -1 when none */
    bool has_due;                 /* a late feed's due date is due_day */
    int32_t due_day;
    double now;
};

/* An alert as stored, for deciding without a write whether an evaluation changes it. */
struct alert_stored {
    int64_t id; /* 0: none stored (status then inactive) */
    struct alert_status status;
    int32_t period_start; /* -1: none */
    int64_t incident_id;  /* its open incident; 0: none (a resolved one is history) */
    char summary[sizeof(((struct rule_eval *)0)->summary)];
    double values[4]; /* value, centre, lower and upper limit; has[i]: not NULL */
    bool has[4];
    int32_t due_day; /* -1: none */
};

/* The columns of an alert row (alias a, possibly NULL from an outer join) that
 * alerts_stored_parse reads, in its order. */
#define ALERT_STORED_COLUMNS                                                                       \
    "a.id, a.state, a.streak, a.fired, coalesce(a.period_start - date '1970-01-01', -1), (SELECT"  \
    " n.id FROM incident n WHERE n.id = a.incident_id AND n.resolved_at IS NULL), a.summary,"      \
    " a.value, a.centre, a.lower_limit, a.upper_limit, coalesce(a.due_date - date '1970-01-01',"   \
    " -1)"
#define ALERT_STORED_NCOLUMNS 12

/* Reads the ALERT_STORED_COLUMNS of row from column col on; false on a state it does not
 * know. A NULL id reads as no alert. */
bool alerts_stored_parse(const PGresult *res, int row, int col, struct alert_stored *stored);

/* Whether applying u to the stored alert would write nothing new: the same state, streak,
 * period, summary, values and due date, with its incident joined, or a quiet subject that
 * stays quiet. Then alerts_apply can be skipped (a timer pass over 140,000 late practices
 * that are still late). */
bool alerts_rewrites_nothing(const struct alert_update *u, const struct alert_stored *stored);

/* Applies one evaluation inside the caller's transaction: steps the state machine, stores
 * the alert, appends to alert_history when the state changes, and writes one alert_event
 * per receiver of the rule when receivers must be told (the transactional outbox). An alert
 * that starts firing joins its incident, one that stops being open may resolve it
 * (storage/incident_store.h). */
bool alerts_apply(PGconn *conn, const struct alert_update *u) __attribute__((warn_unused_result));

/* Inside the caller's transaction: a notification to receiver was dead-lettered, so the
 * receiver's self alert fires (unless the self rule is deleted), told to the programme's
 * other receivers; or a notification to it was delivered, so a firing self alert resolves.
 * False on a database error. */
bool alerts_delivery_failed(PGconn *conn, int64_t programme_id, const char *receiver, double now)
    __attribute__((warn_unused_result));
bool alerts_delivery_recovered(PGconn *conn, int64_t programme_id, const char *receiver, double now)
    __attribute__((warn_unused_result));

/* What GET /api/v1/alerts filters on: a programme slug, a state name, indicator and site
 * codes; each NULL for any. now is the moment whose silences each alert's "silenced_by"
 * names (0: none are in force). */
struct alerts_filter {
    const char *programme;
    const char *state;
    const char *indicator;
    const char *site;
    double now;
    int64_t programme_id; /* 0 for any; else only this programme's (a feed token's list) */
};

/* One page of the alerts that are not inactive and match filter, newest first (id DESC):
 * at most request->limit alerts after the cursor's (one field: an id), as page->items (each
 * {id, programme, rule, kind, indicator, site, state, value, centre, lower_limit,
 * upper_limit, period, summary, active_since, updated_at, acked_at, acked_by, ack_comment,
 * ack_token, silenced_by: [silence ids in force at filter->now that mute it]}), with
 * page->next the cursor of the last one when more follow. PAGE_ROWS_BAD_CURSOR when the
 * cursor is not one of this list; on PAGE_ROWS_OK the caller frees the page
 * (page_rows_free). */
enum page_rows_status alerts_list_page(PGconn *conn, const struct alerts_filter *filter,
                                       const struct page_request *request, struct page_rows *page)
    __attribute__((warn_unused_result));

/* One alert (any state) as alerts_list_page gives it, with silenced_by as of now: ALERTS_OK
 * with *alert set (owned by the caller), ALERTS_NOT_FOUND or ALERTS_DB_ERROR. */
enum alerts_result alerts_get(PGconn *conn, int64_t alert_id, double now, json_t **alert)
    __attribute__((warn_unused_result));

#endif
