/* Alerting endpoints: rules, receivers (and their test message), alerts with
 * acknowledgement, and silences (the lists a page at a time, edge/page_link.h). Each handler parses
 * (documents through core), authorises, calls one storage function and renders its result: no SQL
 * here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/ack_doc.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/core/digest_schedule.h"
#include "scaleupd/core/receiver_doc.h"
#include "scaleupd/core/silence_doc.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/background.h"
#include "scaleupd/edge/delivery.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/edge/page_link.h"
#include "scaleupd/edge/programme_scope.h"
#include "scaleupd/services/digest.h"
#include "scaleupd/services/notify.h"
#include "scaleupd/storage/ack_store.h"
#include "scaleupd/storage/alert_store.h"
#include "scaleupd/storage/receiver_store.h"
#include "scaleupd/storage/rule_store.h"
#include "scaleupd/storage/silence_store.h"

static void reply_result(struct request *req, PGconn *conn, enum alerts_result r, json_t *problems,
                         const char *code, const char *message)
{
    if (r == ALERTS_INVALID)
        request_reply_error_json(req, 422, code, message,
                                 json_pack("{s:o}", "details", problems ? problems : json_array()));
    else if (r == ALERTS_DB_ERROR)
        handler_db_error(req, conn), json_decref(problems);
    else
        json_decref(problems);
}

static void reply_list(struct request *req, PGconn *conn, const char *key, json_t *list)
{
    if (list == NULL)
        handler_db_error(req, conn);
    else
        request_reply_json(req, 200, json_pack("{s:o}", key, list));
}

void handle_post_rule(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    json_t *doc = request_parse_json(req);
    if (doc == NULL)
        return;
    struct rule rule;
    json_t *problems = rule_parse(doc, &rule);
    enum alerts_result r = ALERTS_INVALID;
    if (json_array_size(problems) == 0) {
        json_decref(problems);
        problems = NULL;
        r = alerts_rule_put(conn, programme_id, doc, &rule, &problems);
    }
    if (r == ALERTS_OK || r == ALERTS_CREATED) {
        request_reply_json(req, r == ALERTS_CREATED ? 201 : 200,
                           json_pack("{s:s,s:s,s:O}", "name", rule.name, "kind",
                                     rule_kind_name(rule.kind), "document", doc));
        background_kick("evaluate");
    }
    reply_result(req, conn, r, problems, "invalid_rule", "the rule has problems");
    json_decref(doc);
}

void handle_get_rules(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    reply_list(req, conn, "rules", alerts_rule_list_with_defaults(conn, programme_id));
}

void handle_delete_rule(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    const char *name = request_param(req, "name");
    enum alerts_result r = alerts_rule_delete(conn, programme_id, name);
    if (r == ALERTS_OK)
        request_reply_json(req, 200, json_pack("{s:s,s:b}", "name", name, "deleted", 1));
    else if (r == ALERTS_NOT_FOUND)
        request_reply_error(req, 404, "unknown_rule", "no rule \"%s\" in this programme", name);
    else
        handler_db_error(req, conn);
}

void handle_put_receivers(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    json_t *doc = request_parse_json(req);
    if (doc == NULL)
        return;
    const json_t *receivers = NULL;
    json_t *problems = receiver_doc_parse(doc, &receivers);
    digest_doc_check(json_object_get(doc, "receivers"), &problems);
    json_t *stored = NULL;
    enum alerts_result r = ALERTS_INVALID;
    if (problems == NULL)
        r = digest_receivers_put(conn, programme_id, receivers, clock_now(), &problems, &stored);
    if (r == ALERTS_OK) {
        request_reply_json(req, 200, json_pack("{s:o}", "receivers", stored));
        background_kick("digests"); /* the new schedules' first due times */
    }
    reply_result(req, conn, r, problems, "invalid_receivers", "the receivers have problems");
    json_decref(doc);
}

void handle_get_receivers(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (handler_check_programme(req, conn, &programme_id))
        reply_list(req, conn, "receivers", digest_receivers_get(conn, programme_id));
}

void handle_post_receiver_test(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    if (!handler_check_programme(req, conn, &programme_id))
        return;
    const char *name = request_param(req, "name");
    long n = notify_queue_test(conn, req->config, programme_id, name, clock_now());
    if (n < 0) {
        handler_db_error(req, conn);
    } else if (n == 0) {
        request_reply_error(req, 404, "unknown_receiver",
                            "no receiver \"%s\" with an address or URL in this programme", name);
    } else {
        request_reply_json(req, 202, json_pack("{s:s,s:i}", "receiver", name, "queued", (int)n));
        delivery_kick();
    }
}

void handle_get_alerts(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    const char *state = request_query(req, "state");
    enum alert_state st;
    if (state != NULL && !alert_state_from_name(state, &st)) {
        request_reply_error_json(req, 400, "invalid_parameter",
                                 "state is one of pending, firing, resolved, no_data, inactive",
                                 json_pack("{s:s}", "path", "state"));
        return;
    }
    struct page_request request;
    if (!page_link_parse(req, 1, &request))
        return;
    struct alerts_filter filter = {
        request_query(req, "programme"), state,       request_query(req, "indicator"),
        request_query(req, "site"),      clock_now(), 0};
    if (!programme_scope_list(req, conn, filter.programme, &filter.programme_id)) {
        page_cursor_clear(&request.after);
        return;
    }
    struct page_rows page;
    enum page_rows_status r = alerts_list_page(conn, &filter, &request, &page);
    if (r == PAGE_ROWS_OK)
        page_link_reply(req, "alerts", &page);
    else
        page_link_reply_failure(req, conn, r);
    page_cursor_clear(&request.after);
}

/* The {id} of an alert's path, or 0 (answered 404) when it is not a positive integer. */
static long long alert_id_param(struct request *req)
{
    return handler_id_param(req, "unknown_alert", "alert");
}

/* GET /api/v1/alerts/{id}: one alert as the list gives it, with silenced_by. */
void handle_get_alert(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long id = alert_id_param(req);
    json_t *alert = NULL;
    if (id == 0)
        return;
    enum alerts_result r = alerts_get(conn, id, clock_now(), &alert);
    int in_scope = r == ALERTS_OK ? programme_scope_row(req, conn, alert) : 1;
    if (in_scope != 1) {
        json_decref(alert);
        if (in_scope == 0)
            request_reply_error(req, 404, "unknown_alert", "no alert %lld", id);
        return;
    }
    if (r == ALERTS_OK)
        request_reply_json(req, 200, alert);
    else if (r == ALERTS_NOT_FOUND)
        request_reply_error(req, 404, "unknown_alert", "no alert %lld", id);
    else
        handler_db_error(req, conn);
}

bool handler_ack_body(struct request *req, json_t **doc, struct ack_by *by)
{
    *doc = req->body_len > 0 ? request_parse_json(req) : NULL;
    if (req->body_len > 0 && *doc == NULL)
        return false;
    const char *token = req->auth.name[0] ? req->auth.name : NULL;
    struct ack_doc ack;
    json_t *problems = ack_doc_parse(*doc, token ? token : "admin", &ack);
    if (problems != NULL) {
        request_reply_error_json(req, 422, "invalid_ack", "the acknowledgement has problems",
                                 json_pack("{s:o}", "details", problems));
        json_decref(*doc);
        *doc = NULL;
        return false;
    }
    *by = (struct ack_by){.person = ack.by, .comment = ack.comment, .token = token};
    return true;
}

/* POST /api/v1/alerts/{id}/ack with an optional body {"by", "comment"} (core/ack_doc.h): the
 * person defaults to the token's name, which is kept apart either way. */
void handle_post_alert_ack(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long id = alert_id_param(req);
    json_t *doc = NULL;
    struct ack_by by;
    if (id == 0 || !handler_ack_body(req, &doc, &by))
        return;
    enum alerts_result r = alerts_ack(conn, id, &by, clock_now());
    json_t *alert = NULL;
    if (r ==
        ALERTS_OK) /* what is stored: an acknowledgement without a comment kept the one before */
        r = alerts_get(conn, id, clock_now(), &alert);
    if (r == ALERTS_OK)
        request_reply_json(req, 200,
                           json_pack("{s:I,s:O?,s:O?,s:O?}", "id", (json_int_t)id, "acked_by",
                                     json_object_get(alert, "acked_by"), "ack_comment",
                                     json_object_get(alert, "ack_comment"), "ack_token",
                                     json_object_get(alert, "ack_token")));
    else if (r == ALERTS_NOT_FOUND)
        request_reply_error(req, 404, "unknown_alert", "no alert %lld", id);
    else if (r == ALERTS_CONFLICT)
        request_reply_error(req, 409, "alert_not_open",
                            "alert %lld is not open (resolved or inactive): only a pending,"
                            " firing or no_data alert is acknowledged",
                            id);
    else
        handler_db_error(req, conn);
    json_decref(alert);
    json_decref(doc);
}

void handle_post_silence(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    json_t *doc = request_parse_json(req);
    if (doc == NULL)
        return;
    struct silence_doc silence;
    json_t *problems = silence_doc_parse(doc, clock_now(), &silence);
    int64_t id = 0;
    enum alerts_result r = ALERTS_INVALID;
    if (problems == NULL)
        r = alerts_silence_create(conn, &silence, &id, &problems);
    if (r == ALERTS_CREATED)
        request_reply_json(
            req, 201, json_pack("{s:I,s:O}", "id", (json_int_t)id, "matchers", silence.matchers));
    reply_result(req, conn, r, problems, "invalid_silence", "the silence has problems");
    silence_doc_clear(&silence);
    json_decref(doc);
}

void handle_get_silences(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    bool ok = true;
    bool ended = request_query_bool(req, "expired", false, &ok);
    struct page_request request;
    if (!ok || !page_link_parse(req, 2, &request))
        return;
    struct page_rows page;
    enum page_rows_status r = alerts_silence_list_page(conn, clock_now(), ended, &request, &page);
    if (r == PAGE_ROWS_OK)
        page_link_reply(req, "silences", &page);
    else
        page_link_reply_failure(req, conn, r);
    page_cursor_clear(&request.after);
}

void handle_delete_silence(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long id = handler_id_param(req, "unknown_silence", "active silence");
    if (id == 0)
        return;
    enum alerts_result r = alerts_silence_expire(conn, id, clock_now());
    if (r == ALERTS_OK)
        request_reply_json(req, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "expired", 1));
    else if (r == ALERTS_NOT_FOUND)
        request_reply_error(req, 404, "unknown_silence", "no active silence %lld", id);
    else
        handler_db_error(req, conn);
}
