/*
 * Roadmaps as the API writes and reads them: a PUT validates the document against the
 * programme's indicators and stores it as a new version in a transaction of its own; a GET
 * answers the version in force today, or a given one (docs/ARCHITECTURE.md, services).
 */
#ifndef SCALEUPD_SERVICES_ROADMAP_SERVICE_H
#define SCALEUPD_SERVICES_ROADMAP_SERVICE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/roadmap_doc.h"

enum roadmap_service_result {
    ROADMAP_SERVICE_OK,       /* a read found the version */
    ROADMAP_SERVICE_CREATED,  /* a PUT stored the programme's first version */
    ROADMAP_SERVICE_UPDATED,  /* a PUT stored a later version */
    ROADMAP_SERVICE_SYNTAX,   /* the body is not JSON: see syntax */
    ROADMAP_SERVICE_INVALID,  /* the roadmap has problems: see problems */
    ROADMAP_SERVICE_NONE,     /* a read: no roadmap yet, or no such version */
    ROADMAP_SERVICE_DB_ERROR, /* logged; db_failure_of tells which kind */
};

/* What a PUT or GET answers besides its result. */
struct roadmap_service_answer {
    json_t *document; /* OK, CREATED, UPDATED: the version as roadmap_store_get shows it */
    json_t *problems; /* INVALID: [{"path","code","message"}…] (problems.h) */
    size_t dropped;   /* INVALID: problems past ROADMAP_MAX_ERRORS, not listed */
    struct {
        int line, column; /* 1-based, where the parser stopped */
        size_t position;  /* byte offset */
        char message[ROADMAP_ERROR_MESSAGE_MAX];
    } syntax; /* SYNTAX */
};

/*
 * PUT …/programmes/{slug}/roadmap with body[0..len): parses and validates it, and a
 * "programme" member must name `slug` (else a programme_mismatch problem, after the
 * others); a valid document is stored, in jansson's compact form, as a new version sent by
 * token_id (0 for none) at clock_now(). Fills *out (release with roadmap_service_answer_release).
 */
enum roadmap_service_result
roadmap_service_apply(PGconn *conn, int64_t programme_id, const char *slug, const char *body,
                      size_t len, int64_t token_id, struct roadmap_service_answer *out,
                      const char *request_id) __attribute__((warn_unused_result));

/* GET …/roadmap (version 0: the one in force today in the programme's time zone) and
 * …/roadmap/versions/{version}: OK with out->document, NONE or DB_ERROR. */
enum roadmap_service_result roadmap_service_get(PGconn *conn, int64_t programme_id, int version,
                                                struct roadmap_service_answer *out,
                                                const char *request_id)
    __attribute__((warn_unused_result));

/* Releases what an answer holds and zeroes it. */
void roadmap_service_answer_release(struct roadmap_service_answer *answer);

#endif /* SCALEUPD_SERVICES_ROADMAP_SERVICE_H */
