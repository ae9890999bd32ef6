/* Programme documents (programme_doc.h): the slug, name and time zone, the sites with their
 * hierarchy (a tree: no unknown parents, no cycles) and membership, and the indicators,
 * checked whole with a JSON path for each problem. */
#include "scaleupd/core/programme_doc.h"
#include "scaleupd/core/programme_dhis2.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/fhir_map.h"
#include "scaleupd/core/period.h"
#include "scaleupd/core/problems.h"

static bool one_of(const char *value, const char *const *options)
{
    for (; *options; options++)
        if (strcmp(value, *options) == 0)
            return true;
    return false;
}

/* A required string member; reports and returns NULL when missing or not a non-empty string. */
static const char *need_string(json_t **problems, const json_t *obj, const char *base,
                               const char *key)
{
    char path[128];
    snprintf(path, sizeof(path), "%s.%s", base, key);
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        problems_add(problems, path, "missing_field", "%s is required", key);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        problems_add(problems, path, "invalid_type", "%s must be a non-empty string", key);
        return NULL;
    }
    return json_string_value(v);
}

/* An optional string member restricted to options. */
static void check_enum(json_t **problems, const json_t *obj, const char *base, const char *key,
                       const char *const *options, bool required)
{
    char path[128];
    snprintf(path, sizeof(path), "%s.%s", base, key);
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            problems_add(problems, path, "missing_field", "%s is required", key);
        return;
    }
    if (!json_is_string(v) || !one_of(json_string_value(v), options))
        problems_add(problems, path, "invalid_value", "%s is not one of the allowed values", key);
}

/* ^[a-z0-9][a-z0-9-]{0,62}$: a slug is part of URLs and file names. */
static bool valid_slug(const char *slug)
{
    size_t len = strlen(slug);
    if (len == 0 || len > 63 || slug[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((slug[i] >= 'a' && slug[i] <= 'z') || (slug[i] >= '0' && slug[i] <= '9') ||
              slug[i] == '-'))
            return false;
    return true;
}

static bool valid_code(const char *code)
{
    size_t len = strlen(code);
    if (len == 0 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)code[i];
        if (c <= ' ' || c == ',' || c == '"' || c >= 0x7f)
            return false;
    }
    return true;
}

/* Which sites lie on a cycle of parents, in time linear in the number of sites: each walk up
 * from a site not yet seen stamps the sites it passes; meeting its own stamp again closes a
 * cycle, whose sites are marked; meeting an earlier walk's stamp or a root ends the walk.
 * parent[i] is the index of site i's parent, or SIZE_MAX. Returns on_cycle (caller frees). */
static bool *sites_on_cycles(const size_t *parent, size_t n)
{
    size_t *stamp = xcalloc(n, sizeof *stamp);
    bool *on_cycle = xcalloc(n, sizeof *on_cycle);
    for (size_t start = 0; start < n; start++) {
        size_t walk = start + 1, at = start;
        while (at != SIZE_MAX && stamp[at] == 0) {
            stamp[at] = walk;
            at = parent[at];
        }
        if (at == SIZE_MAX || stamp[at] != walk)
            continue;
        size_t first = at; /* at is on the cycle this walk closed */
        do {
            on_cycle[at] = true;
            at = parent[at];
        } while (at != first);
    }
    free(stamp);
    return on_cycle;
}

/* The index of each site's parent (SIZE_MAX for none, or one that is not a site), from seen:
 * code → index. */
static size_t *site_parents(const json_t *sites, const json_t *seen)
{
    size_t n = json_array_size(sites);
    size_t *parent = xcalloc(n ? n : 1, sizeof *parent);
    for (size_t i = 0; i < n; i++) {
        const char *code = json_string_value(json_object_get(json_array_get(sites, i), "parent"));
        const json_t *index = code ? json_object_get(seen, code) : NULL;
        parent[i] = index ? (size_t)json_integer_value(index) : SIZE_MAX;
    }
    return parent;
}

static void validate_sites(json_t **problems, const json_t *sites)
{
    static const char *const statuses[] = {"planned", "active", "withdrawn", NULL};
    json_t *seen = json_object();
    size_t i;
    const json_t *site;
    json_array_foreach(sites, i, site)
    {
        char base[64];
        snprintf(base, sizeof(base), "$.sites[%zu]", i);
        if (!json_is_object(site)) {
            problems_add(problems, base, "invalid_type", "a site must be an object");
            continue;
        }
        const char *code = need_string(problems, site, base, "code");
        need_string(problems, site, base, "name");
        need_string(problems, site, base, "level");
        check_enum(problems, site, base, "status", statuses, false);
        if (code != NULL && !valid_code(code))
            problems_add(
                problems, base, "invalid_code",
                "site code \"%s\" must be 1-63 printable characters without spaces or commas",
                code);
        else if (code != NULL && json_object_get(seen, code) != NULL)
            problems_add(problems, base, "duplicate_code", "site code \"%s\" appears twice", code);
        else if (code != NULL)
            json_object_set_new(seen, code, json_integer((json_int_t)i));
        const json_t *adopted = json_object_get(site, "adopted");
        int32_t day;
        if (adopted != NULL &&
            (!json_is_string(adopted) ||
             !date_parse(json_string_value(adopted), json_string_length(adopted), &day))) {
            char path[96];
            snprintf(path, sizeof(path), "%s.adopted", base);
            problems_add(problems, path, "invalid_date", "adopted must be a date (YYYY-MM-DD)");
        }
    }
    size_t *parents = site_parents(sites, seen);
    bool *on_cycle = sites_on_cycles(parents, json_array_size(sites));
    json_array_foreach(sites, i, site)
    {
        const json_t *parent = json_object_get(site, "parent");
        if (parent == NULL)
            continue;
        char path[96];
        snprintf(path, sizeof(path), "$.sites[%zu].parent", i);
        if (!json_is_string(parent) || json_object_get(seen, json_string_value(parent)) == NULL)
            problems_add(problems, path, "unknown_site", "parent is not a site of this document");
        else if (json_equal(parent, json_object_get(site, "code")))
            problems_add(problems, path, "invalid_value", "a site cannot be its own parent");
        else if (on_cycle[i])
            problems_add(problems, path, "parent_cycle",
                         "the parents of this site lead back to it: the hierarchy must be a tree");
    }
    free(on_cycle);
    free(parents);
    json_decref(seen);
}

static void validate_indicators(json_t **problems, const json_t *indicators)
{
    static const char *const value_types[] = {"count", "percentage", "ratio", "score", NULL};
    static const char *const period_types[] = {"weekly", "monthly", "quarterly", "yearly", NULL};
    static const char *const directions[] = {"up", "down", "none", NULL};
    static const char *const aggregates[] = {"sum", "mean", "weighted", "last", NULL};
    static const char *const dimensions[] = {"coverage", "expansion", "institutionalisation", NULL};
    json_t *seen = json_object();
    size_t i;
    const json_t *ind;
    json_array_foreach(indicators, i, ind)
    {
        char base[64];
        snprintf(base, sizeof(base), "$.indicators[%zu]", i);
        if (!json_is_object(ind)) {
            problems_add(problems, base, "invalid_type", "an indicator must be an object");
            continue;
        }
        const char *code = need_string(problems, ind, base, "code");
        need_string(problems, ind, base, "name");
        check_enum(problems, ind, base, "value_type", value_types, true);
        check_enum(problems, ind, base, "period_type", period_types, true);
        check_enum(problems, ind, base, "direction", directions, false);
        check_enum(problems, ind, base, "aggregate", aggregates, false);
        check_enum(problems, ind, base, "dimension", dimensions, false);
        const json_t *target = json_object_get(ind, "target");
        if (target != NULL && !json_is_number(target)) {
            char path[96];
            snprintf(path, sizeof(path), "%s.target", base);
            problems_add(problems, path, "invalid_type", "target must be a number");
        }
        if (code != NULL && !valid_code(code))
            problems_add(
                problems, base, "invalid_code",
                "indicator code \"%s\" must be 1-63 printable characters without spaces or "
                "commas",
                code);
        else if (code != NULL && json_object_get(seen, code) != NULL)
            problems_add(problems, base, "duplicate_code", "indicator code \"%s\" appears twice",
                         code);
        else if (code != NULL)
            json_object_set_new(seen, code, json_integer((json_int_t)i));
    }
    json_decref(seen);
}

/* "alert_budget": {"false_alerts_per_100_series_years": B}, B from the detector's table
   (core/detector.h): what the spc rules of the programme may cost in false alerts. */
static void validate_alert_budget(json_t **problems, const json_t *budget)
{
    if (!json_is_object(budget)) {
        problems_add(problems, "$.alert_budget", "invalid_type", "alert_budget must be an object");
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)budget, key, v)
    {
        char path[128];
        snprintf(path, sizeof(path), "$.alert_budget.%.80s", key);
        if (strcmp(key, PROGRAMME_BUDGET_KEY) != 0)
            problems_add(problems, path, "unknown_member",
                         "alert_budget has one member, " PROGRAMME_BUDGET_KEY);
    }
    const json_t *per_100 = json_object_get(budget, PROGRAMME_BUDGET_KEY);
    if (per_100 == NULL) {
        problems_add(problems, "$.alert_budget." PROGRAMME_BUDGET_KEY, "missing_field",
                     PROGRAMME_BUDGET_KEY " is required");
        return;
    }
    double x = json_number_value(per_100);
    if (!json_is_number(per_100) || !isfinite(x) || x < PROGRAMME_BUDGET_MIN ||
        x > PROGRAMME_BUDGET_MAX)
        problems_add(problems, "$.alert_budget." PROGRAMME_BUDGET_KEY,
                     json_is_number(per_100) ? "out_of_range" : "invalid_type",
                     PROGRAMME_BUDGET_KEY " must be a number from %g to %g", PROGRAMME_BUDGET_MIN,
                     PROGRAMME_BUDGET_MAX);
}

/* "fhir": the FHIR MeasureReport mapping (core/fhir_map.h), checked against the document's
   indicators and sites; its problems carry paths under $.fhir. */
static void validate_fhir(json_t **problems, const json_t *doc)
{
    if (json_object_get(doc, "fhir") == NULL)
        return;
    struct fhir_map *map = fhir_map_from_doc(doc, problems);
    fhir_map_free(&map);
}

json_t *programme_doc_validate(const json_t *doc)
{
    json_t *problems = NULL;
    if (!json_is_object(doc)) {
        problems_add(&problems, "$", "invalid_type", "a programme must be a JSON object");
        return problems;
    }
    const char *slug = need_string(&problems, doc, "$", "slug");
    if (slug != NULL && !valid_slug(slug))
        problems_add(&problems, "$.slug", "invalid_slug",
                     "slug must be lower-case letters, digits and dashes (at most 63)");
    need_string(&problems, doc, "$", "name");
    const json_t *tz = json_object_get(doc, "time_zone");
    if (tz != NULL && !json_is_string(tz))
        problems_add(&problems, "$.time_zone", "invalid_type", "time_zone must be a string");
    const json_t *teams = json_object_get(doc, "teams");
    if (teams != NULL && !json_is_array(teams))
        problems_add(&problems, "$.teams", "invalid_type", "teams must be an array");
    const json_t *budget = json_object_get(doc, "alert_budget");
    if (budget != NULL)
        validate_alert_budget(&problems, budget);
    const json_t *sites = json_object_get(doc, "sites");
    const json_t *indicators = json_object_get(doc, "indicators");
    if (sites != NULL && !json_is_array(sites))
        problems_add(&problems, "$.sites", "invalid_type", "sites must be an array");
    else if (sites != NULL)
        validate_sites(&problems, sites);
    if (indicators != NULL && !json_is_array(indicators))
        problems_add(&problems, "$.indicators", "invalid_type", "indicators must be an array");
    else if (indicators != NULL)
        validate_indicators(&problems, indicators);
    validate_fhir(&problems, doc);
    programme_dhis2_validate(&problems, doc); /* the "dhis2" identifiers: programme_dhis2.c */
    return problems;
}
