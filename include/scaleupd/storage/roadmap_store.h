/*
 * Roadmap storage: every PUT of a programme's roadmap is a new version (label, when, which
 * token); versions are listed, read back, and loaded parsed for the progress service. Also
 * the programme's indicators as the roadmap validator looks them up.
 */
#ifndef SCALEUPD_ROADMAPS_H
#define SCALEUPD_ROADMAPS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/roadmap_doc.h"

/* The indicators of one programme, by code. */
struct roadmaps_indicators;

/* Loads the indicators of a programme into a new set the caller frees with
 * roadmaps_indicators_free; NULL on a database error or without memory. */
struct roadmaps_indicators *roadmaps_indicators_load(PGconn *conn, int64_t programme_id)
    __attribute__((warn_unused_result));

/* Frees the set and NULLs *set; NULL or *set == NULL is fine. */
void roadmaps_indicators_free(struct roadmaps_indicators **set);

/* A lookup for roadmap_parse that reads `set` (borrowed: it must outlive the lookup). */
struct roadmap_indicator_lookup roadmaps_indicators_lookup(const struct roadmaps_indicators *set);

/* The period type of indicator `code`; false when the programme has no such indicator. */
bool roadmaps_indicator_period_type(const struct roadmaps_indicators *set, const char *code,
                                    enum period_type *out) __attribute__((warn_unused_result));

/*
 * Stores a new version of a programme's roadmap inside the caller's transaction: the
 * document (JSON text, already validated), its label (may be NULL), the token that sent it
 * (0 for none) and when (seconds since the epoch, from clock_now()). Versions count 1, 2, …
 * per programme; concurrent stores are serialised on the programme row. Sets *version and
 * returns true; false on a database error (logged with request_id).
 */
bool roadmaps_store(PGconn *conn, int64_t programme_id, const char *document, const char *label,
                    int64_t token_id, double created_at, int *version, const char *request_id)
    __attribute__((warn_unused_result));

enum roadmaps_result {
    ROADMAPS_OK,
    ROADMAPS_NONE, /* the programme has no roadmap, or not that version */
    ROADMAPS_DB_ERROR,
};

/*
 * One version as the API shows it: {"version","label","created_at","token_id","in_force",
 * "roadmap":{…},"versions":[{"version","label","created_at","token_id","in_force"}…]}.
 * version 0 asks for the version in force on `today` (days since 1970-01-01). On
 * ROADMAPS_OK *out is a new object the caller owns.
 */
enum roadmaps_result roadmaps_get(PGconn *conn, int64_t programme_id, int version, int32_t today,
                                  json_t **out) __attribute__((warn_unused_result));

/* One stored version, parsed. */
struct roadmaps_version {
    int version;
    char *label;          /* NULL when the document has none */
    int32_t created_day;  /* UTC day of created_at */
    struct roadmap *plan; /* parsed without indicator checks (they held when it was stored) */
};

/* Every version of a programme in upload order. */
struct roadmaps_set {
    size_t n;
    struct roadmaps_version *versions;
    int32_t *created_days; /* versions[i].created_day, for progress_version_in_force */
};

/* Loads and parses every version into *out (n == 0 when there is none); false on a
 * database error or when a stored document no longer parses. Release with
 * roadmaps_set_release, also after a failure. */
bool roadmaps_load(PGconn *conn, int64_t programme_id, struct roadmaps_set *out)
    __attribute__((warn_unused_result));

/* Frees what a set holds and zeroes it. */
void roadmaps_set_release(struct roadmaps_set *set);

/* The version in force at `date` (progress_version_in_force), NULL when the set is empty.
 * The pointer belongs to the set. */
const struct roadmaps_version *roadmaps_in_force(const struct roadmaps_set *set, int32_t date);

#endif /* SCALEUPD_ROADMAPS_H */
