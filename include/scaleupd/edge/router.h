/* The route table matcher: maps a method and a path such as
 * /api/v1/programmes/{slug}/observations to a route and its path parameters. Pure. */
#ifndef SCALEUPD_ROUTER_H
#define SCALEUPD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

enum router_method {
    ROUTER_GET = 1u << 0,
    ROUTER_HEAD = 1u << 1,
    ROUTER_POST = 1u << 2,
    ROUTER_PUT = 1u << 3,
    ROUTER_DELETE = 1u << 4,
    ROUTER_PATCH = 1u << 5,
    ROUTER_OPTIONS = 1u << 6,
};

#define ROUTER_MAX_PARAMS 4
#define ROUTER_PARAM_MAX 256

/* One route. pattern segments are literal or "{name}"; a last segment "{*name}" takes the
 * rest of the path. methods is a set of enum router_method bits. */
struct route {
    const char *pattern;
    unsigned methods;
    const void *handler; /* opaque to the router */
};

struct route_match {
    const struct route *route;
    unsigned allowed; /* methods of every route whose pattern matched the path */
    int n_params;
    struct {
        char name[32];
        char value[ROUTER_PARAM_MAX]; /* percent-decoded */
    } params[ROUTER_MAX_PARAMS];
};

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

/* Matches path (without query string) against the n routes, first match wins. A path
 * whose segment does not decode (bad %-escape, %00, too long) is ROUTER_NOT_FOUND. */
enum router_result router_match(const struct route *routes, size_t n, const char *path,
                                unsigned method, struct route_match *match);

/* The value of a path parameter of a match, or NULL. */
const char *router_param(const struct route_match *match, const char *name);

/* "GET, HEAD, POST": the Allow header value of a method set, written into buf. */
void router_allow_header(unsigned methods, char *buf, size_t size);

/* The method bit of an HTTP method name, 0 when unknown. */
unsigned router_method_from_name(const char *name);

/* Accepts any query parameter: a route whose handler checks its own (as DHIS2's import does,
 * answering in DHIS2's shape). Use as the whole accepted list. */
#define ROUTER_QUERY_ANY "*"

enum router_query_result {
    ROUTER_QUERY_OK,
    ROUTER_QUERY_UNKNOWN,  /* a name the route does not accept */
    ROUTER_QUERY_REPEATED, /* a name given more than once (which one counts would be a guess) */
};

/* Checks the names of a request's query parameters, names[0..n), against the parameters a
 * route accepts: accepted is a NULL-terminated list (NULL: none; {ROUTER_QUERY_ANY, NULL}:
 * any, repeats included). Names compare exactly (case-sensitive). On a refusal *which is the
 * index of the first refused name. Pure. */

enum router_query_result router_check_query(const char *const *accepted, const char *const *names,
                                            size_t n, size_t *which);

#endif
