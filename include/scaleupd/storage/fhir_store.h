/* Storage of the FHIR mapping: the "fhir" section of a programme's stored document, with the
 * indicators and sites it is checked against, read as the map the MeasureReport parser uses
 * (core/fhir_map.h). The section is written with the document (storage/programmes.h). */
#ifndef SCALEUPD_STORAGE_FHIR_STORE_H
#define SCALEUPD_STORAGE_FHIR_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/fhir_map.h"

/* The FHIR map of programme programme_id in *map (owned by the caller, fhir_map_free): an
 * empty map when the document has no "fhir" section, or when the stored section no longer
 * checks (it was checked when applied; a failure is logged). False on a database error or an
 * unknown programme. */
bool fhir_store_map(PGconn *conn, int64_t programme_id, struct fhir_map **map,
                    const char *request_id) __attribute__((warn_unused_result));

#endif /* SCALEUPD_STORAGE_FHIR_STORE_H */
