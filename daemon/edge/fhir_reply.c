/* The FHIR endpoints' errors (fhir_reply.h): OperationOutcomes in place of the native
 * {"error":…} document, for the handlers of routes_fhir.c and, through request.c's one hook,
 * for every refusal decided before them. */
#include "scaleupd/edge/fhir_reply.h"

#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/fhir_http.h"
#include "scaleupd/core/fhir_outcome.h"
#include "scaleupd/core/utf8.h"

void fhir_reply_error(struct request *req, int status, const char *type, const char *ours,
                      const char *diagnostics)
{
    char *text = xstrdup(diagnostics ? diagnostics : "");
    utf8_make_valid(text);
    json_t *outcome = fhir_error_outcome(type, ours, text);
    free(text);
    char *body = outcome ? json_dumps(outcome, JSON_COMPACT) : NULL;
    json_decref(outcome);
    if (body == NULL) { /* the small outcome always serialises; never loop back here */
        static const char fallback[] =
            "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
            "\"code\":\"exception\",\"diagnostics\":\"the response could not be built\"}]}";
        request_reply_raw(req, 500, FHIR_MEDIA_JSON, xstrdup(fallback), strlen(fallback));
        return;
    }
    request_reply_raw(req, status, FHIR_MEDIA_JSON, body, strlen(body));
}

bool fhir_reply_native_error(struct request *req, int status, const char *code, const char *message)
{
    if (!fhir_is_path(req->path))
        return false;
    const char *type = fhir_issue_type(code);
    if (status >= 500 && strcmp(type, "business-rule") == 0)
        type = "exception"; /* a failure of ours, whatever its code */
    fhir_reply_error(req, status, type, code, message);
    return true;
}
