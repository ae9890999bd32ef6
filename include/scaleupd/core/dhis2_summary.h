/* DHIS2's answers to a data value import, as its Web API renders them: the import summary
 * (responseType ImportSummary, importCount, conflicts with object, objects, value, errorCode,
 * property and indexes, rejectedIndexes), wrapped in a WebMessage (httpStatus,
 * httpStatusCode, status, message, response) for API versions 38 and later and for the
 * unversioned path, bare for versions 28 to 37 (dhis2-core answers those "plain"). The
 * conflicts carry DHIS2's E-codes (ErrorCode E7610…, DataValueImportConflict) where DHIS2 has
 * one for the problem. Pure: jansson only. */
#ifndef SCALEUPD_DHIS2_SUMMARY_H
#define SCALEUPD_DHIS2_SUMMARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/core/obs_parse.h"
#include "scaleupd/core/period.h"

/* The Web API versions a versioned path may name (/api/28/… to /api/42/…). */
#define DHIS2_API_VERSION_MIN 28
#define DHIS2_API_VERSION_MAX 42
/* The first version whose import answers are wrapped in a WebMessage. */
#define DHIS2_API_VERSION_WEB_MESSAGE 38
/* 0 stands for the unversioned path (/api/dataValueSets): wrapped, as the newest. */
#define DHIS2_API_UNVERSIONED 0

/* The conflicts listed at most; rejectedIndexes always lists every rejected row. */
#define DHIS2_SUMMARY_MAX_CONFLICTS 1000

/* What the import did, in DHIS2's four counts. */
struct dhis2_counts {
    long long imported;
    long long updated;
    long long ignored; /* unchanged and rejected values */
    long long deleted;
};

/* The API version a path segment names: true with *version for "28" … "42" (digits only);
 * false for anything else (a version DHIS2 does not serve is 404). */
bool dhis2_api_version_parse(const char *segment, int *version) __attribute__((warn_unused_result));

/* DHIS2's E-code for a rejected row (E7610 data element, E7611 period, E7612 organisation
 * unit, E7618/E7619 value, E7620 comment, E7632 period type, E7641 future period, …), or NULL
 * when DHIS2 has none for the problem (a duplicate in the batch, an unknown field). A static
 * string. */
const char *dhis2_error_code(const struct obs_reject *reject);

/* The import summary of a parsed and validated batch: status SUCCESS (no row rejected),
 * WARNING (some) or ERROR (every row rejected, or none stored), description ("Dry run: …"
 * for a dry run), importCount, one conflict per rejected row (at most
 * DHIS2_SUMMARY_MAX_CONFLICTS; each names the row's 0-based index in indexes, and its
 * objects the values DHIS2 would name, a period that is not one as given; a duplicate's value
 * names the other value by its 0-based index too), rejectedIndexes, dataSetComplete. A new
 * reference owned by the caller. */
json_t *dhis2_summary(const struct obs_batch *batch, const struct dhis2_counts *counts,
                      bool dry_run);

/* The import summary refusing a whole request for one parameter (status ERROR, nothing
 * counted, one conflict whose object and property are the parameter, whose value is message
 * and whose errorCode is code). A new reference owned by the caller. */
json_t *dhis2_refusal_summary(const char *parameter, const char *code, const char *message);

/* The answer to send for summary (taken) at api_version, and its HTTP status in *http_status:
 * for version 38 and later and the unversioned path, a WebMessage whose httpStatusCode is
 * 200 for SUCCESS and 409 for WARNING or ERROR (dhis2-core's WebMessageUtils.importSummary);
 * before 38 the summary itself, with 200 whatever its status, as DHIS2 answered. */
json_t *dhis2_import_answer(json_t *summary, int api_version, int *http_status);

/* The answer refusing a request (400) for one parameter, for every version: a WebMessage
 * (status ERROR, message naming the parameter) whose response is dhis2_refusal_summary's
 * (DHIS2 answers a request it cannot bind with a WebMessage whatever the version). */
json_t *dhis2_refusal_answer(const char *parameter, const char *code, const char *message,
                             int *http_status);

/* The answer to an import started with async=true (dhis2-core's jobConfigurationReport): a
 * WebMessage "Initiated DATAVALUE_IMPORT" whose response names the job (id, created,
 * jobType, jobStatus) and its relativeNotifierEndpoint, /api/system/tasks/DATAVALUE_IMPORT/{id}.
 * A new reference owned by the caller. */
json_t *dhis2_job_answer(const char *id, const char *created);

/* The notifications of a job whose status is status (RUNNING, COMPLETED or ERROR), newest
 * first, as /api/system/tasks/{jobType}/{id} lists them: "Process started" (INFO, not
 * completed) while it runs; then "Import done" (INFO, completed) before it, or for a failed
 * job "Process failed: " and failure (ERROR, completed). A new reference. */
json_t *dhis2_job_notifications(const char *id, const char *status, const char *created,
                                const char *completed, const char *failure);

/* The import summary of an import that failed as a whole (status ERROR, nothing counted, no
 * conflict, description "The import process failed: " and message), as DHIS2 keeps it for a
 * job that threw. A new reference owned by the caller. */
json_t *dhis2_failed_summary(const char *message);

/* DHIS2's identifier of period p ("202501", "2025Q1", "2025W5", "2025") into buf; false when
 * it does not fit. */
bool dhis2_period_id(struct period p, char *buf, size_t size) __attribute__((warn_unused_result));

/* A conflict of the data value set itself (DHIS2's ImportConflict of a set-level object):
 * {"object", "objects": {type: object}, "value": message, "errorCode"? (NULL: none),
 * "property"}. A new reference. */
json_t *dhis2_set_conflict(const char *type, const char *object, const char *message,
                           const char *error_code, const char *property);

/* The summary of an import aborted because its dataSet names no data set of the programme
 * (DHIS2's DataValueSetImportConflict.DATASET_NOT_FOUND): status ERROR, description "Import
 * process was aborted", nothing counted, one conflict E7600 on dataSet. A new reference. */
json_t *dhis2_data_set_not_found(const char *data_set);

/* Sets summary's dataSetComplete to complete (the date the data set was registered complete,
 * YYYY-MM-DD, or "" for none: "false", as DHIS2 writes it) and puts conflicts (the data value
 * set's own, e.g. "Must be provided to complete data set"; borrowed) before the values'. */
void dhis2_summary_set_level(json_t *summary, const char *complete, json_t *conflicts);

#endif
