/* One HTTP request as handlers see it: copied out of libevent on the loop thread so that a
 * worker thread can read it and write the response without touching libevent. */
#ifndef SCALEUPD_REQUEST_H
#define SCALEUPD_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/edge/router.h"
#include "scaleupd/storage/tokens.h" /* struct request_auth, enum token_scope */

struct config;

/* The caps of what a request makes us hold beyond what is already bounded (the request line
 * and headers by max_header_bytes, the body by max_body_bytes, each refused with a JSON 413
 * by the connection guard, edge/conn_guard.h, or by the server; evhttp's own limits, at
 * twice ours, are a backstop). A response body, built
 * from the database, has at most REQUEST_RESPONSE_MAX bytes (a bigger one answers 500
 * response_too_large); a response, at most REQUEST_MAX_RESPONSE_HEADERS headers. */
#define REQUEST_RESPONSE_MAX (64u * 1024 * 1024)
#define REQUEST_MAX_RESPONSE_HEADERS 32

struct request_kv {
    char *key;
    char *value;
};

struct request {
    char id[20];     /* request id, in every log line about the request */
    unsigned method; /* enum router_method bit */
    char *path;      /* decoded path, without query */
    struct route_match match;
    struct request_kv *query;
    size_t n_query;
    struct request_kv *headers; /* the few request headers handlers need */
    size_t n_headers;
    char *body; /* NUL-terminated copy of the body (may contain NULs inside) */
    size_t body_len;
    struct request_auth auth;
    bool authorized; /* the connection guard checked the token before the body was read */
    const struct config *config; /* config in force when the request arrived */
    double queued;               /* seconds it waited for a pool worker (logged) */
    double arriving;             /* seconds from its first byte until evhttp had it whole: its
                                    head, the token check on a worker, its body (logged) */

    /* the response, written by the handler */
    int status;
    char *response; /* malloc'd body */
    size_t response_len;
    const char *content_type;
    struct request_kv *response_headers;
    size_t n_response_headers;
};

/* The reason phrase of a status ("Not Found"). */
const char *request_reason_phrase(int status);

/* True when a client's X-Request-Id of len bytes may be used as ours: 1 to 19 letters,
 * digits, '-' or '_'. */
bool request_id_usable(const char *id, size_t len);

/* A path parameter ("slug" of /api/v1/programmes/{slug}) or NULL. */
const char *request_param(const struct request *req, const char *name);

/* A query parameter or NULL (the last one when repeated). */
const char *request_query(const struct request *req, const char *name);

/* A query parameter that must be a boolean: absent → def; "true"/"1" or "false"/"0";
 * anything else answers 400 and returns false through ok. */
bool request_query_bool(struct request *req, const char *name, bool def, bool *ok);

/* A request header (case-insensitive) or NULL. */
const char *request_header(const struct request *req, const char *name);

/* The media type of Content-Type, lower-cased, without parameters ("" when absent);
 * written into buf. */
const char *request_media_type(const struct request *req, char *buf, size_t size);

/* Sets a JSON response; takes ownership of body (json_decref'd here). A body that does not
 * serialise (NULL) answers 500 internal; one of REQUEST_RESPONSE_MAX bytes or more answers
 * 500 response_too_large. */
void request_reply_json(struct request *req, int status, json_t *body);

/* Sets the error response of the API (docs/ARCHITECTURE.md):
 * {"error":{"code":…,"message":…}}; under /fhir, an OperationOutcome with the same status,
 * code and message instead (edge/fhir_reply.h). */
void request_reply_error(struct request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets an error response with extra members in the error object (details, position…);
 * takes ownership of extra (may be NULL). */
void request_reply_error_json(struct request *req, int status, const char *code,
                              const char *message, json_t *extra);

/* Sets a raw response; takes ownership of the malloc'd body (NULL when len is 0). A body of
 * REQUEST_RESPONSE_MAX bytes or more is freed and answered with 500 response_too_large. */
void request_reply_raw(struct request *req, int status, const char *content_type, char *body,
                       size_t len);

/* Adds a response header (copied); past REQUEST_MAX_RESPONSE_HEADERS it is dropped with a
 * warning (a handler's bug, never input). */
void request_add_response_header(struct request *req, const char *key, const char *value);

/* Parses req->body as a JSON document with jansson; on failure answers 400 naming the
 * line, column and position and returns NULL. The caller owns the result. */
json_t *request_parse_json(struct request *req);

/* Frees everything the request owns. */
void request_free(struct request **req);

#endif
