/* Route matching by path segments with named parameters, and the check of a request's query
 * parameter names against those its route accepts; the route table itself lives with the
 * handlers (routes.c). */
#include "scaleupd/edge/router.h"

#include <stdio.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+len) into out; false on a bad escape, a NUL or overflow. */
static bool decode_segment(const char *s, size_t len, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= out_size)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* Matches one route's pattern against path, filling params; false when it does not match. */
static bool match_pattern(const char *pattern, const char *path, struct route_match *m)
{
    m->n_params = 0;
    const char *p = pattern, *s = path;
    while (*p == '/' && *s == '/') {
        p++, s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
            bool rest = p[1] == '*';
            if (m->n_params == ROUTER_MAX_PARAMS)
                return false;
            if (rest)
                slen = strlen(s);
            else if (slen == 0)
                return false;
            size_t nlen = plen - 2 - (rest ? 1 : 0);
            if (nlen >= sizeof(m->params[0].name))
                return false;
            memcpy(m->params[m->n_params].name, p + 1 + (rest ? 1 : 0), nlen);
            m->params[m->n_params].name[nlen] = '\0';
            if (!decode_segment(s, slen, m->params[m->n_params].value, ROUTER_PARAM_MAX))
                return false;
            m->n_params++;
            if (rest)
                return true;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p += plen, s += slen;
    }
    return *p == '\0' && *s == '\0';
}

enum router_result router_match(const struct route *routes, size_t n, const char *path,
                                unsigned method, struct route_match *match)
{
    struct route_match scratch;
    memset(match, 0, sizeof(*match));
    for (size_t i = 0; i < n; i++) {
        if (!match_pattern(routes[i].pattern, path, &scratch))
            continue;
        unsigned methods = routes[i].methods;
        if (methods & ROUTER_GET)
            methods |= ROUTER_HEAD;
        match->allowed |= methods;
        if (match->route == NULL && (methods & method)) {
            unsigned allowed = match->allowed;
            *match = scratch;
            match->allowed = allowed;
            match->route = &routes[i];
        }
    }
    if (match->route != NULL)
        return ROUTER_FOUND;
    return match->allowed ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

const char *router_param(const struct route_match *match, const char *name)
{
    for (int i = 0; i < match->n_params; i++)
        if (strcmp(match->params[i].name, name) == 0)
            return match->params[i].value;
    return NULL;
}

static const char *const method_names[] = {"GET",    "HEAD",  "POST",   "PUT",
                                           "DELETE", "PATCH", "OPTIONS"};

void router_allow_header(unsigned methods, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++) {
        if (!(methods & (1u << i)))
            continue;
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", method_names[i]);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

unsigned router_method_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (strcmp(name, method_names[i]) == 0)
            return 1u << i;
    return 0;
}

static bool query_accepted(const char *const *accepted, const char *name)
{
    for (size_t i = 0; accepted != NULL && accepted[i] != NULL; i++)
        if (strcmp(accepted[i], name) == 0)
            return true;
    return false;
}

enum router_query_result router_check_query(const char *const *accepted, const char *const *names,
                                            size_t n, size_t *which)
{
    if (accepted != NULL && accepted[0] != NULL && strcmp(accepted[0], ROUTER_QUERY_ANY) == 0)
        return ROUTER_QUERY_OK;
    for (size_t i = 0; i < n; i++) {
        *which = i;
        if (!query_accepted(accepted, names[i]))
            return ROUTER_QUERY_UNKNOWN;
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], names[i]) == 0)
                return ROUTER_QUERY_REPEATED;
    }
    return ROUTER_QUERY_OK;
}
