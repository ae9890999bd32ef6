/* Applying a programme document (programme_apply.h): validation in core, the time zone
 * against the database, then the programme, its sites and indicators in one transaction. */
#include "scaleupd/services/programme_apply.h"

#include <stdbool.h>

#include "scaleupd/core/problems.h"
#include "scaleupd/core/programme_doc.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/dhis2_map_store.h"
#include "scaleupd/storage/programmes.h"

struct apply_job {
    const json_t *doc;
    const char *request_id;
    int64_t id;
    bool created;
};

/* The transaction's body: the programme row, then its sites and its indicators. */
static bool write_programme(PGconn *conn, void *arg)
{
    struct apply_job *job = arg;
    return programme_store(conn, job->doc, &job->id, &job->created, job->request_id) &&
           programme_store_sites(conn, job->id, job->doc, job->request_id) &&
           programme_store_indicators(conn, job->id, job->doc, job->request_id) &&
           dhis2_map_store(conn, job->id, job->doc, job->request_id);
}

enum programme_result programme_apply(PGconn *conn, const json_t *doc, int64_t *id,
                                      json_t **problems, const char *request_id)
{
    *problems = programme_doc_validate(doc);
    if (*problems != NULL)
        return PROGRAMME_INVALID;
    const char *time_zone = json_string_value(json_object_get(doc, "time_zone"));
    bool known = true;
    if (time_zone != NULL && !programme_time_zone_known(conn, time_zone, &known, request_id))
        return PROGRAMME_DB_ERROR;
    if (!known) {
        problems_add(problems, "$.time_zone", "unknown_time_zone",
                     "\"%s\" is not a known time zone", time_zone);
        return PROGRAMME_INVALID;
    }
    struct apply_job job = {.doc = doc, .request_id = request_id};
    if (!db_transaction(conn, request_id, write_programme, &job))
        return PROGRAMME_DB_ERROR;
    *id = job.id;
    return job.created ? PROGRAMME_CREATED : PROGRAMME_UPDATED;
}

enum programme_result programme_apply_and_read(PGconn *conn, const json_t *doc, json_t **stored,
                                               json_t **problems, const char *request_id)
{
    int64_t id;
    enum programme_result result = programme_apply(conn, doc, &id, problems, request_id);
    if (result != PROGRAMME_CREATED && result != PROGRAMME_UPDATED)
        return result;
    bool db_error;
    *stored = programme_get(conn, json_string_value(json_object_get(doc, "slug")), &db_error);
    return *stored != NULL ? result : PROGRAMME_DB_ERROR;
}
