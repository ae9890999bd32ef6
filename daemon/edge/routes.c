/* The route table and the handlers of the service itself: health, readiness, metrics,
 * programmes and tokens. Feature handlers live in their own routes_*.c files. Handlers
 * parse, authorise, call one service or storage function and render its result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/core/config.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/edge/http.h"
#include "scaleupd/edge/page_link.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/services/delivery.h"
#include "scaleupd/services/evaluator.h"
#include "scaleupd/services/programme_apply.h"
#include "scaleupd/edge/pool.h"
#include "scaleupd/storage/programmes.h"
#include "scaleupd/edge/routes.h"
#include "scaleupd/edge/routes_incidents.h"
#include "scaleupd/storage/tokens.h"

static void get_healthz(struct request *req, PGconn *conn, struct app *app)
{
    (void)conn;
    request_reply_json(req, 200,
                       json_pack("{s:s,s:s,s:I}", "status", "ok", "version", SCALEUPD_VERSION,
                                 "uptime_seconds", (json_int_t)(time(NULL) - app->started)));
}

static void get_readyz(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    int version = db_schema_version(conn);
    int head = db_schema_head();
    if (version < 0) {
        handler_db_error(req, conn);
        return;
    }
    if (version != head) {
        request_add_response_header(req, "Retry-After", "5");
        request_reply_json(req, 503,
                           json_pack("{s:{s:s,s:s},s:i,s:i}", "error", "code", "not_ready",
                                     "message", "database schema is not at head", "schema_version",
                                     version, "schema_head", head));
        return;
    }
    request_reply_json(req, 200,
                       json_pack("{s:s,s:i}", "status", "ready", "schema_version", version));
}

static void get_metrics(struct request *req, PGconn *conn, struct app *app)
{
    (void)conn;
    metrics_set("scaleupd_pool_queue_depth", "", (double)pool_queue_depth(app->pool));
    metrics_set("scaleupd_pool_busy_workers", "", (double)pool_busy(app->pool));
    metrics_set("scaleupd_db_reconnects_total", "", (double)pool_reconnects(app->pool));
    metrics_set("scaleupd_db_connect_failures_total", "", (double)pool_connect_failures(app->pool));
    metrics_set("scaleupd_http_in_flight", "", (double)http_server_in_flight(app->http));
    metrics_set("scaleupd_uptime_seconds", "", (double)(time(NULL) - app->started));
    size_t len;
    char *text = metrics_render(&len);
    request_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void post_programme(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    json_t *doc = request_parse_json(req);
    if (doc == NULL)
        return;
    json_t *problems = NULL, *stored = NULL;
    enum programme_result result = programme_apply_and_read(conn, doc, &stored, &problems, req->id);
    if (result == PROGRAMME_INVALID)
        request_reply_error_json(req, 422, "invalid_programme",
                                 "the programme document has problems",
                                 json_pack("{s:o}", "details", problems));
    else if (result == PROGRAMME_DB_ERROR)
        handler_db_error(req, conn);
    else {
        /* a changed hierarchy, or a planned practice with data that adopts, asks for a rebuild
           of the rollups (storage/programmes.c): started now, not at the next timer pass */
        background_kick("rollups");
        request_reply_json(req, result == PROGRAMME_CREATED ? 201 : 200, stored);
    }
    json_decref(doc);
}

static void get_programmes(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    json_t *list = programme_list(conn);
    if (list == NULL)
        handler_db_error(req, conn);
    else
        request_reply_json(req, 200, json_pack("{s:o}", "programmes", list));
}

static void get_programme(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long id = 0; /* a feed token reads its own programme's document only (403) */
    if (!handler_check_programme(req, conn, &id))
        return;
    bool db_error;
    json_t *doc = programme_get(conn, request_param(req, "slug"), &db_error);
    if (db_error)
        handler_db_error(req, conn);
    else if (doc == NULL)
        request_reply_error(req, 404, "unknown_programme", "no programme \"%s\"",
                            request_param(req, "slug"));
    else
        request_reply_json(req, 200, doc);
}

static void post_token(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    json_t *doc = request_parse_json(req);
    if (doc == NULL)
        return;
    const char *scope_name = json_string_value(json_object_get(doc, "scope"));
    const char *programme = json_string_value(json_object_get(doc, "programme"));
    const char *name = json_string_value(json_object_get(doc, "name"));
    enum token_scope scope = scope_name ? token_scope_from_name(scope_name) : TOKEN_SCOPE_NONE;
    char secret[TOKEN_SECRET_SIZE], err[256];
    int64_t id;
    if (scope == TOKEN_SCOPE_NONE) {
        request_reply_error_json(req, 422, "invalid_token_request",
                                 "scope must be admin, read or feed",
                                 json_pack("{s:s}", "path", "$.scope"));
    } else if (scope == TOKEN_SCOPE_FEED && programme == NULL) {
        request_reply_error_json(req, 422, "invalid_token_request",
                                 "a feed token needs a programme",
                                 json_pack("{s:s}", "path", "$.programme"));
    } else if (!token_create(conn, scope, programme, name, secret, &id, err, sizeof(err))) {
        if (PQstatus(conn) != CONNECTION_OK || strncmp(err, "could not", 9) == 0)
            handler_db_error(req, conn);
        else
            request_reply_error_json(req, 422, "invalid_token_request", err,
                                     json_pack("{s:s}", "path", "$.programme"));
    } else {
        request_reply_json(req, 201,
                           json_pack("{s:I,s:s,s:s,s:s?,s:s}", "id", (json_int_t)id, "token",
                                     secret, "scope", token_scope_name(scope), "programme",
                                     scope == TOKEN_SCOPE_FEED ? programme : NULL, "name",
                                     name ? name : ""));
    }
    json_decref(doc);
}

static void get_tokens(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    struct page_request request;
    if (!page_link_parse(req, 1, &request))
        return;
    struct page_rows page;
    enum page_rows_status r = token_list_page(conn, &request, &page);
    if (r == PAGE_ROWS_OK)
        page_link_reply(req, "tokens", &page);
    else
        page_link_reply_failure(req, conn, r);
    page_cursor_clear(&request.after);
}

static void delete_token(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long id = handler_id_param(req, "unknown_token", "token");
    if (id == 0)
        return;
    switch (token_revoke(conn, id)) {
    case TOKEN_OK:
        request_reply_json(req, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "revoked", 1));
        break;
    case TOKEN_UNKNOWN:
        request_reply_error(req, 404, "unknown_token", "no live token %lld", id);
        break;
    case TOKEN_DB_ERROR:
        handler_db_error(req, conn);
        break;
    }
}

/* A route's handler: H for one that reads no query parameter, HQ for one that reads those
 * listed (handler_checked refuses any other with 400 before the handler runs). */
#define H(kind, access, fn) (&(const struct handler){kind, access, handler_checked, fn, NULL})
#define HQ(kind, access, fn, ...)                                                                  \
    (&(const struct handler){kind, access, handler_checked, fn,                                    \
                             (const char *const[]){__VA_ARGS__, NULL}})

const struct route app_routes[] = {
    {"/healthz", ROUTER_GET, H(HANDLER_LOOP, ACCESS_PUBLIC, get_healthz)},
    {"/readyz", ROUTER_GET, H(HANDLER_DB, ACCESS_PUBLIC, get_readyz)},
    {"/metrics", ROUTER_GET, H(HANDLER_LOOP, ACCESS_PUBLIC, get_metrics)},
    {"/api/v1/programmes", ROUTER_POST, H(HANDLER_DB, ACCESS_ADMIN, post_programme)},
    {"/api/v1/programmes", ROUTER_GET, H(HANDLER_DB, ACCESS_READ, get_programmes)},
    {"/api/v1/programmes/{slug}", ROUTER_GET, H(HANDLER_DB, ACCESS_READ, get_programme)},
    {"/api/v1/tokens", ROUTER_POST, H(HANDLER_DB, ACCESS_ADMIN, post_token)},
    {"/api/v1/tokens", ROUTER_GET, HQ(HANDLER_DB, ACCESS_ADMIN, get_tokens, "limit", "after")},
    {"/api/v1/tokens/{id}", ROUTER_DELETE, H(HANDLER_DB, ACCESS_ADMIN, delete_token)},
    {"/api/v1/programmes/{slug}/observations", ROUTER_POST,
     HQ(HANDLER_DB, ACCESS_FEED, handle_post_observations, "dry_run", "atomic")},
    {"/api/dataValueSets", ROUTER_POST,
     HQ(HANDLER_DB, ACCESS_FEED, handle_post_data_value_sets, ROUTER_QUERY_ANY)},
    {"/fhir/MeasureReport", ROUTER_POST,
     HQ(HANDLER_DB, ACCESS_FEED, handle_post_fhir_measure_report, "programme", "dry_run", "atomic",
        "_format")},
    {"/fhir", ROUTER_POST,
     HQ(HANDLER_DB, ACCESS_FEED, handle_post_fhir_bundle, "programme", "dry_run", "atomic",
        "_format")},
    {"/fhir/metadata", ROUTER_GET,
     HQ(HANDLER_LOOP, ACCESS_PUBLIC, handle_get_fhir_metadata, "mode", "_format")},
    {"/api/{version}/dataValueSets", ROUTER_POST,
     HQ(HANDLER_DB, ACCESS_FEED, handle_post_data_value_sets, ROUTER_QUERY_ANY)},
    {"/api/completeDataSetRegistrations", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_FEED, handle_get_dhis2_registrations, "programme", "dataSet", "period",
        "orgUnit")},
    {"/api/{version}/completeDataSetRegistrations", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_FEED, handle_get_dhis2_registrations, "programme", "dataSet", "period",
        "orgUnit")},
    {"/api/system/tasks/{jobType}/{id}", ROUTER_GET,
     H(HANDLER_DB, ACCESS_FEED, handle_get_dhis2_task)},
    {"/api/{version}/system/tasks/{jobType}/{id}", ROUTER_GET,
     H(HANDLER_DB, ACCESS_FEED, handle_get_dhis2_task)},
    {"/api/system/taskSummaries/{jobType}/{id}", ROUTER_GET,
     H(HANDLER_DB, ACCESS_FEED, handle_get_dhis2_task_summary)},
    {"/api/{version}/system/taskSummaries/{jobType}/{id}", ROUTER_GET,
     H(HANDLER_DB, ACCESS_FEED, handle_get_dhis2_task_summary)},
    {"/api/v1/programmes/{slug}/series", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_series, "indicator", "site", "from", "to",
        "revisions")},
    {"/api/v1/programmes/{slug}/roadmap", ROUTER_PUT,
     H(HANDLER_DB, ACCESS_ADMIN, handle_put_roadmap)},
    {"/api/v1/programmes/{slug}/roadmap", ROUTER_GET,
     H(HANDLER_DB, ACCESS_READ, handle_get_roadmap)},
    {"/api/v1/programmes/{slug}/roadmap/versions/{version}", ROUTER_GET,
     H(HANDLER_DB, ACCESS_READ, handle_get_roadmap_version)},
    {"/api/v1/programmes/{slug}/progress", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_progress, "at", "by")},
    {"/api/v1/programmes/{slug}/progress/history", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_progress_history, "by")},
    /* the page and its files are not the API: a link with a query (a campaign tag on a link
     * from an e-mail, a cache-busting ?v=2) opens them as it is */
    {"/", ROUTER_GET, HQ(HANDLER_LOOP, ACCESS_PUBLIC, handle_get_index, ROUTER_QUERY_ANY)},
    {"/static/{*path}", ROUTER_GET,
     HQ(HANDLER_LOOP, ACCESS_PUBLIC, handle_get_static, ROUTER_QUERY_ANY)},
    {"/vendor/uplot/{*path}", ROUTER_GET,
     HQ(HANDLER_LOOP, ACCESS_PUBLIC, handle_get_vendor_uplot, ROUTER_QUERY_ANY)},
    {"/ack", ROUTER_GET, HQ(HANDLER_LOOP, ACCESS_PUBLIC, handle_get_ack_link, "token")},
    {"/ack", ROUTER_POST, HQ(HANDLER_DB, ACCESS_PUBLIC, handle_post_ack_link, "token")},
    {"/api/v1/programmes/{slug}/chart", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_chart, "indicator", "site", "baseline")},
    {"/api/v1/programmes/{slug}/feeds", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_feeds_status, "grace_days")},
    {"/api/v1/programmes/{slug}/feeds/sites", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_feeds_sites, "grace_days", "status", "region",
        "indicator", "limit", "after")},
    {"/api/v1/programmes/{slug}/rules", ROUTER_POST, H(HANDLER_DB, ACCESS_ADMIN, handle_post_rule)},
    {"/api/v1/programmes/{slug}/rules", ROUTER_GET, H(HANDLER_DB, ACCESS_READ, handle_get_rules)},
    {"/api/v1/programmes/{slug}/rules/{name}", ROUTER_DELETE,
     H(HANDLER_DB, ACCESS_ADMIN, handle_delete_rule)},
    {"/api/v1/programmes/{slug}/receivers", ROUTER_PUT,
     H(HANDLER_DB, ACCESS_ADMIN, handle_put_receivers)},
    {"/api/v1/programmes/{slug}/receivers", ROUTER_GET,
     H(HANDLER_DB, ACCESS_ADMIN, handle_get_receivers)},
    {"/api/v1/programmes/{slug}/receivers/{name}/test", ROUTER_POST,
     H(HANDLER_DB, ACCESS_ADMIN, handle_post_receiver_test)},
    {"/api/v1/alerts", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_alerts, "programme", "state", "indicator", "site",
        "limit", "after")},
    {"/api/v1/alerts/{id}", ROUTER_GET, H(HANDLER_DB, ACCESS_READ, handle_get_alert)},
    {"/api/v1/alerts/{id}/ack", ROUTER_POST, H(HANDLER_DB, ACCESS_ADMIN, handle_post_alert_ack)},
    {"/api/v1/incidents", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_incidents, "programme", "state", "kind", "limit",
        "after")},
    {"/api/v1/incidents/{id}", ROUTER_GET, H(HANDLER_DB, ACCESS_READ, handle_get_incident)},
    {"/api/v1/incidents/{id}/ack", ROUTER_POST,
     H(HANDLER_DB, ACCESS_ADMIN, handle_post_incident_ack)},
    {"/api/v1/silences", ROUTER_POST, H(HANDLER_DB, ACCESS_ADMIN, handle_post_silence)},
    {"/api/v1/silences", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_silences, "expired", "limit", "after")},
    {"/api/v1/silences/{id}", ROUTER_DELETE, H(HANDLER_DB, ACCESS_ADMIN, handle_delete_silence)},
    {"/api/v1/programmes/{slug}/revisions", ROUTER_GET,
     HQ(HANDLER_DB, ACCESS_READ, handle_get_revisions, "indicator", "site", "from", "to", "limit",
        "after")},
};

const size_t app_n_routes = sizeof(app_routes) / sizeof(app_routes[0]);

void routes_describe_metrics(void)
{
    metrics_describe("scaleupd_http_requests_total", METRIC_COUNTER,
                     "HTTP requests answered, by route and status code.");
    metrics_describe("scaleupd_http_in_flight", METRIC_GAUGE, "Requests not yet answered.");
    metrics_describe("scaleupd_pool_queue_depth", METRIC_GAUGE,
                     "Jobs waiting for a database worker.");
    metrics_describe("scaleupd_pool_busy_workers", METRIC_GAUGE, "Database workers running a job.");
    metrics_describe("scaleupd_db_reconnects_total", METRIC_COUNTER,
                     "Database connections re-established after being lost.");
    metrics_describe("scaleupd_db_connect_failures_total", METRIC_COUNTER,
                     "Failed attempts to connect to the database.");
    metrics_describe("scaleupd_ingest_rows_total", METRIC_COUNTER,
                     "Observation rows received, by outcome.");
    metrics_describe("scaleupd_uptime_seconds", METRIC_GAUGE, "Seconds since the daemon started.");
    delivery_describe_metrics();
    evaluator_describe_metrics();
}
