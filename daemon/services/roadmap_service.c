/* Roadmap PUT and GET (roadmap_service.h): validation against the programme's indicators,
 * the check that the document names the programme of the URL, a new version stored in its
 * own transaction, and the version in force read back at the programme's today. */
#include "scaleupd/services/roadmap_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/core/problems.h"
#include "scaleupd/services/progress_service.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/roadmap_store.h"

/* The "programme" member of the body when it is a string, else NULL; the caller frees. */
static char *document_programme(const char *body, size_t len)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *named = json_string_value(json_object_get(doc, "programme"));
    char *copy = named ? xstrdup(named) : NULL;
    json_decref(doc);
    return copy;
}

/* The document as stored: jansson's compact form of the validated body. */
static char *canonical_document(const char *body, size_t len)
{
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return text;
}

static void fill_syntax(const struct roadmap_errors *errs, struct roadmap_service_answer *out)
{
    out->syntax.line = errs->line;
    out->syntax.column = errs->column;
    out->syntax.position = errs->position;
    snprintf(out->syntax.message, sizeof(out->syntax.message), "%s", errs->items[0].message);
}

/* Every problem of errs, and one for a "programme" that names another (mismatch). */
static void fill_problems(const struct roadmap_errors *errs, const char *mismatch,
                          struct roadmap_service_answer *out)
{
    roadmap_errors_to_problems(errs, &out->problems);
    if (mismatch != NULL)
        problems_add(&out->problems, "$.programme", "programme_mismatch",
                     "the roadmap names programme \"%.64s\", not the one of the URL", mismatch);
    if (out->problems == NULL)
        out->problems = json_array();
    out->dropped = errs->dropped;
}

/* Stores a valid roadmap as a new version and reads it back. */
static enum roadmap_service_result store(PGconn *conn, int64_t programme_id,
                                         const struct roadmap *rm, const char *body, size_t len,
                                         int64_t token_id, struct roadmap_service_answer *out,
                                         const char *request_id)
{
    char *document = canonical_document(body, len);
    int version = 0;
    bool ok = document != NULL && db_begin(conn, request_id);
    if (ok && !roadmap_store_add(conn, programme_id, document, rm->label, token_id, clock_now(),
                                 &version, request_id)) {
        db_rollback(conn, request_id);
        ok = false;
    }
    ok = ok && db_commit(conn, request_id);
    free(document);
    int32_t today;
    if (!ok || !progress_service_today(conn, programme_id, &today) ||
        roadmap_store_get(conn, programme_id, version, today, &out->document, request_id) !=
            ROADMAP_STORE_OK)
        return ROADMAP_SERVICE_DB_ERROR;
    return version == 1 ? ROADMAP_SERVICE_CREATED : ROADMAP_SERVICE_UPDATED;
}

enum roadmap_service_result roadmap_service_apply(PGconn *conn, int64_t programme_id,
                                                  const char *slug, const char *body, size_t len,
                                                  int64_t token_id,
                                                  struct roadmap_service_answer *out,
                                                  const char *request_id)
{
    memset(out, 0, sizeof(*out));
    struct roadmap_store_indicators *indicators =
        roadmap_store_indicators_load(conn, programme_id, request_id);
    if (indicators == NULL)
        return ROADMAP_SERVICE_DB_ERROR;
    struct roadmap_indicator_lookup lookup = roadmap_store_indicators_lookup(indicators);
    struct roadmap_errors *errs = xmalloc(sizeof(*errs));
    struct roadmap *rm = NULL;
    enum roadmap_status st = roadmap_parse(body, len, &lookup, &rm, errs);
    char *named = st == ROADMAP_SYNTAX ? NULL : document_programme(body, len);
    bool mismatch = named != NULL && strcmp(named, slug) != 0;
    enum roadmap_service_result result;
    if (st == ROADMAP_SYNTAX) {
        fill_syntax(errs, out);
        result = ROADMAP_SERVICE_SYNTAX;
    } else if (st == ROADMAP_INVALID || mismatch) {
        fill_problems(errs, mismatch ? named : NULL, out);
        result = ROADMAP_SERVICE_INVALID;
    } else {
        result = store(conn, programme_id, rm, body, len, token_id, out, request_id);
    }
    free(named);
    roadmap_free(&rm);
    free(errs);
    roadmap_store_indicators_free(&indicators);
    return result;
}

enum roadmap_service_result roadmap_service_get(PGconn *conn, int64_t programme_id, int version,
                                                struct roadmap_service_answer *out,
                                                const char *request_id)
{
    memset(out, 0, sizeof(*out));
    int32_t today;
    if (!progress_service_today(conn, programme_id, &today))
        return ROADMAP_SERVICE_DB_ERROR;
    switch (roadmap_store_get(conn, programme_id, version, today, &out->document, request_id)) {
    case ROADMAP_STORE_OK:
        return ROADMAP_SERVICE_OK;
    case ROADMAP_STORE_NONE:
        return ROADMAP_SERVICE_NONE;
    case ROADMAP_STORE_DB_ERROR:
        break;
    }
    return ROADMAP_SERVICE_DB_ERROR;
}

void roadmap_service_answer_release(struct roadmap_service_answer *answer)
{
    json_decref(answer->document);
    json_decref(answer->problems);
    memset(answer, 0, sizeof(*answer));
}
