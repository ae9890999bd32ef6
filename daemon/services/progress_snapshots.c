/* Progress snapshots (progress_service.h), the refresh use case: under the programme's lock
 * and in one REPEATABLE READ transaction, read the state and what the months depend on
 * (storage), evaluate each month to recompute against the roadmap version in force
 * (core/progress_month.c), replace those months' snapshots and clear the dirty mark. */
#include "scaleupd/services/progress_service.h"

#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/progress_month.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/progress_inputs.h"
#include "scaleupd/storage/roadmap_store.h"
#include "scaleupd/storage/snapshot_store.h"

/* What one refresh holds. */
struct refresh {
    PGconn *conn;
    int64_t programme_id;
    const char *request_id;
    struct roadmap_versions versions;
    struct progress_month_inputs inputs;
    struct progress_month *months;
    size_t n_months;
};

static void refresh_release(struct refresh *rf)
{
    for (size_t i = 0; i < rf->n_months; i++)
        progress_month_release(&rf->months[i]);
    free(rf->months);
    progress_inputs_release(&rf->inputs);
    roadmap_versions_release(&rf->versions);
}

/* Evaluates the months [from, last] against the version in force at each one's date. */
static void evaluate_months(struct refresh *rf, int32_t from, int32_t last)
{
    size_t n = 0;
    for (struct period p = period_containing(PERIOD_MONTHLY, from); period_start(p) <= last;
         p = period_add(p, 1))
        n++;
    rf->months = xcalloc(n ? n : 1, sizeof(*rf->months));
    for (struct period p = period_containing(PERIOD_MONTHLY, from); period_start(p) <= last;
         p = period_add(p, 1)) {
        const struct roadmap_version *v =
            roadmap_versions_in_force(&rf->versions, period_end(p) + 1);
        progress_month_evaluate(&rf->inputs, v->plan, v->version, period_start(p),
                                &rf->months[rf->n_months++]);
    }
}

static bool clear_marks(struct refresh *rf, const struct snapshot_store_state *st)
{
    return !st->month.dirty ||
           snapshot_store_clear_marks(rf->conn, rf->programme_id, st->last_mark, rf->request_id);
}

/* The body of a refresh, inside the open transaction. */
static enum progress_service_result refresh_locked(struct refresh *rf, int *computed)
{
    struct snapshot_store_state st;
    if (!snapshot_store_read_state(rf->conn, rf->programme_id, false, &st, rf->request_id))
        return PROGRESS_SERVICE_DB_ERROR;
    int32_t end = period_start(progress_latest_complete_period(PERIOD_MONTHLY, st.month.today));
    if (!st.month.dirty && st.month.has_last && st.month.last_snapshot >= end)
        return PROGRESS_SERVICE_OK; /* up to date: the common case of a read */
    if (!snapshot_store_read_state(rf->conn, rf->programme_id, true, &st, rf->request_id) ||
        !roadmap_store_load(rf->conn, rf->programme_id, &rf->versions, rf->request_id))
        return PROGRESS_SERVICE_DB_ERROR;
    if (rf->versions.n == 0)
        return clear_marks(rf, &st) ? PROGRESS_SERVICE_NO_ROADMAP : PROGRESS_SERVICE_DB_ERROR;
    struct progress_month_range range;
    if (!progress_month_plan(&st.month, &rf->versions, &range))
        return PROGRESS_SERVICE_OK;
    if (range.from <= range.last) {
        if (!progress_inputs_read(rf->conn, rf->programme_id, &rf->versions, &rf->inputs,
                                  rf->request_id))
            return PROGRESS_SERVICE_DB_ERROR;
        evaluate_months(rf, range.from, range.last);
        *computed = (int)rf->n_months;
    }
    bool ok = snapshot_store_replace(rf->conn, rf->programme_id, &range, rf->months, rf->n_months,
                                     rf->request_id) &&
              clear_marks(rf, &st);
    return ok ? PROGRESS_SERVICE_OK : PROGRESS_SERVICE_DB_ERROR;
}

/* Runs the refresh in one REPEATABLE READ transaction: the marks it reads and deletes and
 * the data it computes from belong to one snapshot, so a mark committed meanwhile is left
 * for the next run. The caller holds the programme's lock, taken before the snapshot. */
static enum progress_service_result refresh_transaction(struct refresh *rf, int *computed)
{
    if (!snapshot_store_begin_refresh(rf->conn, rf->request_id))
        return PROGRESS_SERVICE_DB_ERROR;
    enum progress_service_result result = refresh_locked(rf, computed);
    if (result == PROGRESS_SERVICE_OK || result == PROGRESS_SERVICE_NO_ROADMAP) {
        if (!db_commit(rf->conn, rf->request_id))
            result = PROGRESS_SERVICE_DB_ERROR;
    } else {
        db_rollback(rf->conn, rf->request_id);
    }
    return result;
}

enum progress_service_result progress_service_refresh(PGconn *conn, int64_t programme_id, bool wait,
                                                      int *computed, const char *request_id)
{
    int ignored = 0;
    if (computed == NULL)
        computed = &ignored;
    *computed = 0;
    bool got = false;
    if (!snapshot_store_lock(conn, programme_id, wait, &got, request_id))
        return PROGRESS_SERVICE_DB_ERROR;
    if (!got)
        return PROGRESS_SERVICE_BUSY;
    struct refresh rf = {.conn = conn, .programme_id = programme_id, .request_id = request_id};
    enum progress_service_result result = refresh_transaction(&rf, computed);
    if (result == PROGRESS_SERVICE_DB_ERROR)
        *computed = 0;
    snapshot_store_unlock(conn, programme_id, request_id);
    refresh_release(&rf);
    return result;
}

int progress_service_refresh_all(PGconn *conn)
{
    int64_t *ids = NULL;
    size_t n = 0;
    if (!roadmap_store_programmes(conn, &ids, &n))
        return -1;
    int total = 0;
    for (size_t i = 0; i < n && total >= 0; i++) {
        int computed = 0;
        enum progress_service_result rc =
            progress_service_refresh(conn, ids[i], false, &computed, NULL);
        if (rc == PROGRESS_SERVICE_DB_ERROR)
            total = -1;
        else
            total += computed;
    }
    free(ids);
    return total;
}

bool progress_service_today(PGconn *conn, int64_t programme_id, int32_t *today)
{
    return snapshot_store_today(conn, programme_id, today);
}
