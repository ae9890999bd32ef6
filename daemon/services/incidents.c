/* Incident acknowledgement (incidents.h): the members an incident has open, each
 * acknowledged by the alerts' acknowledgement path, in one transaction. */
#include "scaleupd/services/incidents.h"

#include <stdint.h>
#include <stdlib.h>

#include "scaleupd/storage/ack_store.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/incident_store.h"

enum alerts_result incidents_ack(PGconn *conn, long long id, const struct ack_by *by, double now,
                                 const char *request_id, json_t **acked)
{
    *acked = NULL;
    if (!db_begin(conn, request_id))
        return ALERTS_DB_ERROR;
    int64_t *ids = NULL;
    size_t n = 0;
    enum alerts_result r = incidents_open_members(conn, id, &ids, &n);
    json_t *list = json_array();
    for (size_t i = 0; r == ALERTS_OK && i < n; i++) {
        enum alerts_result member = alerts_ack(conn, ids[i], by, now);
        /* a member gone (its rule deleted) or closed meanwhile is not acknowledged, the rest
         * are */
        if (member == ALERTS_OK)
            json_array_append_new(list, json_integer((json_int_t)ids[i]));
        else if (member != ALERTS_NOT_FOUND && member != ALERTS_CONFLICT)
            r = member;
    }
    free(ids);
    if (r == ALERTS_OK && !db_commit(conn, request_id))
        r = ALERTS_DB_ERROR;
    if (r != ALERTS_OK) {
        db_rollback(conn, request_id);
        json_decref(list);
        return r;
    }
    *acked = list;
    return ALERTS_OK;
}
