/* The daemon's configuration: one declarative table of keys (section, name, type,
 * default, reloadable) read from an INI file with inih. A load parses into a new struct
 * that the caller swaps in only when it is valid. */
#ifndef SCALEUPD_CONFIG_H
#define SCALEUPD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config {
    int refs; /* reference count: requests in flight keep the config they started with */
    /* [server] */
    char *listen_address;
    int listen_port;
    char *base_url;        /* how users reach the daemon, for links in e-mails */
    int max_body_bytes;    /* larger request bodies get 413 */
    int max_header_bytes;  /* larger request headers get 413 */
    int idle_timeout;      /* seconds a connection may stay idle */
    int max_connections;   /* open connections past which a new one gets 503 and is closed */
    int header_timeout;    /* seconds a request's header block may take to arrive (else 408) */
    int body_timeout;      /* seconds a request's body may take to arrive (else 408) */
    int rate_limit;        /* requests per second per token (a token bucket); 0: no limit */
    int rate_burst;        /* requests a token may make at once, the bucket's size */
    int worker_threads;    /* database workers, each owning one connection */
    int queue_max;         /* jobs waiting for a worker before 503 */
    char *web_dir;         /* dashboard files */
    bool public_dashboard; /* dashboard and read API without a token */
    /* [database] */
    char *database;          /* libpq conninfo; the environment's SCALEUPD_DATABASE wins */
    int reconnect_max_delay; /* seconds, the cap of the reconnect backoff */
    /* [log] */
    char *log_level;
    /* [alerts] */
    int group_wait; /* seconds */
    int group_interval;
    int repeat_interval;
    int evaluate_interval;
    int deliver_interval;
    int delivery_max_age; /* seconds after which a notification is dead-lettered */
    bool send_resolved;
    /* [smtp] */
    char *smtp_url; /* smtp://host:port, smtps://host:port; empty disables e-mail */
    char *smtp_from;
    char *smtp_username;
    char *smtp_password;
    char *smtp_tls;     /* "none", "starttls" (required) or "try" */
    char *smtp_ca_file; /* PEM file of the CAs to verify the server with; "": the system's */
    int smtp_timeout;
    /* [webhook] */
    int webhook_timeout;
    /* [links] one-click acknowledgement links of e-mails (services/ack_link.h) */
    char *state_directory; /* where the daemon keeps its link key when none is given */
    char *ack_key;         /* the key, hex (at least 32 bytes); "": generated in the state dir */
    int ack_ttl;           /* seconds an acknowledgement link works */
};

enum config_type { CONFIG_STRING, CONFIG_INT, CONFIG_BOOL, CONFIG_DURATION };

/* One row of the configuration table. */
struct config_key {
    const char *section;
    const char *name;
    enum config_type type;
    const char *default_value;
    bool reloadable;
    size_t offset;
    long min, max;       /* for CONFIG_INT and CONFIG_DURATION (in seconds) */
    const char *options; /* for CONFIG_STRING: the allowed values, comma-separated, or NULL */
};

/* The table itself, terminated by a row whose name is NULL. */
extern const struct config_key config_keys[];

/* A new config holding every default; never NULL (aborts on out of memory). */
struct config *config_new_defaults(void);

/* Reads path over the defaults, then applies the environment (SCALEUPD_DATABASE).
 * On failure returns false, *out is untouched and err holds "FILE:LINE: key: why".
 * On success *out is a new config owned by the caller (config_free). */
bool config_load(const char *path, struct config **out, char *err, size_t err_size)
    __attribute__((warn_unused_result));

/* Parses INI text (path is used only in messages). Same contract as config_load. */
bool config_parse_string(const char *text, const char *path, struct config **out, char *err,
                         size_t err_size) __attribute__((warn_unused_result));

/* For a reload: keys that cannot change at run time keep their old value in next; each
 * such key that differed is named in note (comma-separated), or note is "" when none. */
void config_keep_fixed(const struct config *old, struct config *next, char *note, size_t note_size);

/* Takes one more reference (atomically); returns config. */
struct config *config_ref(struct config *config);

/* Drops a reference, freeing the config with the last one, and NULLs the pointer. */
void config_free(struct config **config);

#endif
