/*
 * Parse benchmark: builds N synthetic observations in memory as JSON, CSV or a DHIS2 data
 * value set and parses them once with obs_parse_json / obs_parse_csv / obs_parse_dhis2.
 * bench/parse.sh runs it under callgrind for N and 2N rows and counts only the parse call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/obs_parse.h"

struct text {
    char *data;
    size_t len;
    size_t cap;
};

static void append(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1 << 16;
        while (t->len + n + 1 > cap)
            cap *= 2;
        t->data = xrealloc(t->data, cap);
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void append_str(struct text *t, const char *s)
{
    append(t, s, strlen(s));
}

static const char *const indicators[] = {"patients_enrolled", "eligible_population",
                                         "hba1c_tested_pct", "bp_controlled_pct"};

/* Row i: a site among 1000 practices, a month from 2000-01 on, one of four indicators;
 * percentages (every other indicator) carry a numerator and a denominator. */
static int format_row(char *buf, size_t size, const char *format, size_t i)
{
    const char *indicator = indicators[i % 4];
    unsigned site = (unsigned)(i / 4 % 1000), month = (unsigned)(i / 4000);
    unsigned year = 2000 + month / 12, mon = month % 12 + 1;
    bool ratio = i % 2 == 1;
    double value = ratio ? 50 + (double)(i % 500) / 10 : (double)(i % 2000);
    unsigned numerator = (unsigned)(i % 90), denominator = 100;
    if (strcmp(format, "csv") == 0)
        return ratio ? snprintf(buf, size, "%s,BE-VLG-GP%04u,%u-%02u,%.1f,%u,%u\n", indicator, site,
                                year, mon, value, numerator, denominator)
                     : snprintf(buf, size, "%s,BE-VLG-GP%04u,%u-%02u,%.0f,,\n", indicator, site,
                                year, mon, value);
    if (strcmp(format, "dhis2") == 0)
        return snprintf(buf, size,
                        "%s{\"dataElement\":\"%s\",\"period\":\"%u%02u\",\"orgUnit\":"
                        "\"BE-VLG-GP%04u\",\"categoryOptionCombo\":\"HllvX50cXC0\","
                        "\"value\":\"%.1f\"}",
                        i ? "," : "", indicator, year, mon, site, value);
    if (ratio)
        return snprintf(buf, size,
                        "%s{\"indicator\":\"%s\",\"site\":\"BE-VLG-GP%04u\",\"period\":"
                        "\"%u-%02u\",\"value\":%.1f,\"numerator\":%u,\"denominator\":%u}",
                        i ? "," : "", indicator, site, year, mon, value, numerator, denominator);
    return snprintf(buf, size,
                    "%s{\"indicator\":\"%s\",\"site\":\"BE-VLG-GP%04u\",\"period\":\"%u-%02u\","
                    "\"value\":%.0f}",
                    i ? "," : "", indicator, site, year, mon, value);
}

static void build_body(struct text *t, const char *format, size_t rows)
{
    char row[512];
    if (strcmp(format, "csv") == 0)
        append_str(t, "indicator,site,period,value,numerator,denominator\n");
    else if (strcmp(format, "dhis2") == 0)
        append_str(t, "{\"dataSet\":\"pBOMPrpg1QX\",\"dataValues\":[");
    else
        append_str(t, "{\"observations\":[");
    for (size_t i = 0; i < rows; i++) {
        int n = format_row(row, sizeof row, format, i);
        append(t, row, (size_t)n);
    }
    if (strcmp(format, "csv") != 0)
        append_str(t, "]}");
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "json") != 0 && strcmp(argv[1], "csv") != 0 &&
                      strcmp(argv[1], "dhis2") != 0)) {
        fprintf(stderr, "usage: parse_bench json|csv|dhis2 ROWS\n");
        return 2;
    }
    char *end;
    unsigned long rows = strtoul(argv[2], &end, 10);
    if (*end != '\0' || rows == 0 || rows > OBS_MAX_ROWS) {
        fprintf(stderr, "parse_bench: ROWS must be 1..%d\n", OBS_MAX_ROWS);
        return 2;
    }
    struct text body = {0};
    struct obs_batch *batch = obs_batch_new();
    struct obs_parse_error err;
    build_body(&body, argv[1], rows);
    enum obs_parse_status status;
    if (strcmp(argv[1], "json") == 0)
        status = obs_parse_json(body.data, body.len, batch, &err);
    else if (strcmp(argv[1], "csv") == 0)
        status = obs_parse_csv(body.data, body.len, batch, &err);
    else
        status = obs_parse_dhis2(body.data, body.len, batch, &err);
    int rc = 0;
    if (status != OBS_PARSE_OK || batch->n_rows != rows || batch->n_rejects != 0) {
        fprintf(stderr, "parse_bench: %s: %zu rows, %zu rejected (%s %s; first reject: %s)\n",
                obs_parse_status_name(status), batch->n_rows, batch->n_rejects, err.code,
                err.message, batch->n_rejects ? batch->rejects[0].message : "none");
        rc = 1;
    } else {
        printf("%s: %lu rows, %zu bytes (%.1f bytes/row)\n", argv[1], rows, body.len,
               (double)body.len / (double)rows);
    }
    obs_batch_free(&batch);
    free(body.data);
    return rc;
}
