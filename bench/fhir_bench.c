/*
 * FHIR parse benchmark: builds a batch Bundle of N MeasureReports in memory (the WHO ANC.IND.01
 * report's shape: one group, three populations, a reporter identifier among 1,000 mapped
 * sites, a month from 2000-01 on) and parses it once with obs_parse_fhir. bench/parse.sh runs
 * it under callgrind for N and 2N reports and counts only the parse call: a point is a group.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/parse_fhir.h"

#define SITES 1000

/* A programme document: the indicator, 1,000 sites, the measure and their identifiers. */
static json_t *programme(void)
{
    json_t *sites = json_array(), *orgs = json_array();
    for (int i = 0; i < SITES; i++) {
        char code[32], value[32];
        snprintf(code, sizeof(code), "GP%04d", i);
        snprintf(value, sizeof(value), "FAC-%04d", i);
        json_array_append_new(
            sites, json_pack("{s:s,s:s,s:s}", "code", code, "name", code, "level", "practice"));
        json_array_append_new(orgs,
                              json_pack("{s:s,s:{s:s,s:s}}", "site", code, "identifier", "system",
                                        "http://example.org/facility", "value", value));
    }
    return json_pack(
        "{s:s,s:s,s:o,s:[{s:s,s:s,s:s,s:s}],s:{s:[{s:s,s:[{s:s,s:s,s:s}]}],s:o}}", "slug", "bench",
        "name", "bench", "sites", sites, "indicators", "code", "anc_contact1", "name", "a",
        "value_type", "count", "period_type", "monthly", "fhir", "measures", "url",
        "http://fhir.org/guides/who/anc-cds/Measure/anc-ind-01", "groups", "id", "group-1",
        "indicator", "anc_contact1", "value", "numerator", "organizations", orgs);
}

static void append(char **body, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 1 << 16;
        *body = xrealloc(*body, *cap);
    }
    memcpy(*body + *len, s, n);
    *len += n;
    (*body)[*len] = '\0';
}

static int format_report(char *buf, size_t size, size_t i)
{
    unsigned site = (unsigned)(i % SITES), month = (unsigned)(i / SITES);
    unsigned year = 2000 + month / 12, mon = month % 12 + 1;
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    unsigned last = days[mon - 1] + (mon == 2 && leap);
    return snprintf(
        buf, size,
        "%s{\"resource\":{\"resourceType\":\"MeasureReport\",\"status\":\"complete\",\"type\":"
        "\"summary\",\"measure\":\"http://fhir.org/guides/who/anc-cds/Measure/anc-ind-01\","
        "\"reporter\":{\"identifier\":{\"system\":\"http://example.org/facility\",\"value\":"
        "\"FAC-%04u\"}},\"period\":{\"start\":\"%u-%02u-01\",\"end\":\"%u-%02u-%02u\"},"
        "\"group\":[{\"id\":\"group-1\",\"population\":["
        "{\"code\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "measure-population\",\"code\":\"initial-population\"}]},\"count\":%zu},"
        "{\"code\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "measure-population\",\"code\":\"denominator\"}]},\"count\":%zu},"
        "{\"code\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "measure-population\",\"code\":\"numerator\"}]},\"count\":%zu}]}]},"
        "\"request\":{\"method\":\"POST\",\"url\":\"MeasureReport\"}}",
        i ? "," : "", site, year, mon, year, mon, last, i % 300 + 20, i % 300 + 10, i % 300);
}

int main(int argc, char **argv)
{
    char *end;
    unsigned long reports = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
    if (argc != 2 || *end != '\0' || reports == 0 || reports > OBS_MAX_ROWS) {
        fprintf(stderr, "usage: fhir_bench REPORTS (1..%d)\n", OBS_MAX_ROWS);
        return 2;
    }
    json_t *doc = programme(), *problems = NULL;
    struct fhir_map *map = fhir_map_from_doc(doc, &problems);
    json_decref(doc);
    if (map == NULL) {
        fprintf(stderr, "fhir_bench: the mapping does not check\n");
        return 2;
    }
    char *body = NULL, report[1024];
    size_t len = 0, cap = 0;
    const char *head = "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[";
    append(&body, &len, &cap, head, strlen(head));
    for (size_t i = 0; i < reports; i++)
        append(&body, &len, &cap, report, (size_t)format_report(report, sizeof(report), i));
    append(&body, &len, &cap, "]}", 2);
    struct obs_batch *batch = obs_batch_new();
    struct obs_parse_error err;
    enum obs_parse_status status = obs_parse_fhir(body, len, FHIR_EXPECT_BUNDLE, map, batch, &err);
    int rc = 0;
    if (status != OBS_PARSE_OK || batch->n_rows != reports || batch->n_rejects != 0) {
        fprintf(stderr, "fhir_bench: %s: %zu rows, %zu rejected (%s %s; first reject: %s)\n",
                obs_parse_status_name(status), batch->n_rows, batch->n_rejects, err.code,
                err.message, batch->n_rejects ? batch->rejects[0].message : "none");
        rc = 1;
    } else {
        printf("fhir: %lu reports, %zu bytes (%.1f bytes/report)\n", reports, len,
               (double)len / (double)reports);
    }
    obs_batch_free(&batch);
    fhir_map_free(&map);
    free(body);
    return rc;
}
