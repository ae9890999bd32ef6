/* DHIS2's asynchronous data value imports (?async=true; sql/020_dhis2.sql): a job row per
 * import, holding its import summary, read back by the token that started it at DHIS2's
 * task endpoints. */
#ifndef SCALEUPD_DHIS2_IMPORT_JOB_H
#define SCALEUPD_DHIS2_IMPORT_JOB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define DHIS2_JOB_ID_MAX 11   /* a DHIS2 UID */
#define DHIS2_JOB_TIME_MAX 32 /* "2026-12-02T01:55:18.123" */

/* Records a completed import of token token_id whose import summary is summary (JSON text),
 * with a new job id (a DHIS2 UID) into id and its creation time (DHIS2's format, UTC) into
 * created. Runs on its own (outside a transaction). False on a database error. */
bool dhis2_job_create(PGconn *conn, int64_t token_id, const char *summary,
                      char id[DHIS2_JOB_ID_MAX + 1], char created[DHIS2_JOB_TIME_MAX],
                      const char *request_id) __attribute__((warn_unused_result));

enum dhis2_job_status {
    DHIS2_JOB_FOUND,
    DHIS2_JOB_UNKNOWN, /* no such job of this token */
    DHIS2_JOB_DB_ERROR,
};

/* Reads job id of token token_id: its summary (malloc'd JSON text, the caller's; NULL when
 * summary is NULL) and its creation and completion times. */
enum dhis2_job_status dhis2_job_read(PGconn *conn, int64_t token_id, const char *id, char **summary,
                                     char created[DHIS2_JOB_TIME_MAX],
                                     char completed[DHIS2_JOB_TIME_MAX], const char *request_id)
    __attribute__((warn_unused_result));

#endif
