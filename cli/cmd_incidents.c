/* scaleupctl incidents list|show|ack: incidents (docs/ARCHITECTURE.md, "Incidents") over
 * GET /api/v1/incidents (every page, cli/pages.c), GET …/{id} and POST …/{id}/ack. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* A slug or kind as the server names them, safe in a query unescaped. */
static bool word_ok(const char *s)
{
    size_t len = strlen(s);
    return len > 0 && len < 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == len;
}

static bool id_ok(const char *s)
{
    size_t len = strlen(s);
    return len > 0 && len < 20 && strspn(s, "0123456789") == len;
}

/* Appends "?name=value" or "&name=value" to path; false when it does not fit. */
static bool add_query(char *path, size_t size, const char *name, const char *value)
{
    size_t used = strlen(path);
    int n =
        snprintf(path + used, size - used, "%c%s=%s", strchr(path, '?') ? '&' : '?', name, value);
    return n > 0 && (size_t)n < size - used;
}

/* list [--programme SLUG] [--open] [--kind KIND] [--limit N], from argv[1] on */
static int incidents_list(const struct ctl *ctl)
{
    char path[256] = "/api/v1/incidents";
    for (int i = 1; i < ctl->argc; i++) {
        const char *opt = ctl->argv[i];
        const char *value = i + 1 < ctl->argc ? ctl->argv[i + 1] : NULL;
        bool ok = false;
        if (strcmp(opt, "--open") == 0) {
            ok = add_query(path, sizeof(path), "state", "open");
        } else if (value != NULL && strcmp(opt, "--limit") == 0) {
            ok = true; /* ctl_list reads it */
            i++;
        } else if (value != NULL &&
                   (strcmp(opt, "--programme") == 0 || strcmp(opt, "--kind") == 0)) {
            ok = word_ok(value) && add_query(path, sizeof(path), opt + 2, value);
            i++;
        }
        if (!ok)
            return -1;
    }
    return ctl_list(ctl, path, "incidents", 1);
}

int ctl_cmd_incidents(struct ctl *ctl)
{
    if (ctl->argc < 1)
        return -1;
    const char *sub = ctl->argv[0];
    if (strcmp(sub, "list") == 0)
        return incidents_list(ctl);
    if (strcmp(sub, "show") == 0 && ctl->argc == 2 && id_ok(ctl->argv[1])) {
        char path[64];
        snprintf(path, sizeof(path), "/api/v1/incidents/%s", ctl->argv[1]);
        return ctl_simple(ctl, "GET", path);
    }
    if (strcmp(sub, "ack") == 0)
        return ctl_ack(ctl, 1, "incidents");
    return -1;
}
