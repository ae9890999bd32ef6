/* Programme documents, checked whole without a database: {"slug", "name", "time_zone"?,
 * "teams"?, "sites"?: [{"code","name","level","parent"?,"status"?,"adopted"?}],
 * "indicators"?: [{"code","name","value_type","period_type","direction"?,"aggregate"?,
 * "dimension"?,"target"?,"unit"?}]}. Whether the time zone exists is left to the storage. */
#ifndef SCALEUPD_CORE_PROGRAMME_DOC_H
#define SCALEUPD_CORE_PROGRAMME_DOC_H

#include <jansson.h>

/* Validates a programme document: NULL when it is valid, else the problems (problems.h),
 * each {"path":"$.sites[3].parent","code":…,"message":…}, in document order, owned by the
 * caller. Problem codes: invalid_type, missing_field, invalid_slug, invalid_value,
 * invalid_code, duplicate_code, invalid_date, unknown_site, parent_cycle. */
json_t *programme_doc_validate(const json_t *doc) __attribute__((warn_unused_result));

#endif
