/* The dashboard's files, served on the event loop: the page, its scripts and styles from
 * web/, and uPlot's dist files from web/node_modules. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/config.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/handlers.h"

/* ---- static files ----------------------------------------------------------------------
 * These handlers run on the event loop (HANDLER_LOOP) and read the file there. That is a
 * deliberate choice: the files are few and small (capped at WEB_MAX_FILE_BYTES; uPlot's
 * largest is ~130 kB), live on local disk and stay in the page cache, so open+read costs
 * microseconds; the pool's workers each hold a database connection, and queueing a page
 * load behind ingest jobs would make the dashboard wait on the database for nothing. */

#define WEB_MAX_FILE_BYTES (1024 * 1024)

struct web_type {
    const char *extension;
    const char *content_type;
};

/* Only these kinds of files are served; anything else is 404. */
static const struct web_type web_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
};

static const char *web_content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot == NULL || strchr(dot, '/') != NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(web_types) / sizeof(web_types[0]); i++)
        if (strcmp(dot, web_types[i].extension) == 0)
            return web_types[i].content_type;
    return NULL;
}

/* A relative path is acceptable when every segment is a plain name: not empty, not starting
 * with a dot (no "..", no hidden files), no backslash or control character. */
static bool web_path_is_plain(const char *rel)
{
    if (rel == NULL || rel[0] == '\0' || strlen(rel) > 200)
        return false;
    const char *segment = rel;
    for (const char *c = rel;; c++) {
        if (*c == '/' || *c == '\0') {
            if (c == segment || segment[0] == '.')
                return false;
            if (*c == '\0')
                return true;
            segment = c + 1;
        } else if ((unsigned char)*c < 0x20 || *c == '\\' || *c == 0x7f) {
            return false;
        }
    }
}

/* Resolves root/rel with realpath and checks that the result stays inside realpath(root),
 * so that a symbolic link cannot lead out of the tree. Writes it into out. */
static bool web_resolve(const char *root, const char *rel, char out[PATH_MAX])
{
    char root_real[PATH_MAX], joined[PATH_MAX];
    if (realpath(root, root_real) == NULL)
        return false;
    int n = snprintf(joined, sizeof(joined), "%s/%s", root_real, rel);
    if (n < 0 || (size_t)n >= sizeof(joined) || realpath(joined, out) == NULL)
        return false;
    size_t len = strlen(root_real);
    return strncmp(out, root_real, len) == 0 && out[len] == '/';
}

/* Reads a regular file of at most WEB_MAX_FILE_BYTES; false when it cannot. */
static bool web_read_file(const char *path, char **body, size_t *len, struct stat *st)
{
    bool ok = false;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size > WEB_MAX_FILE_BYTES)
        goto out;
    buf = xmalloc((size_t)st->st_size + 1);
    size_t got = 0;
    while (got < (size_t)st->st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st->st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    *body = buf;
    *len = got;
    buf = NULL;
    ok = true;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Sets ETag, Last-Modified and Cache-Control; true when the client's copy is current
 * (If-None-Match matches), in which case the caller answers 304. */
static bool web_validators(struct request *req, const struct stat *st, const char *cache_control)
{
    char etag[64], modified[64];
    snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st->st_size,
             (unsigned long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
    struct tm tm;
    time_t mtime = st->st_mtim.tv_sec;
    gmtime_r(&mtime, &tm);
    strftime(modified, sizeof(modified), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    request_add_response_header(req, "ETag", etag);
    request_add_response_header(req, "Last-Modified", modified);
    request_add_response_header(req, "Cache-Control", cache_control);
    request_add_response_header(req, "X-Content-Type-Options", "nosniff");
    const char *given = request_header(req, "If-None-Match");
    return given != NULL && strstr(given, etag) != NULL;
}

/* Serves root/rel, or answers 404 without saying why (a probe learns nothing). */
static void web_serve(struct request *req, const char *root, const char *rel,
                      const char *cache_control)
{
    const char *type = web_content_type(rel ? rel : "");
    char path[PATH_MAX];
    char *body = NULL;
    size_t len = 0;
    struct stat st;
    if (type == NULL || !web_path_is_plain(rel) || !web_resolve(root, rel, path) ||
        !web_read_file(path, &body, &len, &st)) {
        request_reply_error(req, 404, "not_found", "no such file: %s", req->path);
        return;
    }
    if (strncmp(type, "text/html", 9) == 0)
        request_add_response_header(req, "Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; "
                                    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    if (web_validators(req, &st, cache_control)) {
        free(body);
        request_reply_raw(req, 304, type, NULL, 0);
        return;
    }
    request_reply_raw(req, 200, type, body, len);
}

void handle_get_index(struct request *req, PGconn *conn, struct app *app)
{
    (void)conn, (void)app;
    web_serve(req, req->config->web_dir, "index.html", "no-cache");
}

void handle_get_static(struct request *req, PGconn *conn, struct app *app)
{
    (void)conn, (void)app;
    const char *rel = request_param(req, "path");
    /* the page's own files, never the installed packages under node_modules */
    if (rel != NULL && strncmp(rel, "node_modules/", 13) == 0)
        rel = NULL;
    web_serve(req, req->config->web_dir, rel, "no-cache");
}

void handle_get_vendor_uplot(struct request *req, PGconn *conn, struct app *app)
{
    (void)conn, (void)app;
    char root[PATH_MAX];
    int n = snprintf(root, sizeof(root), "%s/node_modules/uplot/dist", req->config->web_dir);
    if (n < 0 || (size_t)n >= sizeof(root)) {
        request_reply_error(req, 404, "not_found", "no such file: %s", req->path);
        return;
    }
    web_serve(req, root, request_param(req, "path"), "public, max-age=86400");
}
