/* The FHIR mapping of a programme: the "fhir" section of its programme document, which says
 * which MeasureReport measure (canonical URL, optionally a version) and group make which
 * indicator, where its value comes from, and which reporter (an Organization identifier or a
 * reference) is which site. Checked whole against the document's own indicators and sites,
 * then used by obs_parse_fhir (obs_parse.h) to turn MeasureReports into observation rows.
 *
 *   "fhir": {
 *     "measures": [{"url": "http://…/Measure/anc-ind-01", "version"?: "1.0.0",
 *                   "groups": [{"code"?: "…", "system"?: "…", "id"?: "…",
 *                               "indicator": "CODE", "value"?: "measureScore",
 *                               "scale"?: 1}]}],
 *     "organizations": [{"site": "CODE", "identifier": {"system": "…", "value": "…"}}
 *                       | {"site": "CODE", "reference": "Organization/…"}]
 *   }
 *
 * A group mapping names the report's group by a coding of group.code (code, and system when
 * given), or by group.id, or by neither: then it is the measure's only group and maps a report
 * with exactly one group. "value" is "measureScore" (group.measureScore.value), "proportion"
 * (numerator count / denominator count) or a population code of
 * http://terminology.hl7.org/CodeSystem/measure-population (that population's count); scale
 * multiplies a measureScore or a proportion (100 for a percentage from a 0..1 score). */
#ifndef SCALEUPD_CORE_FHIR_MAP_H
#define SCALEUPD_CORE_FHIR_MAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/core/period.h"

enum fhir_value_source {
    FHIR_VALUE_MEASURE_SCORE,
    FHIR_VALUE_PROPORTION,
    FHIR_VALUE_POPULATION,
};

/* One group of a measure mapped to an indicator. Strings are owned by the map. */
struct fhir_group_map {
    const char *code;   /* a coding code of group.code, or NULL */
    const char *system; /* the system that coding must have, or NULL for any */
    const char *id;     /* group.id, or NULL */
    const char *indicator;
    enum period_type period_type; /* the indicator's, from the document */
    enum fhir_value_source value;
    const char *population; /* FHIR_VALUE_POPULATION: its population code */
    double scale;
};

struct fhir_measure_map {
    const char *url;
    const char *version; /* NULL: any version, or none */
    struct fhir_group_map *groups;
    size_t n_groups;
};

struct fhir_map;

/*
 * Checks the "fhir" member of a programme document (absent: an empty map) against the
 * document's "indicators" and "sites" and builds the map. Problems (problems.h, paths under
 * $.fhir) are appended to *problems; codes: invalid_type, missing_field, unknown_member,
 * invalid_value, unknown_indicator, unknown_site, duplicate_code, out_of_range. Returns the
 * map (owned by the caller, fhir_map_free) when the section is valid, else NULL.
 */
struct fhir_map *fhir_map_from_doc(const json_t *doc, json_t **problems)
    __attribute__((warn_unused_result));

/* Frees the map and sets *map to NULL; NULL is fine. */
void fhir_map_free(struct fhir_map **map);

/* Number of measures mapped (0 when the document has no "fhir" section). */
size_t fhir_map_measures(const struct fhir_map *map);

/* The mapping of measure url (the canonical URL without "|version") for version (NULL when
 * the report gives none): a mapping of that URL and version, else one of that URL without a
 * version. NULL when none matches. */
const struct fhir_measure_map *fhir_map_measure(const struct fhir_map *map, const char *url,
                                                const char *version);

/* Whether the map knows url with some version (to say "version X is not mapped"). */
bool fhir_map_knows_url(const struct fhir_map *map, const char *url);

/* The site code of a reporter known by identifier (system, value), or NULL. */
const char *fhir_map_site_by_identifier(const struct fhir_map *map, const char *system,
                                        const char *value);

/* The site code of a reporter known by reference ("Organization/ZW01"), or NULL. */
const char *fhir_map_site_by_reference(const struct fhir_map *map, const char *reference);

/* Whether code is a population code of the measure-population code system (R4). */
bool fhir_population_code_known(const char *code);

#endif /* SCALEUPD_CORE_FHIR_MAP_H */
