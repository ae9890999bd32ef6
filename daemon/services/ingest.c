/* Ingest: parse, validate against the programme, and report. Storage is
 * observations_store; the transaction and idempotency belong to the HTTP handler. */
#include "scaleupd/services/ingest.h"

#include <stdio.h>
#include <string.h>

#define REPORT_MAX_REJECTIONS 1000 /* beyond this the report says how many more */

enum ingest_status ingest_prepare(PGconn *conn, int64_t programme_id, enum obs_format format,
                                  const char *body, size_t len, struct obs_batch *batch,
                                  struct obs_parse_error *perr)
{
    enum obs_parse_status st = format == OBS_FORMAT_CSV ? obs_parse_csv(body, len, batch, perr)
                               : format == OBS_FORMAT_DHIS2
                                   ? obs_parse_dhis2(body, len, batch, perr)
                                   : obs_parse_json(body, len, batch, perr);
    if (st != OBS_PARSE_OK)
        return INGEST_BAD_DOCUMENT;
    struct catalog *cat = NULL;
    int32_t today = 0;
    if (!observations_load_catalog(conn, programme_id, batch, &cat, &today))
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
                             const struct observations_counts *counts, bool stored, bool dry_run)
{
    struct observations_counts none = {0, 0, 0};
    const struct observations_counts *c = stored ? counts : &none;
    json_t *conflicts = json_array();
    for (size_t i = 0; i < batch->n_rejects && i < REPORT_MAX_REJECTIONS; i++) {
        const struct obs_reject *r = &batch->rejects[i];
        const char *field = r->field[0] ? r->field : "dataValue";
        json_array_append_new(conflicts,
                              json_pack("{s:s,s:s,s:s,s:s,s:[i]}", "object", field, "property",
                                        field, "value", r->message, "errorCode", r->code, "indexes",
                                        (int)r->row - 1));
    }
    size_t accepted = obs_batch_accepted(batch);
    const char *status = batch->n_rejects == 0 ? "SUCCESS" : accepted == 0 ? "ERROR" : "WARNING";
    char description[160];
    snprintf(description, sizeof(description), "%s%zu of %zu data values accepted",
             dry_run ? "Dry run: " : "", accepted, batch->n_rows);
    return json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:I,s:i},s:o,s:s}", "responseType", "ImportSummary",
                     "status", status, "description", description, "importCount", "imported",
                     (json_int_t)c->imported, "updated", (json_int_t)c->updated, "ignored",
                     (json_int_t)(c->unchanged + (json_int_t)batch->n_rejects), "deleted", 0,
                     "conflicts", conflicts, "dataSetComplete", "false");
}
