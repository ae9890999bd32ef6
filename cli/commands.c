/* scaleupctl commands of the features: pushing data, roadmaps and progress, rules and
 * alerts. Each is a thin layer over one HTTP endpoint. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"

/* text/csv for a .csv file (any case), JSON otherwise. */
static const char *push_content_type(const char *file)
{
    size_t len = strlen(file);
    if (len >= 4 && strcasecmp(file + len - 4, ".csv") == 0)
        return "text/csv";
    return "application/json";
}

/* A slug as the server accepts it, so it can go into the path as it is. */
static bool push_slug_ok(const char *slug)
{
    if (slug == NULL || slug[0] == '\0' || strlen(slug) > 63)
        return false;
    return strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(slug);
}

/* Prints an import report: the JSON on stdout, a summary and each rejected row on stderr.
 * Returns 0 when every row was accepted, 1 otherwise. */
static int push_report(long status, const char *answer)
{
    json_t *doc = json_loads(answer, 0, NULL);
    if (!json_is_object(doc) || json_object_get(doc, "rejected") == NULL) {
        json_decref(doc);
        int rc = ctl_report(status, answer);
        return rc == 0 ? 1 : rc; /* a 2xx without a report is not a success either */
    }
    char *pretty = json_dumps(doc, CTL_PRETTY_JSON);
    printf("%s\n", pretty ? pretty : answer);
    free(pretty);
    json_int_t rejected = json_integer_value(json_object_get(doc, "rejected"));
    fprintf(stderr, "%lld rows: %lld imported, %lld updated, %lld unchanged, %lld rejected%s\n",
            (long long)json_integer_value(json_object_get(doc, "rows")),
            (long long)json_integer_value(json_object_get(doc, "imported")),
            (long long)json_integer_value(json_object_get(doc, "updated")),
            (long long)json_integer_value(json_object_get(doc, "unchanged")), (long long)rejected,
            json_is_true(json_object_get(doc, "dry_run")) ? " (dry run: nothing stored)" : "");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(doc, "rejections"), i, r)
    {
        fprintf(stderr, "  row %lld, %s: %s: %s\n",
                (long long)json_integer_value(json_object_get(r, "row")),
                json_string_value(json_object_get(r, "field")),
                json_string_value(json_object_get(r, "code")),
                json_string_value(json_object_get(r, "message")));
    }
    int rc = status >= 200 && status < 300 && rejected == 0 ? 0 : 1;
    json_decref(doc);
    return rc;
}

/* push FILE [--programme SLUG] [--dry-run] [--atomic] */
static int cmd_push(struct ctl *ctl)
{
    const char *file = NULL, *slug = getenv("SCALEUPD_PROGRAMME");
    bool dry_run = false, atomic = false;
    for (int i = 0; i < ctl->argc; i++) {
        if (strcmp(ctl->argv[i], "--programme") == 0 && i + 1 < ctl->argc)
            slug = ctl->argv[++i];
        else if (strcmp(ctl->argv[i], "--dry-run") == 0)
            dry_run = true;
        else if (strcmp(ctl->argv[i], "--atomic") == 0)
            atomic = true;
        else if (file == NULL && (ctl->argv[i][0] != '-' || strcmp(ctl->argv[i], "-") == 0))
            file = ctl->argv[i];
        else
            return -1;
    }
    if (file == NULL)
        return -1;
    if (!push_slug_ok(slug)) {
        fprintf(stderr, "scaleupctl: push needs --programme SLUG (or $SCALEUPD_PROGRAMME)\n");
        return 2;
    }
    size_t len;
    char *data = ctl_read_file(file, &len);
    if (data == NULL)
        return 1;
    char path[256], *answer;
    snprintf(path, sizeof(path), "/api/v1/programmes/%s/observations%s%s%s", slug,
             dry_run || atomic ? "?" : "", dry_run ? "dry_run=true" : "",
             atomic ? (dry_run ? "&atomic=true" : "atomic=true") : "");
    long status = ctl_http(ctl, "POST", path, push_content_type(file), data, len, &answer);
    free(data);
    int rc = push_report(status, answer);
    free(answer);
    return rc;
}

const struct command ctl_feature_commands[] = {
    {"push", cmd_push,
     "push FILE [--programme SLUG] [--dry-run] [--atomic]   (.csv as CSV, else JSON; exits 1\n"
     "    when any row was rejected; SLUG defaults to $SCALEUPD_PROGRAMME)"},
    {"roadmap", ctl_cmd_roadmap,
     "roadmap apply FILE [--programme SLUG]   (a new version; SLUG defaults to the file's\n"
     "    \"programme\") | roadmap show SLUG"},
    {"progress", ctl_cmd_progress, "progress SLUG [--at YYYY-MM-DD] [--by-region] [--json]"},
    {"rule", ctl_cmd_rule,
     "rule apply FILE | rule list | rule delete NAME   (--programme SLUG, or\n"
     "    $SCALEUPD_PROGRAMME)"},
    {"receiver", ctl_cmd_receiver,
     "receiver apply FILE | receiver list | receiver test NAME   (--programme SLUG)"},
    {"alerts", ctl_cmd_alerts,
     "alerts [--programme SLUG] [--state STATE] [--indicator CODE] [--site CODE] [--limit N]"},
    {"revisions", ctl_cmd_revisions,
     "revisions SLUG [--indicator CODE] [--site CODE] [--from DATE] [--to DATE] [--limit N]"},
    {"alert", ctl_cmd_alert,
     "alert show ID | alert ack ID [--by NAME] [--comment TEXT]   (who defaults to $USER)\n"
     "    | alert list [the filters of alerts]"},
    {"ack", ctl_cmd_ack, "ack ALERT_ID [--by NAME] [--comment TEXT]   (as alert ack)"},
    {"incidents", ctl_cmd_incidents,
     "incidents list [--programme SLUG] [--open] [--kind late_feed|signal|alert] [--limit N]\n"
     "    | incidents show ID | incidents ack ID [--by NAME] [--comment TEXT]   (who defaults\n"
     "    to $USER; acknowledges every open member)"},
    {"silence", ctl_cmd_silence,
     "silence add [MATCHER...] (--duration 2h|3d | --ends TIME) [--starts TIME]\n"
     "    [--author NAME (default $USER)] [--reason TEXT] [--programme SLUG]\n"
     "    [--indicator CODE] [--site CODE] [--region CODE] [--rule NAME] [--kind KIND]\n"
     "    (MATCHER: name=value, name!=value, name=~regex, name!~regex) |\n"
     "    silence list [--expired] [--limit N] | silence expire ID"},
    {NULL, NULL, NULL},
};
