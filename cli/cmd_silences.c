/* scaleupctl commands of acknowledgements and silences: alert show|ack|list, ack, and
 * silence add|list|expire, each over one HTTP endpoint. Who acknowledges or silences defaults
 * to the user running the command ($USER, else the password database). */
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* The user running scaleupctl: $USER, else the name of the real uid; NULL when neither. */
static const char *user_name(char *buf, size_t size)
{
    const char *env = getenv("USER");
    if (env != NULL && env[0] != '\0')
        return env;
    struct passwd pw, *found = NULL;
    char scratch[1024];
    if (getpwuid_r(getuid(), &pw, scratch, sizeof(scratch), &found) != 0 || found == NULL)
        return NULL;
    snprintf(buf, size, "%s", found->pw_name);
    return buf;
}

static bool all_digits(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* POSTs doc (consumed) as JSON to path and reports the answer. */
static int post_json(const struct ctl *ctl, const char *path, json_t *doc)
{
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char *answer = NULL;
    long status =
        ctl_http(ctl, "POST", path, "application/json", body, body ? strlen(body) : 0, &answer);
    int rc = ctl_report(status, answer);
    free(body);
    free(answer);
    return rc;
}

int ctl_ack(const struct ctl *ctl, int from, const char *list)
{
    if (from >= ctl->argc || !all_digits(ctl->argv[from]))
        return -1;
    char user[256];
    const char *by = NULL, *comment = NULL;
    for (int i = from + 1; i < ctl->argc; i += 2) {
        if (i + 1 >= ctl->argc)
            return -1;
        if (strcmp(ctl->argv[i], "--by") == 0)
            by = ctl->argv[i + 1];
        else if (strcmp(ctl->argv[i], "--comment") == 0)
            comment = ctl->argv[i + 1];
        else
            return -1;
    }
    if (by == NULL)
        by = user_name(user, sizeof(user));
    if (by == NULL) {
        fprintf(stderr, "scaleupctl: say who acknowledges with --by NAME ($USER is not set)\n");
        return 2;
    }
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/%s/%s/ack", list, ctl->argv[from]);
    json_t *doc = json_pack("{s:s}", "by", by);
    if (comment != NULL)
        json_object_set_new(doc, "comment", json_string(comment));
    return post_json(ctl, path, doc);
}

int ctl_cmd_ack(struct ctl *ctl)
{
    return ctl_ack(ctl, 0, "alerts");
}

/* alert show ID | alert ack ID [--by NAME] [--comment TEXT] | alert list [filters] */
int ctl_cmd_alert(struct ctl *ctl)
{
    if (ctl->argc < 1)
        return -1;
    const char *sub = ctl->argv[0];
    if (strcmp(sub, "ack") == 0)
        return ctl_ack(ctl, 1, "alerts");
    if (strcmp(sub, "show") == 0 && ctl->argc == 2 && all_digits(ctl->argv[1])) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/alerts/%s", ctl->argv[1]);
        return ctl_simple(ctl, "GET", path);
    }
    if (strcmp(sub, "list") == 0) {
        struct ctl rest = *ctl;
        rest.argc--, rest.argv++;
        return ctl_cmd_alerts(&rest);
    }
    return -1;
}

/* Adds the option opt VALUE of silence add to doc; false when opt is not one. */
static bool silence_option(json_t *doc, json_t *matchers, const char *opt, const char *value)
{
    static const char *const plain[] = {"starts", "ends",   "duration",
                                        "author", "reason", "programme"};
    static const char *const keys[] = {"starts_at", "ends_at", "duration",
                                       "author",    "reason",  "programme"};
    static const char *const labels[] = {"indicator", "site", "region", "rule", "kind"};
    if (strncmp(opt, "--", 2) != 0)
        return false;
    for (size_t k = 0; k < sizeof(plain) / sizeof(plain[0]); k++)
        if (strcmp(opt + 2, plain[k]) == 0)
            return json_object_set_new(doc, keys[k], json_string(value)) == 0;
    for (size_t k = 0; k < sizeof(labels) / sizeof(labels[0]); k++)
        if (strcmp(opt + 2, labels[k]) == 0)
            return json_array_append_new(
                       matchers, json_pack("{s:s,s:s}", "name", labels[k], "value", value)) == 0;
    return false;
}

/* silence add [MATCHER...] [--indicator|--site|--region|--rule|--kind VALUE]
 *   (--duration 2h | --ends TIME) [--starts TIME] [--author NAME] [--reason TEXT]
 *   [--programme SLUG]: a MATCHER is amtool's name=value, name!=value, name=~re, name!~re */
static int silence_add(const struct ctl *ctl)
{
    json_t *doc = json_object(), *matchers = json_array();
    for (int i = 1; i < ctl->argc; i++) {
        const char *arg = ctl->argv[i];
        bool known = false;
        if (strncmp(arg, "--", 2) != 0)
            known = json_array_append_new(matchers, json_string(arg)) == 0;
        else if (i + 1 < ctl->argc)
            known = silence_option(doc, matchers, arg, ctl->argv[++i]);
        if (!known) {
            json_decref(doc), json_decref(matchers);
            return -1;
        }
    }
    json_object_set_new(doc, "matchers", matchers);
    char user[256];
    const char *author = json_object_get(doc, "author") ? NULL : user_name(user, sizeof(user));
    if (author != NULL)
        json_object_set_new(doc, "author", json_string(author));
    return post_json(ctl, "/api/v1/silences", doc);
}

int ctl_cmd_silence(struct ctl *ctl)
{
    if (ctl->argc >= 1 && strcmp(ctl->argv[0], "add") == 0)
        return silence_add(ctl);
    if (ctl->argc >= 1 && strcmp(ctl->argv[0], "list") == 0) {
        bool expired = false;
        for (int i = 1; i < ctl->argc; i++) {
            if (strcmp(ctl->argv[i], "--expired") == 0)
                expired = true;
            else if (strcmp(ctl->argv[i], "--limit") == 0 && i + 1 < ctl->argc)
                i++;
            else
                return -1;
        }
        return ctl_list(ctl, expired ? "/api/v1/silences?expired=true" : "/api/v1/silences",
                        "silences", 1);
    }
    if (ctl->argc == 2 && strcmp(ctl->argv[0], "expire") == 0 && all_digits(ctl->argv[1])) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/silences/%s", ctl->argv[1]);
        return ctl_simple(ctl, "DELETE", path);
    }
    return -1;
}
