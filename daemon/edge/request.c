/* Request accessors and response helpers shared by every handler. */
#include "scaleupd/edge/request.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/log.h"
#include "scaleupd/edge/fhir_reply.h"

const char *request_reason_phrase(int status)
{
    static const struct {
        int status;
        const char *phrase;
    } phrases[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {413, "Payload Too Large"},
        {415, "Unsupported Media Type"},
        {417, "Expectation Failed"},
        {422, "Unprocessable Entity"},
        {429, "Too Many Requests"},
        {501, "Not Implemented"},
        {503, "Service Unavailable"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
        if (phrases[i].status == status)
            return phrases[i].phrase;
    return status >= 500 ? "Internal Server Error" : "OK";
}

bool request_id_usable(const char *id, size_t len)
{
    if (id == NULL || len == 0 || len >= sizeof(((struct request *)0)->id))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

const char *request_param(const struct request *req, const char *name)
{
    return router_param(&req->match, name);
}

const char *request_query(const struct request *req, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < req->n_query; i++)
        if (strcmp(req->query[i].key, name) == 0)
            found = req->query[i].value;
    return found;
}

bool request_query_bool(struct request *req, const char *name, bool def, bool *ok)
{
    const char *v = request_query(req, name);
    if (v == NULL)
        return def;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "") == 0)
        return true;
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return false;
    request_reply_error(req, 400, "invalid_parameter", "query parameter %s must be true or false",
                        name);
    *ok = false;
    return def;
}

const char *request_header(const struct request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].key, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *request_media_type(const struct request *req, char *buf, size_t size)
{
    const char *ct = request_header(req, "Content-Type");
    size_t o = 0;
    if (ct != NULL) {
        while (*ct == ' ')
            ct++;
        for (; *ct && *ct != ';' && *ct != ' ' && o + 1 < size; ct++)
            buf[o++] = (char)tolower((unsigned char)*ct);
    }
    buf[o] = '\0';
    return buf;
}

static void reply_too_large(struct request *req, size_t len)
{
    log_write(LOG_LEVEL_WARNING, req->id, "could not answer: the response has %zu bytes or more",
              len);
    request_reply_error(req, 500, "response_too_large",
                        "the response would have more than %u bytes; ask for less at once",
                        REQUEST_RESPONSE_MAX);
}

void request_reply_raw(struct request *req, int status, const char *content_type, char *body,
                       size_t len)
{
    if (len >= REQUEST_RESPONSE_MAX) {
        free(body);
        reply_too_large(req, len);
        return;
    }
    free(req->response);
    req->status = status;
    req->content_type = content_type;
    req->response = body;
    req->response_len = len;
}

static int dump_into(const char *chunk, size_t size, void *data)
{
    return dynbuf_add(data, chunk, size) ? 0 : -1;
}

void request_reply_json(struct request *req, int status, json_t *body)
{
    struct dynbuf out;
    dynbuf_init(&out, REQUEST_RESPONSE_MAX);
    int rc = body != NULL
                 ? json_dump_callback(body, dump_into, &out, JSON_COMPACT | JSON_REAL_PRECISION(12))
                 : -1;
    json_decref(body);
    bool overflow = out.overflow;
    if (rc != 0) {
        dynbuf_free(&out);
        if (overflow)
            reply_too_large(req, REQUEST_RESPONSE_MAX);
        else /* (the small error document always serialises) */
            request_reply_error(req, 500, "internal", "the response could not be built");
        return;
    }
    size_t len;
    char *text = dynbuf_take(&out, &len);
    request_reply_raw(req, status, "application/json", text, len);
}

void request_reply_error_json(struct request *req, int status, const char *code,
                              const char *message, json_t *extra)
{
    if (fhir_reply_native_error(req, status, code, message)) { /* under /fhir: FHIR's form */
        json_decref(extra);
        return;
    }
    json_t *error = extra ? extra : json_object();
    json_object_set_new(error, "code", json_string(code));
    /* a message may quote input (a path, a code, jansson's error text) and be cut by its
     * buffer: bytes that are not UTF-8 become '?', or jansson would drop the message */
    char *text = xstrdup(message ? message : "");
    utf8_make_valid(text);
    json_object_set_new(error, "message", json_string(text));
    free(text);
    request_reply_json(req, status, json_pack("{s:o}", "error", error));
}

void request_reply_error(struct request *req, int status, const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    request_reply_error_json(req, status, code, message, NULL);
}

void request_add_response_header(struct request *req, const char *key, const char *value)
{
    if (req->n_response_headers >= REQUEST_MAX_RESPONSE_HEADERS) {
        log_write(LOG_LEVEL_WARNING, req->id, "could not add response header %s: it has %d already",
                  key, REQUEST_MAX_RESPONSE_HEADERS);
        return;
    }
    req->response_headers = xrealloc(req->response_headers, (req->n_response_headers + 1) *
                                                                sizeof(*req->response_headers));
    req->response_headers[req->n_response_headers].key = xstrdup(key);
    req->response_headers[req->n_response_headers].value = xstrdup(value);
    req->n_response_headers++;
}

json_t *request_parse_json(struct request *req)
{
    json_error_t error;
    json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &error);
    if (doc != NULL)
        return doc;
    json_t *extra = json_pack("{s:i,s:i,s:i}", "line", error.line, "column", error.column,
                              "position", error.position);
    char message[400];
    snprintf(message, sizeof(message), "malformed JSON at line %d, column %d: %s", error.line,
             error.column, error.text);
    request_reply_error_json(req, 400, "malformed_json", message, extra);
    return NULL;
}

static void free_kvs(struct request_kv *kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kvs[i].key);
        free(kvs[i].value);
    }
    free(kvs);
}

void request_free(struct request **req)
{
    if (req == NULL || *req == NULL)
        return;
    struct request *r = *req;
    free(r->path);
    free_kvs(r->query, r->n_query);
    free_kvs(r->headers, r->n_headers);
    free_kvs(r->response_headers, r->n_response_headers);
    free(r->body);
    free(r->response);
    free(r);
    *req = NULL;
}
