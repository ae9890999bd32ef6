/*
 * FHIR R4 MeasureReports into observation rows (parse_fhir.h): the bounding scan, the Bundle
 * and its entries, and one report's type, status, measure, reporter, period and groups read
 * through the programme's mapping (fhir_map.h). Each row remembers its entry and group.
 */
#include "scaleupd/core/parse_fhir.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"

#include "parse_internal.h"

/* One parse: the batch, the mapping, and the entry being read. */
struct fhir_parse {
    struct obs_batch *b;
    const struct fhir_map *map;
    int32_t entry;
    char shown[SHOWN_MAX];
};

/* ---- the batch's FHIR state --------------------------------------------------------- */

void obs_fhir_reset(struct obs_fhir *f)
{
    if (f == NULL)
        return;
    f->n_origins = 0;
    f->n_entries = 0;
    f->kind = FHIR_KIND_MEASURE_REPORT;
}

void obs_fhir_free(struct obs_fhir **f)
{
    if (f == NULL || *f == NULL)
        return;
    free((*f)->origins);
    free(*f);
    *f = NULL;
}

/* A new row from the current entry and group, with its origin; NULL past OBS_MAX_ROWS. */
static struct obs_row *new_row(struct fhir_parse *p, int32_t group)
{
    struct obs_batch *b = p->b;
    struct obs_fhir *f = b->fhir;
    if (b->n_rows >= OBS_MAX_ROWS)
        return NULL;
    if (f->n_origins == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->origins = xrealloc(f->origins, f->cap * sizeof(*f->origins));
    }
    f->origins[f->n_origins++] = (struct obs_fhir_origin){p->entry, group, -1, -1, -1, 0};
    struct obs_row *row = parse_row_slot(b);
    b->n_rows++;
    return row;
}

static const char *shown(struct fhir_parse *p, const char *s)
{
    return parse_shown(p->shown, s, strlen(s));
}

/* ---- the bounding scan --------------------------------------------------------------- */

/* The weight of what jansson would build for the byte c outside strings (c opens a string,
 * an object, an array, or separates values or a key from its value): an object costs jansson
 * about eight times a number (measured: 500,000 empty objects 116 MB, numbers 22 MB). */
static size_t json_weight(char c)
{
    switch (c) {
    case '{':
        return 8;
    case '[':
        return 2;
    case ',':
    case ':':
    case '"':
        return 1;
    default:
        return 0;
    }
}

/* Depth and weight (json_weight) of the body, before jansson builds its tree. */
static enum obs_parse_status scan_bounds(const char *body, size_t len, struct obs_parse_error *err)
{
    size_t weight = 1;
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        weight += json_weight(c);
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > FHIR_DEPTH_MAX)
                return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "too_deep", body, i,
                                       "objects and arrays are nested deeper than %d",
                                       FHIR_DEPTH_MAX);
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    if (weight > FHIR_VALUES_MAX)
        return parse_doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                               "the body holds more JSON than %u weighted values (an object "
                               "weighs 8, an array 2, a string, key or number 1)",
                               FHIR_VALUES_MAX);
    return OBS_PARSE_OK;
}

/* jansson's reading of the body into *root, unless it is not one bounded JSON document. */
static enum obs_parse_status load_body(const char *body, size_t len, json_t **root,
                                       struct obs_parse_error *err)
{
    *root = NULL;
    size_t blank = 0;
    while (blank < len && parse_is_space(body[blank]))
        blank++;
    if (blank == len)
        return parse_doc_error(err, OBS_PARSE_EMPTY, "empty_body", NULL, 0, "the body is empty");
    enum obs_parse_status status = scan_bounds(body, len, err);
    if (status != OBS_PARSE_OK)
        return status;
    json_error_t jerr;
    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*root != NULL)
        return OBS_PARSE_OK;
    char text[SHOWN_MAX];
    size_t at = jerr.position > 0 && (size_t)jerr.position <= len ? (size_t)jerr.position : 1;
    return parse_doc_error(err, OBS_PARSE_MALFORMED, "malformed_json", body, at - 1,
                           "the body is not JSON: %s",
                           parse_shown(text, jerr.text, strlen(jerr.text)));
}

/* ---- one report ---------------------------------------------------------------------- */

/* The string member key of o, or NULL when absent or not a string. */
static const char *member_text(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Rejects the report as a whole (one row for it). False when the batch is full. */
static bool reject_report(struct fhir_parse *p, const char *field, const char *code,
                          const char *message)
{
    struct obs_row *row = new_row(p, -1);
    if (row == NULL)
        return false;
    parse_reject(p->b, row, field, code, "%s", message);
    return true;
}

static const char *type_refusal(const char *type)
{
    if (type == NULL)
        return "type is required (summary)";
    if (strcmp(type, "individual") == 0)
        return "type individual is a patient's report: only summary reports are taken";
    if (strcmp(type, "subject-list") == 0)
        return "type subject-list lists patients: only summary reports are taken";
    if (strcmp(type, "data-collection") == 0 || strcmp(type, "data-exchange") == 0)
        return "type data-collection/data-exchange carries the data a measure is computed "
               "from, not its result: only summary reports are taken";
    return strcmp(type, "summary") == 0 ? NULL : "type must be summary";
}

static const char *status_refusal(const char *status)
{
    if (status == NULL)
        return "status is required (complete)";
    if (strcmp(status, "pending") == 0)
        return "status pending: the report is not final; send it again once complete";
    if (strcmp(status, "error") == 0)
        return "status error: its producer marked the report as wrong";
    return strcmp(status, "complete") == 0 ? NULL : "status must be complete";
}

/* The digits s[0..n) as a number, or -1. */
static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The time of day of a dateTime bound, t pointing after the 'T': "00:00:00" (start) or
 * "23:59:59" (end), a fraction, then Z or an offset (the date is taken as written). */
static bool bound_time(const char *t, bool is_end)
{
    if (strncmp(t, is_end ? "23:59:59" : "00:00:00", 8) != 0)
        return false;
    t += 8;
    if (*t == '.') {
        t++;
        size_t n = strspn(t, "0123456789");
        if (n == 0 || (!is_end && strspn(t, "0") != n))
            return false;
        t += n;
    }
    if (*t == 'Z')
        return t[1] == '\0';
    if (*t == '+' || *t == '-')
        return strlen(t) == 6 && digits(t + 1, 2) >= 0 && t[3] == ':' && digits(t + 4, 2) >= 0;
    return *t == '\0';
}

/* A period bound: a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) or dateTime; *day gets its first
 * day (start) or last day (end). */
static bool period_bound(const char *s, bool is_end, int32_t *day)
{
    const char *t = strchr(s, 'T');
    size_t n = t ? (size_t)(t - s) : strlen(s);
    int year = n >= 4 ? digits(s, 4) : -1, month = 0;
    if (year < PERIOD_YEAR_MIN || (t != NULL && (n != 10 || !bound_time(t + 1, is_end))))
        return false;
    if (n == 10)
        return date_parse(s, n, day);
    if (n == 7 && s[4] == '-') {
        month = digits(s + 5, 2);
        if (month < 1 || month > 12)
            return false;
        *day = date_from_ymd(year, month, is_end ? date_days_in_month(year, month) : 1);
        return true;
    }
    if (n != 4)
        return false;
    *day = is_end ? date_from_ymd(year, 12, 31) : date_from_ymd(year, 1, 1);
    return true;
}

/* The report as a whole: what every group shares. */
struct report {
    const json_t *r;
    const struct fhir_measure_map *measure;
    const char *site;
    const char *start_text, *end_text;
    int32_t start, end;
};

/* The measure of the report through the map; false when it rejected the report. */
static bool report_measure(struct fhir_parse *p, struct report *rp, char *message, size_t size)
{
    const json_t *m = json_object_get(rp->r, "measure");
    if (!json_is_string(m) || json_string_length(m) == 0) {
        snprintf(message, size, "measure must be the canonical URL of the measure");
        return false;
    }
    char *url = xstrdup(json_string_value(m));
    char *bar = strrchr(url, '|');
    if (bar != NULL)
        *bar = '\0';
    rp->measure = fhir_map_measure(p->map, url, bar ? bar + 1 : NULL);
    char version[SHOWN_MAX];
    if (rp->measure == NULL && bar != NULL && fhir_map_knows_url(p->map, url))
        snprintf(message, size, "version \"%s\" of measure \"%s\" is not mapped by the programme",
                 parse_shown(version, bar + 1, strlen(bar + 1)), shown(p, url));
    else if (rp->measure == NULL && fhir_map_knows_url(p->map, url))
        snprintf(message, size,
                 "measure \"%s\" is mapped for given versions only: send it as url|version",
                 shown(p, url));
    else if (rp->measure == NULL)
        snprintf(message, size, "measure \"%s\" is not mapped by the programme (fhir.measures)",
                 shown(p, url));
    free(url);
    return rp->measure != NULL;
}

/* The reporter's site: by identifier (system|value), else by reference. */
static bool report_site(struct fhir_parse *p, struct report *rp, char *message, size_t size)
{
    const json_t *reporter = json_object_get(rp->r, "reporter");
    const json_t *identifier = json_object_get(reporter, "identifier");
    const char *system = member_text(identifier, "system"),
               *value = member_text(identifier, "value");
    const char *reference = member_text(reporter, "reference");
    if (system != NULL && value != NULL)
        rp->site = fhir_map_site_by_identifier(p->map, system, value);
    if (rp->site == NULL && reference != NULL)
        rp->site = fhir_map_site_by_reference(p->map, reference);
    if (rp->site != NULL)
        return true;
    if (reporter == NULL)
        snprintf(message, size, "reporter is required: it says which site reports");
    else if (!json_is_object(reporter))
        snprintf(message, size, "reporter must be a Reference (an object)");
    else if (system != NULL && value != NULL) {
        char shown_value[SHOWN_MAX];
        snprintf(message, size,
                 "reporter identifier %s|%s is not mapped to a site (fhir.organizations)",
                 shown(p, system), parse_shown(shown_value, value, strlen(value)));
    } else if (reference != NULL)
        snprintf(message, size, "reporter \"%s\" is not mapped to a site (fhir.organizations)",
                 shown(p, reference));
    else
        snprintf(message, size, "reporter needs an identifier {system, value} or a reference");
    return false;
}

/* The period's bounds as days; false when they are not dates. */
static bool report_period(struct report *rp, char *message, size_t size)
{
    const json_t *period = json_object_get(rp->r, "period");
    rp->start_text = member_text(period, "start");
    rp->end_text = member_text(period, "end");
    if (rp->start_text == NULL || rp->end_text == NULL) {
        snprintf(message, size, "period needs a start and an end");
        return false;
    }
    if (!period_bound(rp->start_text, false, &rp->start) ||
        !period_bound(rp->end_text, true, &rp->end) || rp->end < rp->start) {
        snprintf(message, size,
                 "period is not a span of whole days (dates, or dateTimes from 00:00:00 to "
                 "23:59:59)");
        return false;
    }
    return true;
}

/* The mapping of group g of the report, or NULL. */
static const struct fhir_group_map *group_mapping(const struct report *rp, const json_t *group,
                                                  size_t n_groups)
{
    const json_t *codings = json_object_get(json_object_get(group, "code"), "coding");
    const char *id = member_text(group, "id");
    for (size_t i = 0; i < rp->measure->n_groups; i++) {
        const struct fhir_group_map *m = &rp->measure->groups[i];
        if (m->code == NULL && m->id == NULL && n_groups == 1)
            return m;
        if (m->id != NULL && id != NULL && strcmp(m->id, id) == 0)
            return m;
        size_t k;
        const json_t *coding;
        json_array_foreach(m->code ? codings : NULL, k, coding)
        {
            const char *code = member_text(coding, "code"), *system = member_text(coding, "system");
            if (code != NULL && strcmp(code, m->code) == 0 &&
                (m->system == NULL || (system != NULL && strcmp(system, m->system) == 0)))
                return m;
        }
    }
    return NULL;
}

/* The population of the group whose code (a coding's code) is code: its index, and its
 * count in *count; -1 when there is none, -2 when it has no whole count >= 0, -3 when two
 * populations have that code. */
static int population(const json_t *group, const char *code, double *count)
{
    int found = -1;
    size_t i, k;
    const json_t *pop, *coding;
    json_array_foreach(json_object_get(group, "population"), i, pop)
    {
        json_array_foreach(json_object_get(json_object_get(pop, "code"), "coding"), k, coding)
        {
            const char *c = member_text(coding, "code");
            if (c == NULL || strcmp(c, code) != 0)
                continue;
            if (found >= 0)
                return -3;
            const json_t *n = json_object_get(pop, "count");
            if (!json_is_integer(n) || json_integer_value(n) < 0)
                return -2;
            *count = (double)json_integer_value(n);
            found = (int)i;
            break;
        }
    }
    return found;
}

/* The numerator and denominator counts of the group, when it has them. False when one of them
 * is unusable (the row is rejected). */
static bool group_counts(struct fhir_parse *p, const json_t *group, struct obs_row *row,
                         struct obs_fhir_origin *o)
{
    static const char *const names[] = {"numerator", "denominator"};
    for (int i = 0; i < 2; i++) {
        double count = 0;
        int at = population(group, names[i], &count);
        if (at < -1) {
            parse_reject(p->b, row, names[i], at == -2 ? "invalid_value" : "invalid_document",
                         at == -2 ? "the %s population has no whole count >= 0"
                                  : "two populations have the code %s",
                         names[i]);
            return false;
        }
        if (at < 0)
            continue;
        if (i == 0) {
            row->has_numerator = true;
            row->numerator = count;
            o->numerator_from = at;
        } else {
            row->has_denominator = true;
            row->denominator = count;
            o->denominator_from = at;
        }
    }
    return true;
}

/* The row's value from where the mapping says. False when it rejected the row. */
static bool group_value(struct fhir_parse *p, const json_t *group, const struct fhir_group_map *m,
                        struct obs_row *row, struct obs_fhir_origin *o)
{
    o->source = m->value;
    if (m->value == FHIR_VALUE_MEASURE_SCORE) {
        const json_t *score = json_object_get(json_object_get(group, "measureScore"), "value");
        if (!json_is_number(score)) {
            parse_reject(p->b, row, "value", score ? "invalid_type" : "missing_field",
                         "measureScore.value must be a number (the mapping takes the value "
                         "from measureScore)");
            return false;
        }
        row->value = json_number_value(score) * m->scale;
        return true;
    }
    if (m->value == FHIR_VALUE_PROPORTION) {
        if (!row->has_numerator || !row->has_denominator || row->denominator == 0) {
            parse_reject(p->b, row, "value", "not_computable",
                         "the proportion needs numerator and denominator counts, and a "
                         "denominator above 0");
            return false;
        }
        row->value = row->numerator / row->denominator * m->scale;
        return true;
    }
    double count = 0;
    int at = population(group, m->population, &count);
    if (at < 0) {
        parse_reject(p->b, row, "value", at == -1 ? "missing_field" : "invalid_value",
                     "the %s population %s", m->population,
                     at == -1   ? "is missing (the mapping takes the value from it)"
                     : at == -2 ? "has no whole count >= 0"
                                : "appears twice");
        return false;
    }
    o->value_from = at;
    row->value = count;
    return true;
}

/* The period of the group's indicator that the report's period must be exactly. */
static bool group_period(struct fhir_parse *p, const struct report *rp,
                         const struct fhir_group_map *m, struct obs_row *row)
{
    row->period = period_containing(m->period_type, rp->start);
    if (period_start(row->period) == rp->start && period_end(row->period) == rp->end)
        return true;
    char end[SHOWN_MAX];
    parse_reject(p->b, row, "period", "period_mismatch",
                 "period %s to %s is not one %s period of indicator %s", shown(p, rp->start_text),
                 parse_shown(end, rp->end_text, strlen(rp->end_text)),
                 period_type_name(m->period_type), m->indicator);
    return false;
}

/* One row per group of the report. False when the batch is full. */
static bool report_groups(struct fhir_parse *p, const struct report *rp, const json_t *groups)
{
    size_t n = json_array_size(groups), g;
    const json_t *group;
    json_array_foreach(groups, g, group)
    {
        struct obs_row *row = new_row(p, (int32_t)g);
        if (row == NULL)
            return false;
        struct obs_fhir_origin *o = &p->b->fhir->origins[p->b->fhir->n_origins - 1];
        const struct fhir_group_map *m = json_is_object(group) ? group_mapping(rp, group, n) : NULL;
        if (m == NULL) {
            parse_reject(p->b, row, "indicator", "unknown_indicator",
                         "this group of measure %s is not mapped (by its code or id) to an "
                         "indicator",
                         shown(p, rp->measure->url));
            continue;
        }
        snprintf(row->indicator, sizeof(row->indicator), "%s", m->indicator);
        snprintf(row->site, sizeof(row->site), "%s", rp->site);
        if (group_period(p, rp, m, row) && group_counts(p, group, row, o))
            group_value(p, group, m, row, o);
    }
    return true;
}

/* The code of a member that did not resolve: missing, of the wrong type, or `unknown` (the
 * measure a string, the reporter an object, that the mapping does not know). */
static const char *absence_code(const json_t *member, const char *unknown)
{
    if (member == NULL)
        return "missing_field";
    bool measure = strcmp(unknown, "unknown_measure") == 0;
    return (measure ? json_is_string(member) : json_is_object(member)) ? unknown : "invalid_type";
}

/* One MeasureReport: refused whole, or one row per group. False when the batch is full. */
static bool read_report(struct fhir_parse *p, const json_t *r)
{
    char message[200];
    struct report rp = {.r = r};
    const char *resource_type = member_text(r, "resourceType");
    if (resource_type == NULL || strcmp(resource_type, "MeasureReport") != 0)
        return reject_report(p, "resourceType", "not_a_measure_report",
                             "the resource is not a MeasureReport");
    const char *type = member_text(r, "type"), *status = member_text(r, "status");
    const char *why = type_refusal(type);
    if (why != NULL)
        return reject_report(p, "type", type ? "unsupported_type" : "missing_field", why);
    why = status_refusal(status);
    if (why != NULL)
        return reject_report(p, "status", status ? "unsupported_status" : "missing_field", why);
    if (!report_measure(p, &rp, message, sizeof(message)))
        return reject_report(
            p, "measure", absence_code(json_object_get(r, "measure"), "unknown_measure"), message);
    if (!report_site(p, &rp, message, sizeof(message)))
        return reject_report(p, "reporter",
                             absence_code(json_object_get(r, "reporter"), "unknown_reporter"),
                             message);
    if (!report_period(&rp, message, sizeof(message)))
        return reject_report(p, "period", "invalid_period", message);
    const json_t *groups = json_object_get(r, "group");
    if (!json_is_array(groups) || json_array_size(groups) == 0)
        return reject_report(p, "group", "missing_field",
                             "group is required: a summary report without groups has no values");
    return report_groups(p, &rp, groups);
}

/* ---- the body ------------------------------------------------------------------------ */

/* Whether an entry's request (when it has one) is a POST or PUT of a MeasureReport. */
static const char *request_refusal(const json_t *entry)
{
    const json_t *request = json_object_get(entry, "request");
    if (request == NULL)
        return NULL;
    const char *method = member_text(request, "method"), *url = member_text(request, "url");
    if (method == NULL || (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0))
        return "request.method must be POST or PUT: MeasureReports are only taken in";
    if (url == NULL ||
        (strcmp(url, "MeasureReport") != 0 && strncmp(url, "MeasureReport/", 14) != 0))
        return "request.url must be MeasureReport (or MeasureReport/id)";
    return NULL;
}

static enum obs_parse_status read_entries(struct fhir_parse *p, const json_t *entries,
                                          struct obs_parse_error *err)
{
    size_t i;
    const json_t *entry;
    json_array_foreach(entries, i, entry)
    {
        p->entry = (int32_t)i;
        p->b->fhir->n_entries = i + 1;
        const char *why = json_is_object(entry) ? request_refusal(entry) : NULL;
        bool room;
        if (!json_is_object(entry))
            room = reject_report(p, "", "invalid_type", "an entry must be an object");
        else if (why != NULL)
            room = reject_report(p, "request", "unsupported_request", why);
        else if (json_object_get(entry, "resource") == NULL)
            room = reject_report(p, "resource", "missing_field", "the entry has no resource");
        else
            room = read_report(p, json_object_get(entry, "resource"));
        if (!room)
            return parse_doc_error(err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                                   "the Bundle has more than %d groups", OBS_MAX_ROWS);
    }
    return OBS_PARSE_OK;
}

static enum obs_parse_status read_bundle(struct fhir_parse *p, const json_t *root,
                                         struct obs_parse_error *err)
{
    const char *type = member_text(root, "type");
    if (type != NULL && strcmp(type, "batch") == 0)
        p->b->fhir->kind = FHIR_KIND_BATCH;
    else if (type != NULL && strcmp(type, "transaction") == 0)
        p->b->fhir->kind = FHIR_KIND_TRANSACTION;
    else
        return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", NULL, 0,
                               "Bundle.type must be batch or transaction");
    const json_t *entries = json_object_get(root, "entry");
    if (entries != NULL && !json_is_array(entries))
        return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", NULL, 0,
                               "Bundle.entry must be an array");
    if (json_array_size(entries) == 0)
        return parse_doc_error(err, OBS_PARSE_EMPTY, "empty_batch", NULL, 0,
                               "the Bundle has no entries");
    if (json_array_size(entries) > OBS_MAX_ROWS)
        return parse_doc_error(err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                               "the Bundle has more than %d entries", OBS_MAX_ROWS);
    return read_entries(p, entries, err);
}

static enum obs_parse_status read_root(struct fhir_parse *p, const json_t *root,
                                       enum fhir_expect expect, struct obs_parse_error *err)
{
    const char *resource_type = member_text(root, "resourceType");
    const char *want = expect == FHIR_EXPECT_BUNDLE ? "Bundle" : "MeasureReport";
    if (resource_type == NULL || strcmp(resource_type, want) != 0)
        return parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", NULL, 0,
                               expect == FHIR_EXPECT_BUNDLE
                                   ? "POST /fhir takes a Bundle (batch or transaction); post "
                                     "one MeasureReport to /fhir/MeasureReport"
                                   : "POST /fhir/MeasureReport takes one MeasureReport; post a "
                                     "Bundle to /fhir");
    if (expect == FHIR_EXPECT_BUNDLE)
        return read_bundle(p, root, err);
    p->b->fhir->n_entries = 1;
    p->entry = -1;
    if (!read_report(p, root))
        return parse_doc_error(err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                               "the MeasureReport has more than %d groups", OBS_MAX_ROWS);
    return OBS_PARSE_OK;
}

enum obs_parse_status obs_parse_fhir(const char *body, size_t len, enum fhir_expect expect,
                                     const struct fhir_map *map, struct obs_batch *batch,
                                     struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_FHIR);
    if (batch->fhir == NULL)
        batch->fhir = xcalloc(1, sizeof(*batch->fhir));
    obs_fhir_reset(batch->fhir);
    if (len > OBS_MAX_BODY)
        return parse_end(batch, parse_doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                                                "the body is larger than %u bytes", OBS_MAX_BODY));
    json_t *root;
    enum obs_parse_status status = load_body(body, len, &root, err);
    if (status != OBS_PARSE_OK)
        return parse_end(batch, status);
    struct fhir_parse p = {.b = batch, .map = map, .entry = -1};
    status = json_is_object(root)
                 ? read_root(&p, root, expect, err)
                 : parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "invalid_document", NULL, 0,
                                   "the body must be a JSON object");
    json_decref(root);
    return parse_end(batch, status);
}

/* ---- after validation ---------------------------------------------------------------- */

static int reject_order(const void *a, const void *b)
{
    const struct obs_reject *x = a, *y = b;
    return (x->row > y->row) - (x->row < y->row);
}

void obs_fhir_reject_partial_entries(struct obs_batch *b)
{
    const struct obs_fhir *f = b->fhir;
    if (f == NULL || b->n_rejects == 0)
        return;
    size_t before = b->n_rejects;
    for (size_t start = 0, end; start < b->n_rows; start = end) {
        int32_t entry = f->origins[start].entry, bad_group = -2;
        for (end = start; end < b->n_rows && f->origins[end].entry == entry; end++)
            if (b->rows[end].rejected && bad_group == -2)
                bad_group = f->origins[end].group;
        for (size_t i = start; bad_group != -2 && i < end; i++)
            if (!b->rows[i].rejected)
                parse_reject(b, &b->rows[i], "", "entry_rejected",
                             "not stored: a MeasureReport is stored whole, and its group[%d] was "
                             "rejected",
                             (int)bad_group);
    }
    if (b->n_rejects != before)
        qsort(b->rejects, b->n_rejects, sizeof(*b->rejects), reject_order);
}
