/* Digests over libpq (digest_store.h): receiver_digest (settings, due times, the claim) and
 * digest_sent (the record written with the outbox rows), the alerts a digest lists from
 * alert_history, and time zones as PostgreSQL knows them. SQL only. */
#include "scaleupd/storage/digest_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/silence_match.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/silence_store.h"

static void id_text(char *buf, size_t size, int64_t id)
{
    snprintf(buf, size, "%lld", (long long)id);
}

static void time_text(char *buf, size_t size, double t)
{
    snprintf(buf, size, "%.6f", t);
}

/* A PUT forgets every due time: the task recomputes it from the last digest (or `since`).
 * A receiver that had no digest (notify "immediate") starts afresh: its first digest covers
 * the time from this PUT, not from when the receiver was made. */
static const char put_sql[] =
    "WITH doc AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(name text, notify text,"
    " digest jsonb)), del AS (DELETE FROM receiver_digest d WHERE d.programme_id = $1 AND NOT"
    " EXISTS (SELECT 1 FROM doc WHERE doc.name = d.receiver)) INSERT INTO receiver_digest"
    " (programme_id, receiver, notify, schedule, since) SELECT $1, name, notify, digest,"
    " to_timestamp($3) FROM doc ON CONFLICT (programme_id, receiver) DO UPDATE SET notify ="
    " excluded.notify, schedule = excluded.schedule, next_due_at = NULL, since = CASE WHEN"
    " receiver_digest.notify = 'immediate' THEN excluded.since ELSE receiver_digest.since END,"
    " last_due_at = CASE WHEN receiver_digest.notify = 'immediate' THEN NULL ELSE"
    " receiver_digest.last_due_at END, progress = CASE WHEN receiver_digest.notify ="
    " 'immediate' THEN NULL ELSE receiver_digest.progress END, updated_at = now()";

bool digest_store_put(PGconn *conn, int64_t programme_id, const json_t *settings, double now)
{
    char pid[24], t[32];
    id_text(pid, sizeof(pid), programme_id);
    time_text(t, sizeof(t), now);
    char *text = json_dumps(settings, JSON_COMPACT);
    const char *params[] = {pid, text, t};
    bool ok = db_command(conn, NULL, put_sql, 3, params, NULL, "store digest settings");
    free(text);
    return ok;
}

json_t *digest_store_get(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    id_text(pid, sizeof(pid), programme_id);
    const char *params[] = {pid};
    PGresult *res = db_run(conn, NULL,
                           "SELECT coalesce(json_object_agg(receiver, json_build_object('notify',"
                           " notify, 'digest', schedule, 'next_digest_at', to_char(next_due_at AT"
                           " TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))), '{}') FROM"
                           " receiver_digest WHERE programme_id = $1",
                           1, params, PGRES_TUPLES_OK, NULL, "read digest settings");
    json_t *settings = res ? json_loads(db_text(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    return settings;
}

bool digest_store_immediate(PGconn *conn, int64_t programme_id, const char *receiver,
                            bool *immediate)
{
    char pid[24];
    id_text(pid, sizeof(pid), programme_id);
    const char *params[] = {pid, receiver};
    PGresult *res = db_run(conn, NULL,
                           "SELECT NOT EXISTS (SELECT 1 FROM receiver_digest WHERE programme_id ="
                           " $1 AND receiver = $2 AND notify = 'digest')",
                           2, params, PGRES_TUPLES_OK, NULL, "read a receiver's notify mode");
    if (res == NULL)
        return false;
    *immediate = db_bool(res, 0, 0);
    PQclear(res);
    return true;
}

static const char claim_sql[] =
    "SELECT d.programme_id, d.receiver, d.schedule::text, r.time_zone, p.slug, p.name,"
    " d.progress::text, extract(epoch FROM d.next_due_at), extract(epoch FROM"
    " coalesce(d.last_due_at, d.since)) FROM receiver_digest d JOIN receiver r ON"
    " r.programme_id = d.programme_id AND r.name = d.receiver JOIN programme p ON p.id ="
    " d.programme_id WHERE d.schedule IS NOT NULL AND d.notify <> 'immediate' AND"
    " (d.next_due_at IS NULL OR d.next_due_at <= to_timestamp($1)) AND NOT d.programme_id ||"
    " '/' || d.receiver = ANY ($2::text[]) ORDER BY d.next_due_at"
    " NULLS FIRST LIMIT 1 FOR UPDATE OF d SKIP LOCKED";

int digest_store_claim(PGconn *conn, double now, const char *skip, struct digest_claim *claim)
{
    char t[32];
    time_text(t, sizeof(t), now);
    const char *params[] = {t, skip};
    *claim = (struct digest_claim){0};
    PGresult *res =
        db_run(conn, NULL, claim_sql, 2, params, PGRES_TUPLES_OK, NULL, "claim a due digest");
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    *claim = (struct digest_claim){.rows = res,
                                   .programme_id = db_int64(res, 0, 0),
                                   .receiver = db_text(res, 0, 1),
                                   .schedule = db_text(res, 0, 2),
                                   .time_zone = db_text(res, 0, 3),
                                   .programme = db_text(res, 0, 4),
                                   .programme_name = db_text(res, 0, 5),
                                   .previous_progress = db_text(res, 0, 6),
                                   .covers_from = db_double(res, 0, 8)};
    claim->has_next_due = db_double_opt(res, 0, 7, &claim->next_due);
    return 1;
}

void digest_claim_clear(struct digest_claim *claim)
{
    PQclear(claim->rows);
    *claim = (struct digest_claim){0};
}

bool digest_store_set_next(PGconn *conn, const struct digest_claim *claim, double next_due)
{
    char pid[24], t[32];
    id_text(pid, sizeof(pid), claim->programme_id);
    time_text(t, sizeof(t), next_due);
    const char *params[] = {pid, claim->receiver, t};
    return db_command(conn, NULL,
                      "UPDATE receiver_digest SET next_due_at = to_timestamp($3) WHERE"
                      " programme_id = $1 AND receiver = $2",
                      3, params, NULL, "schedule a digest");
}

/* The outbox ids as a PostgreSQL array literal of integers. */
static char *id_array(const int64_t *ids, size_t n)
{
    char *text = xmalloc(n * 22 + 3);
    size_t len = 0;
    text[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, 22, "%s%lld", i ? "," : "", (long long)ids[i]);
    text[len++] = '}';
    text[len] = '\0';
    return text;
}

bool digest_store_record(PGconn *conn, const struct digest_claim *claim, double queued_at,
                         const int64_t *messages, size_t n_messages, const char *progress,
                         double next_due)
{
    char pid[24], due[32], from[32], queued[32], next[32];
    id_text(pid, sizeof(pid), claim->programme_id);
    time_text(due, sizeof(due), claim->next_due);
    time_text(from, sizeof(from), claim->covers_from);
    time_text(queued, sizeof(queued), queued_at);
    time_text(next, sizeof(next), next_due);
    char *ids = id_array(messages, n_messages);
    const char *params[] = {pid, claim->receiver, due, from, queued, ids};
    const char *update[] = {pid, claim->receiver, due, progress, next};
    bool ok = db_command(conn, NULL,
                         "INSERT INTO digest_sent (programme_id, receiver, due_at, covers_from,"
                         " queued_at, messages) VALUES ($1, $2, to_timestamp($3), to_timestamp($4),"
                         " to_timestamp($5), $6::bigint[])",
                         6, params, NULL, "record a digest") &&
              db_command(conn, NULL,
                         "UPDATE receiver_digest SET last_due_at = to_timestamp($3), progress ="
                         " $4::jsonb, next_due_at = to_timestamp($5) WHERE programme_id = $1 AND"
                         " receiver = $2",
                         5, update, NULL, "record a digest");
    free(ids);
    return ok;
}

/* The alerts of one section ($5: opened, resolved, open) for receiver $2 over ($3, $4],
 * with times in zone $6; each row counts the section's alerts. */
/* clang-format off */
static const char alerts_sql[] =
    "WITH ev AS ("
    " SELECT h.alert_id, max(h.at) AS at FROM alert_history h WHERE h.programme_id = $1"
    "  AND $5::text <> 'open' AND h.to_state = CASE $5::text WHEN 'opened' THEN 'firing'"
    "  ELSE 'resolved' END AND h.at > to_timestamp($3) AND h.at <= to_timestamp($4)"
    "  GROUP BY h.alert_id"
    " UNION ALL SELECT a.id, a.active_since FROM alert a WHERE a.programme_id = $1"
    "  AND $5::text = 'open' AND a.state = 'firing' AND a.active_since <= to_timestamp($4))"
    " SELECT a.id, coalesce(i.name, 'Roadmap: ' || r.dimension, r.name),"
    " nullif(i.unit, ''), s.name, reg.name, CASE WHEN r.kind = 'trajectory' THEN replace(replace(a.summary,"
    " 'on_track', 'on track'), 'at_risk', 'at risk') ELSE a.summary END,"
    " CASE i.period_type WHEN 'monthly' THEN to_char(a.period_start, 'YYYY-MM')"
    "  ELSE to_char(a.period_start, 'YYYY-MM-DD') END, a.value,"
    " to_char(ev.at AT TIME ZONE $6, 'YYYY-MM-DD HH24:MI'), count(*) OVER (),"
    " CASE WHEN n.kind <> 'alert' THEN n.id END, CASE WHEN n.kind <> 'alert' THEN n.title END,"
    " (SELECT slug FROM programme WHERE id = a.programme_id), i.code, s.code, r.name, r.kind, "
    SILENCE_REGIONS_SQL
    " FROM ev JOIN alert a ON a.programme_id = $1 AND a.id = ev.alert_id"
    " JOIN alert_rule r ON r.programme_id = a.programme_id AND r.id = a.rule_id"
    " LEFT JOIN indicator i ON i.programme_id = a.programme_id AND i.id = a.indicator_id"
    " LEFT JOIN site s ON s.programme_id = a.programme_id AND s.id = a.site_id"
    " LEFT JOIN site reg ON reg.programme_id = s.programme_id AND reg.id = s.parent_id"
    " LEFT JOIN incident n ON n.id = a.incident_id"
    " WHERE (r.receivers IS NULL OR $2 = ANY (r.receivers))"
    " AND NOT (r.kind = 'self' AND a.subject = 'receiver:' || $2)"
    " ORDER BY ev.at, a.id LIMIT " DIGEST_STORE_LISTED_TEXT;
/* clang-format on */

static void read_alert(const PGresult *res, int row, struct digest_alert *a)
{
    /* an alert alone in its incident (kind "alert") is its own incident: 0 */
    int64_t incident = 0;
    *a = (struct digest_alert){.id = (long long)db_int64(res, row, 0),
                               .indicator_name = db_text(res, row, 1),
                               .unit = db_text(res, row, 2),
                               .site_name = db_text(res, row, 3),
                               .region_name = db_text(res, row, 4),
                               .summary = db_text(res, row, 5),
                               .period = db_text(res, row, 6),
                               .at = db_text(res, row, 8)};
    a->has_value = db_double_opt(res, row, 7, &a->value) && isfinite(a->value);
    a->incident_id = db_int64_opt(res, row, 10, &incident) ? (long long)incident : 0;
    a->incident_title = db_is_null(res, row, 11) ? NULL : db_text(res, row, 11);
}

/* The columns of the labels silences match (silence_store.h). */
static const struct silence_columns label_columns = {
    .programme = 12, .indicator = 13, .site = 14, .rule = 15, .kind = 16, .regions = 17};

bool digest_store_alerts(PGconn *conn, const struct digest_claim *claim, double from, double to,
                         struct digest_alert_list *out)
{
    static const char *const sections[] = {"opened", "resolved", "open"};
    char pid[24], f[32], t[32];
    id_text(pid, sizeof(pid), claim->programme_id);
    time_text(f, sizeof(f), from);
    time_text(t, sizeof(t), to);
    *out = (struct digest_alert_list){0};
    struct silence_set silences;
    if (!alerts_silences_active(conn, to, claim->programme_id, &silences))
        return false;
    for (int s = 0; s < 3; s++) {
        const char *params[] = {pid, claim->receiver, f, t, sections[s], claim->time_zone};
        out->rows[s] = db_run(conn, NULL, alerts_sql, 6, params, PGRES_TUPLES_OK, NULL,
                              "read the alerts of a digest");
        if (out->rows[s] == NULL) {
            silence_set_free(&silences);
            return false;
        }
        int n = PQntuples(out->rows[s]);
        out->n[s] = (size_t)n;
        out->total[s] = n > 0 ? (size_t)db_int64(out->rows[s], 0, 9) : 0;
        out->alerts[s] = xcalloc(n > 0 ? (size_t)n : 1, sizeof(struct digest_alert));
        for (int i = 0; i < n; i++) {
            read_alert(out->rows[s], i, &out->alerts[s][i]);
            out->alerts[s][i].silenced =
                silence_set_mutes_row(&silences, out->rows[s], i, &label_columns);
        }
    }
    silence_set_free(&silences);
    return true;
}

void digest_alert_list_clear(struct digest_alert_list *list)
{
    for (int s = 0; s < 3; s++) {
        free(list->alerts[s]);
        PQclear(list->rows[s]);
    }
    *list = (struct digest_alert_list){0};
}

bool digest_store_zone_offset(void *ctx, double utc, int *seconds)
{
    const struct digest_store_zone *z = ctx;
    char t[32];
    time_text(t, sizeof(t), utc);
    const char *params[] = {t, z->zone};
    PGresult *res = db_run(z->conn, NULL,
                           "SELECT extract(epoch FROM (to_timestamp($1) AT TIME ZONE $2)) -"
                           " extract(epoch FROM to_timestamp($1) AT TIME ZONE 'UTC')",
                           2, params, PGRES_TUPLES_OK, NULL, "read a time zone's offset");
    if (res == NULL)
        return false;
    *seconds = (int)lround(db_double(res, 0, 0));
    PQclear(res);
    return true;
}

bool digest_store_local_time(PGconn *conn, const char *zone, double utc, char *buf, size_t size)
{
    char t[32];
    time_text(t, sizeof(t), utc);
    const char *params[] = {t, zone};
    PGresult *res =
        db_run(conn, NULL, "SELECT to_char(to_timestamp($1) AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI')",
               2, params, PGRES_TUPLES_OK, NULL, "format a local time");
    if (res == NULL)
        return false;
    snprintf(buf, size, "%s", db_text(res, 0, 0));
    PQclear(res);
    return true;
}
