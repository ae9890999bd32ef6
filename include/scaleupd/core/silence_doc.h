/* Silence documents, checked whole without a database: {"programme"?, "matchers": [...],
 * "starts_at"?, "ends_at" | "duration", "author", "reason"?}, with the RFC 3339 times turned
 * into seconds since the epoch and the matchers into their stored form (silence_match.h). */
#ifndef SCALEUPD_CORE_SILENCE_DOC_H
#define SCALEUPD_CORE_SILENCE_DOC_H

#include <jansson.h>
#include <stdbool.h>

/* A checked silence. The strings point into the document it was parsed from and live as
 * long as it does; matchers is the silence's own (silence_doc_clear frees it). */
struct silence_doc {
    const char *programme; /* slug, NULL for every programme */
    json_t *matchers;      /* the stored form: a non-empty list of {name, value, isRegex,
                            * isEqual} (silence_match.h), owned */
    double starts_at;      /* seconds since the epoch; the caller's now when absent */
    double ends_at;        /* after starts_at: ends_at, or starts_at + duration */
    const char *author;    /* non-empty */
    const char *reason;    /* "" when absent */
};

/* Checks a silence document; on success fills *out (free with silence_doc_clear) and
 * returns NULL, else returns the problems (problems.h; owned by the caller) and *out holds
 * nothing. now is the time a silence without starts_at starts. Either ends_at or duration
 * ("2h", "3d", "1h30m": silence_doc_duration) gives its end, not both. Problem codes:
 * invalid_type, missing_field, invalid_time, invalid_duration, conflicting_fields,
 * end_before_start, and those of silence_doc_matchers. */
json_t *silence_doc_parse(const json_t *doc, double now, struct silence_doc *out)
    __attribute__((warn_unused_result));

/* Frees the matchers of a parsed silence and NULLs them. */
void silence_doc_clear(struct silence_doc *silence);

/* Checks matchers as a request gives them and returns them in the stored form, a JSON list
 * of {"name", "value", "isRegex", "isEqual"} (owned by the caller), or NULL with problems
 * added under path ("$.matchers"). Three forms are read: that list (isRegex defaults to
 * false, isEqual to true: Alertmanager's API v2), a list of strings "name=value",
 * "name!=value", "name=~regex", "name!~regex" (amtool's; the value may be in double quotes,
 * with \" and \\ inside), and the older object {"indicator": code, ...} of equalities. Names
 * are those of silence_match.h. Problem codes: invalid_type, missing_field, unknown_matcher,
 * invalid_matcher, invalid_regex, unsupported_regex, too_many, too_long, and
 * matches_everything when every matcher also holds for an alert without its label and
 * has_programme is false (Alertmanager refuses those too: a slip that mutes everything). */
json_t *silence_doc_matchers(const json_t *matchers, const char *path, bool has_programme,
                             json_t **problems) __attribute__((warn_unused_result));

/* The longest duration a silence may be given (ten years). */
#define SILENCE_DURATION_MAX (3660.0 * 86400.0)

/* Reads a duration of one or more whole numbers each with a unit, s, m, h, d or w ("90m",
 * "2h", "3d", "1h30m"), into seconds; false when it is not one, is zero or is longer than
 * SILENCE_DURATION_MAX. */
bool silence_doc_duration(const char *text, double *seconds) __attribute__((warn_unused_result));

/* How silence_doc_time judged a time. */
enum silence_time_status {
    SILENCE_TIME_OK,
    SILENCE_TIME_SYNTAX, /* not YYYY-MM-DD[T ]hh:mm[:ss[.f]] with Z or ±hh[[:]mm] */
    SILENCE_TIME_RANGE,  /* the form is right but the time does not exist (month 13, 25:00) */
};

/* Parses an RFC 3339 time with a zone (the forms PostgreSQL's timestamptz reads, as the
 * API has always accepted them: "T" or a space, optional seconds and fraction, "Z" or an
 * offset of hours and optional minutes) into seconds since the epoch. Like PostgreSQL it
 * takes 24:00:00 as the next midnight and a leap second :60 as the next minute. */
enum silence_time_status silence_doc_time(const char *text, double *epoch)
    __attribute__((warn_unused_result));

#endif
