/* DHIS2's import summary and WebMessage for a data value import: which E-code and objects a
 * rejected row's conflict carries (after dhis2-core's DataValueImportConflict), the counts,
 * rejectedIndexes, and the envelope each API version answers with. */
#include "scaleupd/core/dhis2_summary.h"

#include "scaleupd/core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What DHIS2 names in a conflict about one field: its E-code, its property (NULL: none) and
 * which of the row's values its objects list. */
#define OBJ_DATA_ELEMENT 1u
#define OBJ_ORG_UNIT 2u
#define OBJ_PERIOD 4u

struct conflict_kind {
    const char *error_code; /* NULL: DHIS2 has none */
    const char *property;
    unsigned objects;
};

bool dhis2_api_version_parse(const char *segment, int *version)
{
    if (segment == NULL || strlen(segment) != 2 || segment[0] < '0' || segment[0] > '9' ||
        segment[1] < '0' || segment[1] > '9')
        return false;
    int v = (segment[0] - '0') * 10 + (segment[1] - '0');
    if (v < DHIS2_API_VERSION_MIN || v > DHIS2_API_VERSION_MAX)
        return false;
    *version = v;
    return true;
}

/* The kind of a conflict about the value, whose problem code is code. */
static struct conflict_kind value_kind(const char *code)
{
    if (strcmp(code, "missing_field") == 0)
        return (struct conflict_kind){"E7618", "value", OBJ_DATA_ELEMENT};
    return (struct conflict_kind){"E7619", "value", OBJ_DATA_ELEMENT};
}

/* The kind of a conflict about the period. */
static struct conflict_kind period_kind(const char *code)
{
    if (strcmp(code, "period_type_mismatch") == 0)
        return (struct conflict_kind){"E7632", NULL, OBJ_PERIOD | OBJ_DATA_ELEMENT};
    if (strcmp(code, "future_period") == 0)
        return (struct conflict_kind){"E7641", "period", OBJ_PERIOD | OBJ_DATA_ELEMENT};
    return (struct conflict_kind){"E7611", "period", OBJ_PERIOD};
}

static struct conflict_kind kind_of(const struct obs_reject *r)
{
    const char *f = r->field;
    if (strcmp(r->code, "duplicate_key") == 0)
        return (struct conflict_kind){NULL, NULL, OBJ_DATA_ELEMENT | OBJ_ORG_UNIT | OBJ_PERIOD};
    if (strcmp(r->code, "unknown_field") == 0 || strcmp(r->code, "duplicate_field") == 0 ||
        f[0] == '\0')
        return (struct conflict_kind){NULL, f[0] ? f : NULL, 0};
    if (strcmp(f, "dataElement") == 0)
        return (struct conflict_kind){"E7610", "dataElement", OBJ_DATA_ELEMENT};
    if (strcmp(f, "orgUnit") == 0)
        return (struct conflict_kind){"E7612", "orgUnit", OBJ_ORG_UNIT};
    if (strcmp(f, "period") == 0)
        return period_kind(r->code);
    if (strcmp(f, "value") == 0)
        return value_kind(r->code);
    if (strcmp(f, "comment") == 0)
        return (struct conflict_kind){"E7620", "comment", 0};
    if (strcmp(f, "storedBy") == 0)
        return (struct conflict_kind){"E7637", "storedBy", 0};
    if (strcmp(f, "categoryOptionCombo") == 0)
        return (struct conflict_kind){strcmp(r->code, "missing_field") == 0 ? "E7630" : "E7613",
                                      "categoryOptionCombo", OBJ_DATA_ELEMENT};
    if (strcmp(f, "attributeOptionCombo") == 0)
        return (struct conflict_kind){"E7615", "attributeOptionCombo", 0};
    return (struct conflict_kind){NULL, f, 0};
}

const char *dhis2_error_code(const struct obs_reject *reject)
{
    return kind_of(reject).error_code;
}

/* A period as DHIS2 writes its identifier: 202504, 2025Q2, 2025W7, 2025. */
static void dhis2_period_text(struct period p, char *buf, size_t size)
{
    switch (p.type) {
    case PERIOD_MONTHLY:
        snprintf(buf, size, "%04d%02d", p.year, p.index);
        return;
    case PERIOD_QUARTERLY:
        snprintf(buf, size, "%04dQ%d", p.year, p.index);
        return;
    case PERIOD_WEEKLY:
        snprintf(buf, size, "%04dW%d", p.year, p.index);
        return;
    case PERIOD_YEARLY:
        snprintf(buf, size, "%04d", p.year);
        return;
    }
    buf[0] = '\0';
}

/* The objects of a conflict about row: the values the kind names that the row holds (a value
 * the parser could not read is left out, never shown as something else, except a period that
 * is not one: named as given, as DHIS2 names it in E7611). */
static json_t *conflict_objects(const struct obs_row *row, const struct obs_reject *r,
                                unsigned which)
{
    json_t *objects = json_object();
    /* the period is known unless the row's problem is the period's own syntax */
    bool period_read = strcmp(r->field, "period") != 0 ||
                       strcmp(r->code, "period_type_mismatch") == 0 ||
                       strcmp(r->code, "future_period") == 0;
    if ((which & OBJ_PERIOD) && period_read && row->period.year > 0) {
        char text[PERIOD_FORMAT_MAX];
        dhis2_period_text(row->period, text, sizeof(text));
        json_object_set_new(objects, "period", json_string(text));
    } else if ((which & OBJ_PERIOD) && r->given[0] != '\0') {
        json_object_set_new(objects, "period", json_string(r->given));
    }
    if ((which & OBJ_DATA_ELEMENT) && row->indicator[0] != '\0')
        json_object_set_new(objects, "dataElement", json_string(row->indicator));
    if ((which & OBJ_ORG_UNIT) && row->site[0] != '\0')
        json_object_set_new(objects, "organisationUnit", json_string(row->site));
    return objects;
}

/* The first of objects' values in the order of DHIS2's descriptors (period, data element,
 * organisation unit), or NULL. */
static const char *first_object(json_t *objects)
{
    static const char *const order[] = {"period", "dataElement", "organisationUnit"};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        json_t *v = json_object_get(objects, order[i]);
        if (v != NULL)
            return json_string_value(v);
    }
    return NULL;
}

/* The value of a conflict: the reject's message, except for a duplicate, whose message names
 * the other row by its 1-based row number; DHIS2's clients count values from 0, as indexes
 * does, so the other value is named by its index. */
static json_t *conflict_value(const struct obs_row *row, const struct obs_reject *r)
{
    if (strcmp(r->code, "duplicate_key") != 0 || r->other_row == 0)
        return json_string(r->message);
    char period[PERIOD_FORMAT_MAX], message[320];
    dhis2_period_text(row->period, period, sizeof(period));
    snprintf(message, sizeof(message),
             "data value at index %u has the same data element, org unit and period (%s, %s, %s)",
             (unsigned)r->other_row - 1, row->indicator, row->site, period);
    return json_string(message);
}

static json_t *conflict_of(const struct obs_batch *batch, const struct obs_reject *r)
{
    struct conflict_kind kind = kind_of(r);
    const struct obs_row *row = &batch->rows[r->row - 1];
    json_t *objects = conflict_objects(row, r, kind.objects);
    json_t *c = json_object();
    const char *object = first_object(objects); /* DHIS2's object: the first of objects */
    if (object != NULL)
        json_object_set_new(c, "object", json_string(object));
    json_object_set_new(c, "objects", objects);
    json_object_set_new(c, "value", conflict_value(row, r));
    if (kind.error_code != NULL)
        json_object_set_new(c, "errorCode", json_string(kind.error_code));
    if (kind.property != NULL)
        json_object_set_new(c, "property", json_string(kind.property));
    json_object_set_new(c, "indexes", json_pack("[i]", (int)r->row - 1));
    return c;
}

static int compare_index(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Every rejected row's 0-based index, ascending. */
static json_t *rejected_indexes(const struct obs_batch *batch)
{
    json_t *list = json_array();
    if (batch->n_rejects == 0)
        return list;
    uint32_t *rows = xcalloc(batch->n_rejects, sizeof(*rows));
    for (size_t i = 0; i < batch->n_rejects; i++)
        rows[i] = batch->rejects[i].row;
    qsort(rows, batch->n_rejects, sizeof(*rows), compare_index);
    for (size_t i = 0; i < batch->n_rejects; i++)
        json_array_append_new(list, json_integer((json_int_t)rows[i] - 1));
    free(rows);
    return list;
}

json_t *dhis2_summary(const struct obs_batch *batch, const struct dhis2_counts *counts,
                      bool dry_run)
{
    json_t *conflicts = json_array();
    for (size_t i = 0; i < batch->n_rejects && i < DHIS2_SUMMARY_MAX_CONFLICTS; i++)
        json_array_append_new(conflicts, conflict_of(batch, &batch->rejects[i]));
    size_t accepted = obs_batch_accepted(batch);
    const char *status = batch->n_rejects == 0 ? "SUCCESS" : accepted == 0 ? "ERROR" : "WARNING";
    char description[160];
    snprintf(description, sizeof(description), "%s%zu of %zu data values accepted",
             dry_run ? "Dry run: " : "", accepted, batch->n_rows);
    return json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:I,s:I},s:o,s:o,s:s}", "responseType",
                     "ImportSummary", "status", status, "description", description, "importCount",
                     "imported", (json_int_t)counts->imported, "updated",
                     (json_int_t)counts->updated, "ignored", (json_int_t)counts->ignored, "deleted",
                     (json_int_t)counts->deleted, "conflicts", conflicts, "rejectedIndexes",
                     rejected_indexes(batch), "dataSetComplete", "false");
}

json_t *dhis2_refusal_summary(const char *parameter, const char *code, const char *message)
{
    return json_pack("{s:s,s:s,s:s,s:{s:i,s:i,s:i,s:i},s:[{s:s,s:{s:s},s:s,s:s,s:s}],s:[],s:s}",
                     "responseType", "ImportSummary", "status", "ERROR", "description", message,
                     "importCount", "imported", 0, "updated", 0, "ignored", 0, "deleted", 0,
                     "conflicts", "object", parameter, "objects", "parameter", parameter, "value",
                     message, "errorCode", code, "property", parameter, "rejectedIndexes",
                     "dataSetComplete", "false");
}

/* A WebMessage around response (taken). */
static json_t *web_message(int code, const char *status, const char *message, json_t *response)
{
    const char *reason = code == 200 ? "OK" : code == 400 ? "Bad Request" : "Conflict";
    return json_pack("{s:s,s:i,s:s,s:s,s:o}", "httpStatus", reason, "httpStatusCode", code,
                     "status", status, "message", message, "response", response);
}

json_t *dhis2_import_answer(json_t *summary, int api_version, int *http_status)
{
    if (api_version != DHIS2_API_UNVERSIONED && api_version < DHIS2_API_VERSION_WEB_MESSAGE) {
        *http_status = 200;
        return summary;
    }
    const char *status = json_string_value(json_object_get(summary, "status"));
    if (status != NULL && strcmp(status, "ERROR") == 0) {
        *http_status = 409;
        return web_message(409, "ERROR", "An error occurred, please check import summary.",
                           summary);
    }
    if (status != NULL && strcmp(status, "WARNING") == 0) {
        *http_status = 409;
        return web_message(409, "WARNING",
                           "One more conflicts encountered, please check import summary.", summary);
    }
    *http_status = 200;
    return web_message(200, "OK", "Import was successful.", summary);
}

json_t *dhis2_refusal_answer(const char *parameter, const char *code, const char *message,
                             int *http_status)
{
    *http_status = 400;
    return web_message(400, "ERROR", message, dhis2_refusal_summary(parameter, code, message));
}

json_t *dhis2_job_answer(const char *id, const char *created)
{
    char endpoint[96];
    snprintf(endpoint, sizeof(endpoint), "/api/system/tasks/DATAVALUE_IMPORT/%s", id);
    json_t *job = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "responseType",
                            "JobConfigurationWebMessageResponse", "name", "DATAVALUE_IMPORT", "id",
                            id, "created", created, "jobType", "DATAVALUE_IMPORT", "jobStatus",
                            "RUNNING", "relativeNotifierEndpoint", endpoint);
    return web_message(200, "OK", "Initiated DATAVALUE_IMPORT", job);
}

/* One notification of job id (DHIS2's Notification). */
static json_t *notification(const char *id, char first, const char *level, const char *time,
                            const char *message, bool completed)
{
    char uid[16];
    snprintf(uid, sizeof(uid), "%c%s", first, id[0] ? id + 1 : "");
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "uid", uid, "id", id, "level", level,
                     "category", "DATAVALUE_IMPORT", "time", time, "message", message, "completed",
                     completed);
}

json_t *dhis2_job_notifications(const char *id, const char *status, const char *created,
                                const char *completed, const char *failure)
{
    json_t *started = notification(id, 'S', "INFO", created, "Process started", false);
    if (strcmp(status, "RUNNING") == 0)
        return json_pack("[o]", started);
    if (strcmp(status, "COMPLETED") == 0)
        return json_pack("[o,o]", notification(id, 'D', "INFO", completed, "Import done", true),
                         started);
    char message[320];
    snprintf(message, sizeof(message), "Process failed: %s", failure ? failure : "");
    return json_pack("[o,o]", notification(id, 'F', "ERROR", completed, message, true), started);
}

json_t *dhis2_failed_summary(const char *message)
{
    char description[320];
    snprintf(description, sizeof(description), "The import process failed: %s", message);
    return json_pack("{s:s,s:s,s:s,s:{s:i,s:i,s:i,s:i},s:[],s:[],s:s}", "responseType",
                     "ImportSummary", "status", "ERROR", "description", description, "importCount",
                     "imported", 0, "updated", 0, "ignored", 0, "deleted", 0, "conflicts",
                     "rejectedIndexes", "dataSetComplete", "false");
}

bool dhis2_period_id(struct period p, char *buf, size_t size)
{
    int n = -1;
    switch (p.type) {
    case PERIOD_MONTHLY:
        n = snprintf(buf, size, "%04d%02d", p.year, p.index);
        break;
    case PERIOD_QUARTERLY:
        n = snprintf(buf, size, "%04dQ%d", p.year, p.index);
        break;
    case PERIOD_WEEKLY:
        n = snprintf(buf, size, "%04dW%d", p.year, p.index);
        break;
    case PERIOD_YEARLY:
        n = snprintf(buf, size, "%04d", p.year);
        break;
    }
    return n > 0 && (size_t)n < size;
}

json_t *dhis2_set_conflict(const char *type, const char *object, const char *message,
                           const char *error_code, const char *property)
{
    json_t *c = json_pack("{s:s,s:{s:s},s:s,s:s}", "object", object, "objects", type, object,
                          "value", message, "property", property);
    if (error_code != NULL)
        json_object_set_new(c, "errorCode", json_string(error_code));
    return c;
}

json_t *dhis2_data_set_not_found(const char *data_set)
{
    char message[160];
    snprintf(message, sizeof(message), "Data set not found or not accessible: `%s`", data_set);
    return json_pack(
        "{s:s,s:s,s:s,s:{s:i,s:i,s:i,s:i},s:[o],s:[]}", "responseType", "ImportSummary", "status",
        "ERROR", "description", "Import process was aborted", "importCount", "imported", 0,
        "updated", 0, "ignored", 0, "deleted", 0, "conflicts",
        dhis2_set_conflict("dataSet", data_set, message, "E7600", "dataSet"), "rejectedIndexes");
}

void dhis2_summary_set_level(json_t *summary, const char *complete, json_t *conflicts)
{
    json_object_set_new(summary, "dataSetComplete", json_string(complete[0] ? complete : "false"));
    json_t *list = json_object_get(summary, "conflicts");
    size_t i;
    json_t *c;
    json_array_foreach(conflicts, i, c) json_array_insert(list, i, c);
}
