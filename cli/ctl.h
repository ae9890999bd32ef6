/* Shared pieces of scaleupctl: the options every command sees and the HTTP helpers. */
#ifndef SCALEUPCTL_CTL_H
#define SCALEUPCTL_CTL_H

#include <stddef.h>
#include <stdio.h>

/* How scaleupctl prints the JSON of an answer: indented, in the API's order, numbers with the
 * 12 significant digits the daemon writes them with (jansson's default of 17 printed the 86.6
 * the API sent as 86.599999999999994). */
#define CTL_PRETTY_JSON (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))

struct ctl {
    const char *url;
    const char *token;
    const char *database;
    int argc; /* arguments after the command name */
    char **argv;
};

/* A command: run returns the exit status, or -1 for a usage error. */
struct command {
    const char *name;
    int (*run)(struct ctl *ctl);
    const char *usage;
};

/* The commands of the features (feeds, roadmaps, alerts), terminated by a NULL name. */
extern const struct command ctl_feature_commands[];

/* One request; returns the HTTP status (0 when the server could not be reached) and the
 * body in *out, which the caller frees. */
long ctl_http(const struct ctl *ctl, const char *method, const char *path, const char *content_type,
              const char *body, size_t body_len, char **out);

/* A GET of one page of a list: as ctl_http, and next[0..next_size) gets the path of the next
 * page from the answer's `Link: <…>; rel="next"` ("" when there is none). */
long ctl_http_page(const struct ctl *ctl, const char *path, char **out, char *next,
                   size_t next_size);

/* Lists everything of a paginated endpoint (cli/pages.c): GETs path, then each next page its
 * Link header names, and prints one answer {key: [every item]} as ctl_report does. Options
 * from ctl->argv[from] on: "--limit N" prints at most N items (and says on stderr when more
 * follow); other options are left to the caller. Returns the exit status (1 when a page
 * failed: its error is reported, nothing is printed). */
int ctl_list(const struct ctl *ctl, const char *path, const char *key, int from);

/* The value of "--limit N" among ctl->argv[from..): 0 when absent, -1 when not 1..10^9. */
long ctl_limit_option(const struct ctl *ctl, int from);

/* Reads a whole file ("-" for stdin); NULL (reported) on failure. Caller frees. */
char *ctl_read_file(const char *path, size_t *len);

/* s (NULL reads as "") made safe for a terminal: control characters (C0, DEL and UTF-8 C1)
 * written as \xNN, so text from the server (comments, names, messages) cannot move the
 * cursor or send escape sequences; cut to fit size. Returns buf. */
const char *ctl_printable(const char *s, char *buf, size_t size);

/* Prints an answer: JSON on 2xx, the error (and its details) on stderr otherwise. Returns
 * 0 for 2xx, 1 otherwise. */
int ctl_report(long status, const char *body);

/* Sends a file as the body and reports the answer. */
int ctl_send_file(const struct ctl *ctl, const char *method, const char *path, const char *file,
                  const char *content_type);

/* A request without body, reported. */
int ctl_simple(const struct ctl *ctl, const char *method, const char *path);

/* roadmap apply FILE [--programme SLUG] | roadmap show SLUG (cmd_progress.c) */
int ctl_cmd_roadmap(struct ctl *ctl);

/* progress SLUG [--at DATE] [--by-region] [--json]: a table of the dimensions (cmd_progress.c) */
int ctl_cmd_progress(struct ctl *ctl);

/* alerting commands (cmd_alerts.c): rule apply|list|delete, receiver apply|list|test,
 * alerts [filters] */
int ctl_cmd_rule(struct ctl *ctl);
int ctl_cmd_receiver(struct ctl *ctl);
int ctl_cmd_alerts(struct ctl *ctl);

/* acknowledgements and silences (cmd_silences.c): alert show|ack|list, ack ID [--by NAME]
 * [--comment TEXT] (who defaults to $USER), silence add|list|expire (the author defaults to
 * $USER) */
int ctl_cmd_alert(struct ctl *ctl);
int ctl_cmd_ack(struct ctl *ctl);
int ctl_cmd_silence(struct ctl *ctl);

/* ID [--by NAME] [--comment TEXT] from ctl->argv[from] on: POSTs the acknowledgement of
 * /api/v1/<list>/ID/ack (list "alerts" or "incidents"), who defaulting to $USER, and reports
 * the answer; -1 for a usage error (cmd_silences.c) */
int ctl_ack(const struct ctl *ctl, int from, const char *list);

/* incidents list [--programme SLUG] [--open] [--kind KIND] [--limit N] | incidents show ID |
 * incidents ack ID [--by NAME] [--comment TEXT] (cmd_incidents.c) */
int ctl_cmd_incidents(struct ctl *ctl);

/* revisions SLUG [--indicator CODE] [--site CODE] [--from DATE] [--to DATE] [--limit N]:
 * the revision history of a programme, newest first (cmd_alerts.c) */
int ctl_cmd_revisions(struct ctl *ctl);

#endif
