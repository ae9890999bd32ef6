/* Feed endpoints: observations in JSON or CSV, DHIS2 dataValueSets, and series reads.
 * Each write is one transaction: idempotency check, upsert, stored answer, commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/storage/idempotency.h"
#include "scaleupd/services/ingest.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/core/period.h"
#include "scaleupd/storage/programmes.h"

/* What a feed write needs beyond the request itself. */
struct feed_write {
    int64_t programme_id;
    enum obs_format format;
    bool dry_run, atomic;
    const char *key; /* Idempotency-Key or NULL */
    unsigned char fingerprint[32];
};

static bool exec_simple(PGconn *conn, const char *sql, const char *request_id)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = db_ok(res, PGRES_COMMAND_OK, request_id, sql);
    PQclear(res);
    return ok;
}

static void reply_document_error(struct request *req, enum obs_parse_status st,
                                 const struct obs_parse_error *perr)
{
    json_t *extra = json_object();
    if (perr->line > 0) {
        json_object_set_new(extra, "line", json_integer(perr->line));
        json_object_set_new(extra, "column", json_integer(perr->column));
        json_object_set_new(extra, "position", json_integer((json_int_t)perr->offset));
    }
    request_reply_error_json(req, ingest_document_error_status(st), perr->code, perr->message,
                             extra);
}

/* Parses, validates and (unless dry run or an atomic batch with rejects) stores; sets the
 * response. Runs inside the open transaction; false when the caller must roll back
 * without storing an idempotent answer (errors, dry runs). */
static bool ingest_and_reply(struct request *req, PGconn *conn, const struct feed_write *w)
{
    struct obs_batch *batch = obs_batch_new();
    struct obs_parse_error perr;
    memset(&perr, 0, sizeof(perr));
    bool keep = false;
    if (batch == NULL) {
        request_reply_error(req, 503, "overloaded", "out of memory");
        return false;
    }
    switch (
        ingest_prepare(conn, w->programme_id, w->format, req->body, req->body_len, batch, &perr)) {
    case INGEST_DB_ERROR:
        handler_db_error(req, conn);
        goto out;
    case INGEST_BAD_DOCUMENT: {
        enum obs_parse_status st = strcmp(perr.code, "too_many_rows") == 0 ? OBS_PARSE_TOO_MANY_ROWS
                                   : strcmp(perr.code, "too_large") == 0   ? OBS_PARSE_TOO_LARGE
                                                                           : OBS_PARSE_MALFORMED;
        reply_document_error(req, st, &perr);
        goto out;
    }
    case INGEST_OK:
        break;
    }
    struct observations_counts counts = {0, 0, 0};
    bool store = obs_batch_accepted(batch) > 0 && !(w->atomic && batch->n_rejects > 0);
    if (store &&
        !observations_store(conn, w->programme_id, req->auth.token_id, batch, &counts, req->id)) {
        handler_db_error(req, conn);
        goto out;
    }
    bool all_rejected = obs_batch_accepted(batch) == 0 || (w->atomic && batch->n_rejects > 0);
    json_t *report = w->format == OBS_FORMAT_DHIS2
                         ? ingest_dhis2_summary(batch, &counts, store, w->dry_run)
                         : ingest_report(batch, &counts, store, w->dry_run, w->atomic);
    int status = all_rejected ? (w->format == OBS_FORMAT_DHIS2 ? 409 : 422) : 200;
    request_reply_json(req, status, report);
    metrics_add("scaleupd_ingest_rows_total", "outcome=\"imported\"", (double)counts.imported);
    metrics_add("scaleupd_ingest_rows_total", "outcome=\"updated\"", (double)counts.updated);
    metrics_add("scaleupd_ingest_rows_total", "outcome=\"unchanged\"", (double)counts.unchanged);
    metrics_add("scaleupd_ingest_rows_total", "outcome=\"rejected\"", (double)batch->n_rejects);
    keep = !w->dry_run;
out:
    obs_batch_free(&batch);
    return keep;
}

/* The whole write: transaction, idempotency, ingest, commit. */
static void feed_write(struct request *req, PGconn *conn, struct feed_write *w)
{
    if (!exec_simple(conn, "BEGIN", req->id)) {
        handler_db_error(req, conn);
        return;
    }
    if (w->key != NULL) {
        int status = 0;
        char *response = NULL;
        switch (idempotency_begin(conn, req->auth.token_id, w->key, w->fingerprint, &status,
                                  &response)) {
        case IDEMPOTENCY_REPLAY:
            request_add_response_header(req, "Idempotent-Replayed", "true");
            request_reply_raw(req, status, "application/json", response, strlen(response));
            goto rollback;
        case IDEMPOTENCY_CONFLICT:
            request_reply_error(req, 422, "idempotency_key_reused",
                                "Idempotency-Key \"%s\" was used before with a different request",
                                w->key);
            goto rollback;
        case IDEMPOTENCY_DB_ERROR:
            handler_db_error(req, conn);
            goto rollback;
        case IDEMPOTENCY_NEW:
            break;
        }
    }
    if (!ingest_and_reply(req, conn, w))
        goto rollback;
    if (w->key != NULL && !idempotency_store(conn, req->auth.token_id, w->key, w->fingerprint,
                                             req->status, req->response, req->response_len)) {
        handler_db_error(req, conn);
        goto rollback;
    }
    if (!exec_simple(conn, "COMMIT", req->id)) {
        observations_rolled_back();
        handler_db_error(req, conn);
        return;
    }
    observations_committed();
    background_kick("evaluate");
    return;
rollback:
    PQclear(PQexec(conn, "ROLLBACK"));
    observations_rolled_back();
}

/* Reads the options every feed write shares; false when it answered 400. */
static bool read_write_options(struct request *req, struct feed_write *w, const char *media)
{
    bool ok = true;
    w->dry_run = request_query_bool(req, "dry_run", false, &ok);
    if (ok)
        w->atomic = request_query_bool(req, "atomic", false, &ok);
    if (!ok)
        return false;
    w->key = request_header(req, "Idempotency-Key");
    if (w->key != NULL && (w->key[0] == '\0' || strlen(w->key) > IDEMPOTENCY_KEY_MAX)) {
        request_reply_error(req, 400, "invalid_idempotency_key",
                            "Idempotency-Key must have 1 to %d characters", IDEMPOTENCY_KEY_MAX);
        return false;
    }
    if (w->key != NULL) {
        char method[16], query[1024] = "";
        router_allow_header(req->method, method, sizeof(method));
        for (size_t i = 0, used = 0; i < req->n_query && used < sizeof(query); i++) {
            int n = snprintf(query + used, sizeof(query) - used, "%s=%s&", req->query[i].key,
                             req->query[i].value);
            used += n > 0 ? (size_t)n : 0;
        }
        idempotency_fingerprint(method, req->path, query, media, req->body, req->body_len,
                                w->fingerprint);
    }
    return true;
}

void handle_post_observations(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    char media[64];
    request_media_type(req, media, sizeof(media));
    struct feed_write w = {0};
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

void handle_post_data_value_sets(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    char media[64];
    request_media_type(req, media, sizeof(media));
    if (strcmp(media, "application/json") != 0) {
        request_reply_error(req, 415, "unsupported_media_type",
                            "Content-Type must be application/json, not \"%s\"",
                            media[0] ? media : "(none)");
        return;
    }
    struct feed_write w = {0};
    w.format = OBS_FORMAT_DHIS2;
    if (req->auth.scope == TOKEN_SCOPE_FEED) {
        w.programme_id = req->auth.programme_id;
    } else {
        const char *slug = request_query(req, "programme");
        int64_t id;
        int found = slug ? programme_find(conn, slug, &id) : 0;
        if (found < 0) {
            handler_db_error(req, conn);
            return;
        }
        if (slug == NULL || found == 0) {
            request_reply_error(
                req, slug ? 404 : 400, slug ? "unknown_programme" : "missing_programme",
                slug ? "no programme \"%s\"" : "%s",
                slug ? slug : "an admin token must name the programme: ?programme=SLUG");
            return;
        }
        w.programme_id = id;
    }
    if (read_write_options(req, &w, media))
        feed_write(req, conn, &w);
}

void handle_get_series(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    bool ok = true;
    struct series_query q = {
        programme_id, request_query(req, "indicator"), request_query(req, "site"),
        false,        request_query(req, "from"),      request_query(req, "to")};
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
