/* The FHIR routes' answers (fhir_outcome.h): issues with FHIRPath expressions from the rows'
 * origins, OperationOutcomes, batch- and transaction-response Bundles, and the import counts
 * as an extension. Pure: JSON in, JSON out. */
#include "scaleupd/core/fhir_outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/parse_fhir.h"

#define EXPRESSION_MAX 160

const char *fhir_issue_type(const char *ours)
{
    static const char *const table[][2] = {
        {"missing_field", "required"},
        {"invalid_type", "structure"},
        {"invalid_document", "structure"},
        {"malformed_json", "structure"},
        {"too_deep", "structure"},
        {"empty_body", "required"},
        {"empty_batch", "required"},
        {"invalid_value", "value"},
        {"invalid_period", "value"},
        {"invalid_utf8", "value"},
        {"too_long", "too-long"},
        {"too_large", "too-costly"},
        {"too_many_rows", "too-costly"},
        {"unknown_measure", "not-found"},
        {"unknown_reporter", "not-found"},
        {"unknown_indicator", "not-found"},
        {"unknown_site", "not-found"},
        {"site_not_in_programme", "not-found"},
        {"not_a_measure_report", "not-supported"},
        {"unsupported_type", "not-supported"},
        {"unsupported_status", "not-supported"},
        {"unsupported_request", "not-supported"},
        {"duplicate_key", "duplicate"},
        {"entry_rejected", "processing"},
        /* the refusals of a request as a whole (edge/fhir_reply.h) */
        {"unauthenticated", "login"},
        {"invalid_credentials", "login"},
        {"invalid_token", "login"},
        {"forbidden", "forbidden"},
        {"not_found", "not-supported"},
        {"method_not_allowed", "not-supported"},
        {"unsupported_media_type", "not-supported"},
        {"not_acceptable", "not-supported"},
        {"not_implemented", "not-supported"},
        {"http_version_not_supported", "not-supported"},
        {"expectation_failed", "not-supported"},
        {"unknown_programme", "not-found"},
        {"missing_programme", "required"},
        {"invalid_parameter", "invalid"},
        {"unknown_parameter", "invalid"},
        {"duplicate_parameter", "invalid"},
        {"missing_parameter", "required"},
        {"invalid_query", "invalid"},
        {"invalid_encoding", "invalid"},
        {"invalid_idempotency_key", "invalid"},
        {"invalid_prefer", "invalid"},
        {"idempotency_key_reused", "conflict"},
        {"invalid_json", "structure"},
        {"malformed_request", "structure"},
        {"body_too_large", "too-costly"},
        {"headers_too_large", "too-costly"},
        {"rate_limited", "throttled"},
        {"header_timeout", "timeout"},
        {"body_timeout", "timeout"},
        {"too_many_connections", "transient"},
        {"overloaded", "transient"},
        {"conflict_retry", "transient"},
        {"database_unavailable", "transient"},
        {"internal", "exception"},
        {"response_too_large", "exception"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i][0], ours) == 0)
            return table[i][1];
    return "business-rule"; /* period_mismatch, future_period, out_of_range, not_computable */
}

/* 400 for an issue about the request's form, 422 for one about what it says. */
static int issue_status(const char *type)
{
    static const char *const form[] = {"required", "structure",     "value",
                                       "too-long", "not-supported", NULL};
    for (const char *const *f = form; *f != NULL; f++)
        if (strcmp(*f, type) == 0)
            return 400;
    return 422;
}

/* The element of the resource (or entry) that a reject is about. */
static const char *report_base(const struct obs_fhir_origin *o, char *buf, size_t size)
{
    if (o->entry < 0)
        snprintf(buf, size, "MeasureReport");
    else
        snprintf(buf, size, "Bundle.entry[%d].resource", (int)o->entry);
    return buf;
}

/* The population count a field came from, or the group. */
static void group_element(char *buf, size_t size, const char *group, int32_t population,
                          const char *tail)
{
    if (population >= 0)
        snprintf(buf, size, "%s.population[%d].count", group, (int)population);
    else
        snprintf(buf, size, "%s%s", group, tail);
}

static void expression(const struct obs_batch *b, uint32_t row, const char *field, char *buf,
                       size_t size)
{
    const struct obs_fhir_origin *o = &b->fhir->origins[row - 1];
    char base[64], group[96];
    report_base(o, base, sizeof(base));
    bool about_entry =
        strcmp(field, "") == 0 || strcmp(field, "request") == 0 || strcmp(field, "resource") == 0;
    if (o->group < 0 && o->entry >= 0 && about_entry) {
        snprintf(buf, size, "Bundle.entry[%d]%s%s", (int)o->entry, field[0] ? "." : "", field);
        return;
    }
    if (o->group < 0) {
        snprintf(buf, size, "%s%s%s", base, field[0] ? "." : "", field);
        return;
    }
    snprintf(group, sizeof(group), "%s.group[%d]", base, (int)o->group);
    if (strcmp(field, "site") == 0)
        snprintf(buf, size, "%s.reporter", base);
    else if (strcmp(field, "period") == 0)
        snprintf(buf, size, "%s.period", base);
    else if (strcmp(field, "numerator") == 0)
        group_element(buf, size, group, o->numerator_from, "");
    else if (strcmp(field, "denominator") == 0)
        group_element(buf, size, group, o->denominator_from, "");
    else if (strcmp(field, "value") == 0 && o->source == FHIR_VALUE_MEASURE_SCORE)
        snprintf(buf, size, "%s.measureScore.value", group);
    else if (strcmp(field, "value") == 0)
        group_element(buf, size, group, o->value_from, "");
    else
        snprintf(buf, size, "%s", group);
}

/* The diagnostics of a reject: its message, but a duplicate names the other group by its
 * expression rather than by our row number ("row N has the same ..."). */
static void diagnostics(const struct obs_batch *b, const struct obs_reject *r, char *buf,
                        size_t size)
{
    if (strcmp(r->code, "duplicate_key") == 0 && strncmp(r->message, "row ", 4) == 0) {
        char *end;
        unsigned long other = strtoul(r->message + 4, &end, 10);
        if (other >= 1 && other <= b->n_rows) {
            char where[EXPRESSION_MAX];
            expression(b, (uint32_t)other, "", where, sizeof(where));
            snprintf(buf, size, "%s%s: neither is stored", where, end);
            return;
        }
    }
    snprintf(buf, size, "%s", r->message);
}

static json_t *issue(const struct obs_batch *b, const struct obs_reject *r)
{
    char where[EXPRESSION_MAX], text[600];
    expression(b, r->row, r->field, where, sizeof(where));
    diagnostics(b, r, text, sizeof(text));
    return json_pack("{s:s,s:s,s:{s:[{s:s,s:s}]},s:s,s:[s]}", "severity", "error", "code",
                     fhir_issue_type(r->code), "details", "coding", "system", FHIR_ISSUE_SYSTEM,
                     "code", r->code, "diagnostics", text, "expression", where);
}

static json_t *counts_extension(const struct obs_batch *b, const struct fhir_counts *c,
                                bool dry_run)
{
    return json_pack("[{s:s,s:[{s:s,s:I},{s:s,s:I},{s:s,s:I},{s:s,s:I},{s:s,s:b}]}]", "url",
                     FHIR_IMPORT_COUNTS_URL, "extension", "url", "imported", "valueInteger",
                     (json_int_t)c->imported, "url", "updated", "valueInteger",
                     (json_int_t)c->updated, "url", "unchanged", "valueInteger",
                     (json_int_t)c->unchanged, "url", "rejected", "valueInteger",
                     (json_int_t)b->n_rejects, "url", "dryRun", "valueBoolean", dry_run);
}

static json_t *counts_issue(const struct obs_batch *b, const struct fhir_counts *c, bool dry_run)
{
    char text[200];
    snprintf(text, sizeof(text),
             "%s%lld imported, %lld updated, %lld unchanged, %zu rejected (of %zu "
             "groups)",
             dry_run ? "dry run, nothing stored: " : "", c->imported, c->updated, c->unchanged,
             b->n_rejects, b->n_rows);
    return json_pack("{s:s,s:s,s:s}", "severity", "information", "code", "informational",
                     "diagnostics", text);
}

/* An OperationOutcome with the counts and the issues of rejects [from, to); *status gets the
 * worst issue's status (200 when there is none). */
static json_t *outcome_of(const struct obs_batch *b, const struct fhir_counts *c, bool dry_run,
                          size_t from, size_t to, int *status)
{
    json_t *issues = json_array();
    *status = 200;
    for (size_t i = from; i < to; i++) {
        json_t *one = issue(b, &b->rejects[i]);
        if (one == NULL) /* text json_pack refused: never lose the issue */
            one = json_pack("{s:s,s:s,s:s}", "severity", "error", "code", "processing",
                            "diagnostics", "a rejected group (its message could not be shown)");
        int s = issue_status(json_string_value(json_object_get(one, "code")));
        if (*status == 200 || s < *status)
            *status = s; /* 400 wins over 422: the form is wrong first */
        json_array_append_new(issues, one);
    }
    json_array_insert_new(issues, 0, counts_issue(b, c, dry_run));
    return json_pack("{s:s,s:o,s:o}", "resourceType", "OperationOutcome", "extension",
                     counts_extension(b, c, dry_run), "issue", issues);
}

const char *fhir_status_line(int status)
{
    switch (status) {
    case 200:
        return "200 OK";
    case 201:
        return "201 Created";
    case 400:
        return "400 Bad Request";
    case 413:
        return "413 Payload Too Large";
    default:
        return "422 Unprocessable Entity";
    }
}

/* Whether a row of entry in [*next, n_rows) was stored new; *next moves past the entry's rows
 * (rows are in entry order). */
static bool entry_created(const struct obs_batch *b, const bool *existed, int32_t entry,
                          size_t *next)
{
    bool created = false;
    for (; *next < b->n_rows && b->fhir->origins[*next].entry == entry; (*next)++)
        if (existed != NULL && !b->rows[*next].rejected && !existed[*next])
            created = true;
    return created;
}

/* The response Bundle: each entry's status (201 when it stored a new value, 200 when it only
 * updated or repeated stored ones, the 4xx of its rejection) and, when refused, its outcome. */
static json_t *response_bundle(const struct obs_batch *b, const struct fhir_counts *c,
                               const bool *existed, bool dry_run)
{
    const struct obs_fhir *f = b->fhir;
    json_t *entries = json_array();
    size_t next_reject = 0, next_row = 0;
    for (size_t e = 0; e < f->n_entries; e++) {
        bool created = entry_created(b, existed, (int32_t)e, &next_row);
        size_t from = next_reject;
        while (next_reject < b->n_rejects &&
               f->origins[b->rejects[next_reject].row - 1].entry == (int32_t)e)
            next_reject++;
        json_t *response = json_object();
        if (next_reject > from) {
            int status;
            struct fhir_counts none = {0, 0, 0};
            json_t *outcome = outcome_of(b, &none, dry_run, from, next_reject, &status);
            json_object_del(outcome, "extension");
            json_array_remove(json_object_get(outcome, "issue"), 0); /* counts are the Bundle's */
            json_object_set_new(response, "status", json_string(fhir_status_line(status)));
            json_object_set_new(response, "outcome", outcome);
        } else {
            json_object_set_new(response, "status",
                                json_string(fhir_status_line(created ? 201 : 200)));
        }
        json_array_append_new(entries, json_pack("{s:o}", "response", response));
    }
    const char *type = f->kind == FHIR_KIND_TRANSACTION ? "transaction-response" : "batch-response";
    return json_pack("{s:s,s:{s:o},s:s,s:o}", "resourceType", "Bundle", "meta", "extension",
                     counts_extension(b, c, dry_run), "type", type, "entry", entries);
}

json_t *fhir_outcome(const struct obs_batch *b, const struct fhir_counts *counts,
                     const bool *existed, bool stored, bool dry_run, int *status)
{
    struct fhir_counts none = {0, 0, 0};
    const struct fhir_counts *c = stored ? counts : &none;
    if (!stored || dry_run)
        existed = NULL; /* nothing was created */
    *status = 200;
    if (b->fhir->kind == FHIR_KIND_BATCH)
        return response_bundle(b, c, existed, dry_run);
    if (b->fhir->kind == FHIR_KIND_TRANSACTION && b->n_rejects == 0)
        return response_bundle(b, c, existed, dry_run);
    json_t *outcome = outcome_of(b, c, dry_run, 0, b->n_rejects, status);
    if (*status == 200 && stored && !dry_run && c->imported > 0)
        *status = 201; /* a lone report: its counts say it exactly */
    return outcome;
}

json_t *fhir_error_outcome(const char *code, const char *ours, const char *diagnostics)
{
    json_t *issue =
        json_pack("{s:s,s:s,s:s}", "severity", "error", "code", code, "diagnostics", diagnostics);
    if (ours != NULL)
        json_object_set_new(
            issue, "details",
            json_pack("{s:[{s:s,s:s}]}", "coding", "system", FHIR_ISSUE_SYSTEM, "code", ours));
    return json_pack("{s:s,s:[o]}", "resourceType", "OperationOutcome", "issue", issue);
}
