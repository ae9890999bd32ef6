/* The metrics registry: a small array of families and series under one mutex; a scrape
 * renders all of it. Series counts stay in the hundreds, so linear search is fine. */
#include "scaleupd/core/metrics.h"

#include "scaleupd/core/alloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 64
#define MAX_LABELS 160

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct family {
    char name[MAX_NAME];
    enum metric_type type;
    char help[160];
};

struct series {
    char name[MAX_NAME];
    char labels[MAX_LABELS];
    double value;
};

struct histogram {
    char route[MAX_LABELS];
    unsigned long long counts[N_BUCKETS];
    unsigned long long count;
    double sum;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct family *families;
static size_t n_families;
static struct series *series;
static size_t n_series;
static struct histogram *histograms;
static size_t n_histograms;

static void *grow(void *array, size_t n, size_t size)
{
    void *p = xrealloc(array, (n + 1) * size);
    return p;
}

void metrics_describe(const char *name, enum metric_type type, const char *help)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_families; i++)
        if (strcmp(families[i].name, name) == 0)
            goto out;
    families = grow(families, n_families, sizeof(*families));
    struct family *f = &families[n_families++];
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->type = type;
    snprintf(f->help, sizeof(f->help), "%s", help);
out:
    pthread_mutex_unlock(&lock);
}

static struct series *find_series(const char *name, const char *labels)
{
    for (size_t i = 0; i < n_series; i++)
        if (strcmp(series[i].name, name) == 0 && strcmp(series[i].labels, labels) == 0)
            return &series[i];
    series = grow(series, n_series, sizeof(*series));
    struct series *s = &series[n_series++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->labels, sizeof(s->labels), "%s", labels);
    s->value = 0;
    return s;
}

void metrics_add(const char *name, const char *labels, double delta)
{
    pthread_mutex_lock(&lock);
    find_series(name, labels)->value += delta;
    pthread_mutex_unlock(&lock);
}

void metrics_set(const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&lock);
    find_series(name, labels)->value = value;
    pthread_mutex_unlock(&lock);
}

void metrics_observe_request(const char *route, int status, double seconds)
{
    char labels[MAX_LABELS];
    snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"", route, status);
    pthread_mutex_lock(&lock);
    find_series("scaleupd_http_requests_total", labels)->value += 1;
    struct histogram *h = NULL;
    for (size_t i = 0; i < n_histograms && h == NULL; i++)
        if (strcmp(histograms[i].route, route) == 0)
            h = &histograms[i];
    if (h == NULL) {
        histograms = grow(histograms, n_histograms, sizeof(*histograms));
        h = &histograms[n_histograms++];
        memset(h, 0, sizeof(*h));
        snprintf(h->route, sizeof(h->route), "%s", route);
    }
    for (size_t b = 0; b < N_BUCKETS; b++)
        if (seconds <= buckets[b])
            h->counts[b]++;
    h->count++;
    h->sum += seconds;
    pthread_mutex_unlock(&lock);
}

struct text {
    char *buf;
    size_t len, cap;
};

static void append(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (n > 0 ? (size_t)n : 0);
        t->buf = xrealloc(t->buf, t->cap);
    }
}

static void render_histograms(struct text *t)
{
    append(t, "# HELP scaleupd_http_request_duration_seconds Time from request to reply.\n"
              "# TYPE scaleupd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n_histograms; i++) {
        const struct histogram *h = &histograms[i];
        for (size_t b = 0; b < N_BUCKETS; b++)
            append(t,
                   "scaleupd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                   h->route, buckets[b], h->counts[b]);
        append(t, "scaleupd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
               h->route, h->count);
        append(t, "scaleupd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", h->route,
               h->sum);
        append(t, "scaleupd_http_request_duration_seconds_count{route=\"%s\"} %llu\n", h->route,
               h->count);
    }
}

char *metrics_render(size_t *len)
{
    struct text t = {xmalloc(4096), 0, 4096};
    t.buf[0] = '\0';
    pthread_mutex_lock(&lock);
    for (size_t f = 0; f < n_families; f++) {
        append(&t, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
               families[f].name, families[f].type == METRIC_COUNTER ? "counter" : "gauge");
        for (size_t i = 0; i < n_series; i++) {
            if (strcmp(series[i].name, families[f].name) != 0)
                continue;
            if (series[i].labels[0])
                append(&t, "%s{%s} %.17g\n", series[i].name, series[i].labels, series[i].value);
            else
                append(&t, "%s %.17g\n", series[i].name, series[i].value);
        }
    }
    render_histograms(&t);
    pthread_mutex_unlock(&lock);
    *len = t.len;
    return t.buf;
}

void metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    free(families);
    free(series);
    free(histograms);
    families = NULL, series = NULL, histograms = NULL;
    n_families = n_series = n_histograms = 0;
    pthread_mutex_unlock(&lock);
}
