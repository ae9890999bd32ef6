/* Request accessors and response helpers shared by every handler. */
#include "scaleupd/edge/request.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void request_reply_raw(struct request *req, int status, const char *content_type, char *body,
                       size_t len)
{
    free(req->response);
    req->status = status;
    req->content_type = content_type;
    req->response = body;
    req->response_len = len;
}

void request_reply_json(struct request *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(body);
    if (text == NULL) {
        const char fallback[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        text = strdup(fallback);
        status = 500;
    }
    request_reply_raw(req, status, "application/json", text, text ? strlen(text) : 0);
}

void request_reply_error_json(struct request *req, int status, const char *code,
                              const char *message, json_t *extra)
{
    json_t *error = extra ? extra : json_object();
    json_object_set_new(error, "code", json_string(code));
    json_object_set_new(error, "message", json_string(message));
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
    struct request_kv *grown =
        realloc(req->response_headers, (req->n_response_headers + 1) * sizeof(*grown));
    if (grown == NULL)
        abort();
    req->response_headers = grown;
    grown[req->n_response_headers].key = strdup(key);
    grown[req->n_response_headers].value = strdup(value);
    if (!grown[req->n_response_headers].key || !grown[req->n_response_headers].value)
        abort();
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
