/* Storage of silences: Alertmanager-style matchers (core/silence_match.h) over a time
 * window, for one programme or all, that keep alerts from being told; and the reads that
 * match alerts against the silences in force (matching is done in the core, with regcomp, on
 * the labels these reads give). The silence document is checked by core/silence_doc.h before
 * it comes here; only the programme slug needs the database. */
#ifndef SCALEUPD_STORAGE_SILENCE_STORE_H
#define SCALEUPD_STORAGE_SILENCE_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/silence_doc.h"
#include "scaleupd/core/silence_match.h"
#include "scaleupd/storage/alerts_result.h"
#include "scaleupd/storage/page_rows.h"

/* Stores a checked silence: ALERTS_CREATED with *id set, ALERTS_INVALID with *problems
 * (owned by the caller) when its programme is unknown, or ALERTS_DB_ERROR. */
enum alerts_result alerts_silence_create(PGconn *conn, const struct silence_doc *silence,
                                         int64_t *id, json_t **problems)
    __attribute__((warn_unused_result));

/* One page of the silences that have not ended by now (ended false) or have (ended true: ran
 * out or were expired), in the order (end DESC, id DESC), a silence's end being the earlier
 * of ends_at and expired_at: at most request->limit after the cursor's (two fields: the end
 * in microseconds since 1970 and the id), with page->next the cursor of the last one when more
 * follow. PAGE_ROWS_BAD_CURSOR when the cursor is not one of this list; on PAGE_ROWS_OK the
 * caller frees the page (page_rows_free). */
enum page_rows_status alerts_silence_list_page(PGconn *conn, double now, bool ended,
                                               const struct page_request *request,
                                               struct page_rows *page)
    __attribute__((warn_unused_result));

/* Ends a silence now: ALERTS_OK, ALERTS_NOT_FOUND (no such silence, or it has ended) or
 * ALERTS_DB_ERROR. */
enum alerts_result alerts_silence_expire(PGconn *conn, int64_t id, double now)
    __attribute__((warn_unused_result));

/* The silences in force at now (started, neither run out nor expired) for programme_id (0:
 * every programme's), compiled: true with *set filled (free with silence_set_free), false on
 * a database error. A stored silence whose matchers do not compile (a row written by hand)
 * is left out with a warning. */
bool alerts_silences_active(PGconn *conn, double now, int64_t programme_id, struct silence_set *set)
    __attribute__((warn_unused_result));

/* Adds "silenced_by": [silence ids] to each alert object of alerts (a JSON array of the
 * objects alert_store.h lists: "id", "programme", "indicator", "site", "rule", "kind"), the
 * silences in force at now that mute it; two statements whatever the number of alerts.
 * False on a database error (alerts then unchanged or partly annotated). */
bool alerts_silenced_by(PGconn *conn, double now, json_t *alerts)
    __attribute__((warn_unused_result));

/* The columns of a result row that hold an alert's labels: programme slug, indicator code,
 * site code, rule name, rule kind and SILENCE_REGIONS_SQL. */
struct silence_columns {
    int programme, indicator, site, rule, kind, regions;
};

/* Whether a silence of set mutes the alert of row of res, its labels read from cols. */
bool silence_set_mutes_row(const struct silence_set *set, const PGresult *res, int row,
                           const struct silence_columns *cols);

/* SQL expression (on alias a = alert): the JSON list, as text, of the codes of the alert's
 * site and of each of its ancestors (site_tree, nearest first); NULL without a site. What
 * silence_alert_regions (core/silence_match.h) reads as the region label. */
#define SILENCE_REGIONS_SQL                                                                        \
    "(SELECT json_agg(x.code ORDER BY x.depth)::text FROM (SELECT rs.code, 0 AS depth"             \
    " FROM site rs WHERE rs.programme_id = a.programme_id AND rs.id = a.site_id UNION ALL"         \
    " SELECT ra.code, rt.depth FROM site_tree rt JOIN site ra ON ra.programme_id ="                \
    " rt.programme_id AND ra.id = rt.ancestor_id WHERE rt.programme_id = a.programme_id"           \
    " AND rt.site_id = a.site_id) x)"

#endif
