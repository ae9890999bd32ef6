/* Acknowledgements (ack_store.h): one UPDATE of the alert rows, the ids as one int8[]. */
#include "scaleupd/storage/ack_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"

/* The ids as an int8[] literal ("{1,2,3}"), malloc'd: 21 bytes per id at most. */
static char *ids_literal(const int64_t *alert_ids, size_t n)
{
    size_t size = n * 21 + 3, used = 0;
    char *text = xmalloc(size);
    text[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(text + used, size - used, "%s%lld", i ? "," : "", (long long)alert_ids[i]);
        used += (size_t)w;
    }
    snprintf(text + used, size - used, "}");
    return text;
}

/* Whether an acknowledgement replaces the stored one (of the row's old values, $4 its
 * comment): an alert acknowledged already keeps who, when and why unless this one says why
 * (a one-click link, or a bare `ack`, after "called the practice" erased the reason). */
#define ACK_NEW "(acked_at IS NULL OR $4::text IS NOT NULL)"

enum alerts_result alerts_ack_ids(PGconn *conn, const int64_t *alert_ids, size_t n,
                                  const struct ack_by *by, double now, size_t *acked)
{
    *acked = 0;
    if (n > ACK_IDS_MAX)
        return ALERTS_INVALID;
    if (n == 0)
        return ALERTS_OK;
    char t[32];
    snprintf(t, sizeof(t), "%.6f", now);
    char *ids = ids_literal(alert_ids, n);
    const char *comment = by->comment && by->comment[0] ? by->comment : NULL;
    const char *params[] = {ids, by->person, t, comment, by->token};
    PGresult *res =
        db_run(conn, NULL,
               "UPDATE alert SET"
               " acked_at = CASE WHEN " ACK_NEW " THEN to_timestamp($3) ELSE acked_at END,"
               " acked_by = CASE WHEN " ACK_NEW " THEN $2 ELSE acked_by END,"
               " ack_comment = CASE WHEN " ACK_NEW " THEN $4 ELSE ack_comment END,"
               " ack_token = CASE WHEN " ACK_NEW " THEN $5 ELSE ack_token END"
               " WHERE id = ANY ($1::int8[]) AND state IN ('pending', 'firing', 'no_data')",
               5, params, PGRES_COMMAND_OK, NULL, "acknowledge alerts");
    free(ids);
    if (res == NULL)
        return ALERTS_DB_ERROR;
    *acked = (size_t)strtoul(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return ALERTS_OK;
}

enum alerts_result alerts_ack(PGconn *conn, int64_t alert_id, const struct ack_by *by, double now)
{
    size_t acked = 0;
    enum alerts_result r = alerts_ack_ids(conn, &alert_id, 1, by, now, &acked);
    if (r != ALERTS_OK || acked == 1)
        return r;
    /* nothing written: no such alert, or one that is not open */
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)alert_id);
    const char *params[] = {id};
    PGresult *res = db_run(conn, NULL, "SELECT 1 FROM alert WHERE id = $1::int8", 1, params,
                           PGRES_TUPLES_OK, NULL, "read an alert's state");
    if (res == NULL)
        return ALERTS_DB_ERROR;
    r = PQntuples(res) == 1 ? ALERTS_CONFLICT : ALERTS_NOT_FOUND;
    PQclear(res);
    return r;
}
