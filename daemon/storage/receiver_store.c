/* Receivers (receiver_store.h): replacing a programme's receivers with a checked document in
 * one statement (their webhooks' and Alertmanagers' options in storage/endpoint_store.c, in
 * the same transaction), refusing time zones the database does not know, and the read side. */
#include "scaleupd/storage/receiver_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/clock.h"
#include "scaleupd/core/problems.h"
#include "scaleupd/core/receiver_endpoints.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/endpoint_store.h"

/* Deletes and re-inserts in one statement, unless a receiver names a time zone that
 * pg_timezone_names lacks: then nothing changes and the first such name comes back.
 *
 * A receiver that did not exist before is told of what is firing already: one firing event for
 * each open, unacknowledged alert its rules route to it (as ingest's evaluation queues them,
 * storage/alert_store.c), so that its group's first message comes after group_wait with them.
 * Without it a change team added after the alerts opened would hear nothing of them until they
 * changed state: a late feed can stay open for weeks. A receiver applied again (the same name)
 * is not: it was told when they opened. $3 is the daemon's clock. */
static const char receivers_put_sql[] =
    "WITH doc AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(name text, email text[],"
    " webhook text[], time_zone text)), bad AS (SELECT name FROM doc WHERE time_zone IS NOT NULL"
    " AND time_zone NOT IN (SELECT name FROM pg_timezone_names)), del AS (DELETE FROM receiver"
    " WHERE programme_id = $1 AND NOT EXISTS (SELECT 1 FROM bad)), ins AS (INSERT INTO receiver"
    " (programme_id, name, email, webhook, time_zone) SELECT $1, name, coalesce(email, '{}'),"
    " coalesce(webhook, '{}'), coalesce(time_zone, (SELECT time_zone FROM programme WHERE id ="
    " $1)) FROM doc WHERE NOT EXISTS (SELECT 1 FROM bad) ON CONFLICT (programme_id, name) DO"
    " UPDATE SET email = excluded.email, webhook = excluded.webhook, time_zone ="
    " excluded.time_zone, updated_at = now()), told AS (INSERT INTO alert_event (programme_id,"
    " receiver, alert_id, kind, created_at) SELECT $1, d.name, a.id, 'firing', to_timestamp($3)"
    " FROM doc d JOIN alert a ON a.programme_id = $1 AND a.state = 'firing' AND a.acked_at IS"
    " NULL JOIN alert_rule ar ON ar.programme_id = $1 AND ar.id = a.rule_id WHERE NOT EXISTS"
    " (SELECT 1 FROM bad) AND NOT EXISTS (SELECT 1 FROM receiver o WHERE o.programme_id = $1"
    " AND o.name = d.name) AND (ar.receivers IS NULL OR d.name = ANY (ar.receivers)) AND NOT"
    " (ar.kind = 'self' AND a.subject = 'receiver:' || d.name))"
    " SELECT (SELECT min(name) FROM bad)";

static enum alerts_result receivers_put_rows(PGconn *conn, int64_t programme_id,
                                             const json_t *receivers, json_t **problems,
                                             json_t **stored)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    json_t *plain = receiver_endpoints_plain(receivers);
    char *text = json_dumps(plain, JSON_COMPACT);
    json_decref(plain);
    char now[32];
    snprintf(now, sizeof(now), "%.6f", clock_now());
    const char *params[] = {pid, text, now};
    /* against an alert firing meanwhile (storage/alert_store.c takes this lock shared before
     * it stores an event): one of the two waits for the other, and whichever comes second sees
     * what the first committed, so a new receiver is told of it once; two PUTs of the same
     * programme wait for each other too */
    if (!db_command(conn, NULL,
                    "SELECT pg_advisory_xact_lock(" RECEIVERS_LOCK_CLASS ", hashint8($1::bigint))",
                    1, params, NULL, "lock the programme's receivers")) {
        free(text);
        return ALERTS_DB_ERROR;
    }
    PGresult *res =
        db_run(conn, NULL, receivers_put_sql, 3, params, PGRES_TUPLES_OK, NULL, "store receivers");
    free(text);
    if (res == NULL)
        return ALERTS_DB_ERROR;
    enum alerts_result result = ALERTS_OK;
    if (!db_is_null(res, 0, 0)) {
        problems_add(problems, "$.receivers", "unknown_time_zone",
                     "receiver \"%s\" has a time zone the database does not know",
                     db_text(res, 0, 0));
        result = ALERTS_INVALID;
    }
    PQclear(res);
    if (result == ALERTS_OK && !endpoint_store_put(conn, programme_id, receivers))
        result = ALERTS_DB_ERROR;
    if (result == ALERTS_OK) {
        *stored = alerts_receivers_get(conn, programme_id);
        if (*stored == NULL)
            result = ALERTS_DB_ERROR;
    }
    return result;
}

/* The receivers and their endpoints are rewritten together or not at all. */
struct put_args {
    int64_t programme_id;
    const json_t *receivers;
    json_t **problems, **stored;
    enum alerts_result result;
};

static bool put_body(PGconn *conn, void *arg)
{
    struct put_args *a = arg;
    a->result = receivers_put_rows(conn, a->programme_id, a->receivers, a->problems, a->stored);
    return a->result == ALERTS_OK;
}

enum alerts_result alerts_receivers_put(PGconn *conn, int64_t programme_id, const json_t *receivers,
                                        json_t **problems, json_t **stored)
{
    struct put_args a = {programme_id, receivers, problems, stored, ALERTS_DB_ERROR};
    if (db_transaction(conn, NULL, put_body, &a) || a.result != ALERTS_OK)
        return a.result;
    json_decref(*stored);
    *stored = NULL;
    return ALERTS_DB_ERROR; /* the commit failed */
}

json_t *alerts_receivers_get(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    PGresult *res =
        db_run(conn, NULL,
               "SELECT coalesce(json_agg(json_build_object('name', name, 'email', email,"
               " 'webhook', webhook, 'time_zone', time_zone) ORDER BY name), '[]')"
               " FROM receiver WHERE programme_id = $1",
               1, params, PGRES_TUPLES_OK, NULL, "list receivers");
    json_t *list = res ? json_loads(db_text(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    if (list != NULL && !endpoint_store_show(conn, programme_id, list)) {
        json_decref(list);
        list = NULL;
    }
    return list;
}
