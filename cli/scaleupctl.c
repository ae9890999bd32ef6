/* scaleupctl: the command line over scaleupd's HTTP API (and, for the very first admin
 * token, directly over the database). */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/tokens.h"

/* The largest answer or file scaleupctl takes: a programme's whole alert list or a national
 * feed file fits; more is refused rather than read without bound. */
#define CTL_MAX_BYTES ((size_t)256 << 20)

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct dynbuf *b = userdata;
    size_t n = size * nmemb;
    return dynbuf_add(b, ptr, n) ? n : 0; /* 0 makes curl stop with a write error */
}

/* Keeps the target of a `Link: <…>; rel="next"` header line (RFC 8288) in link[0..size), a
 * path of the server ("" when the answer has none, or one that is not a plain path). */
struct next_link {
    char *link;
    size_t size;
};

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct next_link *next = userdata;
    size_t n = size * nmemb;
    static const char rel[] = ">; rel=\"next\"";
    if (n < 7 || strncasecmp(ptr, "link:", 5) != 0)
        return n;
    const char *start = memchr(ptr, '<', n);
    const char *end = start ? memchr(start, '>', n - (size_t)(start - ptr)) : NULL;
    if (end == NULL || (size_t)(ptr + n - end) < sizeof(rel) - 1 ||
        strncmp(end, rel, sizeof(rel) - 1) != 0 || start[1] != '/')
        return n;
    size_t len = (size_t)(end - start - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)start[1 + i] <= ' ' || start[1 + i] == 0x7f)
            return n; /* a path has no spaces or controls: not one to follow */
    if (len < next->size) {
        memcpy(next->link, start + 1, len);
        next->link[len] = '\0';
    }
    return n;
}

/* Performs one request; returns the HTTP status (0 when the server could not be reached)
 * and the body in *out (caller frees); next (may be NULL) gets the next page's path. */
static long perform(const struct ctl *ctl, const char *method, const char *path,
                    const char *content_type, const char *body, size_t body_len, char **out,
                    struct next_link *next)
{
    CURL *curl = curl_easy_init();
    struct dynbuf buf;
    dynbuf_init(&buf, CTL_MAX_BYTES);
    char url[4096], auth[512], ct[128];
    snprintf(url, sizeof(url), "%s%s", ctl->url, path);
    struct curl_slist *headers = NULL;
    if (ctl->token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ctl->token);
        headers = curl_slist_append(headers, auth);
    }
    if (content_type != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, ct);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
    if (next != NULL) {
        next->link[0] = '\0';
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, next);
    }
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "scaleupctl: could not reach %s: %s\n", ctl->url, curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (buf.overflow)
        fprintf(stderr, "scaleupctl: the answer of %s is larger than %zu bytes\n", ctl->url,
                CTL_MAX_BYTES);
    *out = dynbuf_take(&buf, NULL);
    return status;
}

long ctl_http(const struct ctl *ctl, const char *method, const char *path, const char *content_type,
              const char *body, size_t body_len, char **out)
{
    return perform(ctl, method, path, content_type, body, body_len, out, NULL);
}

long ctl_http_page(const struct ctl *ctl, const char *path, char **out, char *next,
                   size_t next_size)
{
    struct next_link link = {next, next_size};
    return perform(ctl, "GET", path, NULL, NULL, 0, out, &link);
}

char *ctl_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        char reason[128];
        fprintf(stderr, "scaleupctl: could not open %s: %s\n", path,
                strerror_r(errno, reason, sizeof(reason)));
        return NULL;
    }
    struct dynbuf data;
    dynbuf_init(&data, CTL_MAX_BYTES);
    char chunk[65536];
    size_t got;
    bool fits = true;
    while (fits && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fits = dynbuf_add(&data, chunk, got);
    if (f != stdin)
        fclose(f);
    if (!fits) {
        fprintf(stderr, "scaleupctl: %s is larger than %zu bytes\n", path, CTL_MAX_BYTES);
        return NULL;
    }
    return dynbuf_take(&data, len);
}

const char *ctl_printable(const char *s, char *buf, size_t size)
{
    size_t used = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    for (; *p != '\0' && used + 5 < size; p++) {
        /* C0 controls and DEL, and the C1 controls as UTF-8 encodes them (C2 80..9F): a
         * terminal would act on them (escape sequences, cursor moves) */
        bool c1 = p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
        if (*p < 0x20 || *p == 0x7f || c1) {
            unsigned code = c1 ? p[1] : *p;
            used += (size_t)snprintf(buf + used, size - used, "\\x%02x", code);
            p += c1;
        } else {
            buf[used++] = (char)*p;
        }
    }
    buf[used] = '\0';
    return buf;
}

/* Prints an API answer: pretty JSON on success, the error message on failure. Returns the
 * exit status (0 for 2xx, 1 otherwise). */
int ctl_report(long status, const char *body)
{
    json_t *doc = json_loads(body, 0, NULL);
    if (status >= 200 && status < 300) {
        if (doc != NULL) {
            char *pretty = json_dumps(doc, CTL_PRETTY_JSON);
            printf("%s\n", pretty);
            free(pretty);
        } else {
            char safe[4096];
            printf("%s\n", ctl_printable(body, safe, sizeof(safe)));
        }
        json_decref(doc);
        return 0;
    }
    const char *message =
        json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    char safe[1024], safe_path[256];
    if (status != 0)
        fprintf(stderr, "scaleupctl: %ld: %s\n", status,
                ctl_printable(message ? message : body, safe, sizeof(safe)));
    json_t *details = json_object_get(json_object_get(doc, "error"), "details");
    size_t i;
    json_t *d;
    json_array_foreach(details, i, d)
    {
        fprintf(
            stderr, "  %s: %s\n",
            ctl_printable(json_string_value(json_object_get(d, "path")), safe_path,
                          sizeof(safe_path)),
            ctl_printable(json_string_value(json_object_get(d, "message")), safe, sizeof(safe)));
    }
    json_decref(doc);
    return 1;
}

int ctl_send_file(const struct ctl *ctl, const char *method, const char *path, const char *file,
                  const char *content_type)
{
    size_t len;
    char *data = ctl_read_file(file, &len);
    if (data == NULL)
        return 1;
    char *answer;
    long status = ctl_http(ctl, method, path, content_type, data, len, &answer);
    free(data);
    int rc = ctl_report(status, answer);
    free(answer);
    return rc;
}

int ctl_simple(const struct ctl *ctl, const char *method, const char *path)
{
    char *answer;
    long status = ctl_http(ctl, method, path, NULL, NULL, 0, &answer);
    int rc = ctl_report(status, answer);
    free(answer);
    return rc;
}

/* token create directly against the database: how the first admin token is made. */
static int token_create_db(const struct ctl *ctl, enum token_scope scope, const char *programme,
                           const char *name)
{
    char err[512], secret[TOKEN_SECRET_SIZE];
    PGconn *conn = db_connect(ctl->database, err, sizeof(err));
    if (conn == NULL) {
        fprintf(stderr, "scaleupctl: could not connect to database: %s\n", err);
        return 1;
    }
    int64_t id;
    int rc = 0;
    if (!db_migrate(conn, err, sizeof(err)) ||
        !token_create(conn, scope, programme, name, secret, &id, err, sizeof(err))) {
        fprintf(stderr, "scaleupctl: %s\n", err);
        rc = 1;
    } else {
        printf("%s\n", secret);
        fprintf(stderr, "created %s token %lld; the secret above is shown only once\n",
                token_scope_name(scope), (long long)id);
    }
    PQfinish(conn);
    return rc;
}

static int cmd_token(struct ctl *ctl)
{
    if (ctl->argc < 1)
        return -1;
    const char *sub = ctl->argv[0];
    if (strcmp(sub, "list") == 0 &&
        (ctl->argc == 1 || (ctl->argc == 3 && strcmp(ctl->argv[1], "--limit") == 0)))
        return ctl_list(ctl, "/api/v1/tokens", "tokens", 1);
    if (strcmp(sub, "revoke") == 0 && ctl->argc == 2) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/tokens/%s", ctl->argv[1]);
        return ctl_simple(ctl, "DELETE", path);
    }
    if (strcmp(sub, "create") != 0)
        return -1;
    enum token_scope scope = TOKEN_SCOPE_NONE;
    const char *programme = NULL, *name = "";
    for (int i = 1; i < ctl->argc; i++) {
        if (strcmp(ctl->argv[i], "--admin") == 0)
            scope = TOKEN_SCOPE_ADMIN;
        else if (strcmp(ctl->argv[i], "--read") == 0)
            scope = TOKEN_SCOPE_READ;
        else if (strcmp(ctl->argv[i], "--feed") == 0 && i + 1 < ctl->argc)
            scope = TOKEN_SCOPE_FEED, programme = ctl->argv[++i];
        else if (strcmp(ctl->argv[i], "--name") == 0 && i + 1 < ctl->argc)
            name = ctl->argv[++i];
        else
            return -1;
    }
    if (scope == TOKEN_SCOPE_NONE)
        return -1;
    if (ctl->database != NULL)
        return token_create_db(ctl, scope, programme, name);
    json_t *req = json_pack("{s:s,s:s,s:s?}", "scope", token_scope_name(scope), "name", name,
                            "programme", programme);
    char *body = json_dumps(req, JSON_COMPACT), *answer;
    json_decref(req);
    long status =
        ctl_http(ctl, "POST", "/api/v1/tokens", "application/json", body, strlen(body), &answer);
    free(body);
    json_t *doc = json_loads(answer, 0, NULL);
    int rc;
    if (status == 201 && json_string_value(json_object_get(doc, "token")) != NULL) {
        printf("%s\n", json_string_value(json_object_get(doc, "token")));
        fprintf(stderr, "created %s token %lld; the secret above is shown only once\n",
                token_scope_name(scope), (long long)json_integer_value(json_object_get(doc, "id")));
        rc = 0;
    } else {
        rc = ctl_report(status, answer);
    }
    json_decref(doc);
    free(answer);
    return rc;
}

static int cmd_programme(struct ctl *ctl)
{
    if (ctl->argc == 2 && strcmp(ctl->argv[0], "apply") == 0)
        return ctl_send_file(ctl, "POST", "/api/v1/programmes", ctl->argv[1], "application/json");
    if (ctl->argc == 1 && strcmp(ctl->argv[0], "list") == 0)
        return ctl_simple(ctl, "GET", "/api/v1/programmes");
    if (ctl->argc == 2 && strcmp(ctl->argv[0], "show") == 0) {
        char path[512];
        snprintf(path, sizeof(path), "/api/v1/programmes/%s", ctl->argv[1]);
        return ctl_simple(ctl, "GET", path);
    }
    return -1;
}

static const struct command commands[] = {
    {"token", cmd_token,
     "token create --admin|--read|--feed PROGRAMME [--name NAME]   (with --database: directly)\n"
     "  token list [--limit N] | token revoke ID"},
    {"programme", cmd_programme, "programme apply FILE | programme list | programme show SLUG"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: scaleupctl [--url URL] [--token TOKEN] [--database CONNINFO] COMMAND …\n"
                 "URL and TOKEN default to $SCALEUPD_URL (http://127.0.0.1:8080) and "
                 "$SCALEUPD_TOKEN.\ncommands:\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(out, "  %s\n", c->usage);
    for (const struct command *c = ctl_feature_commands; c->name; c++)
        fprintf(out, "  %s\n", c->usage);
}

int main(int argc, char **argv)
{
    struct ctl ctl = {getenv("SCALEUPD_URL"), getenv("SCALEUPD_TOKEN"), NULL, 0, NULL};
    if (ctl.url == NULL || ctl.url[0] == '\0')
        ctl.url = "http://127.0.0.1:8080";
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
            ctl.url = argv[++i];
        else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            ctl.token = argv[++i];
        else if (strcmp(argv[i], "--database") == 0 && i + 1 < argc)
            ctl.database = argv[++i];
        else if (strcmp(argv[i], "--help") == 0)
            return usage(stdout), 0;
        else
            return usage(stderr), 2;
    }
    if (i >= argc)
        return usage(stderr), 2;
    ctl.argc = argc - i - 1;
    ctl.argv = argv + i + 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = -1;
    for (const struct command *c = commands; c->name && rc == -1; c++)
        if (strcmp(c->name, argv[i]) == 0)
            rc = c->run(&ctl);
    for (const struct command *c = ctl_feature_commands; c->name && rc == -1; c++)
        if (strcmp(c->name, argv[i]) == 0)
            rc = c->run(&ctl);
    curl_global_cleanup();
    if (rc == -1) {
        usage(stderr);
        return 2;
    }
    return rc;
}
