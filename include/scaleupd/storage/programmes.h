/* Programmes: the document of /api/v1/programmes (sites with their hierarchy and
 * membership, indicators) validated, stored idempotently, and read back. */
#ifndef SCALEUPD_PROGRAMMES_H
#define SCALEUPD_PROGRAMMES_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* Validates a programme document. Returns an array of problems, each
 * {"path":"$.sites[3].parent","code":…,"message":…}; empty when the document is valid.
 * Pure: no database. The caller owns the array. */
json_t *programme_validate(const json_t *doc);

enum programme_result {
    PROGRAMME_CREATED,
    PROGRAMME_UPDATED,
    PROGRAMME_INVALID,
    PROGRAMME_DB_ERROR
};

/* Creates or updates the programme of a valid document in one transaction: sites are
 * upserted by code (sites left out of a new version are kept: they may carry data),
 * parents and membership set, indicators upserted by code. A time zone the database
 * does not know gives PROGRAMME_INVALID with problems filled. */
enum programme_result programme_apply(PGconn *conn, const json_t *doc, int64_t *id,
                                      json_t **problems, const char *request_id)
    __attribute__((warn_unused_result));

/* Looks a programme up by slug: 1 found (id set), 0 unknown, -1 database error. */
int programme_find(PGconn *conn, const char *slug, int64_t *id);

/* The stored programme with its sites (with membership) and indicators, or NULL if unknown
 * or on error (*db_error tells which). The caller owns the result. */
json_t *programme_get(PGconn *conn, const char *slug, bool *db_error);

/* Every programme: slug, name, time zone, counts of sites and indicators. NULL on error. */
json_t *programme_list(PGconn *conn);

#endif
