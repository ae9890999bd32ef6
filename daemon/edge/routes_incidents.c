/* Incident endpoints (routes_incidents.h): the list a page at a time (edge/page_link.h), one
 * incident with its members, and acknowledging all its members. Each handler parses, calls
 * one storage or service function and renders its result: no SQL here. */
#include "scaleupd/edge/routes_incidents.h"

#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/clock.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/edge/page_link.h"
#include "scaleupd/edge/programme_scope.h"
#include "scaleupd/services/incidents.h"
#include "scaleupd/storage/incident_store.h"

static bool one_of(const char *value, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcmp(value, *names) == 0)
            return true;
    return false;
}

/* Reads an optional query parameter that must be one of names; false when it answered 400. */
static bool query_choice(struct request *req, const char *name, const char *const *names,
                         const char *message, const char **value)
{
    *value = request_query(req, name);
    if (*value == NULL || one_of(*value, names))
        return true;
    request_reply_error_json(req, 400, "invalid_parameter", message,
                             json_pack("{s:s}", "path", name));
    return false;
}

void handle_get_incidents(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    static const char *const states[] = {"open", "resolved", NULL};
    static const char *const kinds[] = {"late_feed", "signal", "alert", NULL};
    struct incidents_filter filter = {.programme = request_query(req, "programme")};
    if (!query_choice(req, "state", states, "state is one of open, resolved", &filter.state) ||
        !query_choice(req, "kind", kinds, "kind is one of late_feed, signal, alert", &filter.kind))
        return;
    if (!programme_scope_list(req, conn, filter.programme, &filter.programme_id))
        return;
    struct page_request request;
    if (!page_link_parse(req, 1, &request))
        return;
    struct page_rows page;
    enum page_rows_status r = incidents_list_page(conn, &filter, clock_now(), &request, &page);
    if (r == PAGE_ROWS_OK)
        page_link_reply(req, "incidents", &page);
    else
        page_link_reply_failure(req, conn, r);
    page_cursor_clear(&request.after);
}

/* The {id} of the path, or 0 (after answering 404) when it is not a positive number. */
static long long incident_id(struct request *req)
{
    return handler_id_param(req, "unknown_incident", "incident");
}

void handle_get_incident(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long id = incident_id(req);
    if (id == 0)
        return;
    json_t *incident = NULL;
    enum alerts_result r = incidents_get(conn, id, clock_now(), &incident);
    int in_scope = r == ALERTS_OK ? programme_scope_row(req, conn, incident) : 1;
    if (in_scope != 1) {
        json_decref(incident);
        if (in_scope == 0)
            request_reply_error(req, 404, "unknown_incident", "no incident %lld", id);
        return;
    }
    if (r == ALERTS_OK)
        request_reply_json(req, 200, incident);
    else if (r == ALERTS_NOT_FOUND)
        request_reply_error(req, 404, "unknown_incident", "no incident %lld", id);
    else
        handler_db_error(req, conn);
}

void handle_post_incident_ack(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long id = incident_id(req);
    json_t *doc = NULL;
    struct ack_by by;
    if (id == 0 || !handler_ack_body(req, &doc, &by))
        return;
    json_t *acked = NULL;
    enum alerts_result r = incidents_ack(conn, id, &by, clock_now(), req->id, &acked);
    if (r == ALERTS_OK)
        request_reply_json(req, 200,
                           json_pack("{s:I,s:s,s:s?,s:o}", "id", (json_int_t)id, "acked_by",
                                     by.person, "ack_comment", by.comment, "acked", acked));
    else if (r == ALERTS_NOT_FOUND)
        request_reply_error(req, 404, "unknown_incident", "no incident %lld", id);
    else if (r == ALERTS_CONFLICT)
        request_reply_error(req, 409, "incident_not_open",
                            "incident %lld is resolved: none of its members is open to"
                            " acknowledge",
                            id);
    else
        handler_db_error(req, conn);
    json_decref(doc);
}
