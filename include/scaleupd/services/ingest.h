/* The ingest service: a feed write (a request body in JSON, CSV or DHIS2 dataValueSets, or
 * FHIR MeasureReports) becomes a validated batch, stored in one transaction with its
 * Idempotency-Key answer, and an import report (ours, DHIS2's import summary, or FHIR's
 * OperationOutcome or response Bundle) that the edge sends as it is.
 *
 * The evaluator is not kicked from here (it is the edge's background task): ingest_push says
 * in result->changed whether the committed write changed any observation, and the route
 * kicks the evaluator then. */
#ifndef SCALEUPD_INGEST_H
#define SCALEUPD_INGEST_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/dhis2_options.h"
#include "scaleupd/core/dhis2_summary.h"
#include "scaleupd/core/obs_parse.h"
#include "scaleupd/storage/observations.h"

enum ingest_status {
    INGEST_OK,           /* parsed and validated: the batch has rows and maybe rejects */
    INGEST_BAD_DOCUMENT, /* the document as a whole is unusable: see perr */
    INGEST_DB_ERROR,
};

/* Parses body in format into batch, loads the programme's catalog and validates the rows.
 * Runs no write; may run outside a transaction. A DHIS2 set's import options are collected
 * (batch->set_options) but not judged: ingest_push does that. A site code that only other
 * programmes have is named as such (site_not_in_programme): this is the admin's view, which
 * ingest_push gives a feed token only as unknown_site (ingest_request.name_other_programmes). */
enum ingest_status ingest_prepare(PGconn *conn, int64_t programme_id, enum obs_format format,
                                  const char *body, size_t len, struct obs_batch *batch,
                                  struct obs_parse_error *perr) __attribute__((warn_unused_result));

/* The HTTP status of a document error (400, or 413 for too many rows / too large). */
int ingest_document_error_status(enum obs_parse_status status);

/* Our import report: {"status":"ok"|"partial"|"rejected","dry_run","atomic","rows",
 * "imported","updated","unchanged","rejected","rejections":[{"row","field","code",
 * "message"}]}. With atomic and rejections, nothing was stored: imported/updated/unchanged
 * are 0 and status "rejected". The caller owns the result. */
json_t *ingest_report(const struct obs_batch *batch, const struct observations_counts *counts,
                      bool stored, bool dry_run, bool atomic);

/* DHIS2's import summary of the same outcome (core/dhis2_summary.h: responseType
 * ImportSummary, status SUCCESS, WARNING or ERROR, importCount with
 * imported/updated/ignored/deleted, conflicts with DHIS2's E-codes, rejectedIndexes). The
 * caller owns the result. */
json_t *ingest_dhis2_summary(const struct obs_batch *batch,
                             const struct observations_counts *counts, long deleted, long ignored,
                             bool stored, bool dry_run);

/* ---- the whole feed write ------------------------------------------------------------ */

/* The syntax of a DHIS2 body (its Content-Type). */
enum ingest_dhis2_syntax {
    INGEST_DHIS2_JSON, /* application/json: obs_parse_dhis2 */
    INGEST_DHIS2_CSV,  /* application/csv: obs_parse_dhis2_csv */
    INGEST_DHIS2_ADX,  /* application/adx+xml: obs_parse_dhis2_adx */
};

/* What a feed write asks, as the route parsed and authorised it. */
/* A write whose body is at most this many bytes runs in a db_begin_keyed transaction (its
 * statements' generic plans reused); larger ones plan each statement for their rows. */
#define INGEST_KEYED_MAX_BODY 16384

struct ingest_request {
    int64_t programme_id;       /* the programme written to; 0: look programme_slug up */
    const char *programme_slug; /* an admin's DHIS2 write names it (?programme=SLUG) */
    int64_t token_id;           /* the writer, kept with each row and revision */
    enum obs_format format;
    bool dry_run;               /* ours (dry_run): stored and rolled back, the report says
                                   what would be */
    bool dry_run_given;         /* dry_run was given, true or false: DHIS2's dryRun (of the
                                   query or the set) may not disagree with it */
    struct dhis2_options dhis2; /* DHIS2: the query's import options (dhis2_options_read_query);
                                   the data value set's own members win over them */
    enum ingest_dhis2_syntax dhis2_syntax; /* DHIS2: the body's syntax */
    int dhis2_api_version;                 /* DHIS2: the path's API version (28..42), or
                                              DHIS2_API_UNVERSIONED; decides the answer's envelope */
    bool atomic;                           /* one rejected row rejects the batch */
    bool fhir_bundle;                      /* FHIR: the body is a Bundle (POST /fhir), not one
                                              MeasureReport; the answer is fhir_outcome's */
    bool name_other_programmes;    /* an admin's write: a site code that only other programmes
                                      have is rejected as site_not_in_programme; for anyone else
                                      (a feed token) it is unknown_site, like a code nobody has,
                                      so that a feed cannot learn other programmes' sites */
    const char *idempotency_key;   /* NULL: none; else 1 to IDEMPOTENCY_KEY_MAX characters */
    unsigned char fingerprint[32]; /* idempotency_fingerprint of the request, with a key */
    const char *body;
    size_t body_len;
    const char *request_id;   /* for log lines */
    const char *dhis2_job_id; /* DHIS2 async=true: the RUNNING job (dhis2_import_job.h) that a
                                 committed import finishes in its own transaction (COMPLETED,
                                 with its import summary), so that the two are one; NULL: none */
};

enum ingest_outcome {
    INGEST_PUSH_ANSWERED,          /* status and body are the report (200, or 422 when every row
                                      was rejected; DHIS2: dhis2_import_answer's status);
                                      committed unless a dry run */
    INGEST_PUSH_REPLAYED,          /* status and body are the answer stored under the key */
    INGEST_PUSH_KEY_REUSED,        /* the key was used before with a different request */
    INGEST_PUSH_BAD_DOCUMENT,      /* the document is unusable: error, and status (400 or 413) */
    INGEST_PUSH_UNKNOWN_PROGRAMME, /* programme_slug names no programme */
    INGEST_PUSH_DB_ERROR,          /* rolled back; db_failure_of(conn) says what kind of failure */
    INGEST_PUSH_INTERNAL, /* rolled back: the report could not be rendered (over its cap) */
    INGEST_PUSH_REFUSED,  /* DHIS2: status (400) and body are the WebMessage refusing the
                             write for one of the set's import options (dhis2_options_read_set,
                             or a dryRun that disagrees with dry_run); nothing stored, rolled
                             back, nothing kept under the Idempotency-Key */
};

/* The outcome of a feed write. */
struct ingest_result {
    int status; /* the HTTP status of the answer */
    char *body; /* the answer (JSON, malloc'd) or NULL */
    size_t body_len;
    struct obs_parse_error error;      /* INGEST_PUSH_BAD_DOCUMENT */
    struct observations_counts counts; /* rows imported / updated / unchanged */
    size_t rejected;                   /* rows rejected */
    long deleted;      /* DHIS2: observations deleted (importStrategy DELETE, "deleted": true) */
    long ignored;      /* DHIS2: rows the strategy left alone (CREATE: stored already; UPDATE: not
                          stored; a delete of a value that is not stored) */
    bool changed;      /* a committed write changed observations: kick the evaluator */
    bool dry_run;      /* the write was a dry run: ours, or DHIS2's dryRun (query or set) */
    bool job_finished; /* the import committed and finished request->dhis2_job_id with it */
    /* DHIS2: the date a data set was registered complete (YYYY-MM-DD; "" none) and the data
       value set's own conflicts (a registration that could not be made), for its summary */
    char data_set_complete[16];
    json_t *set_conflicts;
};

/* The import summary of a DHIS2 answer (the WebMessage's response, or the bare summary of an
 * older version) as compact JSON text (malloc'd, the caller's), or NULL when answer (len
 * bytes) is not such an answer. */
char *ingest_dhis2_job_summary(const char *answer, size_t len);

/* The whole feed write: resolves the programme when asked to, then in one transaction takes
 * the Idempotency-Key (serialising requests with the same token and key; a repeat gets the
 * stored answer, a different request under the key is refused), parses, honours or refuses a
 * DHIS2 set's import options before anything is stored (a set's dryRun: true makes a dry
 * run), validates and stores
 * the batch (not at all when atomic and a row is rejected), renders the report, stores it
 * under the key, and commits (a dry run rolls back instead, and keeps no answer). The series hint
 * learns what the batch taught it only once the commit succeeded. The caller frees the result with
 * ingest_result_free, whatever the outcome. */
enum ingest_outcome ingest_push(PGconn *conn, const struct ingest_request *request,
                                struct ingest_result *result) __attribute__((warn_unused_result));

/* Frees what result holds and empties it. */
void ingest_result_free(struct ingest_result *result);

#endif
