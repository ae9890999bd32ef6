/* The programme a token is confined to, on the routes that are not under a programme's path
 * (alerts and incidents: docs/ARCHITECTURE.md, "Incidents"): they answer as the programme
 * routes do (edge/handlers.c, handler_check_programme). */
#ifndef SCALEUPD_EDGE_PROGRAMME_SCOPE_H
#define SCALEUPD_EDGE_PROGRAMME_SCOPE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/edge/request.h"

/* The one programme the request's token may see (a feed token's, which reads when the
 * dashboard is public), or 0 when it may see every programme (admin, read, no token). */
int64_t programme_scope_of(const struct request *req);

/* For a list filtered by ?programme=slug (NULL: none): *scope is the programme the list must
 * keep to (programme_scope_of). False when it answered: 403 forbidden when slug names another
 * programme than the token's, as a programme route answers; a database failure. */
bool programme_scope_list(struct request *req, PGconn *conn, const char *slug, int64_t *scope)
    __attribute__((warn_unused_result));

/* Whether one row read by id (an alert, an incident: its "programme" is the slug) is one the
 * token may see: 1 yes, 0 no (the route answers 404, as for an id that does not exist, so
 * that a token learns nothing of other programmes), -1 a database failure (answered). */
int programme_scope_row(struct request *req, PGconn *conn, const json_t *row)
    __attribute__((warn_unused_result));

#endif
