/*
 * Roadmap storage: every PUT of a programme's roadmap is a new version (label, when, which
 * token); versions are listed, read back, and loaded parsed (struct roadmap_versions of
 * roadmap_doc.h) for the progress services. Also the programme's indicators as the roadmap
 * validator looks them up (docs/ARCHITECTURE.md, the storage layer).
 */
#ifndef SCALEUPD_STORAGE_ROADMAP_STORE_H
#define SCALEUPD_STORAGE_ROADMAP_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/roadmap_doc.h"

/* The indicators of one programme, by code. */
struct roadmap_store_indicators;

/* Loads the indicators of a programme into a new set the caller frees with
 * roadmap_store_indicators_free; NULL on a database error (logged with request_id). */
struct roadmap_store_indicators *roadmap_store_indicators_load(PGconn *conn, int64_t programme_id,
                                                               const char *request_id)
    __attribute__((warn_unused_result));

/* Frees the set and NULLs *set; NULL or *set == NULL is fine. */
void roadmap_store_indicators_free(struct roadmap_store_indicators **set);

/* A lookup for roadmap_parse that reads `set` (borrowed: it must outlive the lookup). */
struct roadmap_indicator_lookup
roadmap_store_indicators_lookup(const struct roadmap_store_indicators *set);

/* The period type of indicator `code`; false when the programme has no such indicator. */
bool roadmap_store_indicator_period_type(const struct roadmap_store_indicators *set,
                                         const char *code, enum period_type *out)
    __attribute__((warn_unused_result));

/*
 * Stores a new version of a programme's roadmap inside the caller's transaction: the
 * document (JSON text, already validated), its label (may be NULL), the token that sent it
 * (0 for none) and when (seconds since the epoch, from clock_now()). Versions count 1, 2, …
 * per programme; concurrent stores are serialised on the programme row. Sets *version and
 * returns true; false on a database error (logged with request_id).
 */
bool roadmap_store_add(PGconn *conn, int64_t programme_id, const char *document, const char *label,
                       int64_t token_id, double created_at, int *version, const char *request_id)
    __attribute__((warn_unused_result));

enum roadmap_store_result {
    ROADMAP_STORE_OK,
    ROADMAP_STORE_NONE, /* the programme has no roadmap, or not that version */
    ROADMAP_STORE_DB_ERROR,
};

/*
 * One version as the API shows it: {"version","label","created_at","token_id","in_force",
 * "roadmap":{…},"versions":[{"version","label","created_at","token_id","in_force"}…]}.
 * version 0 asks for the version in force on `today` (days since 1970-01-01). On
 * ROADMAP_STORE_OK *out is a new object the caller owns.
 */
enum roadmap_store_result roadmap_store_get(PGconn *conn, int64_t programme_id, int version,
                                            int32_t today, json_t **out, const char *request_id)
    __attribute__((warn_unused_result));

/* Loads and parses every version into *out (n == 0 when there is none); false on a
 * database error or when a stored document no longer parses. Release with
 * roadmap_versions_release, also after a failure. */
bool roadmap_store_load(PGconn *conn, int64_t programme_id, struct roadmap_versions *out,
                        const char *request_id) __attribute__((warn_unused_result));

/* The ids of the programmes that have a roadmap, ascending, in a new array (*ids, *n) the
 * caller frees; false on a database error. */
bool roadmap_store_programmes(PGconn *conn, int64_t **ids, size_t *n)
    __attribute__((warn_unused_result));

#endif /* SCALEUPD_STORAGE_ROADMAP_STORE_H */
