/* Storage of silences: matchers (indicator, site, rule codes) over a time window, for one
 * programme or all, that keep alerts from being told. The silence document is checked by
 * core/silence_doc.h before it comes here; only the programme slug needs the database. */
#ifndef SCALEUPD_STORAGE_SILENCE_STORE_H
#define SCALEUPD_STORAGE_SILENCE_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/silence_doc.h"
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

/* SQL condition (on alias a = alert, with $N the time) that an alert is silenced; used by
 * the outbox. */
#define ALERTS_SILENCED_SQL(now_param)                                                             \
    "EXISTS (SELECT 1 FROM silence s JOIN alert_rule sr ON sr.programme_id = a.programme_id"       \
    " AND sr.id = a.rule_id LEFT JOIN indicator si ON si.programme_id = a.programme_id"            \
    " AND si.id = a.indicator_id LEFT JOIN site ss ON ss.programme_id = a.programme_id"            \
    " AND ss.id = a.site_id WHERE (s.programme_id IS NULL OR s.programme_id = a.programme_id)"     \
    " AND s.starts_at <= to_timestamp(" now_param ") AND s.ends_at > to_timestamp(" now_param      \
    ") AND (s.expired_at IS NULL OR s.expired_at > to_timestamp(" now_param "))"                   \
    " AND (s.matchers->>'rule' IS NULL OR s.matchers->>'rule' = sr.name)"                          \
    " AND (s.matchers->>'indicator' IS NULL OR s.matchers->>'indicator' = si.code)"                \
    " AND (s.matchers->>'site' IS NULL OR s.matchers->>'site' = ss.code))"

#endif
