/* The revision history of a programme (revision_store.h): the indicator and site codes of a
 * request resolved, then one keyset page of observation_revision newest first, each row with
 * the codes and token names it concerns. */
#include "scaleupd/storage/revision_store.h"

#include <stdio.h>

#include "scaleupd/storage/db.h"
#include "scaleupd/storage/sql_numeric.h"

/* The indicator, site and series ids of the codes $2 and $3 (each may be NULL); a series only
 * when both codes are given. */
static const char resolve_sql[] =
    "SELECT i.id, s.id, (SELECT se.id FROM series se WHERE se.programme_id = $1"
    " AND se.indicator_id = i.id AND se.site_id = s.id)"
    " FROM (SELECT 1) one LEFT JOIN indicator i ON i.programme_id = $1 AND i.code = $2"
    " LEFT JOIN site s ON s.programme_id = $1 AND s.code = $3";

/* x is a float8 that is NaN or ±Infinity (stored by an older version) */
#define NOT_FINITE(x)                                                                              \
    "(" x " IS NOT NULL AND NOT " x " BETWEEN -" SQL_DBL_MAX " AND " SQL_DBL_MAX ")"
#define OUT_OF_RANGE_ITEM(x, name) "CASE WHEN " NOT_FINITE(x) " THEN '" name "' END"

/* $1 programme; $2 indicator id, $3 site id (a filter each, NULL: any), $4 series id (both
 * given: the one series; 0 when it does not exist); $5, $6 period bounds; $7, $8 the cursor
 * (replaced_at in microseconds, id); $9 limit + 1. The inner query is a range of
 * observation_revision_replaced (sql/016_list_pages.sql), or for one series its revisions
 * through observation_revision_key, sorted; the joins name only the page's rows. */
/* clang-format off */ /* it would fold the macros into the literals */
static const char page_sql[] =
    "SELECT json_strip_nulls(json_build_object('indicator', i.code, 'site', "
    "st.code, 'period', r.period_start, 'value', " SQL_FINITE("r.value") ", 'numerator', "
    SQL_FINITE("r.numerator") ", 'denominator', " SQL_FINITE("r.denominator")
    ", 'out_of_range', nullif(array_remove(ARRAY[" OUT_OF_RANGE_ITEM("r.value", "value") ", "
    OUT_OF_RANGE_ITEM("r.numerator", "numerator") ", "
    OUT_OF_RANGE_ITEM("r.denominator", "denominator")
    "], NULL), '{}'), 'comment', r.comment, 'received_at', r.received_at, "
    "'replaced_at', r.replaced_at, 'token', (SELECT t.name FROM token t WHERE t.id "
    "= r.token_id), 'replaced_by', (SELECT t.name FROM token t WHERE t.id = "
    "r.replaced_by)))::text, (extract(epoch FROM r.replaced_at) * "
    "1000000)::int8::text, r.id::text FROM (SELECT * FROM observation_revision r "
    "WHERE r.programme_id = $1  AND ($2::int8 IS NULL OR r.series_id IN (SELECT "
    "se.id FROM series se   WHERE se.programme_id = $1 AND se.indicator_id = "
    "$2::int8))  AND ($3::int8 IS NULL OR r.series_id IN (SELECT se.id FROM series "
    "se   WHERE se.programme_id = $1 AND se.site_id = $3::int8))  AND ($4::int8 IS "
    "NULL OR r.series_id = $4::int8)  AND ($5::date IS NULL OR r.period_start >= "
    "$5::date)  AND ($6::date IS NULL OR r.period_start <= $6::date)  AND "
    "($7::int8 IS NULL OR (r.replaced_at, r.id) < (to_timestamp($7::int8 / "
    "1000000)   + ($7::int8 % 1000000) * interval '1 microsecond', $8::int8))  "
    "ORDER BY r.replaced_at DESC, r.id DESC LIMIT $9::int) r JOIN series se ON "
    "se.programme_id = r.programme_id AND se.id = r.series_id JOIN indicator i ON "
    "i.programme_id = r.programme_id AND i.id = se.indicator_id JOIN site st ON "
    "st.programme_id = r.programme_id AND st.id = se.site_id ORDER BY "
    "r.replaced_at DESC, r.id DESC";
/* clang-format on */
/* The ids of the query's codes, as text in ids[0..3) (indicator, site, series: NULL for no
 * filter); REVISION_OK or why not. */
static enum revision_result resolve(PGconn *conn, const struct revision_query *query,
                                    const char *pid, char ids[3][24], const char *filter[3])
{
    if (query->indicator == NULL && query->site == NULL) {
        filter[0] = filter[1] = filter[2] = NULL;
        return REVISION_OK;
    }
    const char *params[] = {pid, query->indicator, query->site};
    PGresult *res = db_run(conn, NULL, resolve_sql, 3, params, PGRES_TUPLES_OK, NULL,
                           "resolve the codes of a revision list");
    if (res == NULL)
        return REVISION_DB_ERROR;
    enum revision_result r = REVISION_OK;
    if (query->indicator != NULL && db_is_null(res, 0, 0))
        r = REVISION_UNKNOWN_INDICATOR;
    else if (query->site != NULL && db_is_null(res, 0, 1))
        r = REVISION_UNKNOWN_SITE;
    for (int k = 0; k < 3; k++)
        snprintf(ids[k], sizeof(ids[k]), "%s", db_is_null(res, 0, k) ? "0" : db_text(res, 0, k));
    PQclear(res);
    bool one_series = query->indicator != NULL && query->site != NULL;
    filter[0] = one_series || query->indicator == NULL ? NULL : ids[0];
    filter[1] = one_series || query->site == NULL ? NULL : ids[1];
    filter[2] = one_series ? ids[2] : NULL;
    return r;
}

enum revision_result revision_list_page(PGconn *conn, const struct revision_query *query,
                                        const struct page_request *request, struct page_rows *page)
{
    if (request->has_after && !page_rows_cursor_valid(&request->after, "ti"))
        return REVISION_BAD_CURSOR;
    char pid[24], ids[3][24], fetch[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)query->programme_id);
    const char *filter[3];
    enum revision_result r = resolve(conn, query, pid, ids, filter);
    if (r != REVISION_OK)
        return r;
    bool has_after = request->has_after;
    const char *params[] = {pid,
                            filter[0],
                            filter[1],
                            filter[2],
                            query->from,
                            query->to,
                            has_after ? request->after.fields[0] : NULL,
                            has_after ? request->after.fields[1] : NULL,
                            page_rows_fetch_limit(request->limit, fetch, sizeof(fetch))};
    PGresult *res =
        db_run(conn, NULL, page_sql, 9, params, PGRES_TUPLES_OK, NULL, "list revisions");
    bool ok = res != NULL && page_rows_collect(res, request->limit, 2, page);
    PQclear(res);
    return ok ? REVISION_OK : REVISION_DB_ERROR;
}
