/* Receivers documents, checked whole without a database: {"receivers":[{"name",
 * "email":[…], "webhook":[…], "time_zone"?}]}. Whether a time zone exists is left to the
 * storage (receiver_store.h), which knows the database's zones. */
#ifndef SCALEUPD_CORE_RECEIVER_DOC_H
#define SCALEUPD_CORE_RECEIVER_DOC_H

#include <jansson.h>

/* Checks a receivers document; on success sets *receivers to its list (a borrowed
 * reference into doc) and returns NULL, else returns the problems (problems.h; owned by the
 * caller). Problem codes: invalid_type, invalid_email, invalid_url and, for a document
 * otherwise valid, duplicate_name. */
json_t *receiver_doc_parse(const json_t *doc, const json_t **receivers)
    __attribute__((warn_unused_result));

#endif
