/* The DHIS2 identifiers a programme document may give its indicators and sites:
 * "indicators": [{…, "dhis2": {"dataElement": UID, "categoryOptionCombo"?: UID}}] (the
 * default combination when absent) and "sites": [{…, "dhis2": {"orgUnit": UID}}], and its data
 * sets, "dhis2": {"dataSets": [{"id": UID, "code"?}]}. A UID is DHIS2's: 11 letters and
 * digits, the first a letter. Pure. */
#ifndef SCALEUPD_PROGRAMME_DHIS2_H
#define SCALEUPD_PROGRAMME_DHIS2_H

#include <jansson.h>
#include <stdbool.h>

/* Whether text is a DHIS2 UID. */
bool dhis2_uid_valid(const char *text);

/* Whether text may be a category's or a category option's code in a combination key
 * ("categoryOptions" of an indicator, ADX's category attributes): 1 to 63 printable ASCII
 * characters, none of , = { } (the key's own). */
bool dhis2_category_text_valid(const char *text);

/* The combination key of an indicator's "categoryOptions" (an object of category code to
 * option code) into key: "{CATEGORY=OPTION,…}" by category code (strcmp order), as the ADX
 * parser builds it for a data value's category attributes. False when a member is not valid
 * text or the key does not fit size (at most 64 with its NUL, as a combination). */
bool dhis2_categories_key(const json_t *options, char *key, size_t size);

/* Adds to *problems (problems.h) what is wrong with the "dhis2" members of doc's indicators
 * and sites and with the programme's own "dhis2": {"dataSets": [{"id": UID, "code"?: text}]}
 * (the data sets a data value set may name, and complete): not an object or array
 * (invalid_type), an unknown member (unknown_member), a missing or malformed UID or code
 * (missing_field, invalid_value), a data element and combination, an organisation unit, a
 * data set or a data set code given twice (duplicate_code). */
void programme_dhis2_validate(json_t **problems, const json_t *doc);

#endif
