/* Ingest: a feed write from body to commit — the Idempotency-Key, parsing and validation
 * against the programme, the store (observations_store), the report, and the transaction
 * around them with the series hint's commit bookkeeping. */
#include "scaleupd/services/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/fhir_outcome.h"
#include "scaleupd/core/parse_fhir.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/fhir_store.h"
#include "scaleupd/storage/idempotency.h"
#include "scaleupd/storage/dhis2_import_job.h"
#include "scaleupd/storage/dhis2_map_store.h"
#include "scaleupd/storage/dhis2_registration.h"
#include "scaleupd/storage/dhis2_value_meta.h"
#include "scaleupd/storage/observations_delete.h"
#include "scaleupd/storage/programmes.h"

#define REPORT_MAX_REJECTIONS 1000 /* beyond this the report says how many more */
/* The rendered report's cap: 1,000 rejections of a few hundred bytes each fit well within. */
#define REPORT_MAX_BYTES (4u << 20)

static enum obs_parse_status parse_body(enum obs_format format, const char *body, size_t len,
                                        struct obs_batch *batch, struct obs_parse_error *perr)
{
    return format == OBS_FORMAT_CSV     ? obs_parse_csv(body, len, batch, perr)
           : format == OBS_FORMAT_DHIS2 ? obs_parse_dhis2(body, len, batch, perr)
                                        : obs_parse_json(body, len, batch, perr);
}

/* Parses the request's body into batch: in its format (a DHIS2 body in its syntax), a FHIR
 * body through the programme's mapping. */
static enum ingest_status parse_request(PGconn *conn, const struct ingest_request *rq,
                                        int64_t programme_id, struct obs_batch *batch,
                                        struct obs_parse_error *perr)
{
    enum obs_parse_status st;
    if (rq->format == OBS_FORMAT_DHIS2 && rq->dhis2_syntax == INGEST_DHIS2_CSV)
        st = obs_parse_dhis2_csv(rq->body, rq->body_len, !rq->dhis2.first_row_is_header_off, batch,
                                 perr);
    else if (rq->format == OBS_FORMAT_DHIS2 && rq->dhis2_syntax == INGEST_DHIS2_ADX)
        st = obs_parse_dhis2_adx(rq->body, rq->body_len, batch, perr);
    else if (rq->format != OBS_FORMAT_FHIR)
        st = parse_body(rq->format, rq->body, rq->body_len, batch, perr);
    else {
        struct fhir_map *map = NULL;
        if (!fhir_store_map(conn, programme_id, &map, rq->request_id))
            return INGEST_DB_ERROR;
        enum fhir_expect expect = rq->fhir_bundle ? FHIR_EXPECT_BUNDLE : FHIR_EXPECT_MEASURE_REPORT;
        st = obs_parse_fhir(rq->body, rq->body_len, expect, map, batch, perr);
        fhir_map_free(&map);
    }
    return st == OBS_PARSE_OK ? INGEST_OK : INGEST_BAD_DOCUMENT;
}

/* Validates the parsed batch against the programme's catalog, naming other programmes' site
 * codes or not (ingest_request). */
static enum ingest_status validate(PGconn *conn, int64_t programme_id, bool name_other_programmes,
                                   struct obs_batch *batch, struct obs_parse_error *perr)
{
    struct catalog *cat = NULL;
    int32_t today = 0;
    if (!observations_load_catalog(conn, programme_id, batch, name_other_programmes, &cat, &today))
        return INGEST_DB_ERROR;
    bool ok = obs_validate(batch, cat, today);
    catalog_free(&cat);
    if (!ok) {
        snprintf(perr->code, sizeof(perr->code), "out_of_memory");
        snprintf(perr->message, sizeof(perr->message), "the batch is too large to validate");
        perr->line = 0;
        return INGEST_BAD_DOCUMENT;
    }
    return INGEST_OK;
}

enum ingest_status ingest_prepare(PGconn *conn, int64_t programme_id, enum obs_format format,
                                  const char *body, size_t len, struct obs_batch *batch,
                                  struct obs_parse_error *perr)
{
    if (parse_body(format, body, len, batch, perr) != OBS_PARSE_OK)
        return INGEST_BAD_DOCUMENT;
    return validate(conn, programme_id, true, batch, perr);
}

int ingest_document_error_status(enum obs_parse_status status)
{
    return status == OBS_PARSE_TOO_MANY_ROWS || status == OBS_PARSE_TOO_LARGE ? 413 : 400;
}

json_t *ingest_report(const struct obs_batch *batch, const struct observations_counts *counts,
                      bool stored, bool dry_run, bool atomic)
{
    struct observations_counts none = {0, 0, 0};
    const struct observations_counts *c = stored ? counts : &none;
    size_t accepted = obs_batch_accepted(batch);
    const char *status = batch->n_rejects == 0      ? "ok"
                         : accepted == 0 || !stored ? "rejected"
                                                    : "partial";
    json_t *rejections = json_array();
    for (size_t i = 0; i < batch->n_rejects && i < REPORT_MAX_REJECTIONS; i++) {
        const struct obs_reject *r = &batch->rejects[i];
        json_array_append_new(rejections,
                              json_pack("{s:i,s:s,s:s,s:s}", "row", (int)r->row, "field", r->field,
                                        "code", r->code, "message", r->message));
    }
    json_t *report = json_pack("{s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:o}", "status", status, "dry_run",
                               dry_run, "atomic", atomic, "rows", (json_int_t)batch->n_rows,
                               "imported", (json_int_t)c->imported, "updated",
                               (json_int_t)c->updated, "unchanged", (json_int_t)c->unchanged,
                               "rejected", (json_int_t)batch->n_rejects, "rejections", rejections);
    if (batch->n_rejects > REPORT_MAX_REJECTIONS)
        json_object_set_new(report, "rejections_not_listed",
                            json_integer((json_int_t)(batch->n_rejects - REPORT_MAX_REJECTIONS)));
    return report;
}

json_t *ingest_dhis2_summary(const struct obs_batch *batch,
                             const struct observations_counts *counts, long deleted, long ignored,
                             bool stored, bool dry_run)
{
    struct observations_counts none = {0, 0, 0};
    const struct observations_counts *c = stored ? counts : &none;
    struct dhis2_counts dc = {c->imported, c->updated,
                              c->unchanged + (long long)batch->n_rejects + (stored ? ignored : 0),
                              stored ? deleted : 0};
    return dhis2_summary(batch, &dc, dry_run);
}

/* ---- the whole feed write ------------------------------------------------------------ */

void ingest_result_free(struct ingest_result *result)
{
    json_decref(result->set_conflicts);
    free(result->body);
    memset(result, 0, sizeof(*result));
}

static int dump_to_dynbuf(const char *text, size_t size, void *data)
{
    return dynbuf_add(data, text, size) ? 0 : -1;
}

/* Renders the report as the answer (as the edge renders JSON: compact, 12 digits), so that
 * the bytes stored under an Idempotency-Key are the bytes sent. Takes the report. */
static bool render_answer(json_t *report, int status, struct ingest_result *out)
{
    struct dynbuf answer;
    dynbuf_init(&answer, REPORT_MAX_BYTES);
    int failed =
        json_dump_callback(report, dump_to_dynbuf, &answer, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(report);
    if (failed != 0 || answer.overflow) {
        dynbuf_free(&answer);
        return false;
    }
    out->status = status;
    out->body = dynbuf_take(&answer, &out->body_len);
    return true;
}

/* The document error's HTTP status, from the code ingest_prepare gave it. */
static int document_error_status(const struct obs_parse_error *perr)
{
    enum obs_parse_status st = strcmp(perr->code, "too_many_rows") == 0 ? OBS_PARSE_TOO_MANY_ROWS
                               : strcmp(perr->code, "too_large") == 0   ? OBS_PARSE_TOO_LARGE
                                                                        : OBS_PARSE_MALFORMED;
    return ingest_document_error_status(st);
}

static void count_rows(const struct ingest_result *out)
{
    metrics_add("scaleupd_ingest_rows_total", "outcome=\"imported\"", (double)out->counts.imported);
    metrics_add("scaleupd_ingest_rows_total", "outcome=\"updated\"", (double)out->counts.updated);
    metrics_add("scaleupd_ingest_rows_total", "outcome=\"unchanged\"",
                (double)out->counts.unchanged);
    metrics_add("scaleupd_ingest_rows_total", "outcome=\"rejected\"", (double)out->rejected);
}

/* Whether the write is a dry run: ours (dry_run), or DHIS2's dryRun, where the data value
 * set's wins over the query's as in DHIS2 (dhis2_options_read_set) but neither may disagree
 * with a dry_run given. False, with *why filled, when a member of the set (or that
 * disagreement) refuses the write. */
static bool write_is_dry_run(const struct ingest_request *rq, const struct obs_batch *batch,
                             bool *dry_run, struct dhis2_options *merged, struct dhis2_refusal *why)
{
    *dry_run = rq->dry_run;
    *merged = rq->dhis2;
    if (rq->format != OBS_FORMAT_DHIS2)
        return true;
    struct dhis2_options options = rq->dhis2;
    if (!dhis2_options_read_set(batch->set_options, batch->n_set_options, &options, why))
        return false;
    *merged = options;
    if (options.dry_run_given && rq->dry_run_given && options.dry_run != rq->dry_run) {
        snprintf(why->parameter, sizeof(why->parameter), "dryRun");
        snprintf(why->code, sizeof(why->code), "invalid_parameter");
        snprintf(why->message, sizeof(why->message),
                 "dryRun (of the query or the data value set) and dry_run disagree");
        return false;
    }
    *dry_run = rq->dry_run || options.dry_run;
    return true;
}

/* Renders DHIS2's refusal of the write (400) as the answer. */
static enum ingest_outcome refuse_write(const struct dhis2_refusal *why, struct ingest_result *out)
{
    int status;
    json_t *answer = dhis2_refusal_answer(why->parameter, why->code, why->message, &status);
    if (render_answer(answer, status, out))
        return INGEST_PUSH_REFUSED;
    return INGEST_PUSH_INTERNAL;
}

/* The report of a stored (or refused) batch in the request's format, and its HTTP status. */
static json_t *batch_report(const struct ingest_request *rq, const struct obs_batch *batch,
                            const struct ingest_result *out, const bool *existed, bool store,
                            bool all_rejected, int *status)
{
    *status = all_rejected ? 422 : 200;
    if (rq->format == OBS_FORMAT_FHIR) {
        struct fhir_counts c = {out->counts.imported, out->counts.updated, out->counts.unchanged};
        return fhir_outcome(batch, &c, existed, store, out->dry_run, status);
    }
    if (rq->format == OBS_FORMAT_DHIS2) { /* the envelope of the path's version decides */
        json_t *summary = ingest_dhis2_summary(batch, &out->counts, out->deleted, out->ignored,
                                               store, out->dry_run);
        dhis2_summary_set_level(summary, out->data_set_complete, out->set_conflicts);
        return dhis2_import_answer(summary, rq->dhis2_api_version, status);
    }
    return ingest_report(batch, &out->counts, store, out->dry_run, rq->atomic);
}

/* DHIS2's import strategy over the validated batch, in the open transaction: deletes the
 * rows to delete (importStrategy DELETE: all; otherwise those marked "deleted": true) and
 * sets hold[i] for each row observations_store must leave alone (deleted ones, and under
 * CREATE the stored ones, under UPDATE the others). */
static bool apply_strategy(PGconn *conn, const struct ingest_request *rq, int64_t programme_id,
                           enum dhis2_strategy strategy, const struct obs_batch *batch, bool *hold,
                           struct ingest_result *out)
{
    size_t n = batch->n_rows, n_delete = 0;
    bool *del = xcalloc(n + 1, sizeof(*del)), ok = true;
    for (size_t i = 0; i < n; i++) {
        del[i] = !batch->rows[i].rejected &&
                 (strategy == DHIS2_STRATEGY_DELETE || batch->rows[i].deleted);
        hold[i] = del[i];
        n_delete += del[i];
    }
    if (strategy == DHIS2_STRATEGY_CREATE || strategy == DHIS2_STRATEGY_UPDATE) {
        bool *exists = xcalloc(n + 1, sizeof(*exists));
        ok = observations_exist(conn, programme_id, batch, exists, rq->request_id);
        for (size_t i = 0; ok && i < n; i++)
            if (!batch->rows[i].rejected && !del[i] &&
                exists[i] == (strategy == DHIS2_STRATEGY_CREATE))
                hold[i] = true, out->ignored++;
        free(exists);
    }
    if (ok && n_delete > 0) {
        ok = observations_delete(conn, programme_id, rq->token_id, batch, del, &out->deleted,
                                 rq->request_id);
        out->ignored += (long)n_delete - out->deleted;
    }
    free(del);
    return ok;
}

/* Stores the rows of batch that hold (NULL: none) does not hold back, as observations_store
 * stores the accepted rows: the held ones are set aside as rejected meanwhile. */
static bool store_rows(PGconn *conn, const struct ingest_request *rq, int64_t programme_id,
                       struct obs_batch *batch, const bool *hold, struct ingest_result *out)
{
    for (size_t i = 0; hold != NULL && i < batch->n_rows; i++)
        if (hold[i])
            batch->rows[i].rejected = true;
    bool ok =
        obs_batch_accepted(batch) == 0 ||
        observations_store(conn, programme_id, rq->token_id, batch, &out->counts, rq->request_id);
    for (size_t i = 0; hold != NULL && i < batch->n_rows; i++)
        if (hold[i])
            batch->rows[i].rejected = false;
    /* DHIS2's storedBy and followup, beside the observations */
    return ok && (rq->format != OBS_FORMAT_DHIS2 ||
                  dhis2_value_meta_store(conn, programme_id, batch, hold, rq->request_id));
}

/* Stores the validated batch (unless a dry run's, or an atomic batch with rejects: a FHIR
 * transaction is atomic) in the open transaction, and renders the report. */
static enum ingest_outcome store_batch(PGconn *conn, const struct ingest_request *rq,
                                       int64_t programme_id, const struct dhis2_options *options,
                                       struct obs_batch *batch, struct ingest_result *out)
{
    bool atomic =
        rq->atomic || (rq->format == OBS_FORMAT_FHIR && batch->fhir->kind == FHIR_KIND_TRANSACTION);
    bool all_rejected = obs_batch_accepted(batch) == 0 || (atomic && batch->n_rejects > 0);
    bool store = !all_rejected;
    bool *hold = rq->format == OBS_FORMAT_DHIS2 ? xcalloc(batch->n_rows + 1, sizeof(*hold)) : NULL;
    /* FHIR answers 201 for a Bundle's entry that stored a new value: which keys were stored
     * before (a lone report's counts say it) */
    bool *existed =
        rq->format == OBS_FORMAT_FHIR && store && batch->fhir->kind != FHIR_KIND_MEASURE_REPORT
            ? xcalloc(batch->n_rows + 1, sizeof(*existed))
            : NULL;
    bool ok = !store || hold == NULL ||
              apply_strategy(conn, rq, programme_id, options->strategy, batch, hold, out);
    ok = ok && (existed == NULL ||
                observations_exist(conn, programme_id, batch, existed, rq->request_id));
    ok = ok && (!store || store_rows(conn, rq, programme_id, batch, hold, out));
    free(hold);
    if (!ok) {
        free(existed);
        return INGEST_PUSH_DB_ERROR;
    }
    int status;
    json_t *report = batch_report(rq, batch, out, existed, store, all_rejected, &status);
    free(existed);
    if (!render_answer(report, status, out)) {
        log_write(LOG_LEVEL_ERROR, rq->request_id,
                  "could not render the import report: over %u bytes", REPORT_MAX_BYTES);
        return INGEST_PUSH_INTERNAL;
    }
    out->rejected = batch->n_rejects;
    count_rows(out);
    return INGEST_PUSH_ANSWERED;
}

/* A conflict of the data value set itself, kept for its summary. */
static void set_conflict(struct ingest_result *out, const char *type, const char *object,
                         const char *message, const char *error_code, const char *property)
{
    if (out->set_conflicts == NULL)
        out->set_conflicts = json_array();
    char shown[OBS_SET_OPTION_VALUE_MAX + 1];
    snprintf(shown, sizeof(shown), "%s", object);
    utf8_make_valid(shown);
    char text[200];
    snprintf(text, sizeof(text), message, shown);
    json_array_append_new(out->set_conflicts,
                          dhis2_set_conflict(type, shown, text, error_code, property));
}

/* Registers data set uid complete for group g on date, as DHIS2's handleComplete: an
 * organisation unit and a period are needed; one that names no site is a conflict. False on
 * a database error. */
static bool register_complete(PGconn *conn, const struct ingest_request *rq, int64_t programme_id,
                              const struct dhis2_options *options, const struct obs_dhis2_group *g,
                              const char *uid, const char *date, struct ingest_result *out)
{
    static const char NEEDED[] = "Must be provided to complete data set%.0s";
    struct period period;
    char id[16];
    if (g->too_long || !dhis2_complete_date_valid(date)) {
        set_conflict(out, "completeDate", date, "Data set `completeDate` is not a valid date: `%s`",
                     NULL, "completeDate");
        return true;
    }
    if (g->org_unit[0] == '\0') {
        /* as DHIS2's addConflict(OrganisationUnit.class.getSimpleName(), …) */
        set_conflict(out, "OrganisationUnit", "OrganisationUnit", NEEDED, NULL, "orgUnit");
        return true;
    }
    if (period_parse_dhis2(g->period, strlen(g->period), &period) != PERIOD_PARSE_OK ||
        !dhis2_period_id(period, id, sizeof(id))) {
        set_conflict(out, "Period", g->period[0] ? g->period : "Period",
                     g->period[0] ? "Period not valid: `%s`" : NEEDED,
                     g->period[0] ? "E7611" : NULL, "period");
        return true;
    }
    struct dhis2_registration r = {uid,
                                   id,
                                   period_start(period),
                                   g->org_unit,
                                   dhis2_options_org_unit_scheme(options),
                                   date,
                                   rq->token_id};
    char completed[DHIS2_DATE_MAX];
    switch (dhis2_registration_store(conn, programme_id, &r, completed, rq->request_id)) {
    case DHIS2_REGISTRATION_DB_ERROR:
        return false;
    case DHIS2_REGISTRATION_UNKNOWN_ORG_UNIT:
        set_conflict(out, "orgUnit", g->org_unit, "Org unit not found or not accessible: `%s`",
                     "E7603", "orgUnit");
        return true;
    case DHIS2_REGISTRATION_STORED:
        snprintf(out->data_set_complete, sizeof(out->data_set_complete), "%s", completed);
        return true;
    }
    return true;
}

/* Answers the import aborted for a data set the programme does not declare (E7600). */
static enum ingest_outcome abort_for_data_set(const struct ingest_request *rq, const char *ident,
                                              struct ingest_result *out)
{
    char shown[OBS_SET_OPTION_VALUE_MAX + 1];
    snprintf(shown, sizeof(shown), "%s", ident);
    utf8_make_valid(shown);
    int status;
    json_t *answer =
        dhis2_import_answer(dhis2_data_set_not_found(shown), rq->dhis2_api_version, &status);
    return render_answer(answer, status, out) ? INGEST_PUSH_ANSWERED : INGEST_PUSH_INTERNAL;
}

/* DHIS2's data sets: the one each group names (an ADX group's, else dataSet of the set or the
 * query) must be the programme's, or the import is aborted as DHIS2 aborts it; a group with
 * a data set and a completeDate registers it complete, in the import's transaction. True to
 * carry on; false with *outcome when the import ends here. */
static bool complete_data_sets(PGconn *conn, const struct ingest_request *rq, int64_t programme_id,
                               const struct dhis2_options *options, const struct obs_batch *batch,
                               struct ingest_result *out, enum ingest_outcome *outcome)
{
    static const struct obs_dhis2_group none; /* CSV: the query's dataSet, no group */
    size_t n = batch->n_groups > 0 ? batch->n_groups : 1;
    for (size_t i = 0; i < n; i++) {
        const struct obs_dhis2_group *g = batch->n_groups > 0 ? &batch->groups[i] : &none;
        const char *ident = g->data_set[0] ? g->data_set : options->data_set;
        const char *date = g->complete_date[0] ? g->complete_date : options->complete_date;
        char uid[DHIS2_UID_MAX + 1];
        bool found;
        if (ident[0] == '\0')
            continue;
        *outcome = INGEST_PUSH_DB_ERROR;
        if (!dhis2_data_set_find(conn, programme_id, ident, dhis2_options_data_set_scheme(options),
                                 uid, &found, rq->request_id))
            return false;
        if (!found) {
            *outcome = abort_for_data_set(rq, ident, out);
            return false;
        }
        if (date[0] != '\0' && strcasecmp(date, "false") != 0 &&
            !register_complete(conn, rq, programme_id, options, g, uid, date, out))
            return false;
    }
    return true;
}

/* DHIS2: rewrites the batch's UIDs to the programme's codes, per the id schemes. */
static bool map_dhis2_ids(PGconn *conn, const struct ingest_request *rq, int64_t programme_id,
                          const struct dhis2_options *options, struct obs_batch *batch)
{
    struct dhis2_map *map = NULL;
    if (!dhis2_map_load(conn, programme_id, batch, &map, rq->request_id))
        return false;
    dhis2_map_apply(batch, map, dhis2_options_data_element_scheme(options),
                    dhis2_options_org_unit_scheme(options));
    dhis2_map_free(&map);
    return true;
}

/* Parses the body, honours or refuses DHIS2's options of the set before anything is stored,
 * validates, and stores the batch in the open transaction. */
static enum ingest_outcome push_batch(PGconn *conn, const struct ingest_request *rq,
                                      int64_t programme_id, struct ingest_result *out)
{
    struct obs_batch *batch = obs_batch_new();
    enum ingest_outcome outcome = INGEST_PUSH_BAD_DOCUMENT;
    struct dhis2_refusal why;
    switch (parse_request(conn, rq, programme_id, batch, &out->error)) {
    case INGEST_DB_ERROR:
        outcome = INGEST_PUSH_DB_ERROR;
        goto out;
    case INGEST_BAD_DOCUMENT:
        out->status = document_error_status(&out->error);
        goto out;
    case INGEST_OK:
        break;
    }
    struct dhis2_options options;
    if (!write_is_dry_run(rq, batch, &out->dry_run, &options, &why)) {
        outcome = refuse_write(&why, out);
        goto out;
    }
    if (rq->format == OBS_FORMAT_DHIS2) /* DHIS2 deletes by key, without a value */
        obs_dhis2_require_values(batch, options.strategy == DHIS2_STRATEGY_DELETE);
    if (rq->format == OBS_FORMAT_DHIS2 &&
        !complete_data_sets(conn, rq, programme_id, &options, batch, out, &outcome))
        goto out;
    if (rq->format == OBS_FORMAT_DHIS2 && !map_dhis2_ids(conn, rq, programme_id, &options, batch)) {
        outcome = INGEST_PUSH_DB_ERROR;
        goto out;
    }
    switch (validate(conn, programme_id, rq->name_other_programmes, batch, &out->error)) {
    case INGEST_DB_ERROR:
        outcome = INGEST_PUSH_DB_ERROR;
        goto out;
    case INGEST_BAD_DOCUMENT:
        out->status = document_error_status(&out->error);
        goto out;
    case INGEST_OK:
        break;
    }
    if (rq->format == OBS_FORMAT_FHIR)
        obs_fhir_reject_partial_entries(batch);
    outcome = store_batch(conn, rq, programme_id, &options, batch, out);
out:
    obs_batch_free(&batch);
    return outcome;
}

char *ingest_dhis2_job_summary(const char *answer, size_t len)
{
    json_t *doc = json_loadb(answer, len, 0, NULL);
    json_t *response = json_object_get(doc, "response");
    json_t *summary = json_is_object(response) ? response : doc;
    char *text = json_is_object(summary) ? json_dumps(summary, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

/* async=true: finishes the request's job with the import's summary, in its transaction. */
static bool finish_job(PGconn *conn, const struct ingest_request *rq, struct ingest_result *out)
{
    if (rq->dhis2_job_id == NULL)
        return true;
    char *summary = ingest_dhis2_job_summary(out->body, out->body_len);
    bool ok = summary != NULL &&
              dhis2_job_finish(conn, rq->dhis2_job_id, "COMPLETED", summary, rq->request_id);
    free(summary);
    out->job_finished = ok;
    return ok;
}

/* The transaction's body: the key, the batch, the answer under the key. *commit says whether
 * the transaction is to be committed (a stored answer that is not a dry run's). */
static enum ingest_outcome push_in_transaction(PGconn *conn, const struct ingest_request *rq,
                                               int64_t programme_id, struct ingest_result *out,
                                               bool *commit)
{
    *commit = false;
    if (rq->idempotency_key != NULL) {
        switch (idempotency_begin(conn, rq->token_id, rq->idempotency_key, rq->fingerprint,
                                  &out->status, &out->body)) {
        case IDEMPOTENCY_REPLAY:
            out->body_len = strlen(out->body);
            return INGEST_PUSH_REPLAYED;
        case IDEMPOTENCY_CONFLICT:
            return INGEST_PUSH_KEY_REUSED;
        case IDEMPOTENCY_DB_ERROR:
            return INGEST_PUSH_DB_ERROR;
        case IDEMPOTENCY_NEW:
            break;
        }
    }
    enum ingest_outcome outcome = push_batch(conn, rq, programme_id, out);
    if (outcome != INGEST_PUSH_ANSWERED || out->dry_run)
        return outcome;
    if (rq->idempotency_key != NULL &&
        !idempotency_store(conn, rq->token_id, rq->idempotency_key, rq->fingerprint, out->status,
                           out->body, out->body_len))
        return INGEST_PUSH_DB_ERROR;
    if (!finish_job(conn, rq, out))
        return INGEST_PUSH_DB_ERROR;
    *commit = true;
    return INGEST_PUSH_ANSWERED;
}

/* The programme of the write: the request's, or the one its slug names. */
static enum ingest_outcome push_programme(PGconn *conn, const struct ingest_request *rq,
                                          int64_t *programme_id)
{
    *programme_id = rq->programme_id;
    if (*programme_id != 0)
        return INGEST_PUSH_ANSWERED;
    int found = rq->programme_slug ? programme_find(conn, rq->programme_slug, programme_id) : 0;
    return found < 0    ? INGEST_PUSH_DB_ERROR
           : found == 0 ? INGEST_PUSH_UNKNOWN_PROGRAMME
                        : INGEST_PUSH_ANSWERED;
}

enum ingest_outcome ingest_push(PGconn *conn, const struct ingest_request *rq,
                                struct ingest_result *out)
{
    memset(out, 0, sizeof(*out));
    int64_t programme_id;
    enum ingest_outcome outcome = push_programme(conn, rq, &programme_id);
    if (outcome != INGEST_PUSH_ANSWERED)
        return outcome;
    /* a small write (a practice's month, a single point) reuses its statements' plans: each is
     * a handful of index probes, and planning them cost more than running them */
    bool small = rq->body_len <= INGEST_KEYED_MAX_BODY;
    if (!(small ? db_begin_keyed(conn, rq->request_id) : db_begin(conn, rq->request_id)))
        return INGEST_PUSH_DB_ERROR;
    bool commit;
    outcome = push_in_transaction(conn, rq, programme_id, out, &commit);
    if (!commit) {
        out->job_finished = false;
        db_rollback(conn, rq->request_id);
        observations_rolled_back();
        if (outcome == INGEST_PUSH_DB_ERROR || outcome == INGEST_PUSH_INTERNAL) {
            free(out->body);
            out->body = NULL, out->body_len = 0;
        }
        return outcome;
    }
    if (!db_commit(conn, rq->request_id)) {
        observations_rolled_back();
        ingest_result_free(out); /* job_finished too: the job's completion rolled back */
        return INGEST_PUSH_DB_ERROR;
    }
    observations_committed();
    out->changed = out->counts.imported + out->counts.updated + out->deleted > 0;
    return INGEST_PUSH_ANSWERED;
}
