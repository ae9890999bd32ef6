/* Roadmap and progress endpoints: PUT a roadmap (a new version each time), read the version
 * in force and the versions, progress now or at a date (per region), and its history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/core/period.h"
#include "scaleupd/services/progress_service.h"
#include "scaleupd/core/roadmap_doc.h"
#include "scaleupd/storage/roadmap_store.h"

static void reply_syntax_error(struct request *req, const struct roadmap_errors *errs)
{
    const struct roadmap_error *e = &errs->items[0];
    request_reply_error_json(req, 400, "invalid_json", e->message,
                             json_pack("{s:i,s:i,s:I}", "line", errs->line, "column", errs->column,
                                       "position", (json_int_t)errs->position));
}

/* Answers 422 with every problem; mismatch adds one for a "programme" naming another. */
static void reply_invalid(struct request *req, const struct roadmap_errors *errs,
                          const char *mismatch)
{
    json_t *details = json_array();
    for (size_t i = 0; i < errs->count; i++)
        json_array_append_new(details,
                              json_pack("{s:s,s:s,s:s}", "path", errs->items[i].path, "code",
                                        roadmap_error_code_name(errs->items[i].code), "message",
                                        errs->items[i].message));
    if (mismatch != NULL) {
        char message[200];
        snprintf(message, sizeof(message),
                 "the roadmap names programme \"%.64s\", not the one of the URL", mismatch);
        json_array_append_new(details, json_pack("{s:s,s:s,s:s}", "path", "$.programme", "code",
                                                 "programme_mismatch", "message", message));
    }
    json_t *extra = json_pack("{s:o}", "details", details);
    if (errs->dropped > 0)
        json_object_set_new(extra, "dropped", json_integer((json_int_t)errs->dropped));
    request_reply_error_json(req, 422, "invalid_roadmap", "the roadmap has problems", extra);
}

/* The "programme" member of the body when it is a string, else NULL; the caller frees. */
static char *document_programme(const struct request *req)
{
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    const char *named = json_string_value(json_object_get(doc, "programme"));
    char *copy = named ? strdup(named) : NULL;
    json_decref(doc);
    return copy;
}

/* The document as stored: jansson's compact form of the validated body. */
static char *canonical_document(const struct request *req)
{
    json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return text;
}

/* Stores the version in a transaction and answers with it (201 for a first version). */
static void store_and_reply(struct request *req, PGconn *conn, int64_t programme_id,
                            const struct roadmap *rm)
{
    char *document = canonical_document(req);
    int version = 0;
    int32_t today;
    PGresult *res = PQexec(conn, "BEGIN");
    bool ok = document != NULL && db_ok(res, PGRES_COMMAND_OK, req->id, "begin");
    PQclear(res);
    ok = ok && roadmaps_store(conn, programme_id, document, rm->label, req->auth.token_id,
                              clock_now(), &version, req->id);
    res = PQexec(conn, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && db_ok(res, PGRES_COMMAND_OK, req->id, "commit a roadmap version");
    PQclear(res);
    free(document);
    json_t *stored = NULL;
    if (!ok || !progress_service_today(conn, programme_id, &today) ||
        roadmaps_get(conn, programme_id, version, today, &stored) != ROADMAPS_OK) {
        handler_db_error(req, conn);
        return;
    }
    request_reply_json(req, version == 1 ? 201 : 200, stored);
}

void handle_put_roadmap(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    struct roadmaps_indicators *indicators = roadmaps_indicators_load(conn, programme_id);
    struct roadmap_errors *errs = malloc(sizeof(*errs));
    struct roadmap *rm = NULL;
    if (indicators == NULL || errs == NULL) {
        handler_db_error(req, conn);
        goto out;
    }
    struct roadmap_indicator_lookup lookup = roadmaps_indicators_lookup(indicators);
    enum roadmap_status st = roadmap_parse(req->body, req->body_len, &lookup, &rm, errs);
    const char *slug = request_param(req, "slug");
    char *named = st == ROADMAP_SYNTAX ? NULL : document_programme(req);
    bool mismatch = named != NULL && strcmp(named, slug) != 0;
    if (st == ROADMAP_SYNTAX)
        reply_syntax_error(req, errs);
    else if (st == ROADMAP_NOMEM)
        request_reply_error(req, 503, "overloaded", "out of memory");
    else if (st == ROADMAP_INVALID || mismatch)
        reply_invalid(req, errs, mismatch ? named : NULL);
    else
        store_and_reply(req, conn, programme_id, rm);
    free(named);
out:
    roadmap_free(&rm);
    free(errs);
    roadmaps_indicators_free(&indicators);
}

/* GET …/roadmap and …/roadmap/versions/{version}. */
static void get_roadmap(struct request *req, PGconn *conn, int version)
{
    long long programme_id;
    int32_t today;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    if (!progress_service_today(conn, programme_id, &today)) {
        handler_db_error(req, conn);
        return;
    }
    json_t *doc = NULL;
    switch (roadmaps_get(conn, programme_id, version, today, &doc)) {
    case ROADMAPS_OK:
        json_object_set_new(doc, "programme", json_string(request_param(req, "slug")));
        request_reply_json(req, 200, doc);
        break;
    case ROADMAPS_NONE:
        if (version == 0)
            request_reply_error(req, 404, "no_roadmap", "programme \"%s\" has no roadmap yet",
                                request_param(req, "slug"));
        else
            request_reply_error(req, 404, "unknown_version", "no roadmap version %d", version);
        break;
    case ROADMAPS_DB_ERROR:
        handler_db_error(req, conn);
        break;
    }
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
    if (*end != '\0' || end == text || version < 1 || version > 1000000) {
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

/* Resolves the programme and brings its snapshots up to date; false when it answered. */
static bool prepare_progress(struct request *req, PGconn *conn, long long *programme_id)
{
    if (!handler_check_programme(req, conn, programme_id))
        return false;
    switch (progress_service_refresh(conn, *programme_id, true, NULL, req->id)) {
    case PROGRESS_SERVICE_OK:
    case PROGRESS_SERVICE_BUSY:
        return true;
    case PROGRESS_SERVICE_NO_ROADMAP:
        request_reply_error(req, 404, "no_roadmap",
                            "programme \"%s\" has no roadmap yet: PUT one to …/roadmap",
                            request_param(req, "slug"));
        return false;
    case PROGRESS_SERVICE_DB_ERROR:
        break;
    }
    handler_db_error(req, conn);
    return false;
}

static void reply_progress(struct request *req, PGconn *conn, enum progress_service_result rc,
                           json_t *doc)
{
    if (rc == PROGRESS_SERVICE_OK) {
        json_object_set_new(doc, "programme", json_string(request_param(req, "slug")));
        request_reply_json(req, 200, doc);
    } else if (rc == PROGRESS_SERVICE_NO_ROADMAP) {
        request_reply_error(req, 404, "no_roadmap", "programme \"%s\" has no roadmap yet",
                            request_param(req, "slug"));
    } else {
        handler_db_error(req, conn);
    }
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
    if (!read_by_region(req, &by_region) || !prepare_progress(req, conn, &programme_id))
        return;
    if (at_text == NULL && !progress_service_today(conn, programme_id, &at)) {
        handler_db_error(req, conn);
        return;
    }
    json_t *doc = NULL;
    enum progress_service_result rc = progress_service_get(conn, programme_id, at, by_region, &doc);
    reply_progress(req, conn, rc, doc);
}

void handle_get_progress_history(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    bool by_region;
    long long programme_id;
    if (!read_by_region(req, &by_region) || !prepare_progress(req, conn, &programme_id))
        return;
    json_t *doc = NULL;
    enum progress_service_result rc = progress_service_history(conn, programme_id, by_region, &doc);
    reply_progress(req, conn, rc, doc);
}
