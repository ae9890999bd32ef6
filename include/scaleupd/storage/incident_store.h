/* Storage of incidents (sql/017_incidents.sql, docs/ARCHITECTURE.md "Incidents"): an alert
 * that starts firing joins the open incident of its key (core/incident.h), an incident
 * resolves when none of its members is open, and the API's reads of incidents with their
 * members, who is silenced and who acknowledged. Times come from the caller. */
#ifndef SCALEUPD_STORAGE_INCIDENT_STORE_H
#define SCALEUPD_STORAGE_INCIDENT_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/storage/alerts_result.h"
#include "scaleupd/storage/page_rows.h"

/* Inside the caller's transaction: makes alert alert_id (stored, firing) a member of the open
 * incident of its key, opening one at now when none is open. Two sessions opening one key
 * meet on the unique index of open keys: the second waits and joins. False on a database
 * error. */
bool incidents_attach(PGconn *conn, int64_t programme_id, int64_t alert_id, double now)
    __attribute__((warn_unused_result));

/* Inside the caller's transaction, after a member of incident_id stopped being open:
 * resolves the incident at now when none of its members is open (pending, firing or
 * no_data). The incident's row is locked first, so a member joining at the same time is
 * either seen (the incident stays open) or joins a new incident. False on a database error. */
bool incidents_release(PGconn *conn, int64_t incident_id, double now)
    __attribute__((warn_unused_result));

/* What GET /api/v1/incidents filters on, each NULL (0) for any: a programme slug, "open" or
 * "resolved", a kind ("late_feed", "signal", "alert"), a programme id (a feed token's list). */
struct incidents_filter {
    const char *programme;
    const char *state;
    const char *kind;
    int64_t programme_id;
};

/* One page of incidents, newest first (id DESC): at most request->limit after the cursor's
 * (one field: an id), each with its members and which of them are silenced at now.
 * PAGE_ROWS_BAD_CURSOR for a cursor of another list; on PAGE_ROWS_OK the caller frees the
 * page (page_rows_free). */
enum page_rows_status incidents_list_page(PGconn *conn, const struct incidents_filter *filter,
                                          double now, const struct page_request *request,
                                          struct page_rows *page)
    __attribute__((warn_unused_result));

/* Incident id as the list shows it, into *incident (owned by the caller): ALERTS_OK,
 * ALERTS_NOT_FOUND or ALERTS_DB_ERROR. */
enum alerts_result incidents_get(PGconn *conn, int64_t id, double now, json_t **incident)
    __attribute__((warn_unused_result));

/* The ids of incident id's open members not acknowledged yet (ascending: acknowledging the
 * incident keeps who acknowledged a member before, and why) into *ids (owned by the caller,
 * free()) and *n: ALERTS_OK, ALERTS_NOT_FOUND (no such incident), ALERTS_CONFLICT (no member
 * is open: the incident is resolved; *n is 0) or ALERTS_DB_ERROR. */
enum alerts_result incidents_open_members(PGconn *conn, int64_t id, int64_t **ids, size_t *n)
    __attribute__((warn_unused_result));

#endif
