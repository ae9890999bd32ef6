/*
 * FHIR R4's HTTP conventions (core/fhir_http.h): which paths answer OperationOutcomes, the
 * answer's format from _format and Accept (JSON only, XML refused by name), Prefer's return
 * preference, and the CapabilityStatement GET /fhir/metadata answers.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/core/fhir_http.h"
#include "scaleupd/core/fhir_outcome.h"

Test(fhir_http, fhir_paths)
{
    cr_expect(fhir_is_path("/fhir"));
    cr_expect(fhir_is_path("/fhir/"));
    cr_expect(fhir_is_path("/fhir/MeasureReport"));
    cr_expect(fhir_is_path("/fhir/Patient/1"));
    cr_expect_not(fhir_is_path("/fhirx"));
    cr_expect_not(fhir_is_path("/api/v1/programmes"));
    cr_expect_not(fhir_is_path("/"));
    cr_expect_not(fhir_is_path(NULL));
}

static const struct {
    const char *format, *accept;
    enum fhir_format_verdict want;
    const char *why; /* a part of the sentence, or NULL */
} format_cases[] = {
    {NULL, NULL, FHIR_FORMAT_JSON, NULL},
    {NULL, "", FHIR_FORMAT_JSON, NULL},
    {"json", NULL, FHIR_FORMAT_JSON, NULL},
    {"application/json", NULL, FHIR_FORMAT_JSON, NULL},
    {"application/fhir+json", NULL, FHIR_FORMAT_JSON, NULL},
    {"application/fhir+json;fhirVersion=4.0", NULL, FHIR_FORMAT_JSON, NULL},
    {"xml", NULL, FHIR_FORMAT_NOT_JSON, "XML is not supported"},
    {"application/fhir+xml", NULL, FHIR_FORMAT_NOT_JSON, "_format=application/fhir+xml"},
    {"text/xml", NULL, FHIR_FORMAT_NOT_JSON, "XML"},
    {"ttl", NULL, FHIR_FORMAT_NOT_JSON, "Turtle"},
    {"html", NULL, FHIR_FORMAT_NOT_JSON, "that format is not supported (_format=html)"},
    /* _format wins over Accept, either way */
    {"json", "application/fhir+xml", FHIR_FORMAT_JSON, NULL},
    {"xml", "application/fhir+json", FHIR_FORMAT_NOT_JSON, "XML"},
    {NULL, "application/fhir+json", FHIR_FORMAT_JSON, NULL},
    {NULL, "application/fhir+json; fhirVersion=4.0", FHIR_FORMAT_JSON, NULL},
    {NULL, "application/json, text/plain", FHIR_FORMAT_JSON, NULL},
    {NULL, "*/*", FHIR_FORMAT_JSON, NULL},
    /* what HAPI's client sends: XML first, JSON in DSTU2's name too */
    {NULL,
     "application/fhir+xml;q=1.0, application/fhir+json;q=1.0, application/xml+fhir;q=0.9, "
     "application/json+fhir;q=0.9",
     FHIR_FORMAT_JSON, NULL},
    {NULL, "application/json+fhir", FHIR_FORMAT_JSON, NULL},
    {NULL, "application/xml+fhir", FHIR_FORMAT_NOT_JSON, "XML"},
    {NULL, "application/*;q=0.5", FHIR_FORMAT_JSON, NULL},
    {NULL, "application/fhir+xml, application/fhir+json;q=0.1", FHIR_FORMAT_JSON, NULL},
    {NULL, "application/fhir+xml", FHIR_FORMAT_NOT_JSON,
     "XML is not supported (Accept: application/fhir+xml)"},
    {NULL, "application/fhir+json;q=0, application/fhir+xml", FHIR_FORMAT_NOT_JSON, "XML"},
    {NULL, "application/json;q=0.0", FHIR_FORMAT_UNACCEPTABLE, "allows no format"},
    {NULL, "text/html", FHIR_FORMAT_UNACCEPTABLE, "Accept: text/html"},
};

Test(fhir_http, the_answer_is_json_or_refused_by_name)
{
    for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
        char why[300] = "";
        enum fhir_format_verdict got =
            fhir_format_check(format_cases[i].format, format_cases[i].accept, why, sizeof(why));
        cr_expect_eq(got, format_cases[i].want, "case %zu", i);
        if (format_cases[i].why != NULL)
            cr_expect(strstr(why, format_cases[i].why) != NULL, "case %zu: %s", i, why);
    }
}

static const struct {
    const char *prefer;
    enum fhir_return want;
} prefer_cases[] = {
    {NULL, FHIR_RETURN_DEFAULT},
    {"", FHIR_RETURN_DEFAULT},
    {"respond-async", FHIR_RETURN_DEFAULT},
    {"handling=strict", FHIR_RETURN_DEFAULT},
    {"return=minimal", FHIR_RETURN_MINIMAL},
    {"return=representation", FHIR_RETURN_REPRESENTATION},
    {"return=OperationOutcome", FHIR_RETURN_OPERATION_OUTCOME},
    {"RETURN=operationoutcome", FHIR_RETURN_OPERATION_OUTCOME},
    {"return=\"minimal\"", FHIR_RETURN_MINIMAL},
    {"respond-async, return=minimal; x=y", FHIR_RETURN_MINIMAL},
    {"return=everything", FHIR_RETURN_INVALID},
};

Test(fhir_http, prefer_return)
{
    for (size_t i = 0; i < sizeof(prefer_cases) / sizeof(prefer_cases[0]); i++) {
        char why[200] = "";
        cr_expect_eq(fhir_prefer_return(prefer_cases[i].prefer, why, sizeof(why)),
                     prefer_cases[i].want, "case %zu", i);
    }
    char why[200];
    (void)fhir_prefer_return("return=everything", why, sizeof(why));
    cr_expect_str_eq(why, "Prefer: return=everything is not one of minimal, representation, "
                          "OperationOutcome");
    cr_expect_str_eq(fhir_return_name(FHIR_RETURN_MINIMAL), "return=minimal");
    cr_expect_null(fhir_return_name(FHIR_RETURN_DEFAULT));
}

Test(fhir_http, the_capability_statement_says_what_is_supported)
{
    json_t *cs = fhir_capability_statement("1.2.3", "2026-12-02");
    cr_assert_not_null(cs);
    cr_expect_str_eq(json_string_value(json_object_get(cs, "resourceType")), "CapabilityStatement");
    cr_expect_str_eq(json_string_value(json_object_get(cs, "fhirVersion")), "4.0.1");
    cr_expect_str_eq(json_string_value(json_object_get(cs, "kind")), "instance");
    cr_expect_str_eq(json_string_value(json_object_get(cs, "date")), "2026-12-02");
    json_t *format = json_object_get(cs, "format");
    cr_expect_eq(json_array_size(format), 2);
    cr_expect_str_eq(json_string_value(json_array_get(format, 0)), "json");
    json_t *rest = json_array_get(json_object_get(cs, "rest"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(rest, "mode")), "server");
    json_t *resource = json_array_get(json_object_get(rest, "resource"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(resource, "type")), "MeasureReport");
    json_t *interaction = json_array_get(json_object_get(resource, "interaction"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(interaction, "code")), "create");
    cr_expect_eq(json_array_size(json_object_get(resource, "interaction")), 1, "create only");
    json_t *system = json_object_get(rest, "interaction");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(system, 0), "code")),
                     "batch");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(system, 1), "code")),
                     "transaction");
    json_decref(cs);
}

/* The refusals of a request as a whole have FHIR's issue types. */
Test(fhir_http, route_refusals_have_issue_types)
{
    static const char *const cases[][2] = {
        {"unauthenticated", "login"},     {"forbidden", "forbidden"},
        {"not_found", "not-supported"},   {"method_not_allowed", "not-supported"},
        {"body_too_large", "too-costly"}, {"unsupported_media_type", "not-supported"},
        {"malformed_json", "structure"},  {"unknown_programme", "not-found"},
        {"rate_limited", "throttled"},    {"internal", "exception"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_expect_str_eq(fhir_issue_type(cases[i][0]), cases[i][1], "%s", cases[i][0]);
    cr_expect_str_eq(fhir_status_line(201), "201 Created");
}
