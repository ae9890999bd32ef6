/* The HTTP server: one evhttp on the loop thread, each connection read through a guard
 * (edge/conn_guard.c) that keeps the connection cap and the header and body deadlines and
 * checks a request's header block, token and rate before evhttp reads its body. A request
 * evhttp hands over is matched, copied into a struct request and either answered on the
 * loop (cheap, database-free handlers) or queued on the worker pool with the guard's
 * verdict on its token; the reply is sent on the loop (docs/ARCHITECTURE.md). */
#include "scaleupd/edge/http.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/auth.h"
#include "scaleupd/edge/conn_guard.h"
#include "scaleupd/edge/pool.h"
#include "scaleupd/storage/db.h"

struct http_server {
    struct event_base *base;
    struct evhttp *evhttp;
    struct evhttp_bound_socket *socket;
    struct conn_guards *guards;
    struct app *app;
    unsigned long long next_id;
    unsigned id_prefix;
    size_t in_flight;
    int port;
    void (*drained)(void *);
    void *drained_arg;
    bool draining;
    struct event *linger; /* fires when a draining server has been idle long enough */
};

/* A request counts as in flight only once its body has arrived, so a draining server waits
 * this long with nothing in flight before it reports drained: a request whose body is still
 * on its way gets that long to arrive and is then served. */
#define DRAIN_LINGER_MS 1500

static void arm_linger(struct http_server *server)
{
    struct timeval tv = {DRAIN_LINGER_MS / 1000, (DRAIN_LINGER_MS % 1000) * 1000};
    event_add(server->linger, &tv);
}

/* A request on its way through the pool. */
struct http_job {
    struct pool_job job;
    struct http_server *server;
    struct evhttp_request *evreq;
    struct request *req;
    const struct handler *handler;
    struct config *config; /* our reference */
    double started;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void send_reply(struct http_server *server, struct evhttp_request *evreq,
                       struct request *req, double started)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
    if (req->status == 0)
        request_reply_error(req, 500, "internal", "the handler gave no answer");
    evhttp_add_header(out, "Content-Type", req->content_type ? req->content_type : "text/plain");
    evhttp_add_header(out, "X-Request-Id", req->id);
    if (server->draining)
        evhttp_add_header(out, "Connection", "close");
    for (size_t i = 0; i < req->n_response_headers; i++)
        evhttp_add_header(out, req->response_headers[i].key, req->response_headers[i].value);
    struct evbuffer *body = evbuffer_new();
    if (req->response_len > 0 && req->method != ROUTER_HEAD)
        evbuffer_add(body, req->response, req->response_len);
    evhttp_send_reply(evreq, req->status, request_reason_phrase(req->status), body);
    evbuffer_free(body);

    double elapsed = now_seconds() - started;
    const char *route = req->match.route ? req->match.route->pattern : "unmatched";
    metrics_observe_request(route, req->status, elapsed);
    enum log_level level = req->status >= 500   ? LOG_LEVEL_WARNING
                           : req->status >= 400 ? LOG_LEVEL_INFO
                                                : LOG_LEVEL_DEBUG;
    char method[16];
    router_allow_header(req->method, method, sizeof(method));
    log_write(level, req->id,
              "%s %s %d %.1f ms (%.1f ms waiting for a worker, %zu bytes in, %.1f ms arriving"
              " before)",
              method[0] ? method : "?", req->path ? req->path : "?", req->status, elapsed * 1000,
              req->queued * 1000, req->body_len, req->arriving * 1000);

    server->in_flight--;
    if (server->in_flight == 0 && server->draining)
        arm_linger(server);
}

/* Copies headers or query parameters: no cap of its own is needed, the guard has bounded
 * them (the request line and the headers together by max_header_bytes). */
static void copy_kvs(const struct evkeyvalq *q, struct request_kv **out, size_t *n)
{
    size_t count = 0;
    const struct evkeyval *kv;
    for (kv = q->tqh_first; kv != NULL; kv = kv->next.tqe_next)
        count++;
    *out = xcalloc(count ? count : 1, sizeof(**out));
    for (kv = q->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        (*out)[*n].key = xstrdup(kv->key);
        (*out)[*n].value = xstrdup(kv->value);
        (*n)++;
    }
}

/* Writes the next request id of this process ("prefix-counter"). */
static void new_request_id(void *arg, char *id, size_t size)
{
    struct http_server *server = arg;
    snprintf(id, size, "%08x-%06llx", server->id_prefix, ++server->next_id & 0xffffffULL);
}

/* Builds the request: id, method, path, query, headers (the body comes later, once its size
 * is checked). *bad is set when the query string does not parse. */
static struct request *build_request(struct http_server *server, struct evhttp_request *evreq,
                                     bool *bad)
{
    struct request *req = xcalloc(1, sizeof(*req));
    const char *given = evhttp_find_header(evhttp_request_get_input_headers(evreq), "X-Request-Id");
    if (given != NULL && request_id_usable(given, strlen(given)))
        snprintf(req->id, sizeof(req->id), "%s", given);
    else
        new_request_id(server, req->id, sizeof(req->id));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    req->path = xstrdup(path && path[0] ? path : "/");
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    /* %00 would decode to a NUL that cuts its value short ("site=GP001%00x" read as GP001):
       no text the daemon reads holds one */
    if (query != NULL && (evhttp_parse_query_str(query, &params) != 0 || strstr(query, "%00")))
        *bad = true;
    copy_kvs(&params, &req->query, &req->n_query);
    copy_kvs(evhttp_request_get_input_headers(evreq), &req->headers, &req->n_headers);
    evhttp_clear_headers(&params);
    return req;
}

/* Copies the body out of libevent: one allocation of a size check_limits has bounded by
 * max_body_bytes (the guard a declared body by that, a chunked one by one and a half). */
static void copy_body(struct request *req, struct evhttp_request *evreq)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(evreq);
    size_t len = evbuffer_get_length(in);
    req->body = xmalloc(len + 1);
    evbuffer_remove(in, req->body, len);
    req->body[len] = '\0';
    req->body_len = len;
}

static void run_job(struct pool_job *pj, PGconn *conn)
{
    struct http_job *job = (struct http_job *)pj;
    struct request *req = job->req;
    req->queued = now_seconds() - job->started;
    db_clear_last_sqlstate();
    if (conn == NULL) {
        request_add_response_header(req, "Retry-After", "5");
        request_reply_error(req, 503, "database_unavailable",
                            "the database is not reachable; try again shortly");
        return;
    }
    /* the guard has checked the token of almost every request before its body was read */
    if (req->authorized || auth_authorize(req, conn, job->handler))
        job->handler->fn(req, conn, job->server->app);
}

static void finish_job(struct pool_job *pj)
{
    struct http_job *job = (struct http_job *)pj;
    send_reply(job->server, job->evreq, job->req, job->started);
    request_free(&job->req);
    config_free(&job->config);
    free(job);
}

static void reply_now(struct http_server *server, struct evhttp_request *evreq, struct request *req,
                      double started)
{
    send_reply(server, evreq, req, started);
    request_free(&req);
}

static bool check_limits(struct http_server *server, struct evhttp_request *evreq,
                         struct request *req)
{
    const struct config *config = server->app->config;
    size_t header_bytes = 0;
    for (size_t i = 0; i < req->n_headers; i++)
        header_bytes += strlen(req->headers[i].key) + strlen(req->headers[i].value) + 4;
    if (header_bytes > (size_t)config->max_header_bytes) {
        request_reply_error(req, 413, "headers_too_large",
                            "the request headers have %zu bytes; the limit is %d", header_bytes,
                            config->max_header_bytes);
        return false;
    }
    size_t len = evbuffer_get_length(evhttp_request_get_input_buffer(evreq));
    if (len > (size_t)config->max_body_bytes) {
        request_reply_error(req, 413, "body_too_large",
                            "the request body has %zu bytes; the limit is %d", len,
                            config->max_body_bytes);
        return false;
    }
    return true;
}

/* A request with a body up to this size (reads, single points, a practice's month) is served
 * ahead of the bulk batches waiting for a worker. */
#define SHORT_JOB_BODY 16384

static void dispatch(struct http_server *server, struct evhttp_request *evreq, struct request *req,
                     double started)
{
    const struct handler *handler = req->match.route->handler;
    req->config = server->app->config;
    /* a loop handler never sees a database, so only a public one may skip the pool (where
     * tokens are checked) */
    if (handler->kind == HANDLER_LOOP && handler->access == ACCESS_PUBLIC) {
        handler->fn(req, NULL, server->app);
        reply_now(server, evreq, req, started);
        return;
    }
    struct http_job *job = xcalloc(1, sizeof(*job));
    copy_body(req, evreq);
    job->job.run = run_job;
    job->job.done = finish_job;
    job->server = server;
    job->evreq = evreq;
    job->req = req;
    job->handler = handler;
    job->config = config_ref(server->app->config);
    job->started = started;
    job->job.short_job = req->body_len <= SHORT_JOB_BODY;
    if (!pool_submit(server->app->pool, &job->job)) {
        config_free(&job->config);
        free(job);
        request_add_response_header(req, "Retry-After", "1");
        request_reply_error(req, 503, "overloaded", "too many requests are waiting; retry later");
        reply_now(server, evreq, req, started);
    }
}

static const char *method_name_of(const struct evhttp_request *evreq)
{
    switch (evhttp_request_get_command(evreq)) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    default:
        return "OTHER";
    }
}

/* Takes what the connection's guard decided: its request id, and the token it checked for
 * the route matched here (a route matched differently is authorised again on the worker). */
static void take_verdict(struct request *req, const struct conn_verdict *verdict)
{
    if (verdict->id[0] != '\0')
        snprintf(req->id, sizeof(req->id), "%s", verdict->id);
    if (verdict->authorized && verdict->route != NULL && verdict->route == req->match.route) {
        req->authorized = true;
        req->auth = verdict->auth;
    }
}

static void on_request(struct evhttp_request *evreq, void *arg)
{
    struct http_server *server = arg;
    double started = now_seconds();
    server->in_flight++;
    if (server->draining)
        event_del(server->linger);
    bool bad_query = false;
    struct request *req = build_request(server, evreq, &bad_query);
    struct conn_verdict verdict = {0};
    bool guarded = conn_guards_take(server->guards, evreq, &verdict);
    const char *method_name = method_name_of(evreq);
    req->method = router_method_from_name(method_name);
    char allow[80];
    enum router_result found =
        router_match(app_routes, app_n_routes, req->path, req->method, &req->match);
    if (guarded) {
        take_verdict(req, &verdict);
        req->arriving =
            verdict.arrived > 0 && started > verdict.arrived ? started - verdict.arrived : 0;
    }
    switch (found) {
    case ROUTER_NOT_FOUND:
        request_reply_error(req, 404, "not_found", "no such endpoint: %s", req->path);
        break;
    case ROUTER_METHOD_NOT_ALLOWED:
        router_allow_header(req->match.allowed, allow, sizeof(allow));
        request_add_response_header(req, "Allow", allow);
        request_reply_error(req, 405, "method_not_allowed", "%s is not allowed here; use %s",
                            method_name, allow);
        break;
    case ROUTER_FOUND:
        if (bad_query)
            request_reply_error(req, 400, "invalid_query", "the query string does not parse");
        else if (check_limits(server, evreq, req)) {
            dispatch(server, evreq, req, started);
            return;
        }
        break;
    }
    reply_now(server, evreq, req, started);
}

/* Each connection holds a file descriptor: raises the soft open-file limit to
 * max_connections and a margin (database connections, files) when the hard limit allows. */
static void ensure_open_files(int max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        log_warning("the open-file limit is %llu, below max_connections + 256 (%llu): "
                    "connections past it wait in the kernel's queue (raise LimitNOFILE)",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

void http_server_configure(struct http_server *server)
{
    const struct config *config = server->app->config;
    /* the guards refuse header blocks and declared bodies past the limits (in JSON) before
     * evhttp sees them, and check_limits a chunked body past max_body_bytes; evhttp's own
     * limits, at twice ours, are only a backstop */
    evhttp_set_max_body_size(server->evhttp, (ev_ssize_t)config->max_body_bytes * 2);
    evhttp_set_max_headers_size(server->evhttp, (ev_ssize_t)config->max_header_bytes * 2);
    evhttp_set_timeout(server->evhttp, config->idle_timeout);
    ensure_open_files(config->max_connections);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct http_server *server = arg;
    if (server->in_flight == 0 && server->drained != NULL) {
        void (*drained)(void *) = server->drained;
        server->drained = NULL;
        drained(server->drained_arg);
    }
}

struct http_server *http_server_new(struct event_base *base, struct app *app)
{
    struct http_server *server = xcalloc(1, sizeof(*server));
    server->base = base;
    server->app = app;
    server->id_prefix = (unsigned)time(NULL) ^ (unsigned)getpid() << 16;
    server->evhttp = evhttp_new(base);
    server->linger = event_new(base, -1, 0, on_linger, server);
    if (server->evhttp == NULL || server->linger == NULL)
        goto fail;
    evhttp_set_allowed_methods(server->evhttp, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                                   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                                   EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(server->evhttp, on_request, server);
    server->guards = conn_guards_new(base, app, new_request_id, server);
    evhttp_set_bevcb(server->evhttp, conn_guards_bevcb, server->guards);
    http_server_configure(server);
    server->socket = evhttp_bind_socket_with_handle(server->evhttp, app->config->listen_address,
                                                    (ev_uint16_t)app->config->listen_port);
    if (server->socket == NULL) {
        log_error("could not listen on %s:%d", app->config->listen_address,
                  app->config->listen_port);
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(server->socket);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        server->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return server;
fail:
    http_server_free(&server);
    return NULL;
}

int http_server_port(const struct http_server *server)
{
    return server->port;
}

void http_server_drain(struct http_server *server, void (*drained)(void *), void *arg)
{
    if (server->socket != NULL) {
        evhttp_del_accept_socket(server->evhttp, server->socket);
        server->socket = NULL;
    }
    server->draining = true;
    server->drained = drained;
    server->drained_arg = arg;
    if (server->in_flight == 0)
        arm_linger(server);
}

size_t http_server_in_flight(const struct http_server *server)
{
    return server->in_flight;
}

void http_server_free(struct http_server **server)
{
    if (*server == NULL)
        return;
    if ((*server)->evhttp != NULL)
        evhttp_free((*server)->evhttp);
    conn_guards_free(&(*server)->guards);
    if ((*server)->linger != NULL)
        event_free((*server)->linger);
    free(*server);
    *server = NULL;
}
