/* Silences (silence_store.h): inserting a checked silence for a programme slug (or all),
 * listing those not ended and expiring one. */
#include "scaleupd/storage/silence_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/problems.h"
#include "scaleupd/storage/db.h"

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

json_t *alerts_silence_list(PGconn *conn, double now)
{
    char t[32];
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {t};
    PGresult *res =
        db_run(conn, NULL,
               "SELECT coalesce(json_agg(json_build_object('id', s.id, 'programme', p.slug,"
               " 'matchers', s.matchers, 'starts_at', s.starts_at, 'ends_at', s.ends_at,"
               " 'author', s.author, 'reason', s.reason) ORDER BY s.id), '[]')"
               " FROM silence s LEFT JOIN programme p ON p.id = s.programme_id"
               " WHERE s.ends_at > to_timestamp($1) AND (s.expired_at IS NULL OR"
               " s.expired_at > to_timestamp($1))",
               1, params, PGRES_TUPLES_OK, NULL, "list silences");
    json_t *list = res ? json_loads(db_text(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    return list;
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
