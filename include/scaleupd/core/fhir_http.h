/* FHIR R4's HTTP conventions that are pure decisions (docs/ARCHITECTURE.md, core): which
 * paths are FHIR's, the format a client asks for (_format and Accept: JSON only, XML and
 * Turtle refused by name), the Prefer header's return preference, and the
 * CapabilityStatement that GET /fhir/metadata answers. */
#ifndef SCALEUPD_CORE_FHIR_HTTP_H
#define SCALEUPD_CORE_FHIR_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define FHIR_MEDIA_JSON "application/fhir+json"
#define FHIR_VERSION "4.0.1"

/* True for "/fhir" and every path under "/fhir/": the endpoints whose errors are
 * OperationOutcomes. path may be NULL (false). */
bool fhir_is_path(const char *path);

/* Whether the answer's format is one we write (JSON). */
enum fhir_format_verdict {
    FHIR_FORMAT_JSON,        /* JSON: absent, or a JSON name or media type */
    FHIR_FORMAT_NOT_JSON,    /* XML, Turtle or another format: 406, *why names it */
    FHIR_FORMAT_UNACCEPTABLE /* Accept rules out every JSON type: 406, *why quotes it */
};

/*
 * Decides the answer's format from the _format query parameter (NULL: absent), which wins
 * over Accept as FHIR says, and else the Accept header (NULL: absent). _format takes json,
 * application/json, application/fhir+json and DSTU2's application/json+fhir (parameters such
 * as fhirVersion ignored). Accept
 * is a list of media ranges; one of application/fhir+json, application/json, or the
 * wildcards of application and of every type, not given q=0, lets JSON through; an Accept
 * naming only other types is unacceptable (XML or Turtle named as NOT_JSON). On a refusal, why gets
 * a sentence of at most size bytes.
 */
enum fhir_format_verdict fhir_format_check(const char *format, const char *accept, char *why,
                                           size_t size);

/* The Prefer header's return preference (FHIR R4 http.html, "Managing Return Content"). */
enum fhir_return {
    FHIR_RETURN_DEFAULT,           /* no return preference */
    FHIR_RETURN_MINIMAL,           /* return=minimal: no body */
    FHIR_RETURN_REPRESENTATION,    /* return=representation: the resource */
    FHIR_RETURN_OPERATION_OUTCOME, /* return=OperationOutcome */
    FHIR_RETURN_INVALID            /* a return preference of another value: *why names it */
};

/* Reads the return preference of a Prefer header (NULL: absent; preferences other than
 * return, such as respond-async or handling, are ignored as RFC 7240 says). Values are
 * compared without case, and may be quoted. */
enum fhir_return fhir_prefer_return(const char *prefer, char *why, size_t size);

/* The Prefer value of a return preference ("return=minimal"), for Preference-Applied; NULL for
 * DEFAULT and INVALID. */
const char *fhir_return_name(enum fhir_return r);

/*
 * The CapabilityStatement of this server (kind instance, FHIR 4.0.1, JSON only): the
 * MeasureReport create interaction, batch and transaction at the system level, the types and
 * statuses of reports taken, the Prefer values honoured, and how to authenticate. version is
 * the software's, date (YYYY-MM-DD) the statement's. The caller owns the result.
 */
json_t *fhir_capability_statement(const char *version, const char *date)
    __attribute__((warn_unused_result));

#endif /* SCALEUPD_CORE_FHIR_HTTP_H */
