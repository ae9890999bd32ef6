/* The connection guard: what stands between a socket and evhttp. Every connection evhttp
 * accepts reads through a bufferevent filter of this module (evhttp_set_bevcb), which holds
 * each request's bytes until its header block is complete and checked (syntax, sizes, the
 * token, the rate), and only then lets them through; it also keeps the connection cap and
 * the header and body deadlines, and answers every refusal in the API's JSON error shape.
 * docs/ARCHITECTURE.md ("The path of a pushed batch") says why it is built this way. */
#ifndef SCALEUPD_EDGE_CONN_GUARD_H
#define SCALEUPD_EDGE_CONN_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/edge/router.h"
#include "scaleupd/storage/tokens.h"

struct event_base;
struct bufferevent;
struct evhttp_request;
struct app;
struct conn_guards;

/* What the guard decided about the request evhttp now hands to the server. */
struct conn_verdict {
    const struct route *route; /* the route the guard matched, NULL when none */
    bool authorized;           /* the token was checked for that route: auth says who */
    struct request_auth auth;
    char id[20];    /* the request id the guard used (in its log lines), "" when none */
    double arrived; /* when its first byte came, or its connection opened (CLOCK_MONOTONIC) */
};

/* The guards of one server. new_id writes a fresh request id (the server's numbering). */
struct conn_guards *conn_guards_new(struct event_base *base, struct app *app,
                                    void (*new_id)(void *arg, char *id, size_t size), void *id_arg)
    __attribute__((warn_unused_result));

/* The evhttp_set_bevcb callback (arg: the guards): a new connection's bufferevent. Past
 * [server] max_connections the connection is answered 503 and closed. */
struct bufferevent *conn_guards_bevcb(struct event_base *base, void *arg);

/* Called by the server for every request evhttp hands over: fills verdict and returns true
 * when the request came through a guard (always, unless the connection is not ours). The
 * guard then holds the connection's further bytes until the answer has been sent. */
bool conn_guards_take(struct conn_guards *guards, struct evhttp_request *evreq,
                      struct conn_verdict *verdict) __attribute__((warn_unused_result));

/* Connections open under the cap. */
size_t conn_guards_open(const struct conn_guards *guards);

/* Frees the guards after evhttp_free (connections still finalising are detached). */
void conn_guards_free(struct conn_guards **guards);

#endif
