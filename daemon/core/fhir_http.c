/* FHIR R4's HTTP conventions as pure decisions (fhir_http.h): FHIR's paths, the answer's
 * format from _format and Accept, the Prefer header's return preference, and the
 * CapabilityStatement of GET /fhir/metadata. Strings in, verdicts and JSON out. */
#include "scaleupd/core/fhir_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool fhir_is_path(const char *path)
{
    return path != NULL && strncmp(path, "/fhir", 5) == 0 && (path[5] == '\0' || path[5] == '/');
}

/* A token of a header list: [*at, *end) trimmed of spaces; false when len is 0. */
static bool trimmed(const char **at, const char **end)
{
    while (*at < *end && (**at == ' ' || **at == '\t'))
        (*at)++;
    while (*end > *at && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
    return *end > *at;
}

static bool token_is(const char *at, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - at) == n && strncasecmp(at, word, n) == 0;
}

static bool is_json_name(const char *at, const char *end)
{
    return token_is(at, end, "json") || token_is(at, end, "application/json") ||
           token_is(at, end, FHIR_MEDIA_JSON) ||
           token_is(at, end, "application/json+fhir"); /* DSTU2's name, still sent */
}

/* The name of a format we do not write, or NULL when at..end names none we know. */
static const char *other_format(const char *at, const char *end)
{
    static const char *const xml[] = {"xml", "text/xml", "application/xml", "application/fhir+xml",
                                      "application/xml+fhir"};
    static const char *const turtle[] = {"ttl", "text/turtle", "application/x-turtle"};
    for (size_t i = 0; i < sizeof(xml) / sizeof(xml[0]); i++)
        if (token_is(at, end, xml[i]))
            return "XML";
    for (size_t i = 0; i < sizeof(turtle) / sizeof(turtle[0]); i++)
        if (token_is(at, end, turtle[i]))
            return "Turtle (RDF)";
    return NULL;
}

/* True when the parameters [at, end) of a media range give it q=0 (it is refused). */
static bool weight_is_zero(const char *at, const char *end)
{
    while (at < end) {
        const char *semi = memchr(at, ';', (size_t)(end - at));
        const char *stop = semi ? semi : end, *p = at, *q = stop;
        if (trimmed(&p, &q) && q - p >= 3 && strncasecmp(p, "q=", 2) == 0) {
            bool zero = p[2] == '0';
            for (const char *d = p + 3; zero && d < q; d++)
                zero = *d == '.' || *d == '0';
            return zero;
        }
        at = semi ? semi + 1 : end;
    }
    return false;
}

static enum fhir_format_verdict refuse_named(const char *name, const char *given, char *why,
                                             size_t size)
{
    snprintf(why, size,
             "%s is not supported (%s): this server reads and writes FHIR JSON "
             "only; ask for _format=json or Accept: " FHIR_MEDIA_JSON,
             name, given);
    return FHIR_FORMAT_NOT_JSON;
}

static enum fhir_format_verdict check_param(const char *format, char *why, size_t size)
{
    const char *at = format, *end = format + strlen(format);
    const char *semi = memchr(at, ';', (size_t)(end - at));
    if (semi != NULL)
        end = semi; /* fhirVersion=4.0 and the like */
    trimmed(&at, &end);
    if (is_json_name(at, end))
        return FHIR_FORMAT_JSON;
    const char *name = other_format(at, end);
    char given[80];
    snprintf(given, sizeof(given), "_format=%.*s", (int)(end - at < 60 ? end - at : 60), at);
    return refuse_named(name ? name : "that format", given, why, size);
}

enum fhir_format_verdict fhir_format_check(const char *format, const char *accept, char *why,
                                           size_t size)
{
    if (format != NULL)
        return check_param(format, why, size);
    if (accept == NULL || accept[0] == '\0')
        return FHIR_FORMAT_JSON;
    const char *named = NULL;
    for (const char *at = accept; *at != '\0';) {
        const char *comma = strchr(at, ','), *end = comma ? comma : at + strlen(at);
        const char *semi = memchr(at, ';', (size_t)(end - at));
        const char *type = at, *type_end = semi ? semi : end;
        if (trimmed(&type, &type_end) && !(semi && weight_is_zero(semi + 1, end))) {
            if (is_json_name(type, type_end) || token_is(type, type_end, "application/*") ||
                token_is(type, type_end, "*/*"))
                return FHIR_FORMAT_JSON;
            if (named == NULL)
                named = other_format(type, type_end);
        }
        at = comma ? comma + 1 : end;
    }
    if (named != NULL) {
        char given[140];
        snprintf(given, sizeof(given), "Accept: %.120s", accept);
        return refuse_named(named, given, why, size);
    }
    snprintf(why, size,
             "Accept: %.120s allows no format this server writes: it writes " FHIR_MEDIA_JSON
             " only",
             accept);
    return FHIR_FORMAT_UNACCEPTABLE;
}

enum fhir_return fhir_prefer_return(const char *prefer, char *why, size_t size)
{
    static const struct {
        const char *value;
        enum fhir_return r;
    } values[] = {{"minimal", FHIR_RETURN_MINIMAL},
                  {"representation", FHIR_RETURN_REPRESENTATION},
                  {"OperationOutcome", FHIR_RETURN_OPERATION_OUTCOME}};
    for (const char *at = prefer; at != NULL && *at != '\0';) {
        const char *comma = strchr(at, ','), *end = comma ? comma : at + strlen(at);
        const char *semi = memchr(at, ';', (size_t)(end - at));
        const char *p = at, *q = semi ? semi : end;
        if (trimmed(&p, &q) && q - p > 7 && strncasecmp(p, "return=", 7) == 0) {
            p += 7;
            if (q - p >= 2 && *p == '"' && q[-1] == '"')
                p++, q--;
            for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                if (token_is(p, q, values[i].value))
                    return values[i].r;
            snprintf(why, size,
                     "Prefer: return=%.*s is not one of minimal, representation, "
                     "OperationOutcome",
                     (int)(q - p < 60 ? q - p : 60), p);
            return FHIR_RETURN_INVALID;
        }
        at = comma ? comma + 1 : end;
    }
    return FHIR_RETURN_DEFAULT;
}

const char *fhir_return_name(enum fhir_return r)
{
    switch (r) {
    case FHIR_RETURN_MINIMAL:
        return "return=minimal";
    case FHIR_RETURN_REPRESENTATION:
        return "return=representation";
    case FHIR_RETURN_OPERATION_OUTCOME:
        return "return=OperationOutcome";
    default:
        return NULL;
    }
}

static json_t *measure_report_resource(void)
{
    return json_pack(
        "{s:s,s:[{s:s,s:s}],s:s,s:b,s:b,s:b}", "type", "MeasureReport", "interaction", "code",
        "create", "documentation",
        "POST /fhir/MeasureReport: a summary report of status complete; each mapped group is "
        "one value of the programme's indicator for the reporter's site and the period. 201 "
        "when a value was new, 200 when the report only updated or repeated stored values. The "
        "report itself is not kept as a resource (its values are): no read, no Location",
        "versioning", "no-version", "readHistory", 0, "updateCreate", 0, "conditionalCreate", 0);
}

json_t *fhir_capability_statement(const char *version, const char *date)
{
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s},s:s,s:[s,s],s:[{s:s,s:s,s:{s:s},s:[o],"
        "s:[{s:s,s:s},{s:s,s:s}]}]}",
        "resourceType", "CapabilityStatement", "status", "active", "date", date, "kind", "instance",
        "publisher", "scaleupd", "software", "name", "scaleupd", "version", version,
        "implementation", "description",
        "scaleupd: aggregate indicator reports (MeasureReport, type summary) of integrated-care "
        "scale-up programmes",
        "fhirVersion", FHIR_VERSION, "format", "json", FHIR_MEDIA_JSON, "rest", "mode", "server",
        "documentation",
        "JSON only (_format=xml and Accept: application/fhir+xml are refused, 406). Prefer: "
        "return=minimal (no body) and return=OperationOutcome are honoured and named in "
        "Preference-Applied; return=representation is not (no resource is kept). Errors are "
        "OperationOutcomes",
        "security", "description",
        "a scaleupd feed token (or an admin token with ?programme=SLUG): Authorization: Bearer "
        "<token>, ApiToken <token>, or Basic with the token as the password",
        "resource", measure_report_resource(), "interaction", "code", "batch", "documentation",
        "POST /fhir with a Bundle of type batch: each MeasureReport stored or refused on its own",
        "code", "transaction", "documentation",
        "POST /fhir with a Bundle of type transaction: all reports or none");
}
