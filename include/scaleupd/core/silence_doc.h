/* Silence documents, checked whole without a database: {"programme"?, "matchers":
 * {"indicator"?,"site"?,"rule"?}, "starts_at"?, "ends_at", "author", "reason"?}, with the
 * RFC 3339 times turned into seconds since the epoch. */
#ifndef SCALEUPD_CORE_SILENCE_DOC_H
#define SCALEUPD_CORE_SILENCE_DOC_H

#include <jansson.h>
#include <stdbool.h>

/* A checked silence. The strings and matchers point into the document it was parsed from
 * and live as long as it does. */
struct silence_doc {
    const char *programme;  /* slug, NULL for every programme */
    const json_t *matchers; /* a non-empty object of indicator, site and rule codes */
    double starts_at;       /* seconds since the epoch; the caller's now when absent */
    double ends_at;         /* after starts_at */
    const char *author;     /* non-empty */
    const char *reason;     /* "" when absent */
};

/* Checks a silence document; on success fills *out and returns NULL, else returns the
 * problems (problems.h; owned by the caller) and *out is not to be used. now is the time a
 * silence without starts_at starts. Problem codes: invalid_type, missing_field,
 * unknown_matcher, invalid_time, end_before_start. */
json_t *silence_doc_parse(const json_t *doc, double now, struct silence_doc *out)
    __attribute__((warn_unused_result));

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
