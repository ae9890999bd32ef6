/* FHIR R4 endpoints: POST /fhir/MeasureReport (one MeasureReport) and POST /fhir (a batch or
 * transaction Bundle of them), application/fhir+json or application/json. The write is the
 * feeds' (ingest_push: Idempotency-Key, dry_run, revisions, dirty marks); the answers are
 * FHIR's: OperationOutcome or a response Bundle (core/fhir_outcome.h), errors included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/fhir_outcome.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/services/ingest.h"

#define FHIR_MEDIA "application/fhir+json"

/* Answers an OperationOutcome of one error issue. */
static void reply_fhir_error(struct request *req, int status, const char *code, const char *ours,
                             const char *diagnostics)
{
    char *text = xstrdup(diagnostics);
    utf8_make_valid(text);
    json_t *outcome = fhir_error_outcome(code, ours, text);
    free(text);
    char *body = json_dumps(outcome, JSON_COMPACT);
    json_decref(outcome);
    if (body == NULL) {
        request_reply_error(req, 500, "internal", "the response could not be built");
        return;
    }
    request_reply_raw(req, status, FHIR_MEDIA, body, strlen(body));
}

static void reply_document_error(struct request *req, const struct ingest_result *result)
{
    const struct obs_parse_error *perr = &result->error;
    char text[320];
    if (perr->line > 0)
        snprintf(text, sizeof(text), "%s (line %u, column %u, position %zu)", perr->message,
                 perr->line, perr->column, perr->offset);
    else
        snprintf(text, sizeof(text), "%s", perr->message);
    reply_fhir_error(req, result->status, fhir_issue_type(perr->code), perr->code, text);
}

/* Renders ingest_push's outcome; kicks the background tasks when the write changed data. */
static void reply_push(struct request *req, PGconn *conn, const struct ingest_request *w,
                       enum ingest_outcome outcome, struct ingest_result *result)
{
    char text[200];
    switch (outcome) {
    case INGEST_PUSH_REPLAYED:
        request_add_response_header(req, "Idempotent-Replayed", "true");
        /* fall through */
    case INGEST_PUSH_ANSWERED:
    case INGEST_PUSH_REFUSED:
        request_reply_raw(req, result->status, FHIR_MEDIA, result->body, result->body_len);
        result->body = NULL; /* the request owns it now */
        break;
    case INGEST_PUSH_KEY_REUSED:
        snprintf(text, sizeof(text),
                 "Idempotency-Key \"%s\" was used before with a different request",
                 w->idempotency_key);
        reply_fhir_error(req, 422, "conflict", "idempotency_key_reused", text);
        break;
    case INGEST_PUSH_BAD_DOCUMENT:
        reply_document_error(req, result);
        break;
    case INGEST_PUSH_UNKNOWN_PROGRAMME:
        snprintf(text, sizeof(text), "no programme \"%s\"",
                 w->programme_slug ? w->programme_slug : "");
        reply_fhir_error(req, 404, "not-found", "unknown_programme", text);
        break;
    case INGEST_PUSH_DB_ERROR:
        handler_db_error(req, conn);
        break;
    case INGEST_PUSH_INTERNAL:
        reply_fhir_error(req, 500, "exception", "internal", "could not render the answer");
        break;
    }
    if (result->changed) {
        background_kick("evaluate");
        background_kick("rollups");
        background_kick("progress-snapshots");
    }
}

/* The programme written to: a feed token's own, or ?programme=SLUG for an admin. False when it
 * answered. */
static bool fhir_programme(struct request *req, struct ingest_request *w)
{
    if (req->auth.scope == TOKEN_SCOPE_FEED) {
        w->programme_id = req->auth.programme_id;
        return true;
    }
    w->programme_slug = request_query(req, "programme");
    if (w->programme_slug == NULL || !utf8_valid(w->programme_slug)) {
        reply_fhir_error(req, 400, "required", "missing_programme",
                         "an admin token must name the programme: ?programme=SLUG (UTF-8)");
        return false;
    }
    return true;
}

static void fhir_write(struct request *req, PGconn *conn, bool bundle)
{
    char media[64];
    request_media_type(req, media, sizeof(media));
    if (strcmp(media, FHIR_MEDIA) != 0 && strcmp(media, "application/json") != 0) {
        char text[160];
        snprintf(text, sizeof(text),
                 "Content-Type must be application/fhir+json or application/json, not \"%s\"",
                 media[0] ? media : "(none)");
        reply_fhir_error(req, 415, "not-supported", "unsupported_media_type", text);
        return;
    }
    if (request_query(req, "atomic") != NULL) {
        reply_fhir_error(req, 400, "not-supported", "invalid_parameter",
                         "atomic is not taken here: post a transaction Bundle to /fhir for all "
                         "or nothing (a batch Bundle stores each entry on its own)");
        return;
    }
    struct ingest_request w = {0};
    w.format = OBS_FORMAT_FHIR;
    w.fhir_bundle = bundle;
    if (!fhir_programme(req, &w) || !feed_write_options(req, &w, media))
        return;
    w.token_id = req->auth.token_id;
    w.body = req->body;
    w.body_len = req->body_len;
    w.request_id = req->id;
    struct ingest_result result;
    enum ingest_outcome outcome = ingest_push(conn, &w, &result);
    reply_push(req, conn, &w, outcome, &result);
    ingest_result_free(&result);
}

void handle_post_fhir_measure_report(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    fhir_write(req, conn, false);
}

void handle_post_fhir_bundle(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    fhir_write(req, conn, true);
}
