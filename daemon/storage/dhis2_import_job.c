/* DHIS2 import jobs (dhis2_import_job.h): one row each, RUNNING while a session answers for it,
 * finished by the worker that ran the import, read by id and token. A job id is a DHIS2 UID
 * drawn in SQL; who may read a job is decided by its token, not by the id being hard to guess.
 * A session is named by its backend's pid and start time, which no later session repeats (a
 * session of another role, whose start time pg_stat_activity hides, by its pid alone). */
#include "scaleupd/storage/dhis2_import_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"

#define TIME_FORMAT "'YYYY-MM-DD\"T\"HH24:MI:SS.MS'"
#define OWN_SESSION                                                                                \
    "pg_backend_pid(), (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())"

static const char SQL_START[] =
    "INSERT INTO dhis2_import_job (id, token_id, status, runner_pid, runner_started)"
    " SELECT (SELECT chr(65 + floor(random() * 26)::int) || string_agg(substr("
    "'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',"
    " floor(random() * 62)::int + 1, 1), '') FROM generate_series(1, 10)),"
    " $1, 'RUNNING', " OWN_SESSION
    " RETURNING id, to_char(created_at AT TIME ZONE 'UTC', " TIME_FORMAT ")";

static const char SQL_CLAIM[] = "UPDATE dhis2_import_job SET (runner_pid, runner_started) = "
                                "(SELECT " OWN_SESSION ") WHERE id = $1 AND status = 'RUNNING'";

static const char SQL_FINISH[] =
    "UPDATE dhis2_import_job SET status = $2, summary = $3::jsonb, completed_at = now(),"
    " runner_pid = NULL, runner_started = NULL WHERE id = $1 AND status = 'RUNNING'";

/* A RUNNING job whose session is gone is failed first; the read sees what the update wrote. */
static const char SQL_READ[] =
    "WITH gone AS (UPDATE dhis2_import_job j SET status = 'ERROR', summary = $3::jsonb,"
    "  completed_at = now(), runner_pid = NULL, runner_started = NULL"
    "  WHERE j.id = $1 AND j.token_id = $2 AND j.status = 'RUNNING' AND NOT EXISTS ("
    "  SELECT 1 FROM pg_stat_activity a WHERE a.pid = j.runner_pid"
    "  AND (a.backend_start = j.runner_started OR a.backend_start IS NULL))"
    "  RETURNING status, summary, created_at, completed_at)"
    " SELECT status, summary::text, to_char(created_at AT TIME ZONE 'UTC', " TIME_FORMAT "),"
    " to_char(completed_at AT TIME ZONE 'UTC', " TIME_FORMAT ") FROM gone"
    " UNION ALL SELECT status, summary::text, to_char(created_at AT TIME ZONE 'UTC', " TIME_FORMAT
    "), to_char(completed_at AT TIME ZONE 'UTC', " TIME_FORMAT ")"
    " FROM dhis2_import_job WHERE id = $1 AND token_id = $2 AND NOT EXISTS (SELECT 1 FROM gone)";

/* A job is kept a week after it was started: finished, or RUNNING with its session gone
 * (failed by no reader since). */
static const char SQL_EXPIRE[] =
    "DELETE FROM dhis2_import_job j WHERE j.created_at < now() - make_interval(secs => $1)"
    " AND (j.status <> 'RUNNING' OR NOT EXISTS ("
    "  SELECT 1 FROM pg_stat_activity a WHERE a.pid = j.runner_pid"
    "  AND (a.backend_start = j.runner_started OR a.backend_start IS NULL)))";

bool dhis2_job_start(PGconn *conn, int64_t token_id, char id[DHIS2_JOB_ID_MAX + 1],
                     char created[DHIS2_JOB_TIME_MAX], const char *request_id)
{
    char tid[24];
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *values[] = {tid};
    PGresult *res = db_run(conn, "scaleupd_dhis2_job_start", SQL_START, 1, values, PGRES_TUPLES_OK,
                           request_id, "record a dhis2 import job");
    if (res == NULL)
        return false;
    snprintf(id, DHIS2_JOB_ID_MAX + 1, "%s", PQgetvalue(res, 0, 0));
    snprintf(created, DHIS2_JOB_TIME_MAX, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return true;
}

bool dhis2_job_claim(PGconn *conn, const char *id, bool *claimed, const char *request_id)
{
    const char *values[] = {id};
    *claimed = false;
    PGresult *res = db_run(conn, "scaleupd_dhis2_job_claim", SQL_CLAIM, 1, values, PGRES_COMMAND_OK,
                           request_id, "claim a dhis2 import job");
    if (res == NULL)
        return false;
    *claimed = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return true;
}

bool dhis2_job_finish(PGconn *conn, const char *id, const char *status, const char *summary,
                      const char *request_id)
{
    const char *values[] = {id, status, summary};
    return db_command(conn, "scaleupd_dhis2_job_finish", SQL_FINISH, 3, values, request_id,
                      "finish a dhis2 import job");
}

enum dhis2_job_status dhis2_job_read(PGconn *conn, int64_t token_id, const char *id,
                                     const char *unfinished, struct dhis2_job *job,
                                     const char *request_id)
{
    char tid[24];
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *values[] = {id, tid, unfinished};
    memset(job, 0, sizeof(*job));
    PGresult *res = db_run(conn, "scaleupd_dhis2_job_read", SQL_READ, 3, values, PGRES_TUPLES_OK,
                           request_id, "read a dhis2 import job");
    if (res == NULL)
        return DHIS2_JOB_DB_ERROR;
    enum dhis2_job_status status = PQntuples(res) == 1 ? DHIS2_JOB_FOUND : DHIS2_JOB_UNKNOWN;
    if (status == DHIS2_JOB_FOUND) {
        snprintf(job->status, sizeof(job->status), "%s", PQgetvalue(res, 0, 0));
        if (!PQgetisnull(res, 0, 1))
            job->summary = xstrdup(PQgetvalue(res, 0, 1));
        snprintf(job->created, sizeof(job->created), "%s", PQgetvalue(res, 0, 2));
        snprintf(job->completed, sizeof(job->completed), "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return status;
}

long dhis2_job_expire(PGconn *conn, int max_age_seconds)
{
    char age[24];
    snprintf(age, sizeof(age), "%d", max_age_seconds);
    const char *values[] = {age};
    PGresult *res = db_run(conn, "scaleupd_dhis2_job_expire", SQL_EXPIRE, 1, values,
                           PGRES_COMMAND_OK, NULL, "expire dhis2 import jobs");
    if (res == NULL)
        return -1;
    long n = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return n;
}
