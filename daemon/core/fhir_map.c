/* The FHIR mapping of a programme (fhir_map.h): the "fhir" section of a programme document
 * checked whole against the document's indicators and sites, and the lookups the
 * MeasureReport parser makes (measure and version, reporter identifier or reference), kept in
 * jansson objects used as hash tables. */
#include "scaleupd/core/fhir_map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/problems.h"

#define FHIR_TEXT_MAX 1024 /* bytes in a URL, code, system, identifier or reference */
#define KEY_SEP "\x1f"     /* joins the parts of a lookup key (unit separator) */

struct fhir_map {
    json_t *section; /* a copy of the document's "fhir" section: the strings point into it */
    struct fhir_measure_map *measures;
    size_t n_measures;
    json_t *by_measure; /* "url\x1fversion" (version "" for none) -> index in measures */
    json_t *urls;       /* url -> true */
    json_t *sites;      /* "i\x1fsystem\x1fvalue" or "r\x1freference" -> site code */
};

/* What the checks of one section need: the document's indicators (code -> period type
 * name) and sites (code -> true), and where problems go. */
struct map_check {
    json_t **problems;
    json_t *indicators;
    json_t *sites;
    bool ok;
};

static void problem(struct map_check *c, const char *path, const char *code, const char *message,
                    const char *quoted)
{
    c->ok = false;
    if (quoted != NULL)
        problems_add(c->problems, path, code, message, quoted);
    else
        problems_add(c->problems, path, code, "%s", message);
}

/* An optional string member (required when `required`): NULL when absent or invalid (then
 * reported). */
static const char *text_member(struct map_check *c, const json_t *obj, const char *base,
                               const char *key, bool required)
{
    char path[160];
    snprintf(path, sizeof(path), "%s.%s", base, key);
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            problem(c, path, "missing_field", "%s is required", key);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > FHIR_TEXT_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        problems_add(c->problems, path, "invalid_type",
                     "%s must be a non-empty string of at most %d bytes", key, FHIR_TEXT_MAX);
        c->ok = false;
        return NULL;
    }
    return json_string_value(v);
}

/* Reports members of obj not in allowed (a NULL-terminated list). */
static void only_members(struct map_check *c, const json_t *obj, const char *base,
                         const char *const *allowed)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool known = false;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strcmp(*a, key) == 0;
        if (known)
            continue;
        char path[200];
        snprintf(path, sizeof(path), "%s.%.60s", base, key);
        problem(c, path, "unknown_member", "\"%s\" is not a member of this mapping", key);
    }
}

/* A key of one of the map's lookup objects, in buf. */
static const char *join_key(char *buf, size_t size, const char *a, const char *b, const char *d)
{
    snprintf(buf, size, "%s" KEY_SEP "%s%s%s", a, b, d ? KEY_SEP : "", d ? d : "");
    return buf;
}

/* Where a group's value comes from: "measureScore" (default), "proportion" or a population
 * code. False when it is none of them (reported). */
static bool group_value(struct map_check *c, const json_t *g, const char *base,
                        struct fhir_group_map *out)
{
    const char *value = text_member(c, g, base, "value", false);
    out->value = FHIR_VALUE_MEASURE_SCORE;
    if (value == NULL)
        return json_object_get(g, "value") == NULL;
    if (strcmp(value, "proportion") == 0)
        out->value = FHIR_VALUE_PROPORTION;
    else if (fhir_population_code_known(value)) {
        out->value = FHIR_VALUE_POPULATION;
        out->population = value;
    } else if (strcmp(value, "measureScore") != 0) {
        char path[160];
        snprintf(path, sizeof(path), "%s.value", base);
        problem(c, path, "invalid_value",
                "value \"%s\" must be measureScore, proportion or a measure-population code "
                "(numerator, denominator, initial-population, ...)",
                value);
        return false;
    }
    return true;
}

static void group_scale(struct map_check *c, const json_t *g, const char *base,
                        struct fhir_group_map *out)
{
    const json_t *scale = json_object_get(g, "scale");
    out->scale = 1;
    if (scale == NULL)
        return;
    double x = json_number_value(scale);
    if (!json_is_number(scale) || !isfinite(x) || x <= 0 || x > 1e9) {
        char path[160];
        snprintf(path, sizeof(path), "%s.scale", base);
        problem(c, path, "out_of_range", "scale must be a number above 0 and at most 1e9", NULL);
        return;
    }
    out->scale = x;
}

/* The indicator a group maps to: an indicator of the document, whose period type it takes. */
static void group_indicator(struct map_check *c, const json_t *g, const char *base,
                            struct fhir_group_map *out)
{
    out->indicator = text_member(c, g, base, "indicator", true);
    if (out->indicator == NULL)
        return;
    const json_t *type = json_object_get(c->indicators, out->indicator);
    if (type == NULL || !period_type_from_name(json_string_value(type), &out->period_type)) {
        char path[160];
        snprintf(path, sizeof(path), "%s.indicator", base);
        problem(c, path, "unknown_indicator",
                "indicator \"%s\" is not an indicator of this programme document", out->indicator);
    }
}

static void check_group(struct map_check *c, const json_t *g, const char *base,
                        struct fhir_group_map *out)
{
    static const char *const members[] = {"code",  "system", "id", "indicator",
                                          "value", "scale",  NULL};
    if (!json_is_object(g)) {
        problem(c, base, "invalid_type", "a group mapping must be an object", NULL);
        return;
    }
    only_members(c, g, base, members);
    out->code = text_member(c, g, base, "code", false);
    out->system = text_member(c, g, base, "system", false);
    out->id = text_member(c, g, base, "id", false);
    if (out->system != NULL && json_object_get(g, "code") == NULL)
        problem(c, base, "missing_field", "a group mapping with a system needs its code", NULL);
    group_indicator(c, g, base, out);
    if (group_value(c, g, base, out))
        group_scale(c, g, base, out);
}

/* Two group mappings of one measure that would claim the same group, or a mapping by
 * neither code nor id next to others. */
static void check_group_overlap(struct map_check *c, const struct fhir_measure_map *m,
                                const char *base)
{
    for (size_t i = 0; i < m->n_groups; i++) {
        const struct fhir_group_map *a = &m->groups[i];
        char path[160];
        snprintf(path, sizeof(path), "%s.groups[%zu]", base, i);
        if (a->code == NULL && a->id == NULL && m->n_groups > 1)
            problem(c, path, "invalid_value",
                    "a group mapping without code or id maps the measure's only group: it must "
                    "be the measure's only group mapping",
                    NULL);
        for (size_t j = 0; j < i; j++) {
            const struct fhir_group_map *b = &m->groups[j];
            bool same_code = a->code && b->code && strcmp(a->code, b->code) == 0 &&
                             (!a->system || !b->system || strcmp(a->system, b->system) == 0);
            bool same_id = a->id && b->id && strcmp(a->id, b->id) == 0;
            if (same_code || same_id)
                problem(c, path, "duplicate_code", "this group mapping claims the group of %s",
                        same_code ? "an earlier mapping's code" : "an earlier mapping's id");
        }
    }
}

static void check_measure(struct map_check *c, struct fhir_map *map, const json_t *m, size_t i)
{
    static const char *const members[] = {"url", "version", "groups", NULL};
    char base[64];
    snprintf(base, sizeof(base), "$.fhir.measures[%zu]", i);
    struct fhir_measure_map *out = &map->measures[i];
    if (!json_is_object(m)) {
        problem(c, base, "invalid_type", "a measure mapping must be an object", NULL);
        return;
    }
    only_members(c, m, base, members);
    out->url = text_member(c, m, base, "url", true);
    out->version = text_member(c, m, base, "version", false);
    if (out->url != NULL && strchr(out->url, '|') != NULL)
        problem(c, base, "invalid_value",
                "url is the canonical URL without \"|version\": give the version as version", NULL);
    const json_t *groups = json_object_get(m, "groups");
    char path[96];
    snprintf(path, sizeof(path), "%s.groups", base);
    if (!json_is_array(groups) || json_array_size(groups) == 0) {
        problem(c, path, groups ? "invalid_type" : "missing_field",
                "groups must be a non-empty array of group mappings", NULL);
        return;
    }
    out->n_groups = json_array_size(groups);
    out->groups = xcalloc(out->n_groups, sizeof(*out->groups));
    for (size_t g = 0; g < out->n_groups; g++) {
        snprintf(path, sizeof(path), "%s.groups[%zu]", base, g);
        check_group(c, json_array_get(groups, g), path, &out->groups[g]);
    }
    check_group_overlap(c, out, base);
    if (out->url == NULL)
        return;
    char key[2 * FHIR_TEXT_MAX + 8];
    join_key(key, sizeof(key), out->url, out->version ? out->version : "", NULL);
    if (json_object_get(map->by_measure, key) != NULL)
        problem(c, base, "duplicate_code", "measure \"%s\" is mapped twice (same version)",
                out->url);
    json_object_set_new(map->by_measure, key, json_integer((json_int_t)i));
    json_object_set_new(map->urls, out->url, json_true());
}

/* One organization: a site of the document known by an identifier or by a reference. */
static void check_organization(struct map_check *c, struct fhir_map *map, const json_t *o, size_t i)
{
    static const char *const members[] = {"site", "identifier", "reference", NULL};
    static const char *const id_members[] = {"system", "value", NULL};
    char base[64], path[96], key[2 * FHIR_TEXT_MAX + 8];
    snprintf(base, sizeof(base), "$.fhir.organizations[%zu]", i);
    if (!json_is_object(o)) {
        problem(c, base, "invalid_type", "an organization mapping must be an object", NULL);
        return;
    }
    only_members(c, o, base, members);
    const char *site = text_member(c, o, base, "site", true);
    snprintf(path, sizeof(path), "%s.site", base);
    if (site != NULL && json_object_get(c->sites, site) == NULL)
        problem(c, path, "unknown_site", "site \"%s\" is not a site of this programme document",
                site);
    const json_t *identifier = json_object_get(o, "identifier");
    const char *reference = text_member(c, o, base, "reference", false);
    if ((identifier != NULL) == (json_object_get(o, "reference") != NULL)) {
        problem(c, base, "invalid_value",
                "an organization mapping has either an identifier or a reference", NULL);
        return;
    }
    if (identifier != NULL) {
        snprintf(path, sizeof(path), "%s.identifier", base);
        if (!json_is_object(identifier)) {
            problem(c, path, "invalid_type", "identifier must be an object {system, value}", NULL);
            return;
        }
        only_members(c, identifier, path, id_members);
        const char *system = text_member(c, identifier, path, "system", true);
        const char *value = text_member(c, identifier, path, "value", true);
        if (system == NULL || value == NULL)
            return;
        join_key(key, sizeof(key), "i", system, value);
    } else if (reference != NULL) {
        join_key(key, sizeof(key), "r", reference, NULL);
    } else {
        return;
    }
    if (json_object_get(map->sites, key) != NULL)
        problem(c, base, "duplicate_code", "this %s is mapped to a site twice",
                identifier ? "identifier" : "reference");
    else if (site != NULL)
        json_object_set_new(map->sites, key, json_string(site));
}

/* The document's indicators (code -> period type name) and sites (code -> true). */
static void document_catalog(const json_t *doc, struct map_check *c)
{
    c->indicators = json_object();
    c->sites = json_object();
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(doc, "indicators"), i, item)
    {
        const char *code = json_string_value(json_object_get(item, "code"));
        const json_t *type = json_object_get(item, "period_type");
        if (code != NULL && json_is_string(type))
            json_object_set(c->indicators, code, (json_t *)type);
    }
    json_array_foreach(json_object_get(doc, "sites"), i, item)
    {
        const char *code = json_string_value(json_object_get(item, "code"));
        if (code != NULL)
            json_object_set_new(c->sites, code, json_true());
    }
}

/* The section's two arrays; false when the section's shape is wrong (reported). */
static bool check_section(struct map_check *c, struct fhir_map *map)
{
    static const char *const members[] = {"measures", "organizations", NULL};
    if (!json_is_object(map->section)) {
        problem(c, "$.fhir", "invalid_type", "fhir must be an object", NULL);
        return false;
    }
    only_members(c, map->section, "$.fhir", members);
    const json_t *measures = json_object_get(map->section, "measures");
    const json_t *orgs = json_object_get(map->section, "organizations");
    if (measures != NULL && !json_is_array(measures))
        problem(c, "$.fhir.measures", "invalid_type", "measures must be an array", NULL);
    if (orgs != NULL && !json_is_array(orgs))
        problem(c, "$.fhir.organizations", "invalid_type", "organizations must be an array", NULL);
    return c->ok;
}

struct fhir_map *fhir_map_from_doc(const json_t *doc, json_t **problems)
{
    struct fhir_map *map = xcalloc(1, sizeof(*map));
    const json_t *section = json_object_get(doc, "fhir");
    map->section = section ? json_deep_copy(section) : json_object();
    map->by_measure = json_object();
    map->urls = json_object();
    map->sites = json_object();
    struct map_check c = {problems, NULL, NULL, true};
    document_catalog(doc, &c);
    if (check_section(&c, map)) {
        const json_t *measures = json_object_get(map->section, "measures");
        map->n_measures = json_array_size(measures);
        map->measures = xcalloc(map->n_measures ? map->n_measures : 1, sizeof(*map->measures));
        for (size_t i = 0; i < map->n_measures; i++)
            check_measure(&c, map, json_array_get(measures, i), i);
        const json_t *orgs = json_object_get(map->section, "organizations");
        for (size_t i = 0; i < json_array_size(orgs); i++)
            check_organization(&c, map, json_array_get(orgs, i), i);
    }
    json_decref(c.indicators);
    json_decref(c.sites);
    if (!c.ok)
        fhir_map_free(&map);
    return map;
}

void fhir_map_free(struct fhir_map **map)
{
    if (map == NULL || *map == NULL)
        return;
    for (size_t i = 0; i < (*map)->n_measures; i++)
        free((*map)->measures[i].groups);
    free((*map)->measures);
    json_decref((*map)->section);
    json_decref((*map)->by_measure);
    json_decref((*map)->urls);
    json_decref((*map)->sites);
    free(*map);
    *map = NULL;
}

size_t fhir_map_measures(const struct fhir_map *map)
{
    return map->n_measures;
}

static const struct fhir_measure_map *measure_at(const struct fhir_map *map, const char *key)
{
    const json_t *index = json_object_get(map->by_measure, key);
    return index ? &map->measures[json_integer_value(index)] : NULL;
}

const struct fhir_measure_map *fhir_map_measure(const struct fhir_map *map, const char *url,
                                                const char *version)
{
    char key[2 * FHIR_TEXT_MAX + 8];
    if (strlen(url) > FHIR_TEXT_MAX || (version && strlen(version) > FHIR_TEXT_MAX))
        return NULL;
    const struct fhir_measure_map *m = NULL;
    if (version != NULL)
        m = measure_at(map, join_key(key, sizeof(key), url, version, NULL));
    return m ? m : measure_at(map, join_key(key, sizeof(key), url, "", NULL));
}

bool fhir_map_knows_url(const struct fhir_map *map, const char *url)
{
    return json_object_get(map->urls, url) != NULL;
}

const char *fhir_map_site_by_identifier(const struct fhir_map *map, const char *system,
                                        const char *value)
{
    char key[2 * FHIR_TEXT_MAX + 8];
    if (strlen(system) > FHIR_TEXT_MAX || strlen(value) > FHIR_TEXT_MAX)
        return NULL;
    return json_string_value(
        json_object_get(map->sites, join_key(key, sizeof(key), "i", system, value)));
}

const char *fhir_map_site_by_reference(const struct fhir_map *map, const char *reference)
{
    char key[FHIR_TEXT_MAX + 8];
    if (strlen(reference) > FHIR_TEXT_MAX)
        return NULL;
    return json_string_value(
        json_object_get(map->sites, join_key(key, sizeof(key), "r", reference, NULL)));
}

bool fhir_population_code_known(const char *code)
{
    static const char *const codes[] = {"initial-population",    "numerator",
                                        "numerator-exclusion",   "denominator",
                                        "denominator-exclusion", "denominator-exception",
                                        "measure-population",    "measure-population-exclusion",
                                        "measure-observation",   NULL};
    for (const char *const *c = codes; *c != NULL; c++)
        if (strcmp(*c, code) == 0)
            return true;
    return false;
}
