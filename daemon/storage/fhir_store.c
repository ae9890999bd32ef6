/* The FHIR mapping of a programme (fhir_store.h): one read of the stored document's "fhir",
 * "indicators" and "sites" members, built into the core's map. */
#include "scaleupd/storage/fhir_store.h"

#include <inttypes.h>
#include <stdio.h>

#include "scaleupd/core/log.h"
#include "scaleupd/storage/db.h"

static const char SQL_FHIR_SECTION[] =
    "SELECT jsonb_strip_nulls(jsonb_build_object('fhir', document->'fhir', 'indicators',"
    " document->'indicators', 'sites', document->'sites'))::text"
    " FROM programme WHERE id = $1";

bool fhir_store_map(PGconn *conn, int64_t programme_id, struct fhir_map **map,
                    const char *request_id)
{
    char id[24];
    snprintf(id, sizeof(id), "%" PRId64, programme_id);
    const char *values[] = {id};
    *map = NULL;
    PGresult *res = db_run(conn, "fhir_section", SQL_FHIR_SECTION, 1, values, PGRES_TUPLES_OK,
                           request_id, "read the programme's fhir mapping");
    if (res == NULL)
        return false;
    json_t *doc = PQntuples(res) == 1 ? json_loads(db_text(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    if (doc == NULL)
        return false;
    json_t *problems = NULL;
    *map = fhir_map_from_doc(doc, &problems);
    if (*map == NULL) {
        log_write(LOG_LEVEL_WARNING, request_id,
                  "the stored fhir mapping of programme %" PRId64 " does not check: ignored",
                  programme_id);
        json_t *empty = json_object();
        *map = fhir_map_from_doc(empty, &problems);
        json_decref(empty);
    }
    json_decref(problems);
    json_decref(doc);
    return *map != NULL;
}
