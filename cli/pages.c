/* scaleupctl over the API's paginated lists: every page fetched through its
 * `Link: <…>; rel="next"` and printed as one answer, so that a list longer than a page is
 * never cut off without a word (docs/ARCHITECTURE.md, "Lists and pages"). */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* A bound on the pages followed, against a server that never ends its list. */
#define CTL_MAX_PAGES 1000000L

long ctl_limit_option(const struct ctl *ctl, int from)
{
    long limit = 0;
    for (int i = from; i < ctl->argc; i++) {
        if (strcmp(ctl->argv[i], "--limit") != 0)
            continue;
        if (i + 1 >= ctl->argc)
            return -1;
        const char *text = ctl->argv[i + 1];
        char *end = NULL;
        errno = 0;
        limit = strtol(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0' || limit < 1 || limit > 1000000000L)
            return -1;
    }
    return limit;
}

/* path with ?limit= (or &limit=) n appended into buf. */
static void with_limit(const char *path, long n, char *buf, size_t size)
{
    snprintf(buf, size, "%s%climit=%ld", path, strchr(path, '?') ? '&' : '?', n);
}

/* Appends the items of one page's answer to all; false (reported) when it is not a list. */
static bool take_items(const char *body, const char *key, json_t *all, long max)
{
    json_t *doc = json_loads(body, 0, NULL);
    json_t *items = json_object_get(doc, key);
    bool ok = json_is_array(items);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        if (max > 0 && (long)json_array_size(all) >= max)
            break;
        json_array_append(all, item);
    }
    if (!ok)
        fprintf(stderr, "scaleupctl: the answer has no \"%s\" list\n", key);
    json_decref(doc);
    return ok;
}

static void print_all(const char *key, json_t *all)
{
    json_t *doc = json_pack("{s:o}", key, all);
    char *pretty = json_dumps(doc, CTL_PRETTY_JSON);
    printf("%s\n", pretty ? pretty : "");
    free(pretty);
    json_decref(doc);
}

int ctl_list(const struct ctl *ctl, const char *path, const char *key, int from)
{
    long max = ctl_limit_option(ctl, from);
    if (max < 0) {
        fprintf(stderr, "scaleupctl: --limit takes a number from 1 to 1000000000\n");
        return 1;
    }
    char current[4096], next[4096];
    if (max > 0)
        with_limit(path, max < 1000 ? max : 1000, current, sizeof(current));
    else
        snprintf(current, sizeof(current), "%s", path);
    json_t *all = json_array();
    for (long pages = 0; current[0] != '\0'; pages++) {
        char *answer = NULL;
        long status = ctl_http_page(ctl, current, &answer, next, sizeof(next));
        bool ok = status >= 200 && status < 300 && take_items(answer, key, all, max);
        if (!ok && (status < 200 || status >= 300))
            ctl_report(status, answer);
        free(answer);
        if (!ok || pages >= CTL_MAX_PAGES || strcmp(next, current) == 0) {
            if (ok)
                fprintf(stderr, "scaleupctl: the server's list does not end\n");
            json_decref(all);
            return 1;
        }
        bool full = max > 0 && (long)json_array_size(all) >= max;
        if (full && next[0] != '\0')
            fprintf(stderr, "scaleupctl: more %s follow than the %ld shown (--limit)\n", key, max);
        snprintf(current, sizeof(current), "%s", full ? "" : next);
    }
    print_all(key, all);
    return 0;
}
