/* The HTTP edge: an evhttp server whose connections are read through the connection guard
 * (edge/conn_guard.h: cap, deadlines, header block, token and rate before the body), that
 * matches routes, enforces size limits, hands database work to the pool and replies on the
 * loop when the work is done. */
#ifndef SCALEUPD_HTTP_H
#define SCALEUPD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct app;
struct http_server;

/* Binds address:port and starts serving app's routes; NULL (logged) on failure. */
struct http_server *http_server_new(struct event_base *base, struct app *app)
    __attribute__((warn_unused_result));

/* Applies the reloadable limits of app->config (body and header caps, idle timeout, and
 * the open-file limit max_connections needs); the guards read the rest of the config in
 * force at each decision. */
void http_server_configure(struct http_server *server);

/* The port actually bound (for listen_port = 0). */
int http_server_port(const struct http_server *server);

/* Stops accepting connections and calls drained(arg) once no request has been in flight for
 * a short linger (so that requests whose bodies are still arriving are served too). */
void http_server_drain(struct http_server *server, void (*drained)(void *), void *arg);

/* Requests received but not yet answered. */
size_t http_server_in_flight(const struct http_server *server);

/* Closes every connection and frees the server; NULLs the pointer. */
void http_server_free(struct http_server **server);

#endif
