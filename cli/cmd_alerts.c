/* scaleupctl alerting commands: rules and receivers from files, the alerts list, receiver
 * test messages and a programme's revisions, each over one HTTP endpoint (the lists through
 * every page, cli/pages.c). Acknowledgements and silences are cli/cmd_silences.c. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Codes that may go into a path or query unescaped. */
static bool code_ok(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 63)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
           strlen(s);
}

/* The value of --programme, else $SCALEUPD_PROGRAMME; NULL (reported) when invalid. */
static const char *programme_option(const struct ctl *ctl, int from)
{
    const char *slug = getenv("SCALEUPD_PROGRAMME");
    for (int i = from; i + 1 < ctl->argc; i++)
        if (strcmp(ctl->argv[i], "--programme") == 0)
            slug = ctl->argv[i + 1];
    if (!code_ok(slug)) {
        fprintf(stderr, "scaleupctl: name the programme with --programme SLUG\n");
        return NULL;
    }
    return slug;
}

/* rule apply FILE | rule list | rule delete NAME, with --programme SLUG */
int ctl_cmd_rule(struct ctl *ctl)
{
    char path[256];
    if (ctl->argc < 1)
        return -1;
    const char *sub = ctl->argv[0];
    const char *slug = programme_option(ctl, 1);
    if (slug == NULL)
        return 1;
    if (strcmp(sub, "apply") == 0 && ctl->argc >= 2) {
        snprintf(path, sizeof(path), "/api/v1/programmes/%s/rules", slug);
        return ctl_send_file(ctl, "POST", path, ctl->argv[1], "application/json");
    }
    if (strcmp(sub, "list") == 0) {
        snprintf(path, sizeof(path), "/api/v1/programmes/%s/rules", slug);
        return ctl_simple(ctl, "GET", path);
    }
    if (strcmp(sub, "delete") == 0 && ctl->argc >= 2 && code_ok(ctl->argv[1])) {
        snprintf(path, sizeof(path), "/api/v1/programmes/%s/rules/%s", slug, ctl->argv[1]);
        return ctl_simple(ctl, "DELETE", path);
    }
    return -1;
}

/* receiver apply FILE | receiver list | receiver test NAME, with --programme SLUG */
int ctl_cmd_receiver(struct ctl *ctl)
{
    char path[256];
    if (ctl->argc < 1)
        return -1;
    const char *sub = ctl->argv[0];
    const char *slug = programme_option(ctl, 1);
    if (slug == NULL)
        return 1;
    if (strcmp(sub, "apply") == 0 && ctl->argc >= 2) {
        snprintf(path, sizeof(path), "/api/v1/programmes/%s/receivers", slug);
        return ctl_send_file(ctl, "PUT", path, ctl->argv[1], "application/json");
    }
    if (strcmp(sub, "list") == 0) {
        snprintf(path, sizeof(path), "/api/v1/programmes/%s/receivers", slug);
        return ctl_simple(ctl, "GET", path);
    }
    if (strcmp(sub, "test") == 0 && ctl->argc >= 2 && code_ok(ctl->argv[1])) {
        snprintf(path, sizeof(path), "/api/v1/programmes/%s/receivers/%s/test", slug, ctl->argv[1]);
        char *answer = NULL;
        long status = ctl_http(ctl, "POST", path, "application/json", "{}", 2, &answer);
        int rc = ctl_report(status, answer);
        free(answer);
        return rc;
    }
    return -1;
}

/* Appends "?name=value" or "&name=value" to path[0..size) (*used bytes held); false when the
 * value is not a code or the path is full. */
static bool add_query(char *path, size_t size, size_t *used, const char *name, const char *value)
{
    if (!code_ok(value))
        return false;
    int n =
        snprintf(path + *used, size - *used, "%c%s=%s", strchr(path, '?') ? '&' : '?', name, value);
    if (n < 0 || (size_t)n >= size - *used)
        return false;
    *used += (size_t)n;
    return true;
}

/* Builds path from the options of argv[from..) named in filters (each "--name VALUE", VALUE a
 * code), leaving "--limit N" to ctl_list; false for any other option. */
static bool filters_to_query(const struct ctl *ctl, int from, const char *const *filters,
                             char *path, size_t size)
{
    size_t used = strlen(path);
    for (int i = from; i < ctl->argc; i += 2) {
        bool known = i + 1 < ctl->argc && strcmp(ctl->argv[i], "--limit") == 0;
        for (size_t f = 0; filters[f] != NULL && !known && i + 1 < ctl->argc; f++) {
            if (strncmp(ctl->argv[i], "--", 2) != 0 || strcmp(ctl->argv[i] + 2, filters[f]) != 0)
                continue;
            if (!add_query(path, size, &used, filters[f], ctl->argv[i + 1]))
                return false;
            known = true;
        }
        if (!known)
            return false;
    }
    return true;
}

/* alerts [--programme SLUG] [--state STATE] [--indicator CODE] [--site CODE] [--limit N] */
int ctl_cmd_alerts(struct ctl *ctl)
{
    static const char *const filters[] = {"programme", "state", "indicator", "site", NULL};
    char path[512] = "/api/v1/alerts";
    if (!filters_to_query(ctl, 0, filters, path, sizeof(path)))
        return -1;
    return ctl_list(ctl, path, "alerts", 0);
}

/* revisions SLUG [--indicator CODE] [--site CODE] [--from DATE] [--to DATE] [--limit N] */
int ctl_cmd_revisions(struct ctl *ctl)
{
    static const char *const filters[] = {"indicator", "site", "from", "to", NULL};
    if (ctl->argc < 1 || !code_ok(ctl->argv[0]))
        return -1;
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/programmes/%s/revisions", ctl->argv[0]);
    if (!filters_to_query(ctl, 1, filters, path, sizeof(path)))
        return -1;
    return ctl_list(ctl, path, "revisions", 1);
}
