/* Errors of the FHIR endpoints as FHIR clients read them: an OperationOutcome
 * (application/fhir+json) with one error issue (severity, FHIR's issue type, diagnostics, our
 * code as details), with the HTTP status of the native error kept. */
#ifndef SCALEUPD_EDGE_FHIR_REPLY_H
#define SCALEUPD_EDGE_FHIR_REPLY_H

#include <stdbool.h>

#include "scaleupd/edge/request.h"

/* Sets an OperationOutcome error response: type is FHIR's issue type ("not-supported"),
 * ours (may be NULL) our error code, diagnostics the message (made valid UTF-8 here). */
void fhir_reply_error(struct request *req, int status, const char *type, const char *ours,
                      const char *diagnostics);

/* The hook of request_reply_error_json (request.c): when req is for a FHIR path
 * (core/fhir_http.h fhir_is_path), answers the native error (code, message) as an
 * OperationOutcome whose issue type fhir_issue_type gives, and returns true; else false and
 * nothing is answered. Whatever refuses a request under /fhir (the connection guard's 401,
 * 413 and 429, the router's 404 and 405, authorisation's 403, a handler's 4xx) so answers
 * FHIR without knowing it. */
bool fhir_reply_native_error(struct request *req, int status, const char *code,
                             const char *message);

#endif /* SCALEUPD_EDGE_FHIR_REPLY_H */
