/* FHIR R4 endpoints: POST /fhir/MeasureReport (one MeasureReport), POST /fhir (a batch or
 * transaction Bundle of them) and GET /fhir/metadata (the CapabilityStatement). The write is
 * the feeds' (ingest_push: Idempotency-Key, dry_run, revisions, dirty marks); the answers are
 * FHIR's: OperationOutcome or a response Bundle (core/fhir_outcome.h), errors included
 * (edge/fhir_reply.h), JSON only (_format, Accept) and Prefer's return (core/fhir_http.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/core/fhir_http.h"
#include "scaleupd/core/fhir_outcome.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/edge/fhir_reply.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/services/ingest.h"

/* The answer's format (JSON only: 406 otherwise) and Prefer's return preference (400 for an
 * unknown one). False when it answered. */
static bool fhir_negotiate(struct request *req, enum fhir_return *prefer)
{
    char why[300];
    switch (fhir_format_check(request_query(req, "_format"), request_header(req, "Accept"), why,
                              sizeof(why))) {
    case FHIR_FORMAT_JSON:
        break;
    case FHIR_FORMAT_NOT_JSON:
    case FHIR_FORMAT_UNACCEPTABLE:
        fhir_reply_error(req, 406, "not-supported", "not_acceptable", why);
        return false;
    }
    *prefer = fhir_prefer_return(request_header(req, "Prefer"), why, sizeof(why));
    if (*prefer == FHIR_RETURN_INVALID) {
        fhir_reply_error(req, 400, "invalid", "invalid_prefer", why);
        return false;
    }
    return true;
}

/* Applies Prefer's return to a successful write's answer: minimal drops the body,
 * OperationOutcome is what a lone report answers anyway; representation is not honoured (the
 * report is not kept as a resource). Preference-Applied names what was honoured. */
static void apply_prefer(struct request *req, enum fhir_return prefer, bool bundle)
{
    if (req->status < 200 || req->status > 299)
        return;
    if (prefer == FHIR_RETURN_MINIMAL) {
        request_reply_raw(req, req->status, FHIR_MEDIA_JSON, NULL, 0);
    } else if (prefer != FHIR_RETURN_OPERATION_OUTCOME || bundle) {
        return;
    }
    request_add_response_header(req, "Preference-Applied", fhir_return_name(prefer));
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
    fhir_reply_error(req, result->status, fhir_issue_type(perr->code), perr->code, text);
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
        request_reply_raw(req, result->status, FHIR_MEDIA_JSON, result->body, result->body_len);
        result->body = NULL; /* the request owns it now */
        break;
    case INGEST_PUSH_KEY_REUSED:
        snprintf(text, sizeof(text),
                 "Idempotency-Key \"%s\" was used before with a different request",
                 w->idempotency_key);
        fhir_reply_error(req, 422, "conflict", "idempotency_key_reused", text);
        break;
    case INGEST_PUSH_BAD_DOCUMENT:
        reply_document_error(req, result);
        break;
    case INGEST_PUSH_UNKNOWN_PROGRAMME:
        snprintf(text, sizeof(text), "no programme \"%s\"",
                 w->programme_slug ? w->programme_slug : "");
        fhir_reply_error(req, 404, "not-found", "unknown_programme", text);
        break;
    case INGEST_PUSH_DB_ERROR:
        handler_db_error(req, conn);
        break;
    case INGEST_PUSH_INTERNAL:
        fhir_reply_error(req, 500, "exception", "internal", "could not render the answer");
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
static bool fhir_programme(struct request *req, PGconn *conn, struct ingest_request *w)
{
    if (req->auth.scope == TOKEN_SCOPE_FEED) {
        int named = handler_feed_programme_named(req, conn);
        if (named < 0)
            return false;
        if (named == 0) {
            fhir_reply_error(req, 403, "forbidden", "forbidden",
                             "this feed token writes to its own programme only: leave out"
                             " ?programme= or name that one");
            return false;
        }
        w->programme_id = req->auth.programme_id;
        return true;
    }
    w->programme_slug = request_query(req, "programme");
    if (w->programme_slug == NULL || !utf8_valid(w->programme_slug)) {
        fhir_reply_error(req, 400, "required", "missing_programme",
                         "an admin token must name the programme: ?programme=SLUG (UTF-8)");
        return false;
    }
    return true;
}

/* The body's media type: FHIR JSON only (XML refused by name). False when it answered 415. */
static bool fhir_content_type(struct request *req, char *media, size_t size)
{
    request_media_type(req, media, size);
    if (strcmp(media, FHIR_MEDIA_JSON) == 0 || strcmp(media, "application/json") == 0 ||
        strcmp(media, "application/json+fhir") == 0) /* DSTU2's name, still sent */
        return true;
    char text[200];
    if (strstr(media, "xml") != NULL)
        snprintf(text, sizeof(text),
                 "XML is not supported (Content-Type \"%s\"): post FHIR JSON, Content-Type "
                 "application/fhir+json",
                 media);
    else
        snprintf(text, sizeof(text),
                 "Content-Type must be application/fhir+json or application/json, not \"%s\"",
                 media[0] ? media : "(none)");
    fhir_reply_error(req, 415, "not-supported", "unsupported_media_type", text);
    return false;
}

static void fhir_write(struct request *req, PGconn *conn, bool bundle)
{
    char media[64];
    enum fhir_return prefer = FHIR_RETURN_DEFAULT;
    if (!fhir_negotiate(req, &prefer) || !fhir_content_type(req, media, sizeof(media)))
        return;
    if (request_query(req, "atomic") != NULL) {
        fhir_reply_error(req, 400, "not-supported", "invalid_parameter",
                         "atomic is not taken here: post a transaction Bundle to /fhir for all "
                         "or nothing (a batch Bundle stores each entry on its own)");
        return;
    }
    struct ingest_request w = {0};
    w.format = OBS_FORMAT_FHIR;
    w.fhir_bundle = bundle;
    if (!fhir_programme(req, conn, &w) || !feed_write_options(req, &w, media))
        return;
    w.token_id = req->auth.token_id;
    w.body = req->body;
    w.body_len = req->body_len;
    w.request_id = req->id;
    struct ingest_result result;
    enum ingest_outcome outcome = ingest_push(conn, &w, &result);
    reply_push(req, conn, &w, outcome, &result);
    ingest_result_free(&result);
    apply_prefer(req, prefer, bundle);
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

/* The day the daemon started (the statement's date: it describes this instance). */
static void started_date(const struct app *app, char *buf, size_t size)
{
    struct tm tm;
    time_t started = app->started;
    if (gmtime_r(&started, &tm) == NULL || strftime(buf, size, "%Y-%m-%d", &tm) == 0)
        snprintf(buf, size, "1970-01-01");
}

void handle_get_fhir_metadata(struct request *req, PGconn *conn, struct app *app)
{
    (void)conn;
    enum fhir_return prefer;
    if (!fhir_negotiate(req, &prefer))
        return;
    const char *mode = request_query(req, "mode");
    if (mode != NULL && strcmp(mode, "full") != 0 && strcmp(mode, "normative") != 0) {
        char text[160];
        snprintf(text, sizeof(text),
                 "mode=%.40s is not supported: full or normative (no TerminologyCapabilities)",
                 mode);
        fhir_reply_error(req, 400, "not-supported", "invalid_parameter", text);
        return;
    }
    char date[16];
    started_date(app, date, sizeof(date));
    json_t *statement = fhir_capability_statement(SCALEUPD_VERSION, date);
    char *body = statement ? json_dumps(statement, JSON_COMPACT) : NULL;
    json_decref(statement);
    if (body == NULL) {
        fhir_reply_error(req, 500, "exception", "internal", "the response could not be built");
        return;
    }
    request_reply_raw(req, 200, FHIR_MEDIA_JSON, body, strlen(body));
}
