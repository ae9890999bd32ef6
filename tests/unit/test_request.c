/*
 * The caps of request.c: a response body, built from the database, has fewer than
 * REQUEST_RESPONSE_MAX bytes (a bigger one answers 500 response_too_large, whether it is
 * raw or a JSON document), a response at most REQUEST_MAX_RESPONSE_HEADERS headers; and a
 * JSON body that cannot be serialised answers 500 internal.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/edge/request.h"

static struct request *new_request(void)
{
    struct request *req = xcalloc(1, sizeof(*req));
    req->path = xstrdup("/test");
    return req;
}

/* The error code of the JSON response, or "" when there is none. */
static const char *error_code(const struct request *req, char *buf, size_t size)
{
    json_t *doc = json_loadb(req->response, req->response_len, 0, NULL);
    const char *code = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
    snprintf(buf, size, "%s", code ? code : "");
    json_decref(doc);
    return buf;
}

Test(request, a_json_body_is_answered_as_it_is)
{
    struct request *req = new_request();
    request_reply_json(req, 201, json_pack("{s:i}", "imported", 3));
    cr_expect_eq(req->status, 201);
    cr_expect_str_eq(req->content_type, "application/json");
    cr_expect_eq(req->response_len, strlen("{\"imported\":3}"));
    cr_expect(memcmp(req->response, "{\"imported\":3}", req->response_len) == 0);
    request_free(&req);
    cr_expect_null(req);
}

Test(request, a_response_past_the_cap_answers_500)
{
    char code[64];
    struct request *req = new_request();
    /* the raw body is not read: only its length counts */
    request_reply_raw(req, 200, "text/plain", xstrdup("x"), REQUEST_RESPONSE_MAX);
    cr_expect_eq(req->status, 500);
    cr_expect_str_eq(error_code(req, code, sizeof(code)), "response_too_large");
    request_free(&req);

    req = new_request();
    size_t big = REQUEST_RESPONSE_MAX;
    char *text = xmalloc(big);
    memset(text, 'a', big);
    request_reply_json(req, 200, json_pack("[s%]", text, big));
    free(text);
    cr_expect_eq(req->status, 500);
    cr_expect_str_eq(error_code(req, code, sizeof(code)), "response_too_large");
    cr_expect_lt(req->response_len, 1024);
    request_free(&req);
}

Test(request, a_body_that_does_not_serialise_answers_500_internal)
{
    char code[64];
    struct request *req = new_request();
    request_reply_json(req, 200, NULL);
    cr_expect_eq(req->status, 500);
    cr_expect_str_eq(error_code(req, code, sizeof(code)), "internal");
    request_free(&req);
}

Test(request, response_headers_stop_at_the_cap)
{
    struct request *req = new_request();
    for (int i = 0; i < REQUEST_MAX_RESPONSE_HEADERS + 5; i++)
        request_add_response_header(req, "X-Test", "1");
    cr_expect_eq(req->n_response_headers, REQUEST_MAX_RESPONSE_HEADERS);
    cr_expect_str_eq(req->response_headers[0].key, "X-Test");
    request_free(&req);
}
