/* Acknowledgement bodies, checked without a database: {"by"?: person, "comment"?: text}, as
 * POST /api/v1/alerts/{id}/ack takes them (and any other acknowledging route may). */
#ifndef SCALEUPD_CORE_ACK_DOC_H
#define SCALEUPD_CORE_ACK_DOC_H

#include <jansson.h>

/* The longest person and comment, in bytes of UTF-8. */
#define ACK_BY_MAX 200
#define ACK_COMMENT_MAX 2000

/* A checked acknowledgement. The strings point into the document it was parsed from (or are
 * the caller's default_by) and live as long as they do. */
struct ack_doc {
    const char *by;      /* non-empty, at most ACK_BY_MAX bytes, no control characters */
    const char *comment; /* NULL when absent or "" */
};

/* Checks an acknowledgement body; doc NULL (an empty body) is {}. A missing "by" becomes
 * default_by (the token's name: the edge's best guess of who). On success fills *out and
 * returns NULL; else returns the problems (problems.h; owned by the caller): invalid_type,
 * too_long, invalid_value (a control character or NUL in by, a NUL in comment),
 * unknown_field. */
json_t *ack_doc_parse(const json_t *doc, const char *default_by, struct ack_doc *out)
    __attribute__((warn_unused_result));

#endif
