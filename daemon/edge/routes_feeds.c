/* Feed endpoints: observations in JSON or CSV, DHIS2 dataValueSets, and series reads. A
 * write is parsed and authorised here and done by ingest_push (services/ingest.h), one
 * transaction; the route renders its outcome and kicks the evaluator when it changed data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/core/dhis2_options.h"
#include "scaleupd/core/dhis2_summary.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/period.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/edge/pool.h"
#include "scaleupd/services/ingest.h"
#include "scaleupd/storage/dhis2_import_job.h"
#include "scaleupd/storage/idempotency.h"
#include "scaleupd/storage/observations_read.h"

/* The query string as the fingerprint of a keyed write sees it ("k=v&" per parameter); a
 * query longer than this is refused rather than cut (two requests must never share a
 * fingerprint because their tails differ). */
#define FINGERPRINT_QUERY_MAX 8192

/* Answers status (400, 413 or 415) on a DHIS2 route: our error (taken; code and message are
 * added to it) beside a WebMessage's members (httpStatus, httpStatusCode, status ERROR,
 * message), which DHIS2's clients read. */
static void reply_dhis2_error(struct request *req, int status, const char *code, const char *text,
                              json_t *error)
{
    char message[512];
    snprintf(message, sizeof(message), "%s", text);
    utf8_make_valid(message);
    json_object_set_new(error, "code", json_string(code));
    json_object_set_new(error, "message", json_string(message));
    const char *reason = status == 413   ? "Payload Too Large"
                         : status == 415 ? "Unsupported Media Type"
                                         : "Bad Request";
    request_reply_json(req, status,
                       json_pack("{s:s,s:i,s:s,s:s,s:o}", "httpStatus", reason, "httpStatusCode",
                                 status, "status", "ERROR", "message", message, "error", error));
}

/* A document error: ours ({"error": {code, message, line, column, position}}), and on DHIS2's
 * routes also in a WebMessage's members (reply_dhis2_error). */
static void reply_document_error(struct request *req, const struct ingest_result *result,
                                 bool dhis2)
{
    const struct obs_parse_error *perr = &result->error;
    json_t *error = json_object();
    if (perr->line > 0) {
        json_object_set_new(error, "line", json_integer(perr->line));
        json_object_set_new(error, "column", json_integer(perr->column));
        json_object_set_new(error, "position", json_integer((json_int_t)perr->offset));
    }
    if (!dhis2) {
        request_reply_error_json(req, result->status, perr->code, perr->message, error);
        return;
    }
    reply_dhis2_error(req, result->status, perr->code, perr->message, error);
}

/* Kicks the evaluator, the rollups and the snapshots when a write changed data. */
static void kick_background(bool changed)
{
    if (!changed)
        return;
    background_kick("evaluate");
    background_kick("rollups");
    background_kick("progress-snapshots");
}

/* Renders the outcome of ingest_push; kicks the evaluator when the write changed data. */
static void reply_push(struct request *req, PGconn *conn, const struct ingest_request *w,
                       enum ingest_outcome outcome, struct ingest_result *result)
{
    switch (outcome) {
    case INGEST_PUSH_REPLAYED:
        request_add_response_header(req, "Idempotent-Replayed", "true");
        /* fall through */
    case INGEST_PUSH_ANSWERED:
    case INGEST_PUSH_REFUSED:
        request_reply_raw(req, result->status, "application/json", result->body, result->body_len);
        result->body = NULL; /* the request owns it now */
        break;
    case INGEST_PUSH_KEY_REUSED:
        request_reply_error(req, 422, "idempotency_key_reused",
                            "Idempotency-Key \"%s\" was used before with a different request",
                            w->idempotency_key);
        break;
    case INGEST_PUSH_BAD_DOCUMENT:
        reply_document_error(req, result, w->format == OBS_FORMAT_DHIS2);
        break;
    case INGEST_PUSH_UNKNOWN_PROGRAMME:
        request_reply_error(req, 404, "unknown_programme", "no programme \"%s\"",
                            w->programme_slug ? w->programme_slug : "");
        break;
    case INGEST_PUSH_DB_ERROR:
        handler_db_error(req, conn);
        break;
    case INGEST_PUSH_INTERNAL:
        request_reply_error(req, 500, "internal", "could not render the import report (request %s)",
                            req->id);
        break;
    }
    kick_background(result->changed);
}

static void feed_write(struct request *req, PGconn *conn, struct ingest_request *w)
{
    w->token_id = req->auth.token_id;
    w->body = req->body;
    w->body_len = req->body_len;
    w->request_id = req->id;
    struct ingest_result result;
    enum ingest_outcome outcome = ingest_push(conn, w, &result);
    reply_push(req, conn, w, outcome, &result);
    ingest_result_free(&result);
}

/* An import started with async=true, queued for a worker: copies of what the request held,
 * since the request is answered (and freed) before the import runs. */
struct async_import {
    struct pool_job job; /* first: the pool hands this back */
    struct ingest_request w;
    char *body, *slug, *key, *request_id;
    char id[DHIS2_JOB_ID_MAX + 1];
};

static char *copy_or_null(const char *text)
{
    return text ? xstrdup(text) : NULL;
}

/* Why an import that did not answer failed, for its job's summary. */
static void failure_message(enum ingest_outcome outcome, const struct ingest_result *result,
                            const char *request_id, char *message, size_t size)
{
    if (outcome == INGEST_PUSH_BAD_DOCUMENT)
        snprintf(message, size, "%s (%s)", result->error.message, result->error.code);
    else if (outcome == INGEST_PUSH_KEY_REUSED)
        snprintf(message, size, "the Idempotency-Key was used before with a different request");
    else if (outcome == INGEST_PUSH_UNKNOWN_PROGRAMME)
        snprintf(message, size, "no such programme");
    else
        snprintf(message, size, "the import could not be completed (request %s)", request_id);
    utf8_make_valid(message);
}

/* Finishes the job of an import that did not finish it in its own transaction: one that was
 * not committed (a dry run, a refusal, a rejected batch, a replay) with its summary, one that
 * did not answer as a failure. */
static void finish_job_after(PGconn *conn, struct async_import *a, enum ingest_outcome outcome,
                             const struct ingest_result *result)
{
    char *summary = NULL;
    const char *status = "COMPLETED";
    if (outcome == INGEST_PUSH_ANSWERED || outcome == INGEST_PUSH_REPLAYED ||
        outcome == INGEST_PUSH_REFUSED)
        summary = ingest_dhis2_job_summary(result->body, result->body_len);
    if (summary == NULL) {
        char message[256];
        failure_message(outcome, result, a->request_id, message, sizeof(message));
        json_t *failed = dhis2_failed_summary(message);
        summary = json_dumps(failed, JSON_COMPACT);
        json_decref(failed);
        status = "ERROR";
    }
    /* on a lost connection the job stays RUNNING until a reader finds this session gone */
    if (!dhis2_job_finish(conn, a->id, status, summary, a->request_id))
        log_write(LOG_LEVEL_WARNING, a->request_id, "could not finish dhis2 import job %s", a->id);
    free(summary);
}

/* The worker's part: claims the job, imports (finishing the job in the import's transaction
 * when it commits), finishes it otherwise. */
static void async_import_run(struct pool_job *job, PGconn *conn)
{
    struct async_import *a = (struct async_import *)job;
    bool claimed = false;
    if (conn == NULL || !dhis2_job_claim(conn, a->id, &claimed, a->request_id) || !claimed) {
        log_write(LOG_LEVEL_WARNING, a->request_id, "dhis2 import job %s was not run", a->id);
        return; /* its reader fails it once the session that answers for it is gone */
    }
    struct ingest_result result;
    enum ingest_outcome outcome = ingest_push(conn, &a->w, &result);
    if (!result.job_finished)
        finish_job_after(conn, a, outcome, &result);
    kick_background(result.changed);
    ingest_result_free(&result);
}

static void async_import_done(struct pool_job *job)
{
    struct async_import *a = (struct async_import *)job;
    free(a->body);
    free(a->slug);
    free(a->key);
    free(a->request_id);
    free(a);
}

/* async=true: records the job (RUNNING), queues the import for a worker and answers DHIS2's
 * job report at once; the client polls the task endpoints (routes_dhis2_tasks.c) until the
 * worker finished it. What is refused before an import (a parameter) was answered already. */
static void dhis2_async_write(struct request *req, PGconn *conn, struct app *app,
                              struct ingest_request *w)
{
    char created[DHIS2_JOB_TIME_MAX];
    struct async_import *a = xcalloc(1, sizeof(*a));
    if (!dhis2_job_start(conn, req->auth.token_id, a->id, created, req->id)) {
        free(a);
        handler_db_error(req, conn);
        return;
    }
    a->body = xmalloc(req->body_len + 1);
    memcpy(a->body, req->body ? req->body : "", req->body_len);
    a->slug = copy_or_null(w->programme_slug);
    a->key = copy_or_null(w->idempotency_key);
    a->request_id = xstrdup(req->id);
    a->w = *w;
    a->w.token_id = req->auth.token_id;
    a->w.body = a->body, a->w.body_len = req->body_len;
    a->w.programme_slug = a->slug, a->w.idempotency_key = a->key;
    a->w.request_id = a->request_id, a->w.dhis2_job_id = a->id;
    a->job.run = async_import_run;
    a->job.done = async_import_done;
    if (!pool_submit(app->pool, &a->job)) {
        json_t *summary = dhis2_failed_summary("too many requests were waiting");
        char *failed = json_dumps(summary, JSON_COMPACT);
        json_decref(summary);
        if (!dhis2_job_finish(conn, a->id, "ERROR", failed, req->id))
            log_write(LOG_LEVEL_WARNING, req->id, "could not finish dhis2 import job %s", a->id);
        free(failed);
        async_import_done(&a->job);
        request_add_response_header(req, "Retry-After", "1");
        request_reply_error(req, 503, "overloaded", "too many requests are waiting; retry later");
        return;
    }
    request_reply_json(req, 200, dhis2_job_answer(a->id, created));
}

/* The fingerprint of a keyed write: method, path, query, media type and body. False when it
 * answered 400 (a query too long to fingerprint). */
static bool fingerprint_request(struct request *req, const char *media, unsigned char out[32])
{
    char method[16];
    router_allow_header(req->method, method, sizeof(method));
    struct dynbuf query;
    dynbuf_init(&query, FINGERPRINT_QUERY_MAX);
    bool ok = true;
    for (size_t i = 0; ok && i < req->n_query; i++)
        ok = dynbuf_addf(&query, "%s=%s&", req->query[i].key, req->query[i].value);
    if (ok)
        idempotency_fingerprint(method, req->path, dynbuf_str(&query), media, req->body,
                                req->body_len, out);
    else
        request_reply_error(req, 400, "invalid_parameter",
                            "a keyed write's query may have at most %d characters",
                            FINGERPRINT_QUERY_MAX - 1);
    dynbuf_free(&query);
    return ok;
}

/* Reads the options every feed write shares; false when it answered 400. */
static bool read_write_options(struct request *req, struct ingest_request *w, const char *media)
{
    bool ok = true;
    w->dry_run = request_query_bool(req, "dry_run", false, &ok);
    w->dry_run_given = request_query(req, "dry_run") != NULL;
    if (ok)
        w->atomic = request_query_bool(req, "atomic", false, &ok);
    if (!ok)
        return false;
    w->name_other_programmes = req->auth.scope == TOKEN_SCOPE_ADMIN;
    w->idempotency_key = request_header(req, "Idempotency-Key");
    const char *key = w->idempotency_key;
    if (key != NULL && (key[0] == '\0' || strlen(key) > IDEMPOTENCY_KEY_MAX || !utf8_valid(key))) {
        request_reply_error(req, 400, "invalid_idempotency_key",
                            "Idempotency-Key must be 1 to %d characters of UTF-8 text",
                            IDEMPOTENCY_KEY_MAX);
        return false;
    }
    return key == NULL || fingerprint_request(req, media, w->fingerprint);
}

bool feed_write_options(struct request *req, struct ingest_request *w, const char *media)
{
    return read_write_options(req, w, media);
}

void handle_post_observations(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    char media[64];
    request_media_type(req, media, sizeof(media));
    struct ingest_request w = {0};
    if (strcmp(media, "application/json") == 0)
        w.format = OBS_FORMAT_JSON;
    else if (strcmp(media, "text/csv") == 0 || strcmp(media, "application/csv") == 0)
        w.format = OBS_FORMAT_CSV;
    else {
        request_reply_error(req, 415, "unsupported_media_type",
                            "Content-Type must be application/json or text/csv, not \"%s\"",
                            media[0] ? media : "(none)");
        return;
    }
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id) || !read_write_options(req, &w, media))
        return;
    w.programme_id = programme_id;
    feed_write(req, conn, &w);
}

/* Answers 400 with DHIS2's WebMessage refusing the request for one parameter. */
static void refuse_dhis2(struct request *req, const struct dhis2_refusal *why)
{
    int status;
    json_t *answer = dhis2_refusal_answer(why->parameter, why->code, why->message, &status);
    request_reply_json(req, status, answer);
}

/* Reads DHIS2's import parameters (dhis2_options.h) next to ours (programme, and dry_run and
 * atomic, read_write_options) into w->dhis2; false when it answered 400. ingest_push applies
 * the data value set's own options over them, and checks that dryRun and dry_run agree. */
static bool read_dhis2_params(struct request *req, struct ingest_request *w)
{
    static const char *const ours[] = {"programme", "dry_run", "atomic", NULL};
    struct dhis2_query_param *query = xcalloc(req->n_query + 1, sizeof(*query));
    for (size_t i = 0; i < req->n_query; i++)
        query[i] = (struct dhis2_query_param){req->query[i].key, req->query[i].value};
    struct dhis2_refusal why;
    bool ok = dhis2_options_read_query(query, req->n_query, ours, &w->dhis2, &why);
    free(query);
    if (!ok)
        refuse_dhis2(req, &why);
    return ok;
}

/* The API version of the path (/api/40/dataValueSets), or DHIS2_API_UNVERSIONED; false when
 * it answered 404 (a version DHIS2 does not serve, as DHIS2 answers it). */
static bool read_api_version(struct request *req, int *version)
{
    const char *segment = request_param(req, "version");
    *version = DHIS2_API_UNVERSIONED;
    if (segment == NULL || dhis2_api_version_parse(segment, version))
        return true;
    request_reply_error(req, 404, "not_found", "no DHIS2 API version \"%s\": versions %d to %d",
                        utf8_valid(segment) ? segment : "?", DHIS2_API_VERSION_MIN,
                        DHIS2_API_VERSION_MAX);
    return false;
}

void handle_post_data_value_sets(struct request *req, PGconn *conn, struct app *app)
{
    int version;
    if (!read_api_version(req, &version))
        return;
    char media[64];
    request_media_type(req, media, sizeof(media));
    struct ingest_request w = {0};
    w.format = OBS_FORMAT_DHIS2;
    if (strcmp(media, "application/json") == 0)
        w.dhis2_syntax = INGEST_DHIS2_JSON;
    else if (strcmp(media, "application/csv") == 0 || strcmp(media, "text/csv") == 0)
        w.dhis2_syntax = INGEST_DHIS2_CSV;
    else if (strcmp(media, "application/adx+xml") == 0)
        w.dhis2_syntax = INGEST_DHIS2_ADX;
    else {
        /* refused as the other DHIS2 bodies are: a WebMessage beside our error */
        char message[160];
        snprintf(message, sizeof(message),
                 "Content-Type must be application/json, application/csv or "
                 "application/adx+xml, not \"%s\"",
                 media[0] ? media : "(none)");
        reply_dhis2_error(req, 415, "unsupported_media_type", message, json_object());
        return;
    }
    w.dhis2_api_version = version;
    if (!read_dhis2_params(req, &w))
        return;
    if (req->auth.scope == TOKEN_SCOPE_FEED) {
        int named = handler_feed_programme_named(req, conn);
        if (named < 0)
            return;
        if (named == 0) {
            request_reply_error(req, 403, "forbidden",
                                "this feed token writes to its own programme only: leave out"
                                " ?programme= or name that one");
            return;
        }
        w.programme_id = req->auth.programme_id;
    } else {
        /* an admin names the programme; ingest_push looks it up */
        w.programme_slug = request_query(req, "programme");
        if (w.programme_slug == NULL) {
            request_reply_error(req, 400, "missing_programme",
                                "an admin token must name the programme: ?programme=SLUG");
            return;
        }
        if (!utf8_valid(w.programme_slug)) {
            request_reply_error(req, 400, "invalid_encoding",
                                "query parameter \"programme\" is not UTF-8 text");
            return;
        }
    }
    if (!read_write_options(req, &w, media))
        return;
    if (w.dhis2.async)
        dhis2_async_write(req, conn, app, &w);
    else
        feed_write(req, conn, &w);
}

void handle_get_series(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    bool ok = true;
    struct series_query q = {.programme_id = programme_id,
                             .indicator = request_query(req, "indicator"),
                             .site = request_query(req, "site"),
                             .from = request_query(req, "from"),
                             .to = request_query(req, "to"),
                             .request_id = req->id};
    q.revisions = request_query_bool(req, "revisions", false, &ok);
    if (!ok)
        return;
    if (q.indicator == NULL || q.site == NULL) {
        request_reply_error(req, 400, "missing_parameter",
                            "series needs ?indicator=CODE&site=CODE (a site, region or country)");
        return;
    }
    const char *bounds[] = {q.from, q.to};
    for (int i = 0; i < 2; i++) {
        int32_t day;
        if (bounds[i] != NULL && !date_parse(bounds[i], strlen(bounds[i]), &day)) {
            request_reply_error(req, 400, "invalid_parameter", "%s must be a date (YYYY-MM-DD)",
                                i == 0 ? "from" : "to");
            return;
        }
    }
    json_t *doc = NULL;
    switch (observations_series(conn, &q, &doc)) {
    case SERIES_OK:
        request_reply_json(req, 200, doc);
        break;
    case SERIES_UNKNOWN_INDICATOR:
        request_reply_error(req, 404, "unknown_indicator", "no indicator \"%s\" in this programme",
                            q.indicator);
        break;
    case SERIES_UNKNOWN_SITE:
        request_reply_error(req, 404, "unknown_site", "no site \"%s\" in this programme", q.site);
        break;
    case SERIES_DB_ERROR:
        handler_db_error(req, conn);
        break;
    }
}
