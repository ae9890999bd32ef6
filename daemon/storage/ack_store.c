/* Acknowledgements (ack_store.h): one UPDATE of the alert row. */
#include "scaleupd/storage/ack_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/storage/db.h"

enum alerts_result alerts_ack(PGconn *conn, int64_t alert_id, const char *who, double now)
{
    char id[24], t[32];
    snprintf(id, sizeof(id), "%lld", (long long)alert_id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {id, who, t};
    PGresult *res = db_run(conn, NULL,
                           "UPDATE alert SET acked_at = to_timestamp($3), acked_by = $2"
                           " WHERE id = $1",
                           3, params, PGRES_COMMAND_OK, NULL, "acknowledge an alert");
    if (res == NULL)
        return ALERTS_DB_ERROR;
    long updated = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return updated == 0 ? ALERTS_NOT_FOUND : ALERTS_OK;
}
