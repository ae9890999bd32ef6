/*
 * The configuration table and its INI reader (config.c): the documented defaults, each value
 * type, the error messages a user fixes a file by (FILE:LINE: [section] key: why), the
 * environment override of the database, the reload rule for fixed keys, and the refcount.
 */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scaleupd/core/config.h"

#define FIELD(config, offset) ((char *)(config) + (offset))
#define STR_AT(config, offset) (*(char **)FIELD(config, offset))
#define INT_AT(config, offset) (*(int *)FIELD(config, offset))
#define BOOL_AT(config, offset) (*(bool *)FIELD(config, offset))
#define OFF(field) offsetof(struct config, field)

/* One expected value: a string for CONFIG_STRING, a number for the others (bool as 0/1). */
struct expect_value {
    const char *what;
    size_t offset;
    enum config_type type;
    const char *s;
    long n;
};

static void check_value(const struct config *config, const struct expect_value *e,
                        const char *context)
{
    switch (e->type) {
    case CONFIG_STRING:
        cr_expect_str_eq(STR_AT(config, e->offset), e->s, "%s: %s", context, e->what);
        break;
    case CONFIG_BOOL:
        cr_expect_eq(BOOL_AT(config, e->offset), e->n != 0, "%s: %s", context, e->what);
        break;
    case CONFIG_INT:
    case CONFIG_DURATION:
        cr_expect_eq(INT_AT(config, e->offset), e->n, "%s: %s is %d, expected %ld", context,
                     e->what, INT_AT(config, e->offset), e->n);
        break;
    }
}

static struct config *parse_ok(const char *text)
{
    struct config *config = NULL;
    char err[512] = "";
    cr_assert(config_parse_string(text, "test.conf", &config, err, sizeof(err)),
              "should parse: %s\n---\n%s", err, text);
    cr_assert_not_null(config);
    return config;
}

/* The defaults as documented (durations in seconds: 5m = 300, 4h = 4 x 3600 = 14400,
 * 24h = 86400; 8 MiB = 8 x 1024 x 1024 = 8388608). */
static const struct expect_value defaults[] = {
    {"listen_address", OFF(listen_address), CONFIG_STRING, "127.0.0.1", 0},
    {"listen_port", OFF(listen_port), CONFIG_INT, NULL, 8080},
    {"base_url", OFF(base_url), CONFIG_STRING, "http://127.0.0.1:8080", 0},
    {"max_body_bytes", OFF(max_body_bytes), CONFIG_INT, NULL, 8388608},
    {"max_header_bytes", OFF(max_header_bytes), CONFIG_INT, NULL, 16384},
    {"idle_timeout", OFF(idle_timeout), CONFIG_DURATION, NULL, 60},
    {"max_connections", OFF(max_connections), CONFIG_INT, NULL, 1024},
    {"header_timeout", OFF(header_timeout), CONFIG_DURATION, NULL, 10},
    {"body_timeout", OFF(body_timeout), CONFIG_DURATION, NULL, 60},
    {"rate_limit", OFF(rate_limit), CONFIG_INT, NULL, 500},
    {"rate_burst", OFF(rate_burst), CONFIG_INT, NULL, 1000},
    {"worker_threads", OFF(worker_threads), CONFIG_INT, NULL, 4},
    {"queue_max", OFF(queue_max), CONFIG_INT, NULL, 1024},
    {"web_dir", OFF(web_dir), CONFIG_STRING, SCALEUPD_WEB_DIR, 0},
    {"public_dashboard", OFF(public_dashboard), CONFIG_BOOL, NULL, 0},
    {"database", OFF(database), CONFIG_STRING, "", 0},
    {"reconnect_max_delay", OFF(reconnect_max_delay), CONFIG_DURATION, NULL, 30},
    {"log_level", OFF(log_level), CONFIG_STRING, "info", 0},
    {"group_wait", OFF(group_wait), CONFIG_DURATION, NULL, 30},
    {"group_interval", OFF(group_interval), CONFIG_DURATION, NULL, 300},
    {"repeat_interval", OFF(repeat_interval), CONFIG_DURATION, NULL, 14400},
    {"evaluate_interval", OFF(evaluate_interval), CONFIG_DURATION, NULL, 60},
    {"deliver_interval", OFF(deliver_interval), CONFIG_DURATION, NULL, 5},
    {"delivery_max_age", OFF(delivery_max_age), CONFIG_DURATION, NULL, 86400},
    {"send_resolved", OFF(send_resolved), CONFIG_BOOL, NULL, 1},
    {"smtp_url", OFF(smtp_url), CONFIG_STRING, "", 0},
    {"smtp_from", OFF(smtp_from), CONFIG_STRING, "scaleupd@localhost", 0},
    {"smtp_username", OFF(smtp_username), CONFIG_STRING, "", 0},
    {"smtp_password", OFF(smtp_password), CONFIG_STRING, "", 0},
    {"smtp_tls", OFF(smtp_tls), CONFIG_STRING, "try", 0},
    {"smtp_timeout", OFF(smtp_timeout), CONFIG_DURATION, NULL, 30},
    {"webhook_timeout", OFF(webhook_timeout), CONFIG_DURATION, NULL, 10},
};

Test(config, defaults)
{
    unsetenv("SCALEUPD_DATABASE");
    struct config *fresh = config_new_defaults();
    struct config *empty = parse_ok("");
    struct config *comments = parse_ok("; nothing but comments\n# and blank lines\n\n[server]\n");
    cr_expect_eq(fresh->refs, 1);
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        check_value(fresh, &defaults[i], "config_new_defaults");
        check_value(empty, &defaults[i], "empty file");
        check_value(comments, &defaults[i], "comments only");
    }
    config_free(&fresh);
    config_free(&empty);
    config_free(&comments);
    cr_expect_null(fresh);
}

/* One INI text and the value it must give one key. */
struct value_case {
    const char *text;
    struct expect_value want;
};

#define S(text, field, v)                                                                          \
    {                                                                                              \
        text,                                                                                      \
        {                                                                                          \
#field, OFF(field), CONFIG_STRING, v, 0                                                \
        }                                                                                          \
    }
#define I(text, field, v)                                                                          \
    {                                                                                              \
        text,                                                                                      \
        {                                                                                          \
#field, OFF(field), CONFIG_INT, NULL, v                                                \
        }                                                                                          \
    }
#define B(text, field, v)                                                                          \
    {                                                                                              \
        text,                                                                                      \
        {                                                                                          \
#field, OFF(field), CONFIG_BOOL, NULL, v                                               \
        }                                                                                          \
    }
#define D(text, field, v)                                                                          \
    {                                                                                              \
        text,                                                                                      \
        {                                                                                          \
#field, OFF(field), CONFIG_DURATION, NULL, v                                           \
        }                                                                                          \
    }

static const struct value_case value_cases[] = {
    /* strings, kept as written after inih trims the spaces around them */
    S("[server]\nlisten_address = 0.0.0.0\n", listen_address, "0.0.0.0"),
    S("[smtp]\nfrom =   Scale-up alerts <alerts@example.org>  \n", smtp_from,
      "Scale-up alerts <alerts@example.org>"),
    S("[database]\nconninfo = host=/tmp port=5433 dbname=x\n", database,
      "host=/tmp port=5433 dbname=x"),
    S("[log]\nlevel = debug\n", log_level, "debug"),
    S("[smtp]\ntls = starttls\n", smtp_tls, "starttls"),
    S("[server]\nlisten_address: ::1\n", listen_address, "::1"), /* ':' as separator */
    /* integers, including both ends of their range */
    I("[server]\nlisten_port = 0\n", listen_port, 0),
    I("[server]\nlisten_port = 65535\n", listen_port, 65535),
    I("[server]\nmax_body_bytes = 1024\n", max_body_bytes, 1024),
    I("[server]\nmax_body_bytes = 1073741824\n", max_body_bytes, 1073741824),
    I("  [server]  \n   worker_threads=16\n", worker_threads, 16),
    I("[server]\nqueue_max = 1\n", queue_max, 1),
    I("[server]\nmax_connections = 1\n", max_connections, 1),
    I("[server]\nmax_connections = 1000000\n", max_connections, 1000000),
    I("[server]\nrate_limit = 0\n", rate_limit, 0), /* 0: no rate limit */
    I("[server]\nrate_burst = 1\n", rate_burst, 1),
    D("[server]\nheader_timeout = 1s\n", header_timeout, 1),
    D("[server]\nheader_timeout = 1h\n", header_timeout, 3600),
    D("[server]\nbody_timeout = 2m\n", body_timeout, 120),
    /* booleans: true/yes/on/1 and false/no/off/0 */
    B("[server]\npublic_dashboard = true\n", public_dashboard, 1),
    B("[server]\npublic_dashboard = yes\n", public_dashboard, 1),
    B("[server]\npublic_dashboard = on\n", public_dashboard, 1),
    B("[server]\npublic_dashboard = 1\n", public_dashboard, 1),
    B("[alerts]\nsend_resolved = false\n", send_resolved, 0),
    B("[alerts]\nsend_resolved = no\n", send_resolved, 0),
    B("[alerts]\nsend_resolved = off\n", send_resolved, 0),
    B("[alerts]\nsend_resolved = 0\n", send_resolved, 0),
    /* durations: a bare number is seconds; s, m (x60), h (x3600), d (x86400) */
    D("[server]\nidle_timeout = 30s\n", idle_timeout, 30),
    D("[server]\nidle_timeout = 90\n", idle_timeout, 90),
    D("[alerts]\ngroup_interval = 5m\n", group_interval, 300),
    D("[alerts]\nrepeat_interval = 4h\n", repeat_interval, 14400),
    D("[alerts]\ndelivery_max_age = 1d\n", delivery_max_age, 86400),
    D("[alerts]\ngroup_wait = 0s\n", group_wait, 0),
    D("[database]\nreconnect_max_delay = 1h\n", reconnect_max_delay, 3600),
    D("[server]\nidle_timeout = 86400s\n", idle_timeout, 86400),
    D("[alerts]\nrepeat_interval = 30d\n", repeat_interval, 2592000), /* 30 x 86400 */
    /* the last of a repeated key wins */
    I("[server]\nlisten_port = 1\nlisten_port = 2\n", listen_port, 2),
};

Test(config, every_type)
{
    unsetenv("SCALEUPD_DATABASE");
    for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
        struct config *config = parse_ok(value_cases[i].text);
        check_value(config, &value_cases[i].want, value_cases[i].text);
        config_free(&config);
    }
}

/* An INI text that must be refused with exactly this message. */
struct error_case {
    const char *text;
    const char *message;
};

static const struct error_case error_cases[] = {
    /* out of range, for ints and durations, both ends */
    {"[server]\nlisten_port = 70000\n",
     "test.conf:2: [server] listen_port: 70000 is out of range (0 to 65535)"},
    {"[server]\nlisten_port = -1\n",
     "test.conf:2: [server] listen_port: -1 is out of range (0 to 65535)"},
    {"[server]\nmax_body_bytes = 1023\n",
     "test.conf:2: [server] max_body_bytes: 1023 is out of range (1024 to 1073741824)"},
    {"# a comment\n[alerts]\ngroup_wait = 2d\n", /* 2 x 86400 = 172800 > 86400 */
     "test.conf:3: [alerts] group_wait: 172800 is out of range (0 to 86400)"},
    {"[server]\nmax_connections = 0\n",
     "test.conf:2: [server] max_connections: 0 is out of range (1 to 1000000)"},
    {"[server]\nheader_timeout = 0\n",
     "test.conf:2: [server] header_timeout: 0 is out of range (1 to 3600)"},
    {"[server]\nrate_burst = 0\n",
     "test.conf:2: [server] rate_burst: 0 is out of range (1 to 1000000)"},
    {"[server]\nidle_timeout = 0\n",
     "test.conf:2: [server] idle_timeout: 0 is out of range (1 to 86400)"},
    {"[database]\nreconnect_max_delay = 61m\n", /* 61 x 60 = 3660 > 3600 */
     "test.conf:2: [database] reconnect_max_delay: 3660 is out of range (1 to 3600)"},
    /* unknown keys and sections */
    {"[server]\n\nbogus = 1\n", "test.conf:3: [server] bogus: unknown key"},
    {"[nosuch]\nlisten_port = 1\n", "test.conf:2: [nosuch] listen_port: unknown key"},
    {"[server]\nlevel = debug\n", "test.conf:2: [server] level: unknown key"},
    /* a key whose name starts with another key's name is not confused with it */
    {"[server]\nlisten_port_extra = 5\n", "test.conf:2: [server] listen_port_extra: unknown key"},
    {"[server]\nlisten_portal = 5\nlisten_port = 70000\n",
     "test.conf:2: [server] listen_portal: unknown key"},
    /* bad values of each type */
    {"[server]\nlisten_port = 80x\n",
     "test.conf:2: [server] listen_port: \"80x\" is not an integer"},
    {"[server]\nlisten_port =\n", "test.conf:2: [server] listen_port: \"\" is not an integer"},
    {"[server]\nqueue_max = 99999999999999999999\n", /* past LONG_MAX: ERANGE */
     "test.conf:2: [server] queue_max: \"99999999999999999999\" is not an integer"},
    {"[server]\nworker_threads = 4.5\n",
     "test.conf:2: [server] worker_threads: \"4.5\" is not an integer"},
    {"[server]\npublic_dashboard = maybe\n",
     "test.conf:2: [server] public_dashboard: \"maybe\" is not a boolean (true or false)"},
    {"[server]\npublic_dashboard = TRUE\n",
     "test.conf:2: [server] public_dashboard: \"TRUE\" is not a boolean (true or false)"},
    {"[server]\nidle_timeout = 5x\n",
     "test.conf:2: [server] idle_timeout: \"5x\" is not a duration (e.g. 30s, 5m, 4h)"},
    {"[server]\nidle_timeout = -5s\n",
     "test.conf:2: [server] idle_timeout: \"-5s\" is not a duration (e.g. 30s, 5m, 4h)"},
    {"[server]\nidle_timeout = s\n",
     "test.conf:2: [server] idle_timeout: \"s\" is not a duration (e.g. 30s, 5m, 4h)"},
    {"[server]\nidle_timeout = 5ms\n",
     "test.conf:2: [server] idle_timeout: \"5ms\" is not a duration (e.g. 30s, 5m, 4h)"},
    {"[alerts]\nrepeat_interval = 9223372036854775807d\n", /* would overflow x 86400 */
     "test.conf:2: [alerts] repeat_interval: \"9223372036854775807d\" is not a duration (e.g. "
     "30s, 5m, 4h)"},
    /* the first error is the one reported, on its own line */
    {"[server]\nlisten_port = 8081\n[log]\nlevel = info\n[server]\nqueue_max = 0\n",
     "test.conf:6: [server] queue_max: 0 is out of range (1 to 1000000)"},
    /* syntax errors: inih's line of the first one */
    {"[server]\nlisten_port 8080\n", "test.conf:2: syntax error"},
    {"[server]\nlisten_port = 1\nthis is not ini\n", "test.conf:3: syntax error"},
    {"[server\n", "test.conf:1: syntax error"},
};

Test(config, errors_name_file_line_and_key)
{
    unsetenv("SCALEUPD_DATABASE");
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        struct config *config = (struct config *)0x1; /* must stay untouched */
        char err[512] = "";
        bool ok = config_parse_string(error_cases[i].text, "test.conf", &config, err, sizeof(err));
        cr_expect_not(ok, "should fail:\n%s", error_cases[i].text);
        cr_expect_eq(config, (struct config *)0x1, "out written on failure:\n%s",
                     error_cases[i].text);
        cr_expect_str_eq(err, error_cases[i].message, "for:\n%sgot: %s", error_cases[i].text, err);
    }
}

/* Values that only the final validation refuses (one of a fixed set) are bad values too:
 * the user needs the line as much as for any other. */
Test(config, enum_errors_name_line_and_key)
{
    unsetenv("SCALEUPD_DATABASE");
    static const struct error_case cases[] = {
        {"[smtp]\nurl = smtp://localhost:25\ntls = maybe\n", "test.conf:3: [smtp] tls:"},
        {"\n[log]\nlevel = verbose\n", "test.conf:3: [log] level:"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config *config = NULL;
        char err[512] = "";
        cr_expect_not(config_parse_string(cases[i].text, "test.conf", &config, err, sizeof(err)));
        cr_expect_null(config);
        cr_expect(strncmp(err, cases[i].message, strlen(cases[i].message)) == 0,
                  "error \"%s\" should start with \"%s\"", err, cases[i].message);
    }
}

/* A key given twice: the error is on the line of the value that was refused. */
Test(config, error_line_of_a_repeated_key)
{
    unsetenv("SCALEUPD_DATABASE");
    static const struct error_case cases[] = {
        {"[server]\nlisten_port = 1\nlisten_port = 70000\n",
         "test.conf:3: [server] listen_port: 70000 is out of range (0 to 65535)"},
        {"[server]\nlisten_port = 1\n[log]\nlevel = info\n[server]\nlisten_port = 70000\n",
         "test.conf:6: [server] listen_port: 70000 is out of range (0 to 65535)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config *config = NULL;
        char err[512] = "";
        cr_expect_not(config_parse_string(cases[i].text, "test.conf", &config, err, sizeof(err)));
        cr_expect_str_eq(err, cases[i].message, "for:\n%sgot: %s", cases[i].text, err);
    }
}

Test(config, valid_enum_values)
{
    unsetenv("SCALEUPD_DATABASE");
    static const char *const texts[] = {
        "[smtp]\ntls = none\n",   "[smtp]\ntls = try\n",      "[smtp]\ntls = starttls\n",
        "[log]\nlevel = error\n", "[log]\nlevel = warning\n", "[log]\nlevel = info\n",
        "[log]\nlevel = debug\n",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct config *config = parse_ok(texts[i]);
        config_free(&config);
    }
}

Test(config, database_from_the_environment_wins)
{
    static const char text[] = "[database]\nconninfo = dbname=fromfile\n";
    struct {
        const char *env; /* NULL: unset */
        const char *want;
    } cases[] = {
        {NULL, "dbname=fromfile"},
        {"", "dbname=fromfile"}, /* an empty variable is as good as none */
        {"host=/run/pg dbname=fromenv", "host=/run/pg dbname=fromenv"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].env == NULL)
            unsetenv("SCALEUPD_DATABASE");
        else
            setenv("SCALEUPD_DATABASE", cases[i].env, 1);
        struct config *config = parse_ok(text);
        cr_expect_str_eq(config->database, cases[i].want, "SCALEUPD_DATABASE=%s",
                         cases[i].env ? cases[i].env : "(unset)");
        config_free(&config);
        /* also with no [database] section at all */
        config = parse_ok("");
        cr_expect_str_eq(config->database, cases[i].env ? cases[i].env : "");
        config_free(&config);
    }
    unsetenv("SCALEUPD_DATABASE");
}

Test(config, load_reads_a_file)
{
    unsetenv("SCALEUPD_DATABASE");
    char path[] = "/tmp/scaleupd-test-config-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    static const char good[] = "[server]\nlisten_port = 9090\n[alerts]\ngroup_wait = 1m\n";
    cr_assert_eq(write(fd, good, strlen(good)), (ssize_t)strlen(good));
    close(fd);
    struct config *config = NULL;
    char err[512] = "";
    cr_expect(config_load(path, &config, err, sizeof(err)), "%s", err);
    cr_expect_eq(config->listen_port, 9090);
    cr_expect_eq(config->group_wait, 60);
    config_free(&config);

    /* an error names the file's own path and line */
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("[server]\n\n\nworker_threads = 0\n", f);
    fclose(f);
    char want[600];
    snprintf(want, sizeof(want), "%s:4: [server] worker_threads: 0 is out of range (1 to 256)",
             path);
    cr_expect_not(config_load(path, &config, err, sizeof(err)));
    cr_expect_null(config);
    cr_expect_str_eq(err, want);
    unlink(path);

    /* a missing file */
    cr_expect_not(config_load(path, &config, err, sizeof(err)));
    cr_expect(strstr(err, path) != NULL && strstr(err, "could not open") != NULL, "%s", err);
    cr_expect_null(config);
}

Test(config, keep_fixed_keeps_and_names_non_reloadable_keys)
{
    unsetenv("SCALEUPD_DATABASE");
    struct config *old = config_new_defaults();
    struct config *next = parse_ok("[server]\n"
                                   "listen_address = 0.0.0.0\n"
                                   "listen_port = 9090\n"
                                   "worker_threads = 8\n"
                                   "public_dashboard = true\n"
                                   "max_body_bytes = 2048\n"
                                   "queue_max = 10\n"
                                   "[database]\n"
                                   "conninfo = dbname=other\n"
                                   "reconnect_max_delay = 5s\n"
                                   "[log]\n"
                                   "level = debug\n");
    char note[512];
    config_keep_fixed(old, next, note, sizeof(note));
    /* in the table's order */
    cr_expect_str_eq(note, "[server] listen_address, [server] listen_port, [server] "
                           "worker_threads, [database] conninfo");
    static const struct expect_value after[] = {
        /* fixed: the old values */
        {"listen_address", OFF(listen_address), CONFIG_STRING, "127.0.0.1", 0},
        {"listen_port", OFF(listen_port), CONFIG_INT, NULL, 8080},
        {"worker_threads", OFF(worker_threads), CONFIG_INT, NULL, 4},
        {"database", OFF(database), CONFIG_STRING, "", 0},
        {"web_dir", OFF(web_dir), CONFIG_STRING, SCALEUPD_WEB_DIR, 0},
        /* reloadable: the new values */
        {"public_dashboard", OFF(public_dashboard), CONFIG_BOOL, NULL, 1},
        {"max_body_bytes", OFF(max_body_bytes), CONFIG_INT, NULL, 2048},
        {"queue_max", OFF(queue_max), CONFIG_INT, NULL, 10},
        {"reconnect_max_delay", OFF(reconnect_max_delay), CONFIG_DURATION, NULL, 5},
        {"log_level", OFF(log_level), CONFIG_STRING, "debug", 0},
    };
    for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++)
        check_value(next, &after[i], "after keep_fixed");
    /* the old config is not changed by it */
    cr_expect_eq(old->listen_port, 8080);
    cr_expect_eq(old->public_dashboard, false);

    /* nothing fixed changed: an empty note */
    struct config *same = parse_ok("[server]\npublic_dashboard = true\n");
    config_keep_fixed(old, same, note, sizeof(note));
    cr_expect_str_eq(note, "");
    config_free(&same);
    config_free(&next);
    config_free(&old);
}

Test(config, keep_fixed_with_a_small_note_buffer)
{
    unsetenv("SCALEUPD_DATABASE");
    struct config *old = config_new_defaults();
    struct config *next = parse_ok("[server]\nlisten_address = ::\nlisten_port = 1\n");
    char note[16];
    memset(note, 'x', sizeof(note));
    config_keep_fixed(old, next, note, sizeof(note));
    cr_expect_lt(strnlen(note, sizeof(note)), sizeof(note), "note not terminated");
    cr_expect_str_eq(next->listen_address, "127.0.0.1");
    cr_expect_eq(next->listen_port, 8080);
    config_free(&next);
    config_free(&old);
}

Test(config, refcount)
{
    struct config *first = config_new_defaults();
    cr_assert_eq(first->refs, 1);
    struct config *second = config_ref(first);
    cr_expect_eq(second, first);
    cr_expect_eq(first->refs, 2);
    config_free(&first);
    cr_expect_null(first);
    /* still alive for the other holder (AddressSanitizer would see a use after free) */
    cr_expect_eq(second->refs, 1);
    cr_expect_str_eq(second->listen_address, "127.0.0.1");
    config_free(&second);
    cr_expect_null(second);
    config_free(&second); /* NULL is fine */
    config_free(NULL);
}
