/* DHIS2's read endpoints beside its data value import: the task endpoints of the imports
 * started with async=true (routes_feeds.c), /api/system/tasks/DATAVALUE_IMPORT/{id} (its
 * notifications) and /api/system/taskSummaries/DATAVALUE_IMPORT/{id} (its import summary), a
 * token reading the jobs it started; and /api/completeDataSetRegistrations. With or without an
 * API version in the path. */
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/dhis2_summary.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/storage/dhis2_import_job.h"
#include "scaleupd/storage/dhis2_registration.h"
#include "scaleupd/storage/programmes.h"

/* The summary a job that did not finish gets (its daemon stopped before the import ended). */
static char *unfinished_summary(void)
{
    json_t *summary =
        dhis2_failed_summary("the daemon running it stopped before the import finished; "
                             "nothing of it was stored");
    char *text = json_dumps(summary, JSON_COMPACT);
    json_decref(summary);
    return text;
}

/* The job the path names, read: false when it answered (404 for another job type or an API
 * version DHIS2 does not serve; as DHIS2, an unknown job is an empty answer, *found false). */
static bool read_job(struct request *req, PGconn *conn, struct dhis2_job *job, bool *found)
{
    const char *version = request_param(req, "version");
    const char *type = request_param(req, "jobType");
    const char *id = request_param(req, "id");
    int v;
    memset(job, 0, sizeof(*job));
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
    char *unfinished = unfinished_summary();
    enum dhis2_job_status status =
        dhis2_job_read(conn, req->auth.token_id, id, unfinished, job, req->id);
    free(unfinished);
    switch (status) {
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

/* The description of a failed job's summary: what its ERROR notification says. */
static json_t *job_notifications(const char *id, const struct dhis2_job *job)
{
    json_t *summary = job->summary ? json_loads(job->summary, 0, NULL) : NULL;
    const char *failure = json_string_value(json_object_get(summary, "description"));
    json_t *notes = dhis2_job_notifications(id, job->status, job->created, job->completed, failure);
    json_decref(summary);
    return notes;
}

void handle_get_dhis2_task(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    struct dhis2_job job;
    bool found;
    if (!read_job(req, conn, &job, &found))
        return;
    request_add_response_header(req, "Cache-Control", "no-store");
    request_reply_json(req, 200,
                       found ? job_notifications(request_param(req, "id"), &job) : json_array());
    free(job.summary);
}

void handle_get_dhis2_task_summary(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    struct dhis2_job job;
    bool found;
    if (!read_job(req, conn, &job, &found))
        return;
    request_add_response_header(req, "Cache-Control", "no-store");
    json_t *doc = job.summary ? json_loads(job.summary, 0, NULL) : NULL;
    free(job.summary);
    if (doc != NULL)
        request_reply_json(req, 200, doc);
    else /* DHIS2 answers the summary of an unknown or running job with an empty 200 */
        request_reply_raw(req, 200, "application/json", NULL, 0);
}

/* The programme of a registrations read: the feed token's, or the one ?programme= names; 0
 * when it answered. */
static int64_t registrations_programme(struct request *req, PGconn *conn)
{
    const char *slug = request_query(req, "programme");
    int64_t id = 0;
    if (req->auth.scope == TOKEN_SCOPE_FEED && slug == NULL)
        return req->auth.programme_id;
    if (slug == NULL || !utf8_valid(slug)) {
        request_reply_error(req, 400, "missing_programme",
                            "an admin token must name the programme: ?programme=SLUG");
        return 0;
    }
    int found = programme_find(conn, slug, &id);
    if (found < 0) {
        handler_db_error(req, conn);
        return 0;
    }
    if (found == 0 || (req->auth.scope == TOKEN_SCOPE_FEED && id != req->auth.programme_id)) {
        request_reply_error(req, 404, "unknown_programme", "no programme \"%s\"", slug);
        return 0; /* another programme's is answered as one that does not exist */
    }
    return id;
}

void handle_get_dhis2_registrations(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    const char *version = request_param(req, "version");
    int v;
    if (version != NULL && !dhis2_api_version_parse(version, &v)) {
        request_reply_error(req, 404, "not_found", "no DHIS2 API version \"%s\": versions %d to %d",
                            utf8_valid(version) ? version : "?", DHIS2_API_VERSION_MIN,
                            DHIS2_API_VERSION_MAX);
        return;
    }
    const char *filters[] = {request_query(req, "dataSet"), request_query(req, "period"),
                             request_query(req, "orgUnit")};
    for (int i = 0; i < 3; i++)
        if (filters[i] != NULL && !utf8_valid(filters[i])) {
            request_reply_error(req, 400, "invalid_encoding", "a query parameter is not UTF-8");
            return;
        }
    int64_t programme_id = registrations_programme(req, conn);
    if (programme_id == 0)
        return;
    json_t *doc = NULL;
    if (!dhis2_registrations_read(conn, programme_id, filters[0], filters[1], filters[2], &doc,
                                  req->id)) {
        handler_db_error(req, conn);
        return;
    }
    request_reply_json(req, 200, doc);
}
