/* Programme documents, checked whole without a database: {"slug", "name", "time_zone"?,
 * "teams"?, "sites"?: [{"code","name","level","parent"?,"status"?,"adopted"?}],
 * "indicators"?: [{"code","name","value_type","period_type","direction"?,"aggregate"?,
 * "dimension"?,"target"?,"unit"?}], "alert_budget"?: {"false_alerts_per_100_series_years"},
 * "fhir"?: the FHIR MeasureReport mapping (core/fhir_map.h)}; indicators and sites may carry
 * DHIS2 identifiers ("dhis2", core/programme_dhis2.h).
 * Whether the time zone exists is left to the storage. */
#ifndef SCALEUPD_CORE_PROGRAMME_DOC_H
#define SCALEUPD_CORE_PROGRAMME_DOC_H

#include <jansson.h>

/* The programme's false-alert budget of its spc rules (core/detector.h has what each costs in
   detection): false alerts per 100 series-years, counted per series. The detector's table
   covers 0.23 to 6.1 a side; a budget past it on the side(s) watched is clamped to it. */
#define PROGRAMME_BUDGET_KEY "false_alerts_per_100_series_years"
#define PROGRAMME_BUDGET_MIN 0.25
#define PROGRAMME_BUDGET_MAX 12.0

/* Validates a programme document: NULL when it is valid, else the problems (problems.h),
 * each {"path":"$.sites[3].parent","code":…,"message":…}, in document order, owned by the
 * caller. Problem codes: invalid_type, missing_field, invalid_slug, invalid_value,
 * invalid_code, duplicate_code, invalid_date, unknown_site, parent_cycle, out_of_range, and
 * under $.fhir unknown_member and unknown_indicator. */
json_t *programme_doc_validate(const json_t *doc) __attribute__((warn_unused_result));

#endif
