/* The use case "apply a programme document" (POST /api/v1/programmes): validate it (core/
 * programme_doc.h), check its time zone, and write the programme, its sites and its
 * indicators in one transaction (storage/programmes.h). */
#ifndef SCALEUPD_SERVICES_PROGRAMME_APPLY_H
#define SCALEUPD_SERVICES_PROGRAMME_APPLY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

enum programme_result {
    PROGRAMME_CREATED,
    PROGRAMME_UPDATED,
    PROGRAMME_INVALID,
    PROGRAMME_DB_ERROR
};

/* Creates or updates the programme of doc in one transaction: sites are upserted by code
 * (sites left out of a new version are kept: they may carry data), parents and membership
 * set, indicators upserted by code. An invalid document, or a time zone the database does
 * not know, gives PROGRAMME_INVALID with *problems (owned by the caller) filled and stores
 * nothing. *id receives the programme's id when it was stored. */
enum programme_result programme_apply(PGconn *conn, const json_t *doc, int64_t *id,
                                      json_t **problems, const char *request_id)
    __attribute__((warn_unused_result));

/* programme_apply, then the stored programme as programme_get shows it in *stored (owned by
 * the caller): what the API answers. PROGRAMME_DB_ERROR when reading it back fails. */
enum programme_result programme_apply_and_read(PGconn *conn, const json_t *doc, json_t **stored,
                                               json_t **problems, const char *request_id)
    __attribute__((warn_unused_result));

#endif
