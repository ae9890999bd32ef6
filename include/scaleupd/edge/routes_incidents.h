/* Incident endpoints (edge/routes_incidents.c, docs/ARCHITECTURE.md "Incidents"), registered
 * in the route table of edge/routes.c. */
#ifndef SCALEUPD_EDGE_ROUTES_INCIDENTS_H
#define SCALEUPD_EDGE_ROUTES_INCIDENTS_H

#include <libpq-fe.h>

#include "scaleupd/edge/request.h"

struct app;

/* GET /api/v1/incidents?programme=&state=open|resolved&kind=&limit=&after=: a page of
 * incidents with their members, newest first; 400 invalid_parameter for a bad state, kind,
 * limit or cursor. */
void handle_get_incidents(struct request *req, PGconn *conn, struct app *app);

/* GET /api/v1/incidents/{id}: one incident with its members; 404 unknown_incident. */
void handle_get_incident(struct request *req, PGconn *conn, struct app *app);

/* POST /api/v1/incidents/{id}/ack: acknowledges every open member as the caller; answers
 * {"id", "acked_by", "acked": [member ids]}; 404 unknown_incident. */
void handle_post_incident_ack(struct request *req, PGconn *conn, struct app *app);

#endif
