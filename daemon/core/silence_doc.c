/* Silence documents (silence_doc.h): the matchers, the strings and the two RFC 3339 times,
 * checked without a database and reported whole as problems. */
#include "scaleupd/core/silence_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/problems.h"

/* The value of n ASCII digits at s, or -1 when one of them is not a digit. */
static int digits(const char *s, int n)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

/* Reads the zone at s ("Z", "±hh", "±hhmm", "±hh:mm") into seconds east of UTC. */
static enum silence_time_status parse_zone(const char *s, int *offset)
{
    if (strcmp(s, "Z") == 0) {
        *offset = 0;
        return SILENCE_TIME_OK;
    }
    if ((s[0] != '+' && s[0] != '-') || digits(s + 1, 2) < 0)
        return SILENCE_TIME_SYNTAX;
    int hours = digits(s + 1, 2), minutes = 0;
    const char *rest = s + 3;
    if (*rest == ':')
        rest++;
    if (*rest != '\0') {
        minutes = digits(rest, 2);
        if (minutes < 0 || rest[2] != '\0')
            return SILENCE_TIME_SYNTAX;
    } else if (rest != s + 3) {
        return SILENCE_TIME_SYNTAX; /* "+05:" */
    }
    if (hours > 15 || minutes > 59) /* PostgreSQL's limit of a zone displacement */
        return SILENCE_TIME_RANGE;
    *offset = (s[0] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    return SILENCE_TIME_OK;
}

/* Reads ":ss" and ".fff" at *s, if there, into seconds; false when malformed. */
static bool parse_seconds(const char **s, double *seconds)
{
    *seconds = 0;
    if (**s != ':')
        return true;
    int whole = digits(*s + 1, 2);
    if (whole < 0)
        return false;
    *s += 3;
    *seconds = whole;
    if (**s != '.')
        return true;
    const char *start = *s;
    do
        (*s)++;
    while (**s >= '0' && **s <= '9');
    if (*s == start + 1)
        return false;
    *seconds += strtod(start, NULL); /* ".5": the digits only, so strtod cannot stray */
    return true;
}

enum silence_time_status silence_doc_time(const char *text, double *epoch)
{
    if (strlen(text) < 17 || text[4] != '-' || text[7] != '-' ||
        (text[10] != 'T' && text[10] != ' ') || text[13] != ':')
        return SILENCE_TIME_SYNTAX;
    int year = digits(text, 4), month = digits(text + 5, 2), day = digits(text + 8, 2);
    int hour = digits(text + 11, 2), minute = digits(text + 14, 2);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0)
        return SILENCE_TIME_SYNTAX;
    const char *rest = text + 16;
    double seconds;
    int offset = 0;
    if (!parse_seconds(&rest, &seconds))
        return SILENCE_TIME_SYNTAX;
    enum silence_time_status zone = parse_zone(rest, &offset);
    if (zone != SILENCE_TIME_OK)
        return zone;
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > date_days_in_month(year, month))
        return SILENCE_TIME_RANGE;
    if (minute > 59 || seconds > 60 || hour > 24 || (hour == 24 && (minute > 0 || seconds > 0)))
        return SILENCE_TIME_RANGE;
    *epoch = (double)date_from_ymd(year, month, day) * 86400.0 + hour * 3600.0 + minute * 60.0 +
             seconds - offset;
    return SILENCE_TIME_OK;
}

/* Checks the time member key; true with *out set when it is a valid time. */
static bool check_time(const json_t *doc, const char *key, json_t **problems, double *out)
{
    const json_t *v = json_object_get(doc, key);
    char path[32];
    snprintf(path, sizeof(path), "$.%s", key);
    if (!json_is_string(v)) {
        problems_add(problems, path, v ? "invalid_type" : "missing_field",
                     "%s must be an RFC 3339 time", key);
        return false;
    }
    switch (silence_doc_time(json_string_value(v), out)) {
    case SILENCE_TIME_OK:
        return true;
    case SILENCE_TIME_SYNTAX:
        problems_add(problems, path, "invalid_time", "%s must be an RFC 3339 time with a zone",
                     key);
        return false;
    case SILENCE_TIME_RANGE:
        problems_add(problems, path, "invalid_time", "%s is not a real time", key);
        return false;
    }
    return false;
}

static void check_matchers(const json_t *doc, json_t **problems)
{
    const json_t *m = json_object_get(doc, "matchers");
    if (!json_is_object(m) || json_object_size(m) == 0) {
        problems_add(problems, "$.matchers", m ? "invalid_type" : "missing_field",
                     "matchers is a non-empty object of indicator, site and rule");
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)m, key, v)
    {
        char path[96];
        snprintf(path, sizeof(path), "$.matchers.%.60s", key);
        if (strcmp(key, "indicator") != 0 && strcmp(key, "site") != 0 && strcmp(key, "rule") != 0)
            problems_add(problems, path, "unknown_matcher", "a matcher is indicator, site or rule");
        else if (!json_is_string(v) || json_string_length(v) == 0)
            problems_add(problems, path, "invalid_type", "a matcher value is a non-empty string");
    }
}

static void check_strings(const json_t *doc, json_t **problems)
{
    const json_t *author = json_object_get(doc, "author");
    if (!json_is_string(author) || json_string_length(author) == 0)
        problems_add(problems, "$.author", author ? "invalid_type" : "missing_field",
                     "author is a non-empty string");
    const json_t *reason = json_object_get(doc, "reason");
    if (reason != NULL && !json_is_string(reason))
        problems_add(problems, "$.reason", "invalid_type", "reason is a string");
    const json_t *programme = json_object_get(doc, "programme");
    if (programme != NULL && !json_is_string(programme))
        problems_add(problems, "$.programme", "invalid_type", "programme is a slug");
}

json_t *silence_doc_parse(const json_t *doc, double now, struct silence_doc *out)
{
    json_t *problems = NULL;
    if (!json_is_object(doc)) {
        problems_add(&problems, "$", "invalid_type", "a silence is a JSON object");
        return problems;
    }
    check_matchers(doc, &problems);
    check_strings(doc, &problems);
    double starts = now, ends = 0;
    if (json_object_get(doc, "starts_at") != NULL)
        (void)check_time(doc, "starts_at", &problems, &starts);
    bool has_end = check_time(doc, "ends_at", &problems, &ends);
    if (has_end && ends <= starts)
        problems_add(&problems, "$.ends_at", "end_before_start", "ends_at must be after starts_at");
    if (problems != NULL)
        return problems;
    const json_t *reason = json_object_get(doc, "reason");
    *out = (struct silence_doc){.programme = json_string_value(json_object_get(doc, "programme")),
                                .matchers = json_object_get(doc, "matchers"),
                                .starts_at = starts,
                                .ends_at = ends,
                                .author = json_string_value(json_object_get(doc, "author")),
                                .reason = reason ? json_string_value(reason) : ""};
    return NULL;
}
