/* storedBy and followup of DHIS2 data values (dhis2_value_meta.h): one upsert over the rows
 * that give them, as arrays, in key order. They describe the value stored when they were
 * written (updated_at, the transaction's now(), as the observation's received_at): a later
 * change of the value without them leaves them older than it, and the series read hides them
 * (observations_read.c); an import that gives them again for that value renews them. */
#include "scaleupd/storage/dhis2_value_meta.h"

#include <stdio.h>
#include <string.h>

#include "scaleupd/core/log.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/pgarray.h"

static const char SQL_META[] =
    "INSERT INTO dhis2_value_meta AS m (programme_id, series_id, period_start, stored_by,"
    " followup) SELECT $1, s.id, date '1970-01-01' + t.day, t.stored_by, t.followup"
    " FROM unnest($2::int8[], $3::int8[], $4::int4[], $5::text[], $6::bool[])"
    "  AS t(indicator_id, site_id, day, stored_by, followup)"
    " JOIN series s ON s.programme_id = $1 AND s.indicator_id = t.indicator_id"
    "  AND s.site_id = t.site_id ORDER BY 2, 3"
    " ON CONFLICT (programme_id, series_id, period_start) DO UPDATE SET"
    "  stored_by = excluded.stored_by, followup = excluded.followup, updated_at = now()"
    " WHERE (m.stored_by, m.followup) IS DISTINCT FROM (excluded.stored_by, excluded.followup)"
    "  OR m.updated_at < (SELECT o.received_at FROM observation o WHERE o.programme_id = $1"
    "  AND o.series_id = m.series_id AND o.period_start = m.period_start)";

bool dhis2_value_meta_store(PGconn *conn, int64_t programme_id, const struct obs_batch *batch,
                            const bool *hold, const char *request_id)
{
    struct pgarray a[5];
    static const uint32_t oids[5] = {PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT4, PGARRAY_TEXT,
                                     PGARRAY_BOOL};
    for (int i = 0; i < 5; i++)
        pgarray_init(&a[i], oids[i]);
    size_t n = 0;
    for (size_t i = 0; i < batch->n_rows; i++) {
        const struct obs_row *r = &batch->rows[i];
        if (r->rejected || (hold != NULL && hold[i]) || (r->stored_by == NULL && !r->has_followup))
            continue;
        pgarray_add_int8(&a[0], r->indicator_id);
        pgarray_add_int8(&a[1], r->site_id);
        pgarray_add_int4(&a[2], r->period_start);
        if (r->stored_by != NULL)
            pgarray_add_text(&a[3], r->stored_by, strlen(r->stored_by));
        else
            pgarray_add_null(&a[3]);
        if (r->has_followup)
            pgarray_add_bool(&a[4], r->followup);
        else
            pgarray_add_null(&a[4]);
        n++;
    }
    bool ok = true;
    for (int i = 0; i < 5; i++) {
        pgarray_finish(&a[i]);
        ok = ok && pgarray_ok(&a[i]);
    }
    if (!ok)
        log_write(LOG_LEVEL_ERROR, request_id,
                  "could not store storedBy and followup: over %u bytes", PGARRAY_MAX_BYTES);
    if (ok && n > 0) {
        char pid[24];
        snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
        const char *values[] = {pid, a[0].data, a[1].data, a[2].data, a[3].data, a[4].data};
        int lengths[6] = {0}, formats[6] = {0, 1, 1, 1, 1, 1};
        for (int i = 0; i < 5; i++)
            lengths[i + 1] = (int)a[i].len;
        PGresult *res =
            db_exec_prepared(conn, "scaleupd_dhis2_meta", SQL_META, 6, values, lengths, formats, 0);
        ok = db_ok(res, PGRES_COMMAND_OK, request_id, "store storedBy and followup");
        PQclear(res);
    }
    for (int i = 0; i < 5; i++)
        pgarray_free(&a[i]);
    return ok;
}
