/* Incidents as a use case (docs/ARCHITECTURE.md, "Incidents"): acknowledging an incident
 * acknowledges each of its open members through the alerts' own acknowledgement
 * (storage/ack_store.h), in one transaction. */
#ifndef SCALEUPD_SERVICES_INCIDENTS_H
#define SCALEUPD_SERVICES_INCIDENTS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "scaleupd/storage/ack_store.h"
#include "scaleupd/storage/alerts_result.h"

/* Acknowledges every open member of incident id not acknowledged yet (one acknowledged
 * before keeps who did it and why) at now, by (who, comment, token: as alerts_ack records
 * them), all or none: ALERTS_OK with *acked the JSON array of the member ids acknowledged
 * (owned by the caller; empty when every open member was acknowledged before),
 * ALERTS_NOT_FOUND (no such incident), ALERTS_CONFLICT (no member is open: the incident is
 * resolved, nothing to acknowledge) or ALERTS_DB_ERROR (rolled back). */
enum alerts_result incidents_ack(PGconn *conn, long long id, const struct ack_by *by, double now,
                                 const char *request_id, json_t **acked)
    __attribute__((warn_unused_result));

#endif
