/*
 * DHIS2 import jobs (storage/dhis2_import_job.c) against a real PostgreSQL: a job is RUNNING
 * while a live session answers for it, finished with its summary, failed by its reader once
 * that session is gone, read only by its token, and forgotten a week after it started unless
 * a live session still runs it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/storage/dhis2_import_job.h"

static PGconn *conn;

static void setup(void)
{
    conn = pgtest_fresh_database("pg_dhis2_jobs");
}

static void teardown(void)
{
    PQfinish(conn);
}

TestSuite(dhis2_jobs, .init = setup, .fini = teardown);

static const char UNFINISHED[] = "{\"status\":\"ERROR\",\"description\":\"stopped\"}";

static void start(int64_t token, char id[DHIS2_JOB_ID_MAX + 1])
{
    char created[DHIS2_JOB_TIME_MAX];
    cr_assert(dhis2_job_start(conn, token, id, created, "test"));
    cr_assert_eq(strlen(id), 11, "a UID: %s", id);
}

static enum dhis2_job_status read_job(int64_t token, const char *id, struct dhis2_job *job)
{
    enum dhis2_job_status st = dhis2_job_read(conn, token, id, UNFINISHED, job, "test");
    cr_assert_neq(st, DHIS2_JOB_DB_ERROR);
    return st;
}

/* A second session, as a worker, claims job id and ends before finishing it. */
static void claim_and_end(const char *id)
{
    PGconn *worker = PQconnectdb(pgtest_conninfo("pg_dhis2_jobs"));
    cr_assert_eq(PQstatus(worker), CONNECTION_OK);
    bool claimed = false;
    cr_assert(dhis2_job_claim(worker, id, &claimed, "test"));
    cr_assert(claimed);
    char *pid = pgtest_scalar(worker, "SELECT pg_backend_pid()");
    PQfinish(worker);
    /* the backend leaves pg_stat_activity a moment after the client closes: a bounded number
     * of looks, not a time */
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid);
    for (int i = 0; i < 100000; i++) {
        char *n = pgtest_scalar(conn, sql);
        bool gone = strcmp(n, "0") == 0;
        free(n);
        if (gone)
            break;
    }
    free(pid);
}

Test(dhis2_jobs, running_finished_and_failed)
{
    char id[DHIS2_JOB_ID_MAX + 1], lost[DHIS2_JOB_ID_MAX + 1];
    struct dhis2_job job;
    start(7, id);
    cr_assert_eq(read_job(7, id, &job), DHIS2_JOB_FOUND);
    cr_expect_str_eq(job.status, "RUNNING");
    cr_expect_null(job.summary);
    cr_expect_str_eq(job.completed, "");
    /* another token sees no such job */
    cr_expect_eq(read_job(8, id, &job), DHIS2_JOB_UNKNOWN);
    cr_assert(dhis2_job_finish(conn, id, "COMPLETED", "{\"status\":\"SUCCESS\"}", "test"));
    cr_assert_eq(read_job(7, id, &job), DHIS2_JOB_FOUND);
    cr_expect_str_eq(job.status, "COMPLETED");
    cr_expect_str_eq(job.summary, "{\"status\": \"SUCCESS\"}");
    cr_expect_neq(job.completed[0], '\0');
    free(job.summary);
    /* a finished job is not finished again */
    cr_assert(dhis2_job_finish(conn, id, "ERROR", "{}", "test"));
    cr_assert_eq(read_job(7, id, &job), DHIS2_JOB_FOUND);
    cr_expect_str_eq(job.status, "COMPLETED");
    free(job.summary);

    /* a job whose worker's session ended before it finished: failed by its reader */
    start(7, lost);
    claim_and_end(lost);
    cr_assert_eq(read_job(7, lost, &job), DHIS2_JOB_FOUND);
    cr_expect_str_eq(job.status, "ERROR");
    cr_expect_str_eq(job.summary, "{\"status\": \"ERROR\", \"description\": \"stopped\"}");
    free(job.summary);
    /* nor can a worker claim it afterwards */
    bool claimed = true;
    cr_assert(dhis2_job_claim(conn, lost, &claimed, "test"));
    cr_expect_not(claimed);
}

Test(dhis2_jobs, expiry)
{
    char old_done[DHIS2_JOB_ID_MAX + 1], old_alive[DHIS2_JOB_ID_MAX + 1];
    char old_lost[DHIS2_JOB_ID_MAX + 1], recent[DHIS2_JOB_ID_MAX + 1];
    start(7, old_done);
    cr_assert(dhis2_job_finish(conn, old_done, "COMPLETED", "{}", "test"));
    start(7, old_alive); /* this session answers for it */
    start(7, old_lost);
    claim_and_end(old_lost); /* RUNNING, its session gone, never read */
    start(7, recent);
    cr_assert(dhis2_job_finish(conn, recent, "COMPLETED", "{}", "test"));
    char sql[256];
    snprintf(sql, sizeof(sql),
             "UPDATE dhis2_import_job SET created_at = now() - interval '8 days'"
             " WHERE id IN ('%s', '%s', '%s') RETURNING 1",
             old_done, old_alive, old_lost);
    free(pgtest_scalar(conn, sql));
    cr_expect_eq(dhis2_job_expire(conn, 7 * 86400), 2);
    struct dhis2_job job;
    cr_expect_eq(read_job(7, old_done, &job), DHIS2_JOB_UNKNOWN);
    cr_expect_eq(read_job(7, old_lost, &job), DHIS2_JOB_UNKNOWN);
    cr_assert_eq(read_job(7, old_alive, &job), DHIS2_JOB_FOUND);
    cr_expect_str_eq(job.status, "RUNNING");
    cr_assert_eq(read_job(7, recent, &job), DHIS2_JOB_FOUND);
    free(job.summary);
    cr_expect_eq(dhis2_job_expire(conn, 7 * 86400), 0);
}
