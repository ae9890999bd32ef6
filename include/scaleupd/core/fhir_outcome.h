/* The answers of the FHIR MeasureReport routes, from a parsed and validated batch
 * (parse_fhir.h) and what storing it did: an OperationOutcome with one issue per rejected
 * report or group (severity, code, diagnostics, a FHIRPath expression such as
 * Bundle.entry[3].resource.group[0], and our reject code as details), or for a batch a
 * batch-response Bundle with each entry's response.status and outcome. The import counts
 * (imported, updated, unchanged, rejected, dryRun) travel as an extension, IMPORT_COUNTS_URL,
 * of the OperationOutcome, or of the Bundle's meta, and as an information issue. */
#ifndef SCALEUPD_CORE_FHIR_OUTCOME_H
#define SCALEUPD_CORE_FHIR_OUTCOME_H

#include <jansson.h>
#include <stdbool.h>

#include "scaleupd/core/obs_parse.h"

#define FHIR_IMPORT_COUNTS_URL "urn:scaleupd:fhir:import-counts"
#define FHIR_ISSUE_SYSTEM "urn:scaleupd:fhir:issue" /* the system of our reject codes */

struct fhir_counts {
    long long imported;
    long long updated;
    long long unchanged;
};

/*
 * The answer to a FHIR write, and its HTTP status in *status. stored: the accepted rows were
 * stored (not when nothing was accepted, or a transaction had a rejection). A report is
 * "created" when it stored a value new to its key (never in a dry run): a lone report when
 * counts->imported > 0; a Bundle's entry when one of its accepted rows i has !existed[i]
 * (existed, read before the store: whether row i's (indicator, site, period) had a stored
 * value; NULL: no entry was created). A lone MeasureReport: an OperationOutcome, 201 when
 * created, 200 when stored but only updating or repeating stored values, 422 when refused
 * (400 when refused for its structure).
 * A batch: a batch-response Bundle, 200, each entry "201 Created", "200 OK" or a 4xx with its
 * issues. A transaction: a transaction-response Bundle (200, entries as a batch's) when every
 * entry was accepted, else one OperationOutcome with every issue and nothing stored (422, or
 * 400). The caller owns the result.
 */
json_t *fhir_outcome(const struct obs_batch *batch, const struct fhir_counts *counts,
                     const bool *existed, bool stored, bool dry_run, int *status)
    __attribute__((warn_unused_result));

/* A status line of a response Bundle's entry for 200, 201, 400, 413 and 422 ("201 Created");
 * any other status reads as 422's. */
const char *fhir_status_line(int status);

/* An OperationOutcome with one error issue (code is FHIR's issue type, such as "structure";
 * ours, when not NULL, goes in details). For document errors and refused requests. */
json_t *fhir_error_outcome(const char *code, const char *ours, const char *diagnostics);

/* FHIR's issue type for one of our reject or document error codes, or of the error codes of
 * a request refused as a whole ("not-found", "login", "too-costly", ...; "business-rule" for
 * any other). */
const char *fhir_issue_type(const char *ours);

#endif /* SCALEUPD_CORE_FHIR_OUTCOME_H */
