/* DHIS2 import jobs (dhis2_import_job.h): one row each, written once the import is done and
 * read by id and token. A job id is a DHIS2 UID drawn in SQL; who may read a job is decided by
 * its token, not by the id being hard to guess. */
#include "scaleupd/storage/dhis2_import_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"

#define TIME_FORMAT "'YYYY-MM-DD\"T\"HH24:MI:SS.MS'"

static const char SQL_CREATE[] =
    "INSERT INTO dhis2_import_job (id, token_id, status, summary, completed_at)"
    " SELECT (SELECT chr(65 + floor(random() * 26)::int) || string_agg(substr("
    "'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',"
    " floor(random() * 62)::int + 1, 1), '') FROM generate_series(1, 10)),"
    " $1, 'COMPLETED', $2::jsonb, now()"
    " RETURNING id, to_char(created_at AT TIME ZONE 'UTC', " TIME_FORMAT ")";

static const char SQL_READ[] =
    "SELECT summary::text, to_char(created_at AT TIME ZONE 'UTC', " TIME_FORMAT "),"
    " to_char(completed_at AT TIME ZONE 'UTC', " TIME_FORMAT ")"
    " FROM dhis2_import_job WHERE id = $1 AND token_id = $2";

bool dhis2_job_create(PGconn *conn, int64_t token_id, const char *summary,
                      char id[DHIS2_JOB_ID_MAX + 1], char created[DHIS2_JOB_TIME_MAX],
                      const char *request_id)
{
    char tid[24];
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *values[] = {tid, summary};
    PGresult *res = db_run(conn, "scaleupd_dhis2_job_create", SQL_CREATE, 2, values,
                           PGRES_TUPLES_OK, request_id, "record a dhis2 import job");
    if (res == NULL)
        return false;
    snprintf(id, DHIS2_JOB_ID_MAX + 1, "%s", PQgetvalue(res, 0, 0));
    snprintf(created, DHIS2_JOB_TIME_MAX, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return true;
}

enum dhis2_job_status dhis2_job_read(PGconn *conn, int64_t token_id, const char *id, char **summary,
                                     char created[DHIS2_JOB_TIME_MAX],
                                     char completed[DHIS2_JOB_TIME_MAX], const char *request_id)
{
    char tid[24];
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *values[] = {id, tid};
    *summary = NULL;
    PGresult *res = db_run(conn, "scaleupd_dhis2_job_read", SQL_READ, 2, values, PGRES_TUPLES_OK,
                           request_id, "read a dhis2 import job");
    if (res == NULL)
        return DHIS2_JOB_DB_ERROR;
    enum dhis2_job_status status = PQntuples(res) == 1 ? DHIS2_JOB_FOUND : DHIS2_JOB_UNKNOWN;
    if (status == DHIS2_JOB_FOUND) {
        if (!PQgetisnull(res, 0, 0))
            *summary = xstrdup(PQgetvalue(res, 0, 0));
        snprintf(created, DHIS2_JOB_TIME_MAX, "%s", PQgetvalue(res, 0, 1));
        snprintf(completed, DHIS2_JOB_TIME_MAX, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return status;
}
