/* Roadmap and progress endpoints: PUT a roadmap (a new version each time), read the version
 * in force and the versions, progress now or at a date (per region), and its history. Each
 * route parses its parameters, calls one service function and renders what it answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/services/progress_service.h"
#include "scaleupd/services/roadmap_service.h"

static void reply_syntax_error(struct request *req, const struct roadmap_service_answer *answer)
{
    request_reply_error_json(req, 400, "invalid_json", answer->syntax.message,
                             json_pack("{s:i,s:i,s:I}", "line", answer->syntax.line, "column",
                                       answer->syntax.column, "position",
                                       (json_int_t)answer->syntax.position));
}

/* Answers 422 with every problem (the answer's list passes to the reply). */
static void reply_invalid(struct request *req, struct roadmap_service_answer *answer)
{
    json_t *extra = json_pack("{s:o}", "details", answer->problems);
    answer->problems = NULL;
    if (answer->dropped > 0)
        json_object_set_new(extra, "dropped", json_integer((json_int_t)answer->dropped));
    request_reply_error_json(req, 422, "invalid_roadmap", "the roadmap has problems", extra);
}

void handle_put_roadmap(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    struct roadmap_service_answer answer;
    enum roadmap_service_result rc =
        roadmap_service_apply(conn, programme_id, request_param(req, "slug"), req->body,
                              req->body_len, req->auth.token_id, &answer, req->id);
    switch (rc) {
    case ROADMAP_SERVICE_CREATED:
    case ROADMAP_SERVICE_UPDATED:
    case ROADMAP_SERVICE_OK:
        request_reply_json(req, rc == ROADMAP_SERVICE_CREATED ? 201 : 200, answer.document);
        answer.document = NULL;
        if (rc != ROADMAP_SERVICE_OK)
            background_kick("progress-snapshots"); /* a new version: snapshots to recompute */
        break;
    case ROADMAP_SERVICE_SYNTAX:
        reply_syntax_error(req, &answer);
        break;
    case ROADMAP_SERVICE_INVALID:
        reply_invalid(req, &answer);
        break;
    case ROADMAP_SERVICE_NONE:
    case ROADMAP_SERVICE_DB_ERROR:
        handler_db_error(req, conn);
        break;
    }
    roadmap_service_answer_release(&answer);
}

/* GET …/roadmap and …/roadmap/versions/{version}. */
static void get_roadmap(struct request *req, PGconn *conn, int version)
{
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    struct roadmap_service_answer answer;
    switch (roadmap_service_get(conn, programme_id, version, &answer, req->id)) {
    case ROADMAP_SERVICE_OK:
        json_object_set_new(answer.document, "programme", json_string(request_param(req, "slug")));
        request_reply_json(req, 200, answer.document);
        answer.document = NULL;
        break;
    case ROADMAP_SERVICE_NONE:
        if (version == 0)
            request_reply_error(req, 404, "no_roadmap", "programme \"%s\" has no roadmap yet",
                                request_param(req, "slug"));
        else
            request_reply_error(req, 404, "unknown_version", "no roadmap version %d", version);
        break;
    default:
        handler_db_error(req, conn);
        break;
    }
    roadmap_service_answer_release(&answer);
}

void handle_get_roadmap(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    get_roadmap(req, conn, 0);
}

void handle_get_roadmap_version(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    const char *text = request_param(req, "version");
    char *end;
    long version = strtol(text, &end, 10);
    if (*end != '\0' || end == text || text[0] < '1' || text[0] > '9' || version < 1 ||
        version > 1000000) { /* digits only: not "+1", " 1" or "01" */
        request_reply_error(req, 404, "unknown_version", "no roadmap version \"%s\"", text);
        return;
    }
    get_roadmap(req, conn, (int)version);
}

/* Reads ?by=region; false when it answered 400. */
static bool read_by_region(struct request *req, bool *by_region)
{
    const char *by = request_query(req, "by");
    *by_region = by != NULL && strcmp(by, "region") == 0;
    if (by != NULL && !*by_region) {
        request_reply_error(req, 400, "invalid_parameter", "by must be \"region\"");
        return false;
    }
    return true;
}

static void reply_progress(struct request *req, PGconn *conn, enum progress_service_result rc,
                           json_t *doc)
{
    switch (rc) {
    case PROGRESS_SERVICE_OK:
        json_object_set_new(doc, "programme", json_string(request_param(req, "slug")));
        request_reply_json(req, 200, doc);
        return;
    case PROGRESS_SERVICE_NO_ROADMAP:
        request_reply_error(req, 404, "no_roadmap",
                            "programme \"%s\" has no roadmap yet: PUT one to …/roadmap",
                            request_param(req, "slug"));
        return;
    case PROGRESS_SERVICE_FUTURE:
        request_reply_error(req, 400, "invalid_parameter",
                            "at is after today in the programme's time zone: progress is known"
                            " up to today");
        return;
    case PROGRESS_SERVICE_BUSY:
    case PROGRESS_SERVICE_DB_ERROR:
        break;
    }
    handler_db_error(req, conn);
}

void handle_get_progress(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    const char *at_text = request_query(req, "at");
    int32_t at = 0;
    bool by_region;
    if (at_text != NULL && !date_parse(at_text, strlen(at_text), &at)) {
        request_reply_error(req, 400, "invalid_parameter", "at must be a date (YYYY-MM-DD)");
        return;
    }
    long long programme_id;
    if (!read_by_region(req, &by_region) || !handler_check_programme(req, conn, &programme_id))
        return;
    json_t *doc = NULL;
    enum progress_service_result rc = progress_service_read(
        conn, programme_id, at_text != NULL ? &at : NULL, by_region, &doc, req->id);
    reply_progress(req, conn, rc, doc);
}

void handle_get_progress_history(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    bool by_region;
    long long programme_id;
    if (!read_by_region(req, &by_region) || !handler_check_programme(req, conn, &programme_id))
        return;
    json_t *doc = NULL;
    enum progress_service_result rc =
        progress_service_read_history(conn, programme_id, by_region, &doc, req->id);
    reply_progress(req, conn, rc, doc);
}
