/* scaleupctl roadmap and progress commands: apply a roadmap file (a new version each time),
 * and print a programme's progress as a table of the three dimensions. */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static bool slug_ok(const char *slug)
{
    if (slug == NULL || slug[0] == '\0' || strlen(slug) > 63)
        return false;
    return strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(slug);
}

/* roadmap apply FILE [--programme SLUG] | roadmap show SLUG */
int ctl_cmd_roadmap(struct ctl *ctl)
{
    char path[256];
    if (ctl->argc == 2 && strcmp(ctl->argv[0], "show") == 0 && slug_ok(ctl->argv[1])) {
        snprintf(path, sizeof(path), "/api/v1/programmes/%s/roadmap", ctl->argv[1]);
        return ctl_simple(ctl, "GET", path);
    }
    if (ctl->argc < 2 || strcmp(ctl->argv[0], "apply") != 0)
        return -1;
    const char *file = ctl->argv[1], *slug = NULL;
    for (int i = 2; i < ctl->argc; i++) {
        if (strcmp(ctl->argv[i], "--programme") == 0 && i + 1 < ctl->argc)
            slug = ctl->argv[++i];
        else
            return -1;
    }
    size_t len;
    char *data = ctl_read_file(file, &len);
    if (data == NULL)
        return 1;
    json_t *doc = slug ? NULL : json_loadb(data, len, 0, NULL);
    if (slug == NULL)
        slug = json_string_value(json_object_get(doc, "programme"));
    int rc = 2;
    if (!slug_ok(slug)) {
        fprintf(stderr, "scaleupctl: the roadmap names no programme: use --programme SLUG\n");
        goto out;
    }
    snprintf(path, sizeof(path), "/api/v1/programmes/%s/roadmap", slug);
    char *answer;
    long status = ctl_http(ctl, "PUT", path, "application/json", data, len, &answer);
    rc = ctl_report(status, answer);
    free(answer);
out:
    json_decref(doc);
    free(data);
    return rc;
}

/* A value of the dimension's unit: a percentage for fractions, a count for expansion. */
static void format_value(const json_t *v, bool fraction, char *buf, size_t size)
{
    if (!json_is_number(v))
        snprintf(buf, size, "-");
    else if (fraction)
        snprintf(buf, size, "%.1f %%", json_number_value(v) * 100.0);
    else
        snprintf(buf, size, "%.1f", json_number_value(v));
}

static void print_row(const char *name, const json_t *m, bool fraction)
{
    char actual[32], planned[32], gap[32], progress[32];
    format_value(json_object_get(m, "actual"), fraction, actual, sizeof(actual));
    format_value(json_object_get(m, "planned"), fraction, planned, sizeof(planned));
    format_value(json_object_get(m, "gap"), fraction, gap, sizeof(gap));
    format_value(json_object_get(m, "progress"), true, progress, sizeof(progress));
    const json_t *f = json_object_get(m, "forecast");
    printf("%-24s %10s %10s %10s %10s  %-9s %s\n", name, actual, planned, gap, progress,
           json_string_value(json_object_get(m, "status")),
           json_is_string(f) ? json_string_value(f) : "-");
}

static void print_items(const json_t *inst)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(inst, "items"), i, item)
    {
        const json_t *score = json_object_get(item, "score");
        const char *comment = json_string_value(json_object_get(item, "comment"));
        const char *due = json_string_value(json_object_get(item, "due"));
        char scored[16] = "-", key[128], said[1024];
        if (json_is_number(score))
            snprintf(scored, sizeof(scored), "%.0f", json_number_value(score));
        printf("  %-24s score %s/%lld  due %s%s%s%s%s\n",
               ctl_printable(json_string_value(json_object_get(item, "key")), key, sizeof(key)),
               scored, (long long)json_integer_value(json_object_get(item, "target")),
               due ? due : "-", json_is_true(json_object_get(item, "overdue")) ? "  OVERDUE" : "",
               comment ? "  \"" : "", comment ? ctl_printable(comment, said, sizeof(said)) : "",
               comment ? "\"" : "");
    }
}

static void print_regions(const json_t *doc)
{
    size_t i;
    json_t *r;
    if (json_array_size(json_object_get(doc, "regions")) == 0)
        return;
    printf("\n%-24s %10s %10s %-9s %s\n", "region", "coverage", "planned", "status",
           "active sites");
    json_array_foreach(json_object_get(doc, "regions"), i, r)
    {
        const json_t *cov = json_object_get(r, "coverage");
        const json_t *exp = json_object_get(r, "expansion");
        char actual[32], planned[32], name[128];
        format_value(json_object_get(cov, "actual"), true, actual, sizeof(actual));
        format_value(json_object_get(cov, "planned"), true, planned, sizeof(planned));
        const char *status = json_string_value(json_object_get(cov, "status"));
        printf("%-24s %10s %10s %-9s %lld of %lld adopted\n",
               ctl_printable(json_string_value(json_object_get(r, "name")), name, sizeof(name)),
               actual, planned, status ? status : "-",
               (long long)json_integer_value(json_object_get(exp, "active_sites")),
               (long long)json_integer_value(json_object_get(exp, "adopted_sites")));
    }
    const json_t *lag = json_object_get(doc, "lagging_region");
    char name[128];
    if (json_is_object(lag))
        printf("lagging most: %s\n",
               ctl_printable(json_string_value(json_object_get(lag, "name")), name, sizeof(name)));
}

static void print_progress(const json_t *doc)
{
    const json_t *dims = json_object_get(doc, "dimensions");
    const json_t *rm = json_object_get(doc, "roadmap");
    printf("%s at %s (roadmap version %lld, months up to %s)\n\n",
           json_string_value(json_object_get(doc, "programme")),
           json_string_value(json_object_get(doc, "at")),
           (long long)json_integer_value(json_object_get(rm, "version")),
           json_string_value(json_object_get(doc, "period")));
    printf("%-24s %10s %10s %10s %10s  %-9s %s\n", "dimension", "actual", "planned", "gap",
           "progress", "status", "forecast");
    const json_t *cov = json_object_get(dims, "coverage");
    const json_t *exp = json_object_get(dims, "expansion");
    const json_t *inst = json_object_get(dims, "institutionalisation");
    if (cov != NULL)
        print_row("coverage", cov, true);
    if (exp != NULL) {
        print_row("expansion: sites", json_object_get(exp, "sites"), false);
        print_row("expansion: regions", json_object_get(exp, "regions"), false);
    }
    if (inst != NULL) {
        print_row("institutionalisation", inst, true);
        print_items(inst);
    }
    print_regions(doc);
}

/* progress SLUG [--at DATE] [--by-region] [--json] */
int ctl_cmd_progress(struct ctl *ctl)
{
    if (ctl->argc < 1 || !slug_ok(ctl->argv[0]))
        return -1;
    const char *at = NULL;
    bool by_region = false, raw = false;
    for (int i = 1; i < ctl->argc; i++) {
        if (strcmp(ctl->argv[i], "--at") == 0 && i + 1 < ctl->argc &&
            strspn(ctl->argv[i + 1], "0123456789-") == strlen(ctl->argv[i + 1]))
            at = ctl->argv[++i];
        else if (strcmp(ctl->argv[i], "--by-region") == 0)
            by_region = true;
        else if (strcmp(ctl->argv[i], "--json") == 0)
            raw = true;
        else
            return -1;
    }
    char path[256], *answer;
    snprintf(path, sizeof(path), "/api/v1/programmes/%s/progress%s%s%s%s", ctl->argv[0],
             at || by_region ? "?" : "", at ? "at=" : "", at ? at : "",
             by_region ? (at ? "&by=region" : "by=region") : "");
    long status = ctl_http(ctl, "GET", path, NULL, NULL, 0, &answer);
    json_t *doc = json_loads(answer, 0, NULL);
    int rc;
    if (status == 200 && json_is_object(doc) && !raw) {
        print_progress(doc);
        rc = 0;
    } else {
        rc = ctl_report(status, answer);
    }
    json_decref(doc);
    free(answer);
    return rc;
}
