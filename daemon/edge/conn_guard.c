/* The connection guard: a bufferevent filter in front of each evhttp connection. It keeps
 * the connection cap, the header and body deadlines, reads each header block before evhttp
 * does (core/http_head.c), checks the token on a worker while the body waits in the kernel,
 * applies the per-token rate, and answers refusals itself in our JSON shape, then closes.
 * Loop thread only; docs/ARCHITECTURE.md ("The path of a pushed batch") explains the design. */
#include "scaleupd/edge/conn_guard.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/http_head.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/auth.h"
#include "scaleupd/edge/pool.h"
#include "scaleupd/edge/rate_limit.h"
#include "scaleupd/edge/request.h"

enum guard_state {
    GUARD_REFUSED, /* over the connection cap: answered 503 at once */
    GUARD_HEAD,    /* waiting for a complete header block; bytes held */
    GUARD_AUTH,    /* the token is being looked up on a worker; bytes held */
    GUARD_BODY,    /* passing body_left bytes of body to evhttp */
    GUARD_STREAM,  /* passing a chunked body, its framing checked, up to its end */
    GUARD_WAIT,    /* the request is with the server; later bytes held until it answered */
    GUARD_ANSWER,  /* our own answer is being written; input discarded */
    GUARD_LINGER,  /* answered and write side shut; input discarded until EOF or deadline */
    GUARD_DONE,    /* closing */
};

enum guard_deadline { DEADLINE_HEADER, DEADLINE_BODY, DEADLINE_LINGER };

/* A client that was answered without its body gets this long to send what it declared (so
 * that it can read the answer rather than a reset), at most body_timeout. */
#define LINGER_SECONDS 2

struct conn_guard {
    struct conn_guards *set; /* NULL once detached */
    struct conn_guard *prev, *next;
    struct bufferevent *bev;    /* the filter, owned by evhttp */
    struct bufferevent *socket; /* the socket under it, freed with the filter */
    struct event *timer;        /* the deadline */
    struct event *kick;         /* processes held bytes after a wait */
    struct event *writable;     /* evhttp's output waits for the socket (once fd is known) */
    enum guard_deadline deadline;
    enum guard_state state;
    int fd;        /* registered in set->by_fd once known, else -1 */
    bool admitted; /* counted under the cap */
    bool job_pending, closed;
    bool reading_stopped; /* the socket is not read: the bytes held are enough */
    bool eof_held;        /* the client shut its side with a request still to answer */
    bool short_linger;    /* answered for being too slow: linger LINGER_SECONDS at most */
    /* the filter's own callbacks on the socket, which on_socket_* pass everything to but an
     * EOF that comes while a request is still to be answered */
    bufferevent_data_cb socket_readcb, socket_writecb;
    bufferevent_event_cb socket_eventcb;
    void *socket_cbarg;
    struct http_head_scan scan;
    size_t block_len;                /* the header block being released */
    unsigned long long body_left;    /* body bytes still to pass (GUARD_BODY) */
    unsigned long long streamed;     /* chunked bytes passed (GUARD_STREAM) */
    unsigned long long discard_left; /* declared body bytes still to discard (GUARD_LINGER) */
    bool head_only;                  /* a HEAD request: no body to read */
    bool chunked;                    /* its body comes in chunks */
    struct http_chunks chunks;       /* where the chunked body has got to */
    bool rate_unknown;               /* the secret has no bucket yet */
    unsigned char secret_hash[32];
    struct conn_verdict verdict;
    unsigned method; /* of the current request, for the log lines of its refusals */
    char path[96];
    double started;
};

struct conn_guards {
    struct event_base *base;
    struct app *app;
    void (*new_id)(void *, char *, size_t);
    void *id_arg;
    size_t admitted;
    struct conn_guard *all; /* every live guard */
    struct conn_guard **by_fd;
    size_t n_by_fd;
    struct rate_limit *rates;
};

/* A token lookup on a worker for a held request. */
struct guard_job {
    struct pool_job job;
    struct conn_guard *guard;
    struct request *req;   /* holds the Authorization header; gets the verdict or the answer */
    struct config *config; /* our reference */
    const struct handler *handler;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* False once evhttp has freed the connection (bufferevent_free clears the callbacks, and
 * evhttp never clears its event callback otherwise) or the server is gone. The filter's
 * memory, and so the guard, lives until libevent finalises it a moment later. */
static bool connection_alive(const struct conn_guard *g)
{
    if (g->set == NULL)
        return false;
    bufferevent_event_cb eventcb = NULL;
    bufferevent_getcb(g->bev, NULL, NULL, &eventcb, NULL);
    return eventcb != NULL;
}

static void arm(struct conn_guard *g, enum guard_deadline deadline, double seconds)
{
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    g->deadline = deadline;
    evtimer_add(g->timer, &tv);
}

static void disarm(struct conn_guard *g)
{
    evtimer_del(g->timer);
}

/* Reads the socket only while the guard may use what it reads: while it holds a request's
 * bytes (its token being checked, the request before it not yet answered, a refusal not yet
 * written) it stops once the header limit is held, so at most that and one read of 16 kB are
 * held. Not a read high watermark on the socket: libevent 2.1 runs the read callback of a
 * bufferevent at its high watermark again in every pass of the loop while nothing drains it,
 * so the loop spun for as long as a token was being checked. */
static void steer_reading(struct conn_guard *g)
{
    bool holding = g->state == GUARD_AUTH || g->state == GUARD_WAIT || g->state == GUARD_REFUSED;
    size_t held = evbuffer_get_length(bufferevent_get_input(g->socket));
    bool stop = holding && held >= (size_t)g->set->app->config->max_header_bytes;
    if (stop == g->reading_stopped)
        return;
    g->reading_stopped = stop;
    if (stop)
        bufferevent_disable(g->socket, EV_READ);
    else
        bufferevent_enable(g->socket, EV_READ);
}

/* ------------------------------------------------------------------ answering ourselves */

static struct request *guard_request(struct conn_guard *g, const struct http_head *head)
{
    struct request *req = xcalloc(1, sizeof(*req));
    if (head != NULL && request_id_usable(head->request_id.value, head->request_id.len))
        snprintf(req->id, sizeof(req->id), "%.*s", (int)head->request_id.len,
                 head->request_id.value);
    else
        g->set->new_id(g->set->id_arg, req->id, sizeof(req->id));
    req->method = head != NULL ? router_method_from_name(head->method) : g->method;
    if (head == NULL && g->path[0] != '\0')
        req->path = xstrdup(g->path);
    req->config = g->set->app->config;
    g->started = g->started > 0 ? g->started : now_seconds();
    return req;
}

static void log_answer(struct conn_guard *g, const struct request *req, const char *why)
{
    double elapsed = now_seconds() - g->started;
    const char *route = g->verdict.route ? g->verdict.route->pattern : "unmatched";
    metrics_observe_request(route, req->status, elapsed);
    char method[16];
    router_allow_header(req->method, method, sizeof(method));
    log_write(req->status >= 500 ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO, req->id,
              "%s %s %d %.1f ms (%s)", method[0] ? method : "?", req->path ? req->path : "?",
              req->status, elapsed * 1000, why);
}

static void close_now(struct conn_guard *g)
{
    g->state = GUARD_DONE;
    disarm(g);
    /* evhttp frees the connection as after a client's EOF: no answer of its own */
    bufferevent_trigger_event(g->bev, BEV_EVENT_EOF | BEV_EVENT_READING, BEV_TRIG_DEFER_CALLBACKS);
}

/* Our answer has left: shut the write side, then read and drop what the client still sends
 * (the rest of a declared body) so that it reads the answer rather than a reset; a client that
 * shut its side already sends nothing more. */
static void answered(struct conn_guard *g)
{
    if (g->eof_held) {
        close_now(g);
        return;
    }
    shutdown(bufferevent_getfd(g->socket), SHUT_WR);
    g->state = GUARD_LINGER;
    const struct config *config = g->set->app->config;
    double linger = g->discard_left > 0 && !g->short_linger ? config->body_timeout : LINGER_SECONDS;
    arm(g, DEADLINE_LINGER, linger < config->body_timeout ? linger : config->body_timeout);
}

static void on_output(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn_guard *g = arg;
    if (g->state == GUARD_ANSWER && info->n_deleted > 0 && evbuffer_get_length(out) == 0)
        answered(g);
}

/* Writes req's answer straight to the socket, closing the connection after it; frees req.
 * The held input is dropped: unread body bytes are counted into discard_left. */
static void refuse(struct conn_guard *g, struct request *req, const char *why)
{
    struct evbuffer *out = bufferevent_get_output(g->socket);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\nX-Request-Id: %s\r\n",
                        req->status, request_reason_phrase(req->status),
                        req->content_type ? req->content_type : "application/json",
                        req->response_len, req->id);
    for (size_t i = 0; i < req->n_response_headers; i++)
        evbuffer_add_printf(out, "%s: %s\r\n", req->response_headers[i].key,
                            req->response_headers[i].value);
    evbuffer_add(out, "\r\n", 2);
    if (req->method != ROUTER_HEAD)
        evbuffer_add(out, req->response, req->response_len);
    log_answer(g, req, why);
    request_free(&req);

    struct evbuffer *in = bufferevent_get_input(g->socket);
    size_t held = evbuffer_get_length(in);
    size_t body_held = held > g->block_len ? held - g->block_len : 0;
    if (g->state == GUARD_BODY)
        g->discard_left = g->body_left > held ? g->body_left - held : 0;
    else if (g->state != GUARD_STREAM)
        g->discard_left = g->body_left > body_held ? g->body_left - body_held : 0;
    evbuffer_drain(in, held);
    disarm(g);
    g->state = GUARD_ANSWER;
    g->reading_stopped = false;
    bufferevent_enable(g->socket, EV_READ); /* keep reading what we drop */
}

static void refuse_error(struct conn_guard *g, struct request *req, int status, const char *code,
                         const char *message, const char *why)
{
    request_reply_error(req, status, code, "%s", message);
    refuse(g, req, why);
}

/* ------------------------------------------------------------------ letting bytes through */

/* Passes a chunked body to evhttp as its framing is checked (core/http_head.c), and
 * nothing after its end; bad framing is 400, raw bytes past the limit and a half 413 (evhttp
 * refuses at twice the limit in its own page, check_limits between the limit and that in
 * JSON). True when it moved bytes. */
static bool pass_chunks(struct conn_guard *g, struct evbuffer *src, struct evbuffer *dst)
{
    const struct config *config = g->set->app->config;
    unsigned long long cap = (unsigned long long)config->max_body_bytes * 3 / 2;
    bool moved = false;
    while (evbuffer_get_length(src) > 0) {
        struct evbuffer_iovec vec[16];
        int n = evbuffer_peek(src, -1, NULL, vec, 16);
        size_t take = 0;
        enum http_chunks_status status = HTTP_CHUNKS_MORE;
        for (int i = 0; i < n && i < 16 && status == HTTP_CHUNKS_MORE; i++) {
            size_t used = 0;
            status = http_chunks_feed(&g->chunks, vec[i].iov_base, vec[i].iov_len, &used);
            take += used;
        }
        g->streamed += take;
        if (status == HTTP_CHUNKS_BAD) {
            refuse_error(g, guard_request(g, NULL), 400, "malformed_request",
                         "the chunked body's framing is not valid", "malformed chunked body");
            return moved;
        }
        if (g->streamed > cap) {
            refuse_error(g, guard_request(g, NULL), 413, "body_too_large",
                         "the chunked request body is larger than the limit",
                         "chunked body over the limit");
            return moved;
        }
        evbuffer_remove_buffer(src, dst, take);
        moved = moved || take > 0;
        if (status == HTTP_CHUNKS_DONE) {
            g->state = GUARD_WAIT; /* later bytes are the next request's: held */
            disarm(g);
            break;
        }
    }
    return moved;
}

/* Passes what the current state lets through from src to dst; true when it moved bytes. */
static bool pass_body(struct conn_guard *g, struct evbuffer *src, struct evbuffer *dst)
{
    size_t have = evbuffer_get_length(src);
    if (have == 0)
        return false;
    if (g->state == GUARD_STREAM)
        return pass_chunks(g, src, dst);
    if (g->state != GUARD_BODY)
        return false;
    size_t n = g->body_left < have ? (size_t)g->body_left : have;
    evbuffer_remove_buffer(src, dst, n);
    g->body_left -= n;
    if (g->body_left == 0) {
        g->state = GUARD_WAIT; /* later bytes are the next request's: held */
        disarm(g);
    }
    return n > 0;
}

/* The header block has been accepted: evhttp gets it, and the body after it. */
static bool release(struct conn_guard *g, struct evbuffer *src, struct evbuffer *dst)
{
    evbuffer_remove_buffer(src, dst, g->block_len);
    g->block_len = 0;
    disarm(g);
    const struct config *config = g->set->app->config;
    if (g->chunked) {
        g->state = GUARD_STREAM;
        g->streamed = 0;
        g->chunks = (struct http_chunks){0};
        arm(g, DEADLINE_BODY, config->body_timeout);
    } else if (g->body_left > 0) {
        g->state = GUARD_BODY;
        arm(g, DEADLINE_BODY, config->body_timeout);
    } else {
        g->state = GUARD_WAIT;
    }
    pass_body(g, src, dst);
    return true;
}

/* Moves released bytes to evhttp outside of a filter call, and has evhttp read them. */
static void release_now(struct conn_guard *g)
{
    struct evbuffer *dst = bufferevent_get_input(g->bev);
    if (release(g, bufferevent_get_input(g->socket), dst) && evbuffer_get_length(dst) > 0)
        bufferevent_trigger(g->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    steer_reading(g);
}

/* ------------------------------------------------------------------ the token */

static void guard_free_memory(struct conn_guard *g)
{
    free(g);
}

static void run_auth(struct pool_job *pj, PGconn *conn)
{
    struct guard_job *job = (struct guard_job *)pj;
    if (conn == NULL) {
        request_add_response_header(job->req, "Retry-After", "5");
        request_reply_error(job->req, 503, "database_unavailable",
                            "the database is not reachable; try again shortly");
        return;
    }
    (void)!auth_authorize(job->req, conn, job->handler);
}

static void finish_auth(struct pool_job *pj)
{
    struct guard_job *job = (struct guard_job *)pj;
    struct conn_guard *g = job->guard;
    g->job_pending = false;
    if (g->closed) {
        guard_free_memory(g);
    } else if (connection_alive(g) && g->state == GUARD_AUTH) {
        struct request *req = job->req;
        job->req = NULL;
        if (req->status != 0) {
            refuse(g, req, "refused before the body was read");
        } else {
            const struct config *config = g->set->app->config;
            if (g->rate_unknown && config->rate_limit > 0)
                rate_limit_admit(g->set->rates, g->secret_hash, config->rate_limit,
                                 config->rate_burst, now_seconds());
            g->verdict.authorized = true;
            g->verdict.auth = req->auth;
            request_free(&req);
            release_now(g);
        }
    }
    request_free(&job->req);
    config_free(&job->config);
    free(job);
}

/* 429 when the secret's bucket is empty; false when it answered. */
static bool within_rate(struct conn_guard *g, struct request *req, const char *secret)
{
    const struct config *config = g->set->app->config;
    g->rate_unknown = false;
    if (config->rate_limit <= 0)
        return true;
    token_hash(secret, strlen(secret), g->secret_hash);
    double retry = 0;
    switch (rate_limit_check(g->set->rates, g->secret_hash, config->rate_limit, config->rate_burst,
                             now_seconds(), &retry)) {
    case RATE_UNKNOWN:
        g->rate_unknown = true;
        return true;
    case RATE_ALLOWED:
        return true;
    case RATE_DENIED:
        break;
    }
    char after[24];
    snprintf(after, sizeof(after), "%d", (int)retry + 1);
    request_add_response_header(req, "Retry-After", after);
    request_reply_error(req, 429, "rate_limited",
                        "this token has made more than %d requests a second (%d at once); "
                        "retry after %s s",
                        config->rate_limit, config->rate_burst, after);
    refuse(g, req, "over the token's rate");
    return false;
}

/* Decides the token of a held request: at once without one, else on a worker. True when
 * the request may be released now; false when it was answered or waits for the worker. */
static bool check_token(struct conn_guard *g, struct request *req, const struct handler *handler)
{
    char secret[CREDENTIALS_SECRET_MAX];
    enum credentials_kind kind = auth_secret(req, secret);
    if (kind == CREDENTIALS_NONE || kind == CREDENTIALS_MALFORMED) {
        if (!auth_authorize(req, NULL, handler)) {
            refuse(g, req, "refused before the body was read");
            return false;
        }
        g->verdict.authorized = true;
        request_free(&req);
        return true;
    }
    if (!within_rate(g, req, secret))
        return false;
    struct guard_job *job = xcalloc(1, sizeof(*job));
    job->job.run = run_auth;
    job->job.done = finish_auth;
    job->job.short_job = true;
    job->guard = g;
    job->req = req;
    job->handler = handler;
    job->config = config_ref(g->set->app->config);
    req->config = job->config;
    if (!pool_submit(g->set->app->pool, &job->job)) {
        job->req = NULL;
        config_free(&job->config);
        free(job);
        req->config = g->set->app->config;
        request_add_response_header(req, "Retry-After", "1");
        request_reply_error(req, 503, "overloaded", "too many requests are waiting; retry later");
        refuse(g, req, "the pool's queue is full");
        return false;
    }
    g->job_pending = true;
    g->state = GUARD_AUTH;
    disarm(g); /* the database's time is not the client's */
    return false;
}

/* ------------------------------------------------------------------ the header block */

/* Sets req->path from the request target as evhttp will see it; false (answered 400) when
 * the target does not parse. */
static bool take_path(struct conn_guard *g, struct request *req, const struct http_head *head)
{
    char *target = xstrndup(head->target, head->target_len);
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
    free(target);
    if (uri == NULL) {
        req->path = xstrdup("?");
        refuse_error(g, req, 400, "malformed_request", "the request target does not parse",
                     "malformed request target");
        return false;
    }
    const char *path = evhttp_uri_get_path(uri);
    req->path = xstrdup(path && path[0] ? path : "/");
    evhttp_uri_free(uri);
    return true;
}

/* Refuses what evhttp would answer with a page of its own. False when it answered. */
static bool acceptable(struct conn_guard *g, struct request *req, enum http_head_status status,
                       const struct http_head *head)
{
    static const struct {
        int status;
        const char *code;
    } refusals[] = {
        [HTTP_HEAD_MALFORMED] = {400, "malformed_request"},
        [HTTP_HEAD_VERSION] = {505, "http_version_not_supported"},
        [HTTP_HEAD_UNSUPPORTED_CODING] = {501, "not_implemented"},
        [HTTP_HEAD_EXPECTATION] = {417, "expectation_failed"},
        [HTTP_HEAD_UNSUPPORTED_MEDIA] = {415, "unsupported_media_type"},
    };
    if (status != HTTP_HEAD_OK) {
        req->path = xstrdup("?");
        refuse_error(g, req, refusals[status].status, refusals[status].code, head->why,
                     "malformed header block");
        return false;
    }
    if (req->method == 0) {
        req->path = xstrdup("?");
        request_reply_error(req, 501, "not_implemented", "the method %s is not implemented",
                            head->method);
        refuse(g, req, "unknown method");
        return false;
    }
    if (!take_path(g, req, head))
        return false;
    const struct config *config = g->set->app->config;
    if (!g->head_only && head->content_length > (long long)config->max_body_bytes) {
        request_reply_error(req, 413, "body_too_large",
                            "the request body has %lld bytes; the limit is %d",
                            head->content_length, config->max_body_bytes);
        refuse(g, req, "declared body over the limit");
        return false;
    }
    return true;
}

/* A complete header block of block bytes at data: checks it and releases it, refuses it, or
 * holds it while its token is looked up. True when bytes were released. */
static bool examine(struct conn_guard *g, const char *data, size_t block, struct evbuffer *src,
                    struct evbuffer *dst)
{
    struct http_head head;
    enum http_head_status status = http_head_parse(data, block, &head);
    struct request *req = guard_request(g, &head);
    g->block_len = block;
    g->head_only = strcmp(head.method, "HEAD") == 0;
    g->body_left =
        g->head_only || head.content_length < 0 ? 0 : (unsigned long long)head.content_length;
    memset(&g->verdict, 0, sizeof(g->verdict));
    snprintf(g->verdict.id, sizeof(g->verdict.id), "%s", req->id);
    g->chunked = head.chunked && !g->head_only;
    if (!acceptable(g, req, status, &head))
        return false;
    g->method = req->method;
    snprintf(g->path, sizeof(g->path), "%s", req->path);
    if (head.authorization.value != NULL) {
        req->headers = xcalloc(1, sizeof(*req->headers));
        req->headers[0].key = xstrdup("Authorization");
        req->headers[0].value = xstrndup(head.authorization.value, head.authorization.len);
        req->n_headers = 1;
    }
    const struct handler *handler = NULL;
    if (router_match(app_routes, app_n_routes, req->path, req->method, &req->match) ==
        ROUTER_FOUND) {
        g->verdict.route = req->match.route;
        handler = req->match.route->handler;
    }
    /* unmatched routes are answered by the server (404, 405), public loop routes need no
     * token; every other request has its token checked now */
    if (handler == NULL || (handler->kind == HANDLER_LOOP && handler->access == ACCESS_PUBLIC))
        request_free(&req);
    else if (!check_token(g, req, handler))
        return false;
    return release(g, src, dst);
}

/* Drops the empty lines a client may send between requests. */
static void skip_blank_lines(struct evbuffer *src)
{
    unsigned char c;
    while (evbuffer_copyout(src, &c, 1) == 1 && (c == '\r' || c == '\n'))
        evbuffer_drain(src, 1);
}

static bool read_head(struct conn_guard *g, struct evbuffer *src, struct evbuffer *dst)
{
    const struct config *config = g->set->app->config;
    if (evbuffer_get_length(src) == 0)
        return false;
    if (!evtimer_pending(g->timer, NULL)) /* the first byte of a request after the first */
        arm(g, DEADLINE_HEADER, config->header_timeout);
    if (g->scan.pos == 0) {
        /* the request starts here, for its log line and the time it took to arrive: a new
           connection's header deadline runs from its accept, but a client that connected
           early (a pool, a browser's preconnect) had not yet begun to send */
        g->started = now_seconds();
        skip_blank_lines(src);
    }
    size_t have = evbuffer_get_length(src);
    size_t limit = (size_t)config->max_header_bytes;
    size_t look = have < limit + 1 ? have : limit + 1;
    if (look == 0)
        return false;
    const char *data = (const char *)evbuffer_pullup(src, (ev_ssize_t)look);
    size_t block = http_head_scan(&g->scan, data, look);
    if (block == 0 && look <= limit)
        return false;
    if (block == 0 || block > limit) {
        struct request *req = guard_request(g, NULL);
        request_reply_error(req, 413, "headers_too_large",
                            "the request line and headers have more than %d bytes, the limit",
                            config->max_header_bytes);
        refuse(g, req, "header block over the limit");
        return false;
    }
    g->scan = (struct http_head_scan){0};
    return examine(g, data, block, src, dst);
}

/* ------------------------------------------------------------------ the filter */

/* evhttp's output goes straight to the kernel: the filter reports it written (and evhttp
 * may then close the connection) only once the kernel has all of it, never while bytes
 * still wait in the socket bufferevent, which closing would drop. */
static enum bufferevent_filter_result guard_output(struct evbuffer *src, struct evbuffer *dst,
                                                   ev_ssize_t limit,
                                                   enum bufferevent_flush_mode mode, void *ctx)
{
    (void)limit, (void)mode;
    struct conn_guard *g = ctx;
    evutil_socket_t fd = bufferevent_getfd(g->socket);
    while (evbuffer_get_length(src) > 0 && fd >= 0 && g->writable != NULL) {
        int n = evbuffer_write(src, fd);
        if (n > 0)
            continue;
        if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            event_add(g->writable, NULL);
            return BEV_NEED_MORE;
        }
        break; /* the socket bufferevent meets the error too and reports it to evhttp */
    }
    evbuffer_add_buffer(dst, src);
    return BEV_OK;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn_guard *g = arg;
    if (connection_alive(g))
        bufferevent_flush(g->bev, EV_WRITE, BEV_NORMAL);
}

/* evhttp adds an answer before it enables writing, and the filter does not look again when
 * writing is enabled: look once evhttp is done. */
static void on_filter_output(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    (void)out;
    struct conn_guard *g = arg;
    if (info->n_added > 0 && g->writable != NULL && !event_pending(g->writable, EV_WRITE, NULL))
        event_active(g->writable, EV_WRITE, 0);
}

static void register_fd(struct conn_guard *g)
{
    struct conn_guards *set = g->set;
    int fd = (int)bufferevent_getfd(g->socket);
    if (fd < 0)
        return;
    if ((size_t)fd >= set->n_by_fd) {
        size_t n = set->n_by_fd ? set->n_by_fd : 256;
        while (n <= (size_t)fd)
            n *= 2;
        set->by_fd = xrealloc(set->by_fd, n * sizeof(*set->by_fd));
        memset(set->by_fd + set->n_by_fd, 0, (n - set->n_by_fd) * sizeof(*set->by_fd));
        set->n_by_fd = n;
    }
    set->by_fd[fd] = g;
    g->fd = fd;
    /* answers go out as soon as they are written: libevent writes at most 16 kB at a time,
     * and with Nagle's algorithm the rest of a larger answer waited for the client's
     * delayed acknowledgement, 40 ms on every answer over 16 kB of a kept-alive connection */
    int on = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    g->writable = event_new(set->base, fd, EV_WRITE, on_writable, g);
    if (g->writable == NULL)
        abort(); /* out of memory: alloc.h's policy */
}

static bool process(struct conn_guard *g, struct evbuffer *src, struct evbuffer *dst)
{
    switch (g->state) {
    case GUARD_HEAD:
        return read_head(g, src, dst);
    case GUARD_BODY:
    case GUARD_STREAM:
        return pass_body(g, src, dst);
    case GUARD_ANSWER:
    case GUARD_LINGER: {
        size_t n = evbuffer_get_length(src);
        evbuffer_drain(src, n);
        g->discard_left = g->discard_left > n ? g->discard_left - n : 0;
        if (g->state == GUARD_LINGER && g->discard_left == 0 && n > 0)
            close_now(g);
        return false;
    }
    default:
        return false; /* held */
    }
}

static enum bufferevent_filter_result guard_input(struct evbuffer *src, struct evbuffer *dst,
                                                  ev_ssize_t limit,
                                                  enum bufferevent_flush_mode mode, void *ctx)
{
    (void)limit, (void)mode;
    struct conn_guard *g = ctx;
    if (g->set == NULL)
        return BEV_NEED_MORE;
    if (g->fd < 0)
        register_fd(g);
    bool moved = process(g, src, dst);
    if (g->set != NULL)
        steer_reading(g);
    return moved ? BEV_OK : BEV_NEED_MORE;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn_guard *g = arg;
    if (!connection_alive(g))
        return;
    const struct config *config = g->set->app->config;
    if (g->deadline == DEADLINE_LINGER) {
        close_now(g);
    } else if (g->deadline == DEADLINE_HEADER && g->state == GUARD_HEAD) {
        struct request *req = guard_request(g, NULL);
        request_reply_error(req, 408, "header_timeout",
                            "the request line and headers did not arrive within %d s",
                            config->header_timeout);
        refuse(g, req, "header deadline");
    } else if (g->deadline == DEADLINE_BODY &&
               (g->state == GUARD_BODY || g->state == GUARD_STREAM)) {
        struct request *req = guard_request(g, NULL);
        request_reply_error(req, 408, "body_timeout", "the request body did not arrive within %d s",
                            config->body_timeout);
        g->short_linger = true; /* a client that was too slow gets LINGER_SECONDS, not another
                                   body_timeout, to take its answer */
        refuse(g, req, "body deadline");
    }
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn_guard *g = arg;
    if (!connection_alive(g))
        return;
    if (g->state == GUARD_REFUSED) {
        struct request *req = guard_request(g, NULL);
        request_add_response_header(req, "Retry-After", "1");
        request_reply_error(req, 503, "too_many_connections",
                            "the server has %d connections open, its limit; retry shortly",
                            g->set->app->config->max_connections);
        refuse(g, req, "over the connection cap");
        return;
    }
    struct evbuffer *dst = bufferevent_get_input(g->bev);
    if (process(g, bufferevent_get_input(g->socket), dst) && evbuffer_get_length(dst) > 0)
        bufferevent_trigger(g->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    if (!connection_alive(g))
        return;
    if (g->eof_held && g->state == GUARD_HEAD)
        close_now(g); /* what the client left after its last request is not a request */
    else
        steer_reading(g);
}

/* Takes the guard out of its set: nothing of the server is touched after this. */
static void detach(struct conn_guard *g)
{
    struct conn_guards *set = g->set;
    if (set == NULL)
        return;
    if (g->fd >= 0 && (size_t)g->fd < set->n_by_fd && set->by_fd[g->fd] == g)
        set->by_fd[g->fd] = NULL;
    if (g->admitted)
        set->admitted--;
    if (g->prev)
        g->prev->next = g->next;
    else
        set->all = g->next;
    if (g->next)
        g->next->prev = g->prev;
    evbuffer_remove_cb(bufferevent_get_output(g->socket), on_output, g);
    evbuffer_remove_cb(bufferevent_get_output(g->bev), on_filter_output, g);
    event_free(g->timer);
    event_free(g->kick);
    if (g->writable != NULL)
        event_free(g->writable);
    g->set = NULL;
}

/* The filter's free_context: libevent finalises the connection. */
static void guard_free(void *ctx)
{
    struct conn_guard *g = ctx;
    detach(g);
    if (g->job_pending)
        g->closed = true; /* the worker's job frees it */
    else
        guard_free_memory(g);
}

static void on_complete(struct evhttp_request *evreq, void *arg)
{
    (void)evreq;
    struct conn_guard *g = arg;
    if (g->set == NULL || g->state != GUARD_WAIT)
        return;
    g->state = GUARD_HEAD;
    g->started = 0;
    g->block_len = 0;
    g->body_left = 0;
    g->method = 0;
    g->path[0] = '\0';
    g->scan = (struct http_head_scan){0};
    steer_reading(g);
    if (evbuffer_get_length(bufferevent_get_input(g->socket)) > 0)
        event_active(g->kick, 0, 0); /* once evhttp waits for the next request */
    else if (g->eof_held)
        close_now(g); /* answered, and the client said it sends nothing more */
}

/* Whether the client's EOF must wait: its request is complete and not answered yet (its token
 * being checked, its last body bytes with evhttp, or with the handler). A client may shut its
 * write side once it has sent a request (RFC 9112 9.6; `nc -N`, a script's shutdown()), and
 * evhttp, told of the EOF, drops the connection without an answer. */
static bool request_unanswered(const struct conn_guard *g)
{
    return g->state == GUARD_AUTH || g->state == GUARD_WAIT; /* a whole body is in WAIT */
}

static void on_socket_read(struct bufferevent *bev, void *arg)
{
    struct conn_guard *g = arg;
    g->socket_readcb(bev, g->socket_cbarg);
}

static void on_socket_write(struct bufferevent *bev, void *arg)
{
    struct conn_guard *g = arg;
    g->socket_writecb(bev, g->socket_cbarg);
}

static void on_socket_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn_guard *g = arg;
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && g->set != NULL &&
        request_unanswered(g)) {
        g->eof_held = true; /* passed on once the request is answered */
        return;
    }
    g->socket_eventcb(bev, what, g->socket_cbarg);
}

bool conn_guards_take(struct conn_guards *set, struct evhttp_request *evreq,
                      struct conn_verdict *verdict)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0 || (size_t)fd >= set->n_by_fd || set->by_fd[fd] == NULL ||
        set->by_fd[fd]->bev != bev)
        return false;
    struct conn_guard *g = set->by_fd[fd];
    if (g->state != GUARD_WAIT && g->state != GUARD_STREAM)
        return false; /* being refused: evhttp's copy goes with the connection */
    disarm(g);        /* the body has arrived */
    g->state = GUARD_WAIT;
    steer_reading(g);
    *verdict = g->verdict;
    verdict->arrived = g->started;
    memset(&g->verdict, 0, sizeof(g->verdict));
    evhttp_request_set_on_complete_cb(evreq, on_complete, g);
    return true;
}

struct bufferevent *conn_guards_bevcb(struct event_base *base, void *arg)
{
    struct conn_guards *set = arg;
    const struct config *config = set->app->config;
    struct conn_guard *g = xcalloc(1, sizeof(*g));
    g->set = set;
    g->fd = -1;
    g->socket = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    g->timer = evtimer_new(base, on_deadline, g);
    g->kick = event_new(base, -1, 0, on_kick, g);
    if (g->socket == NULL || g->timer == NULL || g->kick == NULL)
        abort(); /* out of memory: alloc.h's policy */
    /* deferred callbacks: evhttp is called back from the loop, never from inside one of
     * its own calls (it sets what a write completion does after starting the write) */
    g->bev = bufferevent_filter_new(g->socket, guard_input, guard_output,
                                    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, guard_free, g);
    if (g->bev == NULL)
        abort();
    /* (with BEV_OPT_CLOSE_ON_FREE the filter frees the socket, which clears these callbacks,
     * before its free_context frees g; without it, libevent would restore nothing of ours) */
    bufferevent_getcb(g->socket, &g->socket_readcb, &g->socket_writecb, &g->socket_eventcb,
                      &g->socket_cbarg);
    bufferevent_setcb(g->socket, on_socket_read, on_socket_write, on_socket_event, g);
    evbuffer_add_cb(bufferevent_get_output(g->socket), on_output, g);
    evbuffer_add_cb(bufferevent_get_output(g->bev), on_filter_output, g);
    g->next = set->all;
    if (set->all)
        set->all->prev = g;
    set->all = g;
    g->started = now_seconds();
    if (set->admitted >= (size_t)config->max_connections) {
        g->state = GUARD_REFUSED;
        event_active(g->kick, 0, 0); /* once evhttp has given it its socket */
    } else {
        g->admitted = true;
        set->admitted++;
        g->state = GUARD_HEAD;
        arm(g, DEADLINE_HEADER, config->header_timeout);
    }
    return g->bev;
}

struct conn_guards *conn_guards_new(struct event_base *base, struct app *app,
                                    void (*new_id)(void *, char *, size_t), void *id_arg)
{
    struct conn_guards *set = xcalloc(1, sizeof(*set));
    set->base = base;
    set->app = app;
    set->new_id = new_id;
    set->id_arg = id_arg;
    set->rates = rate_limit_new();
    return set;
}

size_t conn_guards_open(const struct conn_guards *set)
{
    return set->admitted;
}

void conn_guards_free(struct conn_guards **set)
{
    if (*set == NULL)
        return;
    while ((*set)->all != NULL)
        detach((*set)->all);
    rate_limit_free(&(*set)->rates);
    free((*set)->by_fd);
    free(*set);
    *set = NULL;
}
