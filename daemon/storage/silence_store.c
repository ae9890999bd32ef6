/* Silences (silence_store.h): inserting a checked silence for a programme slug (or all),
 * listing them a page at a time (current or past) and expiring one. */
#include "scaleupd/storage/silence_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/problems.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/page_rows.h"

/* Inserts nothing when $1 names no programme, so that no row comes back. */
static const char insert_sql[] =
    "INSERT INTO silence (programme_id, matchers, starts_at, ends_at, author, reason)"
    " SELECT p.id, $2::jsonb, to_timestamp($3), to_timestamp($4), $5, $6 FROM (SELECT NULL) x"
    " LEFT JOIN programme p ON p.slug = $1 WHERE $1::text IS NULL OR p.id IS NOT NULL"
    " RETURNING id";

enum alerts_result alerts_silence_create(PGconn *conn, const struct silence_doc *silence,
                                         int64_t *id, json_t **problems)
{
    char starts[32], ends[32];
    snprintf(starts, sizeof(starts), "%.6f", silence->starts_at);
    snprintf(ends, sizeof(ends), "%.6f", silence->ends_at);
    char *matchers = json_dumps(silence->matchers, JSON_COMPACT);
    const char *params[] = {silence->programme, matchers,       starts, ends,
                            silence->author,    silence->reason};
    PGresult *res =
        db_run(conn, NULL, insert_sql, 6, params, PGRES_TUPLES_OK, NULL, "store a silence");
    free(matchers);
    if (res == NULL)
        return ALERTS_DB_ERROR;
    enum alerts_result result = ALERTS_CREATED;
    if (PQntuples(res) == 1) {
        *id = db_int64(res, 0, 0);
    } else {
        problems_add(problems, "$.programme", "unknown_programme", "no such programme");
        result = ALERTS_INVALID;
    }
    PQclear(res);
    return result;
}

/* A page of silences in the order (end DESC, id DESC), where a silence's end is when it ends
 * or was expired, whichever is first: least() skips a NULL expired_at. That expression, with
 * id, is the index silence_ended (sql/016_list_pages.sql), so either list is a range of it:
 * the current silences end after $1, the past ones at or before. $2/$3 the previous page's
 * last end (microseconds since 1970, exact as int8) and id, or NULL; $4 limit + 1. */
#define SILENCE_END "least(s.ends_at, s.expired_at)"
#define SILENCE_PAGE_SQL(ended)                                                                    \
    "SELECT json_build_object('id', s.id, 'programme', p.slug, 'matchers', s.matchers,"            \
    " 'starts_at', s.starts_at, 'ends_at', s.ends_at, 'expired_at', s.expired_at,"                 \
    " 'author', s.author, 'reason', s.reason)::text,"                                              \
    " (extract(epoch FROM " SILENCE_END ") * 1000000)::int8::text, s.id::text"                     \
    " FROM silence s LEFT JOIN programme p ON p.id = s.programme_id"                               \
    " WHERE " SILENCE_END " " ended " to_timestamp($1)"                                            \
    " AND ($2::int8 IS NULL OR (" SILENCE_END ", s.id) < (to_timestamp($2::int8 / 1000000)"        \
    " + ($2::int8 % 1000000) * interval '1 microsecond', $3::int8))"                               \
    " ORDER BY " SILENCE_END " DESC, s.id DESC LIMIT $4::int"

enum page_rows_status alerts_silence_list_page(PGconn *conn, double now, bool ended,
                                               const struct page_request *request,
                                               struct page_rows *page)
{
    bool has_after = request->has_after;
    if (has_after && !page_rows_cursor_valid(&request->after, "ti"))
        return PAGE_ROWS_BAD_CURSOR;
    char t[32], fetch[16];
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {t, has_after ? request->after.fields[0] : NULL,
                            has_after ? request->after.fields[1] : NULL,
                            page_rows_fetch_limit(request->limit, fetch, sizeof(fetch))};
    PGresult *res = db_run(conn, NULL, ended ? SILENCE_PAGE_SQL("<=") : SILENCE_PAGE_SQL(">"), 4,
                           params, PGRES_TUPLES_OK, NULL, "list silences");
    bool ok = res != NULL && page_rows_collect(res, request->limit, 2, page);
    PQclear(res);
    return ok ? PAGE_ROWS_OK : PAGE_ROWS_DB_ERROR;
}

enum alerts_result alerts_silence_expire(PGconn *conn, int64_t id, double now)
{
    char sid[24], t[32];
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {sid, t};
    PGresult *res = db_run(conn, NULL,
                           "UPDATE silence SET expired_at = to_timestamp($2) WHERE id = $1"
                           " AND (expired_at IS NULL OR expired_at > to_timestamp($2))",
                           2, params, PGRES_COMMAND_OK, NULL, "expire a silence");
    if (res == NULL)
        return ALERTS_DB_ERROR;
    long expired = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return expired == 0 ? ALERTS_NOT_FOUND : ALERTS_OK;
}
