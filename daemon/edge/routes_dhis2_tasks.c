/* DHIS2's task endpoints for the data value imports started with async=true
 * (routes_feeds.c): /api/system/tasks/DATAVALUE_IMPORT/{id}, its notifications, and
 * /api/system/taskSummaries/DATAVALUE_IMPORT/{id}, its import summary; with or without an API
 * version in the path. A token reads the jobs it started. */
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/dhis2_summary.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/storage/dhis2_import_job.h"

/* The job the path names, read: false when it answered (404 for another job type or an API
 * version DHIS2 does not serve; as DHIS2, an unknown job is an empty answer, *found false). */
static bool read_job(struct request *req, PGconn *conn, char **summary,
                     char created[DHIS2_JOB_TIME_MAX], char completed[DHIS2_JOB_TIME_MAX],
                     bool *found)
{
    const char *version = request_param(req, "version");
    const char *type = request_param(req, "jobType");
    const char *id = request_param(req, "id");
    int v;
    if ((version != NULL && !dhis2_api_version_parse(version, &v)) ||
        strcmp(type, "DATAVALUE_IMPORT") != 0) {
        request_reply_error(req, 404, "not_found",
                            "scaleupd keeps the tasks of DATAVALUE_IMPORT only, on API versions "
                            "%d to %d",
                            DHIS2_API_VERSION_MIN, DHIS2_API_VERSION_MAX);
        return false;
    }
    *found = false;
    if (strlen(id) > DHIS2_JOB_ID_MAX || !utf8_valid(id))
        return true;
    switch (dhis2_job_read(conn, req->auth.token_id, id, summary, created, completed, req->id)) {
    case DHIS2_JOB_DB_ERROR:
        handler_db_error(req, conn);
        return false;
    case DHIS2_JOB_UNKNOWN:
        return true;
    case DHIS2_JOB_FOUND:
        *found = true;
        return true;
    }
    return true;
}

void handle_get_dhis2_task(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    char *summary = NULL, created[DHIS2_JOB_TIME_MAX], completed[DHIS2_JOB_TIME_MAX];
    bool found;
    if (!read_job(req, conn, &summary, created, completed, &found))
        return;
    request_add_response_header(req, "Cache-Control", "no-store");
    request_reply_json(req, 200,
                       found ? dhis2_job_notifications(request_param(req, "id"), created, completed)
                             : json_array());
    free(summary);
}

void handle_get_dhis2_task_summary(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    char *summary = NULL, created[DHIS2_JOB_TIME_MAX], completed[DHIS2_JOB_TIME_MAX];
    bool found;
    if (!read_job(req, conn, &summary, created, completed, &found))
        return;
    request_add_response_header(req, "Cache-Control", "no-store");
    json_t *doc = summary ? json_loads(summary, 0, NULL) : NULL;
    free(summary);
    if (doc != NULL)
        request_reply_json(req, 200, doc);
    else /* DHIS2 answers an unknown job's summary with an empty 200 */
        request_reply_raw(req, 200, "application/json", NULL, 0);
}
