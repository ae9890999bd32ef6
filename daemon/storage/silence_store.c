/* Silences (silence_store.h): inserting a checked silence for a programme slug (or all),
 * listing them a page at a time (current or past), expiring one, and loading those in force
 * to tell which alerts they mute. */
#include "scaleupd/storage/silence_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/log.h"
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

bool alerts_silences_active(PGconn *conn, double now, int64_t programme_id, struct silence_set *set)
{
    char t[32], pid[24];
    snprintf(t, sizeof(t), "%.6f", now);
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {t, programme_id > 0 ? pid : NULL};
    *set = (struct silence_set){0};
    PGresult *res = db_run(conn, NULL,
                           "SELECT s.id, p.slug, s.matchers::text FROM silence s LEFT JOIN"
                           " programme p ON p.id = s.programme_id WHERE " SILENCE_END
                           " > to_timestamp($1) AND s.starts_at <= to_timestamp($1) AND"
                           " ($2::int8 IS NULL OR s.programme_id IS NULL OR s.programme_id = $2)"
                           " ORDER BY s.id",
                           2, params, PGRES_TUPLES_OK, NULL, "read the silences in force");
    if (res == NULL)
        return false;
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *stored = json_loads(db_text(res, i, 2), 0, NULL);
        char why[160] = "";
        long long id = (long long)db_int64(res, i, 0);
        const char *slug = db_is_null(res, i, 1) ? NULL : db_text(res, i, 1);
        if (!silence_set_add(set, id, slug, stored, why, sizeof(why)))
            log_warning("silence %lld is left out: its matchers do not compile: %s", id, why);
        json_decref(stored);
    }
    PQclear(res);
    return true;
}

/* The regions (SILENCE_REGIONS_SQL) of the alerts with the ids of alerts, as an object from
 * the id (as text) to the list; NULL on a database error. */
static json_t *alert_regions(PGconn *conn, const json_t *alerts)
{
    json_t *ids = json_array();
    size_t i;
    const json_t *a;
    json_array_foreach(alerts, i, a) json_array_append(ids, json_object_get(a, "id"));
    char *ids_text = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    const char *params[] = {ids_text};
    PGresult *res = db_run(conn, NULL,
                           "SELECT a.id::text, " SILENCE_REGIONS_SQL " FROM alert a WHERE a.id IN"
                           " (SELECT value::int8 FROM json_array_elements_text($1::json))",
                           1, params, PGRES_TUPLES_OK, NULL, "read the regions of alerts");
    free(ids_text);
    if (res == NULL)
        return NULL;
    json_t *regions = json_object();
    for (int r = 0; r < PQntuples(res); r++)
        json_object_set_new(regions, db_text(res, r, 0),
                            json_string(db_is_null(res, r, 1) ? "" : db_text(res, r, 1)));
    PQclear(res);
    return regions;
}

bool alerts_silenced_by(PGconn *conn, double now, json_t *alerts)
{
    if (json_array_size(alerts) == 0)
        return true;
    struct silence_set set;
    if (!alerts_silences_active(conn, now, 0, &set))
        return false;
    json_t *regions = set.n > 0 ? alert_regions(conn, alerts) : json_object();
    if (regions == NULL) {
        silence_set_free(&set);
        return false;
    }
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(a, "id")));
        struct silence_alert labels = {
            .labels = {.programme = json_string_value(json_object_get(a, "programme")),
                       .indicator = json_string_value(json_object_get(a, "indicator")),
                       .site = json_string_value(json_object_get(a, "site")),
                       .rule = json_string_value(json_object_get(a, "rule")),
                       .kind = json_string_value(json_object_get(a, "kind"))}};
        silence_alert_regions(&labels, json_string_value(json_object_get(regions, id)));
        json_object_set_new(a, "silenced_by", silence_set_muting(&set, &labels.labels));
        silence_alert_clear(&labels);
    }
    json_decref(regions);
    silence_set_free(&set);
    return true;
}

bool silence_set_mutes_row(const struct silence_set *set, const PGresult *res, int row,
                           const struct silence_columns *cols)
{
    if (set->n == 0)
        return false;
    struct silence_alert a = {.labels = {.programme = db_text(res, row, cols->programme),
                                         .indicator = db_text(res, row, cols->indicator),
                                         .site = db_text(res, row, cols->site),
                                         .rule = db_text(res, row, cols->rule),
                                         .kind = db_text(res, row, cols->kind)}};
    silence_alert_regions(
        &a, db_is_null(res, row, cols->regions) ? NULL : db_text(res, row, cols->regions));
    bool muted = silence_set_mutes(set, &a.labels);
    silence_alert_clear(&a);
    return muted;
}
