/*
 * The route matcher (router.c), on the daemon's real table app_routes and on a small table
 * of its own: literal and {param} segments, percent-decoding, bad escapes, 405 with the
 * allowed methods (GET implies HEAD), first match wins, and the Allow header; the query
 * parameters a route accepts (router_check_query), the table's own lists included.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/edge/router.h"

#define GET ROUTER_GET
#define HEAD ROUTER_HEAD
#define POST ROUTER_POST
#define PUT ROUTER_PUT
#define DELETE ROUTER_DELETE
#define PATCH ROUTER_PATCH
#define OPTIONS ROUTER_OPTIONS

/* One request and what the matcher must answer. pattern is the matched route's pattern
 * (FOUND), allow the Allow header (METHOD_NOT_ALLOWED); params "name=value" pairs. */
struct match_case {
    unsigned method;
    const char *path;
    enum router_result result;
    int route; /* index into the table, for FOUND */
    const char *allow;
    const char *params[ROUTER_MAX_PARAMS][2];
};

static const char *result_name(enum router_result r)
{
    return r == ROUTER_FOUND ? "FOUND" : r == ROUTER_NOT_FOUND ? "NOT_FOUND" : "NOT_ALLOWED";
}

static void run_cases(const struct route *routes, size_t n, const struct match_case *cases,
                      size_t n_cases)
{
    for (size_t i = 0; i < n_cases; i++) {
        const struct match_case *c = &cases[i];
        char method[16];
        router_allow_header(c->method, method, sizeof(method));
        struct route_match m;
        memset(&m, 0xa5, sizeof(m)); /* router_match must not rely on a cleared match */
        enum router_result r = router_match(routes, n, c->path, c->method, &m);
        cr_expect_eq(r, c->result, "%s %s: %s, expected %s", method, c->path, result_name(r),
                     result_name(c->result));
        if (r != c->result)
            continue;
        if (r == ROUTER_FOUND) {
            cr_expect_eq(m.route, &routes[c->route], "%s %s: matched %s, expected %s", method,
                         c->path, m.route ? m.route->pattern : "(none)", routes[c->route].pattern);
            int expected_params = 0;
            for (int p = 0; p < ROUTER_MAX_PARAMS && c->params[p][0]; p++, expected_params++) {
                const char *v = router_param(&m, c->params[p][0]);
                cr_expect(v != NULL && strcmp(v, c->params[p][1]) == 0,
                          "%s %s: {%s} is \"%s\", expected \"%s\"", method, c->path,
                          c->params[p][0], v ? v : "(null)", c->params[p][1]);
            }
            cr_expect_eq(m.n_params, expected_params, "%s %s: %d params, expected %d", method,
                         c->path, m.n_params, expected_params);
        } else if (r == ROUTER_METHOD_NOT_ALLOWED) {
            char allow[128];
            router_allow_header(m.allowed, allow, sizeof(allow));
            cr_expect_str_eq(allow, c->allow, "%s %s: Allow", method, c->path);
            cr_expect_null(m.route);
        } else {
            cr_expect_null(m.route);
            cr_expect_eq(m.allowed, 0u);
        }
    }
}

static int app_route(const char *pattern, unsigned method)
{
    for (size_t i = 0; i < app_n_routes; i++)
        if (strcmp(app_routes[i].pattern, pattern) == 0 && (app_routes[i].methods & method))
            return (int)i;
    cr_assert_fail("app_routes has no %s with method %u", pattern, method);
    return -1;
}

/* The foundation's routes in the real table. Other features add their own routes; these
 * cases avoid paths that a later route could claim. */
Test(router, app_routes)
{
    const int healthz = app_route("/healthz", GET), readyz = app_route("/readyz", GET),
              metrics = app_route("/metrics", GET),
              prog_post = app_route("/api/v1/programmes", POST),
              prog_list = app_route("/api/v1/programmes", GET),
              prog_get = app_route("/api/v1/programmes/{slug}", GET),
              tok_post = app_route("/api/v1/tokens", POST),
              tok_list = app_route("/api/v1/tokens", GET),
              tok_del = app_route("/api/v1/tokens/{id}", DELETE);
    const struct match_case cases[] = {
        {GET, "/healthz", ROUTER_FOUND, healthz, NULL, {{0}}},
        {HEAD, "/healthz", ROUTER_FOUND, healthz, NULL, {{0}}}, /* GET implies HEAD */
        {GET, "/readyz", ROUTER_FOUND, readyz, NULL, {{0}}},
        {GET, "/metrics", ROUTER_FOUND, metrics, NULL, {{0}}},
        {POST, "/healthz", ROUTER_METHOD_NOT_ALLOWED, 0, "GET, HEAD", {{0}}},
        {POST, "/api/v1/programmes", ROUTER_FOUND, prog_post, NULL, {{0}}},
        {GET, "/api/v1/programmes", ROUTER_FOUND, prog_list, NULL, {{0}}},
        {DELETE, "/api/v1/programmes", ROUTER_METHOD_NOT_ALLOWED, 0, "GET, HEAD, POST", {{0}}},
        {GET, "/api/v1/programmes/icp-be", ROUTER_FOUND, prog_get, NULL, {{"slug", "icp-be"}}},
        {HEAD, "/api/v1/programmes/icp-be", ROUTER_FOUND, prog_get, NULL, {{"slug", "icp-be"}}},
        /* %2D is '-', %2F a slash inside the segment */
        {GET, "/api/v1/programmes/icp%2Dbe", ROUTER_FOUND, prog_get, NULL, {{"slug", "icp-be"}}},
        {GET, "/api/v1/programmes/a%2Fb", ROUTER_FOUND, prog_get, NULL, {{"slug", "a/b"}}},
        {GET,
         "/api/v1/programmes/caf%C3%A9",
         ROUTER_FOUND,
         prog_get,
         NULL,
         {{"slug", "caf\xc3\xa9"}}},
        {POST, "/api/v1/tokens", ROUTER_FOUND, tok_post, NULL, {{0}}},
        {GET, "/api/v1/tokens", ROUTER_FOUND, tok_list, NULL, {{0}}},
        {DELETE, "/api/v1/tokens/12", ROUTER_FOUND, tok_del, NULL, {{"id", "12"}}},
        /* not found: unknown paths, trailing slashes, empty parameters, case */
        {GET, "/nope", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/healthz/", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/HEALTHZ", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/healthzz", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/api/v1/programmes/", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/api/v1/programmes//x-zz-nothing", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/api/v1/programmes/x/zz-nothing", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/api/v2/programmes", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        /* bad escapes and %00 do not decode: not found, whatever the route */
        {GET, "/api/v1/programmes/a%00b", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/api/v1/programmes/%zz", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/api/v1/programmes/ab%4", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/api/v1/programmes/ab%", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/api/v1/programmes/%4g", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {DELETE, "/api/v1/tokens/%", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        /* a method the table does not know at all */
        {0, "/healthz", ROUTER_METHOD_NOT_ALLOWED, 0, "GET, HEAD", {{0}}},
    };
    run_cases(app_routes, app_n_routes, cases, sizeof(cases) / sizeof(cases[0]));
}

Test(router, app_routes_have_handlers_and_methods)
{
    for (size_t i = 0; i < app_n_routes; i++) {
        cr_expect_not_null(app_routes[i].handler, "%s has no handler", app_routes[i].pattern);
        cr_expect_neq(app_routes[i].methods, 0u, "%s has no method", app_routes[i].pattern);
        cr_expect_eq(app_routes[i].pattern[0], '/', "%s", app_routes[i].pattern);
    }
}

/* A table of our own: */
static const struct route own[] = {
    /* 0 */ {"/a", GET, NULL},
    /* 1 */ {"/a/{x}", GET, NULL},
    /* 2 */ {"/a/{x}", POST, NULL},
    /* 3 */ {"/a/b", GET | PUT, NULL}, /* shadowed by 1 for GET, reachable for PUT */
    /* 4 */ {"/a/{y}", DELETE, NULL},
    /* 5 */ {"/f/{*rest}", GET, NULL},
    /* 6 */ {"/m/{p}/{q}", PUT, NULL},
    /* 7 */ {"/x/{a}/y", GET, NULL},
    /* 8 */ {"/x/{b}/z", GET, NULL},
    /* 9 */ {"/five/{a}/{b}/{c}/{d}/{e}", GET, NULL}, /* more than ROUTER_MAX_PARAMS */
    /* 10 */ {"/o", OPTIONS | PATCH, NULL},
};

Test(router, own_table)
{
    char long_segment[300], exact_segment[300];
    /* ROUTER_PARAM_MAX (256) holds 255 characters and the NUL */
    memset(exact_segment, 'k', 255);
    exact_segment[255] = '\0';
    memset(long_segment, 'k', 256);
    long_segment[256] = '\0';
    char long_path[320], exact_path[320];
    snprintf(long_path, sizeof(long_path), "/a/%s", long_segment);
    snprintf(exact_path, sizeof(exact_path), "/a/%s", exact_segment);

    const struct match_case cases[] = {
        {GET, "/a", ROUTER_FOUND, 0, NULL, {{0}}},
        /* first match wins: /a/{x} before the literal /a/b */
        {GET, "/a/b", ROUTER_FOUND, 1, NULL, {{"x", "b"}}},
        {PUT, "/a/b", ROUTER_FOUND, 3, NULL, {{0}}},
        {POST, "/a/b", ROUTER_FOUND, 2, NULL, {{"x", "b"}}},
        {DELETE, "/a/z", ROUTER_FOUND, 4, NULL, {{"y", "z"}}},
        /* 405: the union over every matching pattern, GET adding HEAD */
        {PATCH, "/a/b", ROUTER_METHOD_NOT_ALLOWED, 0, "GET, HEAD, POST, PUT, DELETE", {{0}}},
        {PATCH, "/a/c", ROUTER_METHOD_NOT_ALLOWED, 0, "GET, HEAD, POST, DELETE", {{0}}},
        {POST, "/a", ROUTER_METHOD_NOT_ALLOWED, 0, "GET, HEAD", {{0}}},
        {GET, "/o", ROUTER_METHOD_NOT_ALLOWED, 0, "PATCH, OPTIONS", {{0}}},
        {OPTIONS, "/o", ROUTER_FOUND, 10, NULL, {{0}}},
        /* decoding: %20, mixed-case hex, '+' is not a space in a path */
        {GET, "/a/two%20words", ROUTER_FOUND, 1, NULL, {{"x", "two words"}}},
        {GET, "/a/%7e%7E", ROUTER_FOUND, 1, NULL, {{"x", "~~"}}},
        {GET, "/a/a+b", ROUTER_FOUND, 1, NULL, {{"x", "a+b"}}},
        {GET, "/a/%25", ROUTER_FOUND, 1, NULL, {{"x", "%"}}},
        {GET, "/a/%2500", ROUTER_FOUND, 1, NULL, {{"x", "%00"}}}, /* decoded once only */
        {GET, "/a/%00", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/a/x%0", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/a/%g0", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/a/", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, "/a/b/c", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        {GET, exact_path, ROUTER_FOUND, 1, NULL, {{"x", exact_segment}}},
        {GET, long_path, ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        /* a rest parameter takes the remaining segments, decoded */
        {GET, "/f/one/two%20three", ROUTER_FOUND, 5, NULL, {{"rest", "one/two three"}}},
        {GET, "/f/x", ROUTER_FOUND, 5, NULL, {{"rest", "x"}}},
        {GET, "/f/a/%00", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        /* two parameters */
        {PUT, "/m/1/2", ROUTER_FOUND, 6, NULL, {{"p", "1"}, {"q", "2"}}},
        {GET, "/m/1/2", ROUTER_METHOD_NOT_ALLOWED, 0, "PUT", {{0}}},
        {PUT, "/m/1", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
        /* a pattern that failed late leaves no parameters behind */
        {GET, "/x/1/z", ROUTER_FOUND, 8, NULL, {{"b", "1"}}},
        {GET, "/x/1/y", ROUTER_FOUND, 7, NULL, {{"a", "1"}}},
        /* more parameters than a match holds: never matches rather than overflow */
        {GET, "/five/1/2/3/4/5", ROUTER_NOT_FOUND, 0, NULL, {{0}}},
    };
    run_cases(own, sizeof(own) / sizeof(own[0]), cases, sizeof(cases) / sizeof(cases[0]));
}

Test(router, empty_table)
{
    struct route_match m;
    cr_expect_eq(router_match(own, 0, "/a", GET, &m), ROUTER_NOT_FOUND);
    cr_expect_null(m.route);
}

Test(router, param_lookup)
{
    struct route_match m;
    cr_assert_eq(router_match(own, sizeof(own) / sizeof(own[0]), "/m/first/second", PUT, &m),
                 ROUTER_FOUND);
    cr_expect_str_eq(router_param(&m, "p"), "first");
    cr_expect_str_eq(router_param(&m, "q"), "second");
    cr_expect_null(router_param(&m, "r"));
    cr_expect_null(router_param(&m, ""));
}

Test(router, allow_header)
{
    static const struct {
        unsigned methods;
        const char *want;
    } cases[] = {
        {0, ""},
        {GET, "GET"},
        {GET | HEAD, "GET, HEAD"},
        {DELETE | GET, "GET, DELETE"}, /* always in a fixed order */
        {POST | OPTIONS | PATCH, "POST, PATCH, OPTIONS"},
        {GET | HEAD | POST | PUT | DELETE | PATCH | OPTIONS,
         "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[80];
        memset(buf, 'x', sizeof(buf));
        router_allow_header(cases[i].methods, buf, sizeof(buf));
        cr_expect_str_eq(buf, cases[i].want, "methods %#x", cases[i].methods);
    }
    /* a buffer of exactly strlen("GET, HEAD") + 1 = 10 bytes holds it; a smaller one stays
     * terminated inside its bounds */
    char exact[10];
    router_allow_header(GET | HEAD, exact, sizeof(exact));
    cr_expect_str_eq(exact, "GET, HEAD");
    char small[6];
    router_allow_header(GET | HEAD | POST, small, sizeof(small));
    cr_expect_lt(strnlen(small, sizeof(small)), sizeof(small));
    cr_expect(strncmp(small, "GET", 3) == 0, "%s", small);
}

Test(router, method_from_name)
{
    static const struct {
        const char *name;
        unsigned want;
    } cases[] = {
        {"GET", GET},     {"HEAD", HEAD},       {"POST", POST}, {"PUT", PUT}, {"DELETE", DELETE},
        {"PATCH", PATCH}, {"OPTIONS", OPTIONS}, {"get", 0},     {"TRACE", 0}, {"CONNECT", 0},
        {"", 0},          {"GETX", 0},          {"GE", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_expect_eq(router_method_from_name(cases[i].name), cases[i].want, "\"%s\"",
                     cases[i].name);
}

/* ---- query parameters -------------------------------------------------------------------- */

struct query_case {
    const char *const *accepted;
    const char *names[6];
    enum router_query_result want;
    size_t which;
};

Test(router, check_query)
{
    static const char *const none[] = {NULL};
    static const char *const series[] = {"indicator", "site", "from", "to", "revisions", NULL};
    static const char *const any[] = {ROUTER_QUERY_ANY, NULL};
    const struct query_case cases[] = {
        {NULL, {NULL}, ROUTER_QUERY_OK, 0},
        {NULL, {"x"}, ROUTER_QUERY_UNKNOWN, 0},
        {none, {"x"}, ROUTER_QUERY_UNKNOWN, 0},
        {none, {""}, ROUTER_QUERY_UNKNOWN, 0},
        {series, {"indicator", "site"}, ROUTER_QUERY_OK, 0},
        {series, {"site", "to", "from", "revisions", "indicator"}, ROUTER_QUERY_OK, 0},
        {series, {"indicator", "site", "dry_run"}, ROUTER_QUERY_UNKNOWN, 2},
        /* exact names: case and a prefix or an extension do not match */
        {series, {"Indicator"}, ROUTER_QUERY_UNKNOWN, 0},
        {series, {"indicators"}, ROUTER_QUERY_UNKNOWN, 0},
        {series, {"indic"}, ROUTER_QUERY_UNKNOWN, 0},
        {series, {"site", "indicator", "site"}, ROUTER_QUERY_REPEATED, 2},
        /* the first refusal counts: an unknown name before a repeat */
        {series, {"site", "bogus", "site"}, ROUTER_QUERY_UNKNOWN, 1},
        {any, {"anything", "at", "all", "all"}, ROUTER_QUERY_OK, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        while (n < 6 && cases[i].names[n] != NULL)
            n++;
        size_t which = 99;
        enum router_query_result got =
            router_check_query(cases[i].accepted, cases[i].names, n, &which);
        cr_expect_eq(got, cases[i].want, "case %zu: %d", i, (int)got);
        if (cases[i].want != ROUTER_QUERY_OK)
            cr_expect_eq(which, cases[i].which, "case %zu: which %zu", i, which);
    }
}

/* A hostile query of many repeats costs at most the accepted list's size of comparisons
 * before its refusal: the answer names the first repeat. */
Test(router, check_query_many_repeats)
{
    static const char *const one[] = {"by", NULL};
    static const char *names[10000];
    for (size_t i = 0; i < 10000; i++)
        names[i] = "by";
    size_t which = 0;
    cr_expect_eq(router_check_query(one, names, 10000, &which), ROUTER_QUERY_REPEATED);
    cr_expect_eq(which, 1);
}

Test(router, printable)
{
    char buf[8];
    cr_expect_str_eq(text_printable("dryRun", buf, sizeof(buf)), "dryRun");
    cr_expect_str_eq(text_printable("a\"b\\c\n", buf, sizeof(buf)), "a?b?c?");
    cr_expect_str_eq(text_printable("\xc3\xa9t\xff", buf, sizeof(buf)), "??t?");
    cr_expect_str_eq(text_printable("0123456789", buf, sizeof(buf)), "0123456");
    cr_expect_str_eq(text_printable(NULL, buf, sizeof(buf)), "");
}

/* Every route of the daemon goes through handler_checked, which runs the route's own
 * function, and lists exactly what its handler reads (the request_query and
 * request_query_bool calls of routes*.c). */
Test(router, app_routes_declare_their_query)
{
    static const struct {
        const char *pattern;
        unsigned method;
        const char *query; /* the accepted names, space-separated */
    } want[] = {
        {"/api/v1/programmes/{slug}/observations", POST, "dry_run atomic"},
        {"/api/dataValueSets", POST, ROUTER_QUERY_ANY},
        {"/fhir/MeasureReport", POST, "programme dry_run atomic _format"},
        {"/fhir", POST, "programme dry_run atomic _format"},
        {"/fhir/metadata", GET, "mode _format"},
        {"/api/{version}/dataValueSets", POST, ROUTER_QUERY_ANY},
        {"/api/v1/programmes/{slug}/series", GET, "indicator site from to revisions"},
        {"/api/v1/programmes/{slug}/progress", GET, "at by"},
        {"/api/v1/programmes/{slug}/progress/history", GET, "by"},
        {"/api/v1/programmes/{slug}/chart", GET, "indicator site baseline"},
        {"/api/v1/programmes/{slug}/feeds", GET, "grace_days"},
        {"/api/v1/programmes/{slug}/feeds/sites", GET,
         "grace_days status region indicator limit after"},
        {"/api/v1/alerts", GET, "programme state indicator site limit after"},
        {"/api/v1/incidents", GET, "programme state kind limit after"},
        {"/api/v1/silences", GET, "expired limit after"},
        {"/api/v1/tokens", GET, "limit after"},
        {"/api/v1/programmes/{slug}/revisions", GET, "indicator site from to limit after"},
        {"/", GET, ROUTER_QUERY_ANY},
        {"/static/{*path}", GET, ROUTER_QUERY_ANY},
        {"/vendor/uplot/{*path}", GET, ROUTER_QUERY_ANY},
        {"/ack", GET, "token"},
        {"/ack", POST, "token"},
        {"/api/completeDataSetRegistrations", GET, "programme dataSet period orgUnit"},
        {"/api/{version}/completeDataSetRegistrations", GET, "programme dataSet period orgUnit"},
    };
    for (size_t i = 0; i < app_n_routes; i++) {
        const struct handler *h = app_routes[i].handler;
        cr_expect_eq(h->fn, handler_checked, "%s", app_routes[i].pattern);
        cr_expect_not_null(h->run, "%s", app_routes[i].pattern);
        char got[128] = "";
        size_t used = 0;
        for (size_t q = 0; h->query != NULL && h->query[q] != NULL; q++)
            used +=
                (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", q ? " " : "", h->query[q]);
        const char *expected = "";
        for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++)
            if (strcmp(want[w].pattern, app_routes[i].pattern) == 0 &&
                (app_routes[i].methods & want[w].method))
                expected = want[w].query;
        cr_expect_str_eq(got, expected, "%s", app_routes[i].pattern);
    }
}
