/* DHIS2's asynchronous data value imports (?async=true; sql/020_dhis2.sql, sql/026): a job row
 * per import, RUNNING from the moment it is answered until a worker finishes it with its
 * import summary, read back by the token that started it at DHIS2's task endpoints. */
#ifndef SCALEUPD_DHIS2_IMPORT_JOB_H
#define SCALEUPD_DHIS2_IMPORT_JOB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define DHIS2_JOB_ID_MAX 11   /* a DHIS2 UID */
#define DHIS2_JOB_TIME_MAX 32 /* "2026-12-02T01:55:18.123" */

/* Records a new RUNNING job of token token_id, answered for by this connection's session
 * until a worker claims it, with a new job id (a DHIS2 UID) into id and its creation time
 * (DHIS2's format, UTC) into created. Runs on its own (outside a transaction). False on a
 * database error. */
bool dhis2_job_start(PGconn *conn, int64_t token_id, char id[DHIS2_JOB_ID_MAX + 1],
                     char created[DHIS2_JOB_TIME_MAX], const char *request_id)
    __attribute__((warn_unused_result));

/* A worker takes job id over: its session answers for it from now on. *claimed is false when
 * the job is no longer RUNNING (a reader found its session gone and failed it): do not run
 * it. Runs on its own. False on a database error. */
bool dhis2_job_claim(PGconn *conn, const char *id, bool *claimed, const char *request_id)
    __attribute__((warn_unused_result));

/* Finishes RUNNING job id with status ("COMPLETED" or "ERROR") and its import summary (JSON
 * text). In the caller's transaction when there is one, so that a committed import and its
 * job's completion are one. False on a database error. */
bool dhis2_job_finish(PGconn *conn, const char *id, const char *status, const char *summary,
                      const char *request_id) __attribute__((warn_unused_result));

enum dhis2_job_status {
    DHIS2_JOB_FOUND,
    DHIS2_JOB_UNKNOWN, /* no such job of this token */
    DHIS2_JOB_DB_ERROR,
};

/* What a job says. */
struct dhis2_job {
    char status[16];                    /* RUNNING, COMPLETED or ERROR */
    char *summary;                      /* malloc'd JSON text, the caller's; NULL while RUNNING */
    char created[DHIS2_JOB_TIME_MAX];   /* DHIS2's format, UTC */
    char completed[DHIS2_JOB_TIME_MAX]; /* "" while RUNNING */
};

/* Reads job id of token token_id into *job. A RUNNING job whose session is gone (its daemon
 * stopped before the import finished; the import rolled back with the session) is first
 * finished as ERROR with unfinished (JSON text: the summary saying so). */
enum dhis2_job_status dhis2_job_read(PGconn *conn, int64_t token_id, const char *id,
                                     const char *unfinished, struct dhis2_job *job,
                                     const char *request_id) __attribute__((warn_unused_result));

/* Forgets the jobs started more than max_age_seconds ago that are finished, or RUNNING with
 * their session gone: how many, or -1 on a database error. A job whose session still runs
 * it is kept however old. */
long dhis2_job_expire(PGconn *conn, int max_age_seconds) __attribute__((warn_unused_result));

#endif
