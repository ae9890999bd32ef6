/* Configuration: the table of every key, INI parsing through inih, validation and the
 * reload rule (fixed keys keep their value until restart). */
#include "scaleupd/core/config.h"

#include "scaleupd/core/alloc.h"

#include <errno.h>
#include <limits.h>
#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#define KEY(sec, nm, type, def, reload, field, lo, hi) \
    {sec, nm, type, def, reload, offsetof(struct config, field), lo, hi, NULL}
#define ENUM_KEY(sec, nm, def, reload, field, options) \
    {sec, nm, CONFIG_STRING, def, reload, offsetof(struct config, field), 0, 0, options}
/* clang-format on */

const struct config_key config_keys[] = {
    KEY("server", "listen_address", CONFIG_STRING, "127.0.0.1", false, listen_address, 0, 0),
    KEY("server", "listen_port", CONFIG_INT, "8080", false, listen_port, 0, 65535),
    KEY("server", "base_url", CONFIG_STRING, "http://127.0.0.1:8080", true, base_url, 0, 0),
    KEY("server", "max_body_bytes", CONFIG_INT, "8388608", true, max_body_bytes, 1024, 1073741824),
    KEY("server", "max_header_bytes", CONFIG_INT, "16384", true, max_header_bytes, 1024, 1048576),
    KEY("server", "idle_timeout", CONFIG_DURATION, "60s", true, idle_timeout, 1, 86400),
    KEY("server", "max_connections", CONFIG_INT, "1024", true, max_connections, 1, 1000000),
    KEY("server", "header_timeout", CONFIG_DURATION, "10s", true, header_timeout, 1, 3600),
    KEY("server", "body_timeout", CONFIG_DURATION, "60s", true, body_timeout, 1, 86400),
    KEY("server", "rate_limit", CONFIG_INT, "500", true, rate_limit, 0, 1000000),
    KEY("server", "rate_burst", CONFIG_INT, "1000", true, rate_burst, 1, 1000000),
    KEY("server", "worker_threads", CONFIG_INT, "4", false, worker_threads, 1, 256),
    KEY("server", "queue_max", CONFIG_INT, "1024", true, queue_max, 1, 1000000),
    KEY("server", "web_dir", CONFIG_STRING, SCALEUPD_WEB_DIR, false, web_dir, 0, 0),
    KEY("server", "public_dashboard", CONFIG_BOOL, "false", true, public_dashboard, 0, 0),
    KEY("database", "conninfo", CONFIG_STRING, "", false, database, 0, 0),
    KEY("database", "reconnect_max_delay", CONFIG_DURATION, "30s", true, reconnect_max_delay, 1,
        3600),
    ENUM_KEY("log", "level", "info", true, log_level, "error,warning,info,debug"),
    KEY("alerts", "group_wait", CONFIG_DURATION, "30s", true, group_wait, 0, 86400),
    KEY("alerts", "group_interval", CONFIG_DURATION, "5m", true, group_interval, 0, 86400),
    KEY("alerts", "repeat_interval", CONFIG_DURATION, "4h", true, repeat_interval, 0, 2592000),
    KEY("alerts", "evaluate_interval", CONFIG_DURATION, "60s", true, evaluate_interval, 1, 86400),
    KEY("alerts", "deliver_interval", CONFIG_DURATION, "5s", true, deliver_interval, 1, 3600),
    KEY("alerts", "delivery_max_age", CONFIG_DURATION, "24h", true, delivery_max_age, 60, 2592000),
    KEY("alerts", "send_resolved", CONFIG_BOOL, "true", true, send_resolved, 0, 0),
    KEY("smtp", "url", CONFIG_STRING, "", true, smtp_url, 0, 0),
    KEY("smtp", "from", CONFIG_STRING, "scaleupd@localhost", true, smtp_from, 0, 0),
    KEY("smtp", "username", CONFIG_STRING, "", true, smtp_username, 0, 0),
    KEY("smtp", "password", CONFIG_STRING, "", true, smtp_password, 0, 0),
    ENUM_KEY("smtp", "tls", "try", true, smtp_tls, "none,try,starttls"),
    KEY("smtp", "ca_file", CONFIG_STRING, "", true, smtp_ca_file, 0, 0),
    KEY("smtp", "timeout", CONFIG_DURATION, "30s", true, smtp_timeout, 1, 600),
    KEY("webhook", "timeout", CONFIG_DURATION, "10s", true, webhook_timeout, 1, 600),
    KEY("links", "state_directory", CONFIG_STRING, "/var/lib/scaleupd", false, state_directory, 0,
        0),
    KEY("links", "ack_key", CONFIG_STRING, "", false, ack_key, 0, 0),
    KEY("links", "ack_ttl", CONFIG_DURATION, "7d", true, ack_ttl, 3600, 7776000),
    {NULL, NULL, CONFIG_STRING, NULL, false, 0, 0, 0, NULL},
};

static bool parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* "90", "90s", "5m", "4h", "1d" to seconds. */
static bool parse_duration(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || v < 0)
        return false;
    long unit = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        unit = 60, end++;
    else if (*end == 'h')
        unit = 3600, end++;
    else if (*end == 'd')
        unit = 86400, end++;
    if (*end != '\0' || v > LONG_MAX / unit)
        return false;
    *out = v * unit;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = true, true;
        if (strcmp(s, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

/* True when value is one of the comma-separated options. */
static bool in_list(const char *options, const char *value)
{
    size_t len = strlen(value);
    for (const char *o = options; *o;) {
        const char *end = strchr(o, ',');
        size_t olen = end ? (size_t)(end - o) : strlen(o);
        if (olen == len && strncmp(o, value, len) == 0)
            return true;
        o += olen + (end ? 1 : 0);
    }
    return false;
}

/* Stores value into the field of key; on failure writes why into err. */
static bool set_value(struct config *config, const struct config_key *key, const char *value,
                      char *err, size_t err_size)
{
    void *field = (char *)config + key->offset;
    long number;
    switch (key->type) {
    case CONFIG_STRING: {
        if (key->options != NULL && !in_list(key->options, value)) {
            snprintf(err, err_size, "\"%s\" is not one of %s", value, key->options);
            return false;
        }
        char *copy = xstrdup(value);
        free(*(char **)field);
        *(char **)field = copy;
        return true;
    }
    case CONFIG_BOOL:
        if (!parse_bool(value, (bool *)field)) {
            snprintf(err, err_size, "\"%s\" is not a boolean (true or false)", value);
            return false;
        }
        return true;
    case CONFIG_INT:
    case CONFIG_DURATION:
        if (key->type == CONFIG_INT ? !parse_long(value, &number)
                                    : !parse_duration(value, &number)) {
            snprintf(err, err_size, "\"%s\" is not %s", value,
                     key->type == CONFIG_INT ? "an integer" : "a duration (e.g. 30s, 5m, 4h)");
            return false;
        }
        if (number < key->min || number > key->max) {
            snprintf(err, err_size, "%ld is out of range (%ld to %ld)", number, key->min, key->max);
            return false;
        }
        *(int *)field = (int)number;
        return true;
    }
    return false;
}

static const struct config_key *find_key(const char *section, const char *name)
{
    for (const struct config_key *k = config_keys; k->name != NULL; k++)
        if (strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

struct config *config_new_defaults(void)
{
    struct config *config = xcalloc(1, sizeof(*config));
    config->refs = 1;
    char err[256];
    for (const struct config_key *k = config_keys; k->name != NULL; k++)
        if (!set_value(config, k, k->default_value, err, sizeof(err)))
            abort(); /* a default that does not parse is a programming error */
    return config;
}

struct parse_state {
    struct config *config;
    const char *path;
    const char *text;
    char *err;
    size_t err_size;
    bool failed;
    int last_line; /* line of the previous entry */
};

/* The line of "name = …" in [section] of text: Debian's inih does not pass line numbers to
 * the handler, so an error finds its line again. 0 when not found. */
static int find_line(const char *text, const char *section, const char *name, int after)
{
    char current[64] = "";
    int line = 1;
    for (const char *p = text; *p; line++) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (s < p + len && (*s == ' ' || *s == '\t'))
            s++;
        if (*s == '[') {
            const char *close = memchr(s, ']', len - (size_t)(s - p));
            if (close != NULL)
                snprintf(current, sizeof(current), "%.*s", (int)(close - s - 1), s + 1);
        } else if (line > after && strcmp(current, section) == 0) {
            size_t nlen = strlen(name);
            const char *after = s + nlen;
            if ((size_t)(p + len - s) > nlen && strncmp(s, name, nlen) == 0) {
                while (*after == ' ' || *after == '\t')
                    after++;
                if (*after == '=' || *after == ':')
                    return line;
            }
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *st = user;
    if (st->failed)
        return 0;
    /* inih calls us in file order, so this entry is the first match after the last one */
    int lineno = find_line(st->text, section, name, st->last_line);
    if (lineno > 0)
        st->last_line = lineno;
    char why[200];
    const struct config_key *key = find_key(section, name);
    if (key == NULL) {
        snprintf(st->err, st->err_size, "%s:%d: [%s] %s: unknown key", st->path, lineno, section,
                 name);
        st->failed = true;
        return 0;
    }
    if (!set_value(st->config, key, value, why, sizeof(why))) {
        snprintf(st->err, st->err_size, "%s:%d: [%s] %s: %s", st->path, lineno, section, name, why);
        st->failed = true;
        return 0;
    }
    return 1;
}

static bool finish(struct config *config, struct config **out)
{
    const char *env = getenv("SCALEUPD_DATABASE");
    if (env != NULL && env[0] != '\0') {
        free(config->database);
        config->database = xstrdup(env);
    }
    *out = config;
    return true;
}

bool config_parse_string(const char *text, const char *path, struct config **out, char *err,
                         size_t err_size)
{
    struct config *config = config_new_defaults();
    struct parse_state st = {config, path, text, err, err_size, false, 0};
    int rc = ini_parse_string(text, on_ini_entry, &st);
    if (rc != 0 || st.failed) {
        if (!st.failed)
            snprintf(err, err_size, "%s:%d: syntax error", path, rc);
        config_free(&config);
        return false;
    }
    return finish(config, out);
}

bool config_load(const char *path, struct config **out, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        char reason[128];
        snprintf(err, err_size, "%s: could not open file: %s", path,
                 strerror_r(errno, reason, sizeof(reason)));
        return false;
    }
    enum { CONFIG_MAX_BYTES = 1 << 20 };
    char *text = xmalloc(CONFIG_MAX_BYTES + 1);
    size_t len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
    bool read_error = ferror(f) != 0;
    fclose(f);
    bool ok = false;
    if (read_error)
        snprintf(err, err_size, "%s: could not read file", path);
    else if (len > CONFIG_MAX_BYTES)
        snprintf(err, err_size, "%s: file is larger than %d bytes", path, CONFIG_MAX_BYTES);
    else {
        text[len] = '\0';
        ok = config_parse_string(text, path, out, err, err_size);
    }
    free(text);
    return ok;
}

static bool same_value(const struct config_key *key, const void *a, const void *b)
{
    switch (key->type) {
    case CONFIG_STRING:
        return strcmp(*(char *const *)a, *(char *const *)b) == 0;
    case CONFIG_BOOL:
        return *(const bool *)a == *(const bool *)b;
    default:
        return *(const int *)a == *(const int *)b;
    }
}

void config_keep_fixed(const struct config *old, struct config *next, char *note, size_t note_size)
{
    size_t used = 0;
    note[0] = '\0';
    for (const struct config_key *k = config_keys; k->name != NULL; k++) {
        if (k->reloadable)
            continue;
        const void *a = (const char *)old + k->offset;
        void *b = (char *)next + k->offset;
        if (same_value(k, a, b))
            continue;
        int n = snprintf(note + used, note_size - used, "%s[%s] %s", used ? ", " : "", k->section,
                         k->name);
        if (n > 0 && (size_t)n < note_size - used)
            used += (size_t)n;
        if (k->type == CONFIG_STRING) {
            char *copy = xstrdup(*(char *const *)a);
            free(*(char **)b);
            *(char **)b = copy;
        } else if (k->type == CONFIG_BOOL) {
            *(bool *)b = *(const bool *)a;
        } else {
            *(int *)b = *(const int *)a;
        }
    }
}

struct config *config_ref(struct config *config)
{
    __atomic_add_fetch(&config->refs, 1, __ATOMIC_SEQ_CST);
    return config;
}

void config_free(struct config **config)
{
    if (config == NULL || *config == NULL)
        return;
    if (__atomic_sub_fetch(&(*config)->refs, 1, __ATOMIC_SEQ_CST) > 0) {
        *config = NULL;
        return;
    }
    for (const struct config_key *k = config_keys; k->name != NULL; k++)
        if (k->type == CONFIG_STRING)
            free(*(char **)((char *)*config + k->offset));
    free(*config);
    *config = NULL;
}
