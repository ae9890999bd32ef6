/* Storage of the DHIS2 identifiers of a programme's indicators and sites (sql/020_dhis2.sql):
 * written from the programme document when it is applied, read per batch into the pure map
 * of core/dhis2_map.h. */
#ifndef SCALEUPD_DHIS2_MAP_STORE_H
#define SCALEUPD_DHIS2_MAP_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/dhis2_map.h"
#include "scaleupd/core/obs_parse.h"

/* Replaces the programme's DHIS2 identifiers by those doc declares ("dhis2" of each
 * indicator and site, checked by programme_doc_validate); run after the programme's
 * indicators and sites are stored, in the caller's transaction. False on a database error. */
bool dhis2_map_store(PGconn *conn, int64_t programme_id, const json_t *doc, const char *request_id)
    __attribute__((warn_unused_result));

/* Loads into *out (a new map, the caller's) the programme's data element identifiers and
 * those of its organisation units that batch's rows name. False on a database error (*out
 * is then NULL). */
bool dhis2_map_load(PGconn *conn, int64_t programme_id, const struct obs_batch *batch,
                    struct dhis2_map **out, const char *request_id)
    __attribute__((warn_unused_result));

#endif
