/* Silence documents (silence_doc.h): the matchers in any of their three forms, the strings,
 * the RFC 3339 times and the duration, checked without a database and reported whole as
 * problems. */
#include "scaleupd/core/silence_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/period.h"
#include "scaleupd/core/problems.h"
#include "scaleupd/core/silence_match.h"

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

/* Appends the stored form of one matcher to list, or adds a problem at path; *all_empty
 * stays true while every matcher holds for an alert without its label. */
static void add_matcher(json_t *list, const char *path, const char *name, enum silence_op op,
                        const char *value, json_t **problems, bool *all_empty)
{
    enum silence_label label;
    bool regex = op == SILENCE_OP_REGEX || op == SILENCE_OP_NOT_REGEX;
    char why[160];
    const char *problem = NULL;
    if (!silence_label_from_name(name, &label)) {
        problems_add(problems, path, "unknown_matcher",
                     "a matcher is programme, indicator, site, region, rule or kind, not \"%.60s\"",
                     name);
        return;
    }
    if (strlen(value) > SILENCE_VALUE_MAX) {
        problems_add(problems, path, "too_long", "a matcher's value is at most %d bytes",
                     SILENCE_VALUE_MAX);
        return;
    }
    if (regex)
        problem = silence_regex_problem(value, why, sizeof(why));
    if (problem != NULL) {
        problems_add(problems, path, problem == why ? "invalid_regex" : "unsupported_regex",
                     "%.60s is not a POSIX extended regular expression Alertmanager would read "
                     "alike: %s",
                     value, problem);
        return;
    }
    if (!silence_matcher_matches_empty(label, op, value))
        *all_empty = false;
    bool equal = op == SILENCE_OP_EQUAL || op == SILENCE_OP_REGEX;
    json_array_append_new(list, json_pack("{s:s,s:s,s:b,s:b}", "name", name, "value", value,
                                          "isRegex", regex, "isEqual", equal));
}

/* Unescapes \n, \" and \\ of text[0..len) into out as Alertmanager's matcher parser does (a
 * backslash before anything else stays, so a regex's escapes pass). */
static void unescape(const char *text, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\\' && i + 1 < len && strchr("n\"\\", text[i + 1]) != NULL) {
            out[o++] = text[i + 1] == 'n' ? '\n' : text[i + 1];
            i++;
        } else {
            out[o++] = text[i];
        }
    }
    out[o] = '\0';
}

/* Reads "name<op>value" (amtool's form); false when it is not one. value gets at most
 * strlen(text) + 1 bytes. */
static bool split_matcher(const char *text, char *name, size_t name_size, enum silence_op *op,
                          char *value)
{
    size_t n = strspn(text, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || n >= name_size)
        return false;
    memcpy(name, text, n);
    name[n] = '\0';
    const char *rest = text + n;
    static const struct {
        const char *text;
        enum silence_op op;
    } ops[] = {{"!=", SILENCE_OP_NOT_EQUAL},
               {"!~", SILENCE_OP_NOT_REGEX},
               {"=~", SILENCE_OP_REGEX},
               {"=", SILENCE_OP_EQUAL}};
    size_t k = 0;
    while (k < 4 && strncmp(rest, ops[k].text, strlen(ops[k].text)) != 0)
        k++;
    if (k == 4)
        return false;
    *op = ops[k].op;
    rest += strlen(ops[k].text);
    size_t len = strlen(rest);
    if (len >= 2 && rest[0] == '"' && rest[len - 1] == '"')
        unescape(rest + 1, len - 2, value);
    else if (len >= 1 && rest[0] == '"')
        return false; /* an opening quote without its closing one */
    else
        unescape(rest, len, value);
    return true;
}

static void read_string_matcher(json_t *list, const char *path, const json_t *m, json_t **problems,
                                bool *all_empty)
{
    const char *text = json_string_value(m);
    char name[32];
    char *value = xmalloc(strlen(text) + 1);
    enum silence_op op;
    if (split_matcher(text, name, sizeof(name), &op, value))
        add_matcher(list, path, name, op, value, problems, all_empty);
    else
        problems_add(problems, path, "invalid_matcher",
                     "a matcher is name=value, name!=value, name=~regex or name!~regex, not "
                     "\"%.60s\"",
                     text);
    free(value);
}

static void read_object_matcher(json_t *list, const char *path, const json_t *m, json_t **problems,
                                bool *all_empty)
{
    const json_t *name = json_object_get(m, "name"), *value = json_object_get(m, "value");
    const json_t *is_regex = json_object_get(m, "isRegex"),
                 *is_equal = json_object_get(m, "isEqual");
    if (!json_is_string(name) || !json_is_string(value) ||
        (is_regex != NULL && !json_is_boolean(is_regex)) ||
        (is_equal != NULL && !json_is_boolean(is_equal))) {
        problems_add(problems, path, name && value ? "invalid_type" : "missing_field",
                     "a matcher is {\"name\": string, \"value\": string, \"isRegex\"?: boolean, "
                     "\"isEqual\"?: boolean}");
        return;
    }
    bool regex = json_is_true(is_regex), equal = !json_is_false(is_equal);
    enum silence_op op = regex ? (equal ? SILENCE_OP_REGEX : SILENCE_OP_NOT_REGEX)
                               : (equal ? SILENCE_OP_EQUAL : SILENCE_OP_NOT_EQUAL);
    add_matcher(list, path, json_string_value(name), op, json_string_value(value), problems,
                all_empty);
}

/* The older form, an object of equalities: each value a non-empty string. */
static void read_equalities(json_t *list, const char *path, const json_t *m, json_t **problems,
                            bool *all_empty)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)m, key, v)
    {
        char at[96];
        snprintf(at, sizeof(at), "%s.%.60s", path, key);
        if (!json_is_string(v) || json_string_length(v) == 0) {
            enum silence_label label;
            bool known = silence_label_from_name(key, &label);
            problems_add(problems, at, known ? "invalid_type" : "unknown_matcher",
                         known ? "a matcher value is a non-empty string"
                               : "a matcher is programme, indicator, site, region, rule or kind");
        } else {
            add_matcher(list, at, key, SILENCE_OP_EQUAL, json_string_value(v), problems, all_empty);
        }
    }
}

json_t *silence_doc_matchers(const json_t *matchers, const char *path, bool has_programme,
                             json_t **problems)
{
    size_t n = json_is_array(matchers) ? json_array_size(matchers) : json_object_size(matchers);
    if ((!json_is_array(matchers) && !json_is_object(matchers)) || n == 0) {
        problems_add(problems, path, matchers ? "invalid_type" : "missing_field",
                     "matchers is a non-empty list of matchers");
        return NULL;
    }
    if (n > SILENCE_MATCHERS_MAX) {
        problems_add(problems, path, "too_many", "a silence has at most %d matchers",
                     SILENCE_MATCHERS_MAX);
        return NULL;
    }
    json_t *list = json_array();
    size_t had = json_array_size(*problems);
    bool all_empty = true;
    if (json_is_object(matchers))
        read_equalities(list, path, matchers, problems, &all_empty);
    size_t i;
    const json_t *m;
    json_array_foreach(matchers, i, m)
    {
        char at[96];
        snprintf(at, sizeof(at), "%s[%zu]", path, i);
        if (json_is_string(m))
            read_string_matcher(list, at, m, problems, &all_empty);
        else if (json_is_object(m))
            read_object_matcher(list, at, m, problems, &all_empty);
        else
            problems_add(problems, at, "invalid_type", "a matcher is a string or an object");
    }
    if (json_array_size(*problems) == had && all_empty && !has_programme)
        problems_add(problems, path, "matches_everything",
                     "at least one matcher must not match an alert without its label (this "
                     "silence would mute every alert)");
    if (json_array_size(*problems) != had) {
        json_decref(list);
        return NULL;
    }
    return list;
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

bool silence_doc_duration(const char *text, double *seconds)
{
    static const char units[] = "smhdw";
    static const double unit_seconds[] = {1, 60, 3600, 86400, 7 * 86400};
    double total = 0;
    const char *p = text;
    if (*p == '\0')
        return false;
    while (*p != '\0') {
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 7 || p[digits] == '\0' || strchr(units, p[digits]) == NULL)
            return false;
        double number = 0;
        for (size_t i = 0; i < digits; i++)
            number = number * 10 + (p[i] - '0');
        total += number * unit_seconds[strchr(units, p[digits]) - units];
        p += digits + 1;
    }
    if (total <= 0 || total > SILENCE_DURATION_MAX)
        return false;
    *seconds = total;
    return true;
}

/* The end from ends_at or duration (exactly one of them); false with a problem added. */
static bool check_end(const json_t *doc, double starts, json_t **problems, double *ends)
{
    const json_t *duration = json_object_get(doc, "duration");
    bool has_ends_at = json_object_get(doc, "ends_at") != NULL;
    if (duration == NULL && !has_ends_at) {
        problems_add(problems, "$.ends_at", "missing_field",
                     "ends_at (an RFC 3339 time) or duration (\"2h\") is required");
        return false;
    }
    if (duration == NULL)
        return check_time(doc, "ends_at", problems, ends);
    double seconds = 0;
    if (has_ends_at) {
        problems_add(problems, "$.duration", "conflicting_fields",
                     "give ends_at or duration, not both");
    } else if (!json_is_string(duration) ||
               !silence_doc_duration(json_string_value(duration), &seconds)) {
        problems_add(problems, "$.duration",
                     json_is_string(duration) ? "invalid_duration" : "invalid_type",
                     "duration is whole numbers with units s, m, h, d or w (\"2h\", \"3d\", "
                     "\"1h30m\"), at most ten years");
    } else {
        *ends = starts + seconds;
        return true;
    }
    return false;
}

json_t *silence_doc_parse(const json_t *doc, double now, struct silence_doc *out)
{
    json_t *problems = NULL;
    *out = (struct silence_doc){0};
    if (!json_is_object(doc)) {
        problems_add(&problems, "$", "invalid_type", "a silence is a JSON object");
        return problems;
    }
    const json_t *programme = json_object_get(doc, "programme");
    json_t *matchers = silence_doc_matchers(json_object_get(doc, "matchers"), "$.matchers",
                                            json_is_string(programme), &problems);
    check_strings(doc, &problems);
    double starts = now, ends = 0;
    bool has_start = true;
    if (json_object_get(doc, "starts_at") != NULL)
        has_start = check_time(doc, "starts_at", &problems, &starts);
    bool has_end = check_end(doc, starts, &problems, &ends);
    if (has_start && has_end && ends <= starts)
        problems_add(&problems, "$.ends_at", "end_before_start", "ends_at must be after starts_at");
    if (problems != NULL) {
        json_decref(matchers);
        return problems;
    }
    const json_t *reason = json_object_get(doc, "reason");
    *out = (struct silence_doc){.programme = json_string_value(programme),
                                .matchers = matchers,
                                .starts_at = starts,
                                .ends_at = ends,
                                .author = json_string_value(json_object_get(doc, "author")),
                                .reason = reason ? json_string_value(reason) : ""};
    return NULL;
}

void silence_doc_clear(struct silence_doc *silence)
{
    json_decref(silence->matchers);
    silence->matchers = NULL;
}
