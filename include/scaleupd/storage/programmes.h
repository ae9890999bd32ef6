/* Storage of programmes: the programme row, its sites (hierarchy and membership) and its
 * indicators, written from a programme document that core/programme_doc.h accepted, and
 * the read side. Each function is one step; services/programme_apply.h runs the steps of a
 * document in one transaction. */
#ifndef SCALEUPD_PROGRAMMES_H
#define SCALEUPD_PROGRAMMES_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* Whether the database knows time_zone (pg_timezone_names) in *known; false on a database
 * error. */
bool programme_time_zone_known(PGconn *conn, const char *time_zone, bool *known,
                               const char *request_id) __attribute__((warn_unused_result));

/* Creates or updates the programme row of doc by slug (name, time zone (UTC when absent),
 * teams, the document itself); *id receives its id and *created whether it is new. False on
 * a database error. Run it inside the caller's transaction. */
bool programme_store(PGconn *conn, const json_t *doc, int64_t *id, bool *created,
                     const char *request_id) __attribute__((warn_unused_result));

/* Upserts the sites of doc by code (sites left out of a new version are kept: they may
 * carry data), then sets their parents and membership (status, adoption). False on a
 * database error. Inside the caller's transaction. */
bool programme_store_sites(PGconn *conn, int64_t programme_id, const json_t *doc,
                           const char *request_id) __attribute__((warn_unused_result));

/* Upserts the indicators of doc by code. False on a database error. Inside the caller's
 * transaction. */
bool programme_store_indicators(PGconn *conn, int64_t programme_id, const json_t *doc,
                                const char *request_id) __attribute__((warn_unused_result));

/* Looks a programme up by slug: 1 found (id set), 0 unknown, -1 database error. */
int programme_find(PGconn *conn, const char *slug, int64_t *id);

/* The stored programme with its sites (with membership) and indicators, or NULL if unknown
 * or on error (*db_error tells which). The caller owns the result. */
json_t *programme_get(PGconn *conn, const char *slug, bool *db_error);

/* Every programme: slug, name, time zone, counts of sites and indicators. NULL on error. */
json_t *programme_list(PGconn *conn);

#endif
