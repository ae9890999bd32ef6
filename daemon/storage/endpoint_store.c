/* The receiver_endpoint table (endpoint_store.h): a programme's webhooks and Alertmanagers
 * rewritten with its receivers, their redacted view, a receiver's endpoints for a dispatch,
 * and the claimed schedule of Alertmanager re-posts. SQL only. */
#include "scaleupd/storage/endpoint_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/receiver_endpoints.h"
#include "scaleupd/storage/db.h"

/* clang-format off */
static const char put_sql[] =
    "WITH doc AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(receiver text, kind text,"
    " url text, position int, send_resolved boolean, max_alerts int, resend_interval int,"
    " auth_type text, auth_username text, auth_secret text)),"
    " del AS (DELETE FROM receiver_endpoint e WHERE e.programme_id = $1 AND NOT EXISTS"
    "  (SELECT 1 FROM doc WHERE doc.receiver = e.receiver AND doc.kind = e.kind"
    "   AND doc.url = e.url))"
    " INSERT INTO receiver_endpoint (programme_id, receiver, kind, url, position, send_resolved,"
    " max_alerts, resend_interval, auth_type, auth_username, auth_secret)"
    " SELECT $1, receiver, kind, url, position, send_resolved, max_alerts, resend_interval,"
    " auth_type, auth_username, auth_secret FROM doc"
    " ON CONFLICT (programme_id, receiver, kind, url) DO UPDATE SET position = excluded.position,"
    " send_resolved = excluded.send_resolved, max_alerts = excluded.max_alerts,"
    " resend_interval = excluded.resend_interval, auth_type = excluded.auth_type,"
    " auth_username = excluded.auth_username, auth_secret = excluded.auth_secret";
/* clang-format on */

bool endpoint_store_put(PGconn *conn, int64_t programme_id, const json_t *receivers)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    json_t *rows = receiver_endpoints_rows(receivers);
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    const char *params[] = {pid, text};
    /* the secrets are parameters, never logged; the document check leaves no constraint to
     * fail, so no row (with its secret) can appear in an error's DETAIL */
    bool ok = db_command(conn, NULL, put_sql, 2, params, NULL, "store receiver endpoints");
    free(text);
    return ok;
}

bool endpoint_store_show(PGconn *conn, int64_t programme_id, json_t *receivers)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    PGresult *res = db_run(conn, NULL,
                           "SELECT coalesce(json_agg(json_build_object('receiver', receiver,"
                           " 'kind', kind, 'url', url, 'send_resolved', send_resolved,"
                           " 'max_alerts', max_alerts, 'resend_interval', resend_interval,"
                           " 'auth_type', auth_type, 'auth_username', auth_username) ORDER BY"
                           " receiver, kind DESC, position), '[]') FROM receiver_endpoint"
                           " WHERE programme_id = $1",
                           1, params, PGRES_TUPLES_OK, NULL, "list receiver endpoints");
    if (res == NULL)
        return false;
    json_t *rows = json_loads(db_text(res, 0, 0), 0, NULL);
    PQclear(res);
    if (rows == NULL)
        return false;
    receiver_endpoints_show(receivers, rows);
    json_decref(rows);
    return true;
}

bool endpoint_store_list(PGconn *conn, int64_t programme_id, const char *receiver,
                         struct endpoint_list *out)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid, receiver};
    *out = (struct endpoint_list){0};
    out->rows = db_run(conn, NULL,
                       "SELECT kind = 'alertmanager', url, post_url, CASE send_resolved WHEN"
                       " true THEN 1 WHEN false THEN 0 ELSE -1 END, max_alerts, resend_interval"
                       " FROM receiver_endpoint WHERE programme_id = $1 AND receiver = $2"
                       " ORDER BY kind DESC, position",
                       2, params, PGRES_TUPLES_OK, NULL, "read receiver endpoints");
    if (out->rows == NULL)
        return false;
    out->n = (size_t)PQntuples(out->rows);
    out->endpoints = xcalloc(out->n, sizeof(*out->endpoints));
    for (size_t i = 0; i < out->n; i++) {
        int row = (int)i;
        out->endpoints[i] = (struct endpoint){
            .alertmanager = db_bool(out->rows, row, 0),
            .url = db_text(out->rows, row, 1),
            .post_url = db_text(out->rows, row, 2),
            .send_resolved = (int)db_int64(out->rows, row, 3),
            .max_alerts = (long)db_int64(out->rows, row, 4),
            .resend_interval = (int)db_int64(out->rows, row, 5),
        };
    }
    return true;
}

void endpoint_list_clear(struct endpoint_list *list)
{
    free(list->endpoints);
    PQclear(list->rows);
    *list = (struct endpoint_list){0};
}

bool endpoint_store_next_post(PGconn *conn, int64_t programme_id, const char *receiver,
                              const char *url, bool has_next, double next_at)
{
    char pid[24], at[32];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(at, sizeof(at), "%.6f", next_at);
    const char *params[] = {pid, receiver, url, has_next ? at : NULL};
    return db_command(conn, NULL,
                      "UPDATE receiver_endpoint SET next_post_at = to_timestamp($4::float8)"
                      " WHERE programme_id = $1 AND receiver = $2 AND kind = 'alertmanager'"
                      " AND url = $3",
                      4, params, NULL, "schedule an Alertmanager re-post");
}

bool endpoint_store_claim_due(PGconn *conn, double now, size_t max, struct endpoint_due_list *out)
{
    char t[32], m[24];
    snprintf(t, sizeof(t), "%.6f", now);
    snprintf(m, sizeof(m), "%zu", max);
    const char *params[] = {t, m};
    *out = (struct endpoint_due_list){0};
    out->rows = db_run(
        conn, NULL,
        "UPDATE receiver_endpoint e SET next_post_at = to_timestamp($1) + make_interval(secs =>"
        " e.resend_interval) FROM (SELECT programme_id, receiver, kind, url FROM"
        " receiver_endpoint WHERE kind = 'alertmanager' AND next_post_at <= to_timestamp($1)"
        " ORDER BY next_post_at LIMIT $2::int FOR UPDATE SKIP LOCKED) d WHERE"
        " (e.programme_id, e.receiver, e.kind, e.url) = (d.programme_id, d.receiver, d.kind,"
        " d.url) RETURNING e.programme_id, e.receiver, e.url, e.post_url, e.resend_interval",
        2, params, PGRES_TUPLES_OK, NULL, "claim Alertmanager re-posts");
    if (out->rows == NULL)
        return false;
    out->n = (size_t)PQntuples(out->rows);
    out->due = xcalloc(out->n, sizeof(*out->due));
    for (size_t i = 0; i < out->n; i++) {
        int row = (int)i;
        out->due[i] = (struct endpoint_due){
            .programme_id = db_int64(out->rows, row, 0),
            .receiver = db_text(out->rows, row, 1),
            .url = db_text(out->rows, row, 2),
            .post_url = db_text(out->rows, row, 3),
            .resend_interval = (int)db_int64(out->rows, row, 4),
        };
    }
    return true;
}

void endpoint_due_list_clear(struct endpoint_due_list *list)
{
    free(list->due);
    PQclear(list->rows);
    *list = (struct endpoint_due_list){0};
}
