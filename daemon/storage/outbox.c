/* The outbox table: queueing rendered messages, the leased claim of delivery and the marks
 * after a send (sent, retry, dead), and the queue's depth. SQL only. */
#include "scaleupd/storage/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"

/* Text parameters of an id and a time. */
struct id_time {
    char id[24], time[32];
};

static void id_time(struct id_time *p, int64_t id, double t)
{
    snprintf(p->id, sizeof(p->id), "%lld", (long long)id);
    snprintf(p->time, sizeof(p->time), "%.6f", t);
}

int64_t outbox_queue(PGconn *conn, const struct outbox_message *m)
{
    struct id_time p;
    id_time(&p, m->programme_id, m->created_at);
    const char *channel = m->alertmanager ? "alertmanager" : m->webhook ? "webhook" : "email";
    const char *params[] = {p.id, m->receiver, channel, m->target, p.time, m->is_test ? "t" : "f"};
    PGresult *res = db_run(conn, NULL,
                           "INSERT INTO outbox (programme_id, receiver, channel, target, body,"
                           " is_test, created_at, next_at) VALUES ($1, $2, $3, $4, '', $6,"
                           " to_timestamp($5), to_timestamp($5)) RETURNING id",
                           6, params, PGRES_TUPLES_OK, NULL, "queue a message");
    if (res == NULL)
        return 0;
    int64_t id = db_int64(res, 0, 0);
    PQclear(res);
    return id;
}

bool outbox_set_body(PGconn *conn, int64_t id, const char *subject, const char *body,
                     const char *thread_id)
{
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    const char *params[] = {sid, subject, body, thread_id};
    return db_command(conn, NULL,
                      "UPDATE outbox SET subject = $2, body = $3, thread_id = $4 WHERE id = $1", 4,
                      params, NULL, "store a message");
}

void outbox_item_clear(struct outbox_item *item)
{
    free(item->receiver);
    free(item->target);
    free(item->body);
    free(item->auth_type);
    free(item->auth_username);
    free(item->auth_secret);
    memset(item, 0, sizeof(*item));
}

int outbox_renew_lease(PGconn *conn, const struct outbox_item *item, double until)
{
    struct id_time p;
    id_time(&p, item->id, until);
    char attempts[16];
    snprintf(attempts, sizeof(attempts), "%d", item->attempts);
    const char *params[] = {p.id, attempts, p.time};
    PGresult *res = db_run(conn, NULL,
                           "UPDATE outbox SET lease_until = to_timestamp($3) WHERE id = $1"
                           " AND attempts = $2 AND sent_at IS NULL AND dead_at IS NULL",
                           3, params, PGRES_COMMAND_OK, NULL, "renew a delivery lease");
    if (res == NULL)
        return -1;
    int renewed = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return renewed;
}

static void read_item(const PGresult *res, int row, struct outbox_item *it)
{
    it->id = db_int64(res, row, 0);
    it->webhook = db_bool(res, row, 1);
    it->target = xstrdup(db_text(res, row, 2));
    it->body = xstrdup(db_text(res, row, 3));
    it->created_at = db_double(res, row, 4);
    it->attempts = (int)db_int64(res, row, 5);
    it->programme_id = db_int64(res, row, 6);
    it->receiver = xstrdup(db_text(res, row, 7));
    it->alertmanager = db_bool(res, row, 8);
    it->webhook = it->webhook || it->alertmanager;
    for (int k = 0; k < 3; k++) {
        char **field[] = {&it->auth_type, &it->auth_username, &it->auth_secret};
        *field[k] = db_is_null(res, row, 9 + k) ? NULL : xstrdup(db_text(res, row, 9 + k));
    }
}

/* The credentials of the endpoint a message goes to, read as the claim returns it. */
#define ENDPOINT_AUTH(column)                                                                      \
    " (SELECT e." column " FROM receiver_endpoint e WHERE e.programme_id = o.programme_id AND"     \
    " e.receiver = o.receiver AND e.kind = o.channel AND e.post_url = o.target)"

long outbox_claim(PGconn *conn, double now, double lease, struct outbox_item *items, size_t max)
{
    char t[32], l[32], m[16];
    snprintf(t, sizeof(t), "%.6f", now);
    snprintf(l, sizeof(l), "%.6f", now + lease);
    snprintf(m, sizeof(m), "%zu", max);
    const char *params[] = {t, l, m};
    PGresult *res = db_run(
        conn, NULL,
        "UPDATE outbox o SET lease_until = to_timestamp($2), attempts = o.attempts + 1"
        " WHERE o.id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL AND"
        " next_at <= to_timestamp($1) AND (lease_until IS NULL OR lease_until <= to_timestamp($1))"
        " ORDER BY next_at, id LIMIT $3::int FOR UPDATE SKIP LOCKED)"
        " RETURNING o.id, o.channel = 'webhook', o.target, o.body, extract(epoch FROM"
        " o.created_at), o.attempts, coalesce(o.programme_id, 0), o.receiver,"
        " o.channel = 'alertmanager'," ENDPOINT_AUTH("auth_type") "," ENDPOINT_AUTH(
            "auth_username") "," ENDPOINT_AUTH("auth_secret"),
        3, params, PGRES_TUPLES_OK, NULL, "claim messages");
    if (res == NULL)
        return -1;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        read_item(res, i, &items[i]);
    PQclear(res);
    return n;
}

/* Ends the lease of message id with one of the marks below. */
static bool mark(PGconn *conn, const char *sql, int64_t id, double t, const char *error,
                 const char *what)
{
    struct id_time p;
    id_time(&p, id, t);
    const char *params[] = {p.id, p.time, error};
    return db_command(conn, NULL, sql, 3, params, NULL, what);
}

bool outbox_mark_sent(PGconn *conn, int64_t id, double now)
{
    return mark(conn,
                "UPDATE outbox SET sent_at = to_timestamp($2), lease_until = NULL,"
                " last_error = $3 WHERE id = $1",
                id, now, NULL, "mark a message sent");
}

bool outbox_mark_retry(PGconn *conn, int64_t id, double next_at, const char *error)
{
    return mark(conn,
                "UPDATE outbox SET next_at = to_timestamp($2), lease_until = NULL,"
                " last_error = $3 WHERE id = $1",
                id, next_at, error, "schedule a retry");
}

bool outbox_mark_dead(PGconn *conn, int64_t id, double now, const char *error)
{
    return mark(conn,
                "UPDATE outbox SET dead_at = to_timestamp($2), lease_until = NULL,"
                " last_error = $3 WHERE id = $1",
                id, now, error, "dead-letter a message");
}

long outbox_supersede(PGconn *conn, int64_t programme_id, const char *receiver, const char *channel,
                      const char *target, double now)
{
    struct id_time p;
    id_time(&p, programme_id, now);
    const char *params[] = {p.id, receiver, channel, target, p.time};
    PGresult *res = db_run(conn, NULL,
                           "UPDATE outbox SET dead_at = to_timestamp($5), last_error = 'superseded"
                           " by a later message to the same target' WHERE programme_id = $1 AND"
                           " receiver = $2 AND channel = $3 AND target = $4 AND sent_at IS NULL"
                           " AND dead_at IS NULL AND (lease_until IS NULL OR lease_until <="
                           " to_timestamp($5))",
                           5, params, PGRES_COMMAND_OK, NULL, "supersede waiting messages");
    if (res == NULL)
        return -1;
    long n = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return n;
}

bool outbox_stats(PGconn *conn, double now, long *depth, double *oldest_age)
{
    char t[32];
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {t};
    PGresult *res = db_run(conn, NULL,
                           "SELECT count(*), coalesce(extract(epoch FROM to_timestamp($1) -"
                           " min(created_at)), 0) FROM outbox WHERE sent_at IS NULL AND"
                           " dead_at IS NULL",
                           1, params, PGRES_TUPLES_OK, NULL, "count the outbox");
    if (res == NULL)
        return false;
    *depth = (long)db_int64(res, 0, 0);
    *oldest_age = db_double(res, 0, 1);
    PQclear(res);
    return true;
}
