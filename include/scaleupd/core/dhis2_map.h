/* DHIS2 identifiers of a programme's indicators and sites, and what they do to a batch: a
 * data element UID with a category option combination UID (the default combination when
 * absent, HllvX50cXC0 or "default") names an indicator, an organisation unit UID a site, as
 * the programme document declares them ("dhis2": {"dataElement", "categoryOptionCombo"?} on
 * an indicator, "dhis2": {"orgUnit"} on a site; core/programme_dhis2.h). Pure: no I/O. */
#ifndef SCALEUPD_DHIS2_MAP_H
#define SCALEUPD_DHIS2_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/core/dhis2_options.h"
#include "scaleupd/core/obs_parse.h"

/* DHIS2's default category option combination: its UID is the same in every instance. */
#define DHIS2_DEFAULT_COMBO_UID "HllvX50cXC0"

struct dhis2_map;

/* A new empty map owned by the caller (free with dhis2_map_free); never NULL. */
struct dhis2_map *dhis2_map_new(void);

/* Frees the map and sets *map to NULL. NULL is ok. */
void dhis2_map_free(struct dhis2_map **map);

/* Adds that data element uid with combination combo ("" or the default's UID: the default)
 * names the indicator of code indicator. The strings are copied. */
void dhis2_map_add_data_element(struct dhis2_map *map, const char *uid, const char *combo,
                                const char *indicator);

/* Adds that organisation unit uid names the site of code site. The strings are copied. */
void dhis2_map_add_org_unit(struct dhis2_map *map, const char *uid, const char *site);

/* Whether text is the default category option combination ("", HllvX50cXC0 or "default"). */
bool dhis2_is_default_combo(const char *text);

/* Rewrites the rows of batch that are not rejected to scaleupd's codes, per scheme:
 * - UID: the data element (with its category option combination) and the organisation unit
 *   must be mapped, else the row is rejected (not_mapped, field dataElement, orgUnit or
 *   categoryOptionCombo; missing_field on categoryOptionCombo when the data element is
 *   mapped only with other combinations);
 * - DHIS2_SCHEME_DEFAULT (not given): a mapped UID is rewritten, anything else is left as a
 *   code for obs_validate to judge;
 * - CODE: left as codes; a combination other than the default is rejected (not_mapped).
 * Rows rejected here get one reject each, as the parser's. */
void dhis2_map_apply(struct obs_batch *batch, struct dhis2_map *map,
                     enum dhis2_id_scheme data_element_scheme,
                     enum dhis2_id_scheme org_unit_scheme);

#endif
