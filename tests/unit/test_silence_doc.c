/* Silence documents (core/silence_doc.c): every problem code with its JSON path, a valid
 * document as the typed struct the storage writes, and the RFC 3339 times PostgreSQL's
 * timestamptz reads (the forms the API accepted when it parsed them in SQL). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/silence_doc.h"

#define NOW 1767225600.0 /* 2026-01-01T00:00:00Z */

/* "path code" of each problem, in order, ';'-separated ("" for none). */
static void describe(const json_t *problems, char *out, size_t size)
{
    size_t used = 0, k;
    const json_t *p;
    out[0] = '\0';
    json_array_foreach(problems, k, p)
    {
        const char *message = json_string_value(json_object_get(p, "message"));
        cr_expect(message != NULL && message[0] != '\0', "problem without a message");
        int n = snprintf(out + used, size - used, "%s%s %s", used ? ";" : "",
                         json_string_value(json_object_get(p, "path")),
                         json_string_value(json_object_get(p, "code")));
        cr_assert(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

#define S(members) "{\"matchers\":{\"site\":\"GP1\"},\"author\":\"me\"," members "}"
#define END "\"ends_at\":\"2026-03-01T00:00:00Z\""
#define M(list) "{\"matchers\":[" list "],\"author\":\"me\"," END "}"

static const struct {
    const char *doc;
    const char *want;
} cases[] = {
    {"[]", "$ invalid_type"},
    {"{}", "$.matchers missing_field;$.author missing_field;$.ends_at missing_field"},
    {S(END), ""},
    {"{\"matchers\":[],\"author\":\"me\"," END "}", "$.matchers invalid_type"},
    {"{\"matchers\":{},\"author\":\"me\"," END "}", "$.matchers invalid_type"},
    {"{\"matchers\":{\"colour\":\"red\"},\"author\":\"me\"," END "}",
     "$.matchers.colour unknown_matcher"},
    {"{\"matchers\":{\"site\":\"\",\"rule\":3,\"indicator\":\"x\"},\"author\":\"me\"," END "}",
     "$.matchers.site invalid_type;$.matchers.rule invalid_type"},
    {"{\"matchers\":{\"rule\":\"r\"},\"author\":\"\"," END "}", "$.author invalid_type"},
    {S(END ",\"reason\":5,\"programme\":7"), "$.reason invalid_type;$.programme invalid_type"},
    {S(END ",\"programme\":null"), "$.programme invalid_type"},
    {S("\"ends_at\":5"), "$.ends_at invalid_type"},
    {S("\"starts_at\":5," END), "$.starts_at invalid_type"},
    {S("\"ends_at\":\"2026-03-01\""), "$.ends_at invalid_time"},
    {S("\"ends_at\":\"2026-03-01T00:00:00\""), "$.ends_at invalid_time"},
    {S("\"ends_at\":\"2026-02-30T00:00:00Z\""), "$.ends_at invalid_time"},
    {S("\"starts_at\":\"2026-03-01T00:00:00Z\",\"ends_at\":\"2026-02-01T00:00:00Z\""),
     "$.ends_at end_before_start"},
    {S("\"starts_at\":\"2026-03-01T00:00:00Z\"," END), "$.ends_at end_before_start"},
    {S("\"ends_at\":\"2025-12-31T00:00:00Z\""), "$.ends_at end_before_start"}, /* before now */
    /* an unreadable start leaves now as the start the end is compared with */
    {S("\"starts_at\":\"soon\",\"ends_at\":\"2025-12-31T00:00:00Z\""), "$.starts_at invalid_time"},
    /* a duration instead of ends_at */
    {S("\"duration\":\"2h\""), ""},
    {S("\"duration\":\"1h30m\""), ""},
    {S("\"duration\":\"2h\"," END), "$.duration conflicting_fields"},
    {S("\"duration\":\"2 h\""), "$.duration invalid_duration"},
    {S("\"duration\":\"0h\""), "$.duration invalid_duration"},
    {S("\"duration\":7200"), "$.duration invalid_type"},
    /* Alertmanager's matchers, as objects and as strings */
    {M("{\"name\":\"region\",\"value\":\"BE-WAL\"}"), ""},
    {M("{\"name\":\"indicator\",\"value\":\"bp_.*\",\"isRegex\":true,\"isEqual\":false},"
       "{\"name\":\"site\",\"value\":\"GP1\"}"),
     ""},
    {M("\"region=BE-WAL\",\"indicator=~\\\"bp_.*\\\"\",\"kind!=self\",\"rule!~x|y\""), ""},
    {M("{\"name\":\"colour\",\"value\":\"red\"}"), "$.matchers[0] unknown_matcher"},
    {M("\"colour=red\""), "$.matchers[0] unknown_matcher"},
    {M("{\"name\":\"site\"}"), "$.matchers[0] missing_field"},
    {M("{\"name\":\"site\",\"value\":\"GP1\",\"isRegex\":\"yes\"}"), "$.matchers[0] invalid_type"},
    {M("\"site\",\"site==GP1x\",\"=GP1\",\"site=\\\"GP1\""),
     "$.matchers[0] invalid_matcher;$.matchers[2] invalid_matcher;$.matchers[3] invalid_matcher"},
    {M("5"), "$.matchers[0] invalid_type"},
    {M("\"site=~GP(1\""), "$.matchers[0] invalid_regex"},
    {M("\"site=~GP\\\\d\""), "$.matchers[0] unsupported_regex"},
    {M("\"site=~(?i)gp1\""), "$.matchers[0] unsupported_regex"},
    {M("\"site=~GP.*?\""), "$.matchers[0] unsupported_regex"},
    {M("\"site=~GP[\\\\d]\""), "$.matchers[0] unsupported_regex"},
    {M("\"site=~(a)\\\\1\""), "$.matchers[0] unsupported_regex"},
    {M("\"site=~GP[[:digit:]]+\",\"site=~a\\\\.b\",\"site=~x\\\\*?\""), ""},
    /* a silence that would mute every alert is refused, unless it names its programme */
    {M("\"site=~.*\""), "$.matchers matches_everything"},
    {M("\"site!=GP1\",\"indicator=\""), "$.matchers matches_everything"},
    {M("\"site!~GP.*\",\"region=BE\""), ""},
    {"{\"programme\":\"p\",\"matchers\":[\"site=~.*\"],\"author\":\"me\"," END "}", ""},
};

Test(silence_doc, each_problem_names_its_path_and_code)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t error;
        json_t *doc = json_loads(cases[i].doc, JSON_DECODE_ANY, &error);
        cr_assert_not_null(doc, "case %zu does not parse: %s", i, error.text);
        struct silence_doc silence;
        json_t *problems = silence_doc_parse(doc, NOW, &silence);
        char got[1024];
        describe(problems, got, sizeof(got));
        cr_expect_str_eq(got, cases[i].want, "document %zu: %.160s", i, cases[i].doc);
        cr_expect(problems == NULL || json_array_size(problems) > 0, "case %zu", i);
        cr_expect(problems == NULL || silence.matchers == NULL, "case %zu", i);
        silence_doc_clear(&silence);
        json_decref(problems);
        json_decref(doc);
    }
}

Test(silence_doc, a_valid_document_becomes_the_struct_the_storage_writes)
{
    json_t *doc = json_loads("{\"programme\":\"drift-be\",\"matchers\":{\"site\":\"GP2\"},"
                             "\"starts_at\":\"2026-02-01T00:00:00Z\"," END
                             ",\"author\":\"ops\",\"reason\":\"maintenance\"}",
                             0, NULL);
    struct silence_doc s;
    json_t *problems = silence_doc_parse(doc, NOW, &s);
    cr_assert_null(problems);
    cr_expect_str_eq(s.programme, "drift-be");
    char *stored = json_dumps(s.matchers, JSON_COMPACT);
    cr_expect_str_eq(stored,
                     "[{\"name\":\"site\",\"value\":\"GP2\",\"isRegex\":false,"
                     "\"isEqual\":true}]",
                     "the older object of equalities becomes the stored list");
    free(stored);
    silence_doc_clear(&s);
    cr_expect_null(s.matchers);
    cr_expect_eq(s.starts_at, 1769904000.0);
    cr_expect_eq(s.ends_at, 1772323200.0);
    cr_expect_str_eq(s.author, "ops");
    cr_expect_str_eq(s.reason, "maintenance");
    json_decref(doc);

    doc = json_loads(S(END), 0, NULL);
    problems = silence_doc_parse(doc, NOW, &s);
    cr_assert_null(problems);
    cr_expect_null(s.programme, "every programme");
    cr_expect_eq(s.starts_at, NOW, "starts now");
    cr_expect_str_eq(s.reason, "");
    silence_doc_clear(&s);
    json_decref(doc);

    doc =
        json_loads("{\"matchers\":[\"region=BE-WAL\",\"indicator!~\\\"a\\\\\\\"b\\\"\"],"
                   "\"starts_at\":\"2026-02-01T00:00:00Z\",\"duration\":\"3d\",\"author\":\"ops\"}",
                   0, NULL);
    cr_assert_not_null(doc);
    problems = silence_doc_parse(doc, NOW, &s);
    cr_assert_null(problems);
    cr_expect_eq(s.ends_at, 1769904000.0 + 3 * 86400, "starts_at + duration");
    stored = json_dumps(s.matchers, JSON_COMPACT);
    cr_expect_str_eq(stored,
                     "[{\"name\":\"region\",\"value\":\"BE-WAL\",\"isRegex\":false,"
                     "\"isEqual\":true},{\"name\":\"indicator\",\"value\":\"a\\\"b\","
                     "\"isRegex\":true,\"isEqual\":false}]",
                     "amtool's strings, quotes and escapes read as Alertmanager reads them");
    free(stored);
    silence_doc_clear(&s);
    json_decref(doc);
}

static const struct {
    const char *text;
    double seconds; /* 0: refused */
} durations[] = {
    {"2h", 7200}, {"3d", 259200},   {"90m", 5400},     {"1h30m", 5400},
    {"45s", 45},  {"1w", 604800},   {"1d12h", 129600}, {"3660d", 3660.0 * 86400},
    {"3661d", 0}, {"", 0},          {"2", 0},          {"h", 0},
    {"2H", 0},    {"-2h", 0},       {"2h ", 0},        {"0s", 0},
    {"1.5h", 0},  {"99999999h", 0}, {"2y", 0},
};

Test(silence_doc, durations_are_numbers_with_units)
{
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        double seconds = -1;
        bool ok = silence_doc_duration(durations[i].text, &seconds);
        cr_expect_eq(ok, durations[i].seconds > 0, "\"%s\"", durations[i].text);
        if (ok)
            cr_expect_eq(seconds, durations[i].seconds, "\"%s\"", durations[i].text);
    }
}

static const struct {
    const char *text;
    enum silence_time_status want;
    double epoch;
} times[] = {
    {"2026-03-01T00:00:00Z", SILENCE_TIME_OK, 1772323200.0},
    {"2026-03-01 00:00:00Z", SILENCE_TIME_OK, 1772323200.0},
    {"2026-03-01T00:00Z", SILENCE_TIME_OK, 1772323200.0},
    {"2025-01-01T10:00:00+05:30", SILENCE_TIME_OK, 1735705800.0},
    {"2025-01-01T10:00:00+0530", SILENCE_TIME_OK, 1735705800.0},
    {"2025-01-01T04:30+00", SILENCE_TIME_OK, 1735705800.0},
    {"2025-01-01T10:00:00-15:59", SILENCE_TIME_OK, 1735783140.0},
    {"2025-06-30T12:34:56.25-03:00", SILENCE_TIME_OK, 1751297696.25},
    {"2024-02-29T23:59:60Z", SILENCE_TIME_OK, 1709251200.0}, /* a leap second: next minute */
    {"2025-12-31T24:00:00Z", SILENCE_TIME_OK, 1767225600.0}, /* the next midnight */
    {"0001-01-01T00:00:00Z", SILENCE_TIME_OK, -62135596800.0},
    {"", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:00", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01t00:00:00Z", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:00z", SILENCE_TIME_SYNTAX, 0},
    {"2026-3-01T00:00:00Z", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T0:00:00Z", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:0Z", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:00.Z", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00.5Z", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:00+5", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:00+05:", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:00+05:3", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:00+05:300", SILENCE_TIME_SYNTAX, 0},
    {"2026-03-01T00:00:00Z ", SILENCE_TIME_SYNTAX, 0},
    {" 2026-03-01T00:00:00Z", SILENCE_TIME_SYNTAX, 0},
    {"20260-03-01T00:00:00Z", SILENCE_TIME_SYNTAX, 0},
    {"2026-02-30T00:00:00Z", SILENCE_TIME_RANGE, 0},
    {"2025-02-29T00:00:00Z", SILENCE_TIME_RANGE, 0},
    {"2026-13-01T00:00:00Z", SILENCE_TIME_RANGE, 0},
    {"2026-00-01T00:00:00Z", SILENCE_TIME_RANGE, 0},
    {"2026-01-00T00:00:00Z", SILENCE_TIME_RANGE, 0},
    {"0000-01-01T00:00:00Z", SILENCE_TIME_RANGE, 0},
    {"2026-01-01T25:00:00Z", SILENCE_TIME_RANGE, 0},
    {"2026-01-01T24:00:01Z", SILENCE_TIME_RANGE, 0},
    {"2026-01-01T24:01Z", SILENCE_TIME_RANGE, 0},
    {"2026-01-01T12:60:00Z", SILENCE_TIME_RANGE, 0},
    {"2026-01-01T12:00:61Z", SILENCE_TIME_RANGE, 0},
    {"2024-02-29T23:59:60.5Z", SILENCE_TIME_RANGE, 0},
    {"2026-01-01T12:00:00+16:00", SILENCE_TIME_RANGE, 0},
    {"2026-01-01T12:00:00+05:60", SILENCE_TIME_RANGE, 0},
};

Test(silence_doc, times_are_rfc3339_with_a_zone)
{
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        double epoch = 0;
        enum silence_time_status got = silence_doc_time(times[i].text, &epoch);
        cr_expect_eq(got, times[i].want, "\"%s\": %d, want %d", times[i].text, (int)got,
                     (int)times[i].want);
        if (got == SILENCE_TIME_OK && times[i].want == SILENCE_TIME_OK)
            cr_expect(fabs(epoch - times[i].epoch) < 1e-6, "\"%s\": %.6f, want %.6f", times[i].text,
                      epoch, times[i].epoch);
    }
}
