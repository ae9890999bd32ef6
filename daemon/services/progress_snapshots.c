/* Progress snapshots (progress_service.h), the background refresh: under the programme's
 * claim and in one REPEATABLE READ transaction, plan the months the dirty marks' changes
 * affect (core/progress_plan.c), evaluate them a chunk of months at a time from inputs read
 * for that chunk alone (storage/progress_inputs.c, core/progress_month.c), replace their
 * snapshots, clear the marks and record what the snapshots now reflect. Never on a read. */
#include "scaleupd/services/progress_service.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/metrics.h"
#include "scaleupd/core/progress_plan.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/progress_inputs.h"
#include "scaleupd/storage/roadmap_store.h"
#include "scaleupd/storage/snapshot_store.h"

/* Months evaluated from one read of inputs: what a chunk holds is about this many months of
 * every member site's reports and coverage values, whatever the history's length. */
#define PROGRESS_REFRESH_CHUNK 12

static atomic_long months_computed_total;

/* What one refresh holds. */
struct refresh {
    PGconn *conn;
    int64_t programme_id;
    const char *request_id;
    progress_service_yield_fn yield;
    void *yield_arg;
    struct snapshot_store_state st;
    struct roadmap_versions versions;
    struct progress_plan_reads *reads;
    struct progress_change *changes;
    size_t n_changes;
    struct progress_month_inputs inputs;
    struct progress_plan plan;
    int computed;
    bool more; /* gave way with months left, marked for the next run */
};

static void refresh_release(struct refresh *rf)
{
    progress_inputs_release(&rf->inputs);
    free(rf->changes);
    free(rf->reads);
    roadmap_versions_release(&rf->versions);
}

static int32_t month_at(const struct refresh *rf, size_t i)
{
    return period_start(period_add(period_containing(PERIOD_MONTHLY, rf->plan.first), (int)i));
}

/* Evaluates and stores the months [from, to] (indices of the plan), one read of inputs. */
static bool compute_chunk(struct refresh *rf, size_t from, size_t to)
{
    int32_t first = month_at(rf, from), last = month_at(rf, to);
    int32_t until = period_end(period_containing(PERIOD_MONTHLY, last)) + 1;
    int32_t reads_from = progress_plan_reads_from(rf->reads, rf->versions.n, first);
    if (!progress_inputs_read_range(rf->conn, rf->programme_id, &rf->versions, reads_from, until,
                                    &rf->inputs, rf->request_id))
        return false;
    struct progress_month months[PROGRESS_REFRESH_CHUNK];
    size_t n = 0;
    for (size_t i = from; i <= to; i++) {
        int32_t month = month_at(rf, i);
        const struct roadmap_version *v = roadmap_versions_in_force(
            &rf->versions, period_end(period_containing(PERIOD_MONTHLY, month)) + 1);
        progress_month_evaluate(&rf->inputs, v->plan, v->version, month, &months[n++]);
    }
    bool ok = snapshot_store_replace(rf->conn, rf->programme_id, months, n, rf->request_id);
    for (size_t i = 0; i < n; i++)
        progress_month_release(&months[i]);
    progress_inputs_release_range(&rf->inputs);
    rf->computed += (int)n;
    return ok;
}

/* Marks the months still to do from index `from` on, for the run that follows. */
static bool leave_the_rest(struct refresh *rf, size_t from)
{
    rf->more = true;
    for (size_t i = from; i < rf->plan.n_months;) {
        if (!rf->plan.todo[i]) {
            i++;
            continue;
        }
        size_t end = i;
        while (end + 1 < rf->plan.n_months && rf->plan.todo[end + 1])
            end++;
        if (!snapshot_store_mark_months(rf->conn, rf->programme_id, month_at(rf, i),
                                        month_at(rf, end), rf->request_id))
            return false;
        i = end + 1;
    }
    return true;
}

/* Computes the planned months in chunks of consecutive months; gives way between chunks
 * when the yield says so, leaving the rest marked. */
static bool compute_planned(struct refresh *rf)
{
    size_t i = 0;
    while (i < rf->plan.n_months) {
        if (!rf->plan.todo[i]) {
            i++;
            continue;
        }
        if (rf->computed > 0 && rf->yield != NULL && rf->yield(rf->yield_arg))
            return leave_the_rest(rf, i);
        size_t end = i;
        while (end + 1 < rf->plan.n_months && rf->plan.todo[end + 1] &&
               end + 1 - i < PROGRESS_REFRESH_CHUNK)
            end++;
        if (!compute_chunk(rf, i, end))
            return false;
        i = end + 1;
    }
    return true;
}

/* Reads what the plan needs: the marks' changes, the first data, the scores, the reads. */
static bool read_plan_inputs(struct refresh *rf)
{
    if (!rf->st.has_record &&
        !snapshot_store_first_data(rf->conn, rf->programme_id, &rf->st.plan, rf->request_id))
        return false;
    if (rf->st.dirty &&
        !snapshot_store_read_marks(rf->conn, rf->programme_id, rf->st.last_mark, &rf->st,
                                   &rf->changes, &rf->n_changes, rf->request_id))
        return false;
    rf->reads = xcalloc(rf->versions.n, sizeof(*rf->reads));
    return progress_inputs_read_scores(rf->conn, rf->programme_id, &rf->inputs, rf->request_id) &&
           progress_inputs_plan_reads(rf->conn, rf->programme_id, &rf->versions, rf->reads,
                                      rf->request_id);
}

static void plan(struct refresh *rf)
{
    progress_plan_months(&rf->st.plan, &rf->versions, rf->reads, rf->changes, rf->n_changes,
                         &rf->plan);
}

static bool clear_marks(struct refresh *rf)
{
    return !rf->st.dirty ||
           snapshot_store_clear_marks(rf->conn, rf->programme_id, rf->st.last_mark, rf->request_id);
}

/* The body of a refresh, inside the open transaction. */
static enum progress_service_result refresh_locked(struct refresh *rf)
{
    if (!snapshot_store_read_state(rf->conn, rf->programme_id, &rf->st, rf->request_id))
        return PROGRESS_SERVICE_DB_ERROR;
    const struct progress_plan_state *st = &rf->st.plan;
    int32_t end = period_start(progress_latest_complete_period(PERIOD_MONTHLY, st->today));
    if (!rf->st.dirty && st->has_snapshots && st->last_snapshot >= end)
        return PROGRESS_SERVICE_OK; /* up to date: the common case of a timer pass */
    if (!roadmap_store_load(rf->conn, rf->programme_id, &rf->versions, rf->request_id))
        return PROGRESS_SERVICE_DB_ERROR;
    if (rf->versions.n == 0)
        return clear_marks(rf) ? PROGRESS_SERVICE_NO_ROADMAP : PROGRESS_SERVICE_DB_ERROR;
    if (!read_plan_inputs(rf))
        return PROGRESS_SERVICE_DB_ERROR;
    plan(rf);
    bool ok = snapshot_store_trim(rf->conn, rf->programme_id, rf->plan.first, rf->plan.last,
                                  rf->request_id) &&
              compute_planned(rf) && clear_marks(rf) &&
              snapshot_store_record(rf->conn, rf->programme_id, rf->computed, &rf->st.plan,
                                    rf->request_id);
    return ok ? PROGRESS_SERVICE_OK : PROGRESS_SERVICE_DB_ERROR;
}

static void count_computed(int months)
{
    metrics_describe("scaleupd_progress_months_computed_total", METRIC_COUNTER,
                     "Months of progress snapshots computed by the background refresh.");
    metrics_add("scaleupd_progress_months_computed_total", "", months);
    metrics_describe("scaleupd_progress_refreshes_total", METRIC_COUNTER,
                     "Background refreshes of a programme's progress snapshots that computed "
                     "months.");
    metrics_add("scaleupd_progress_refreshes_total", "", 1);
    atomic_fetch_add(&months_computed_total, months);
}

/* Runs the refresh in one REPEATABLE READ transaction: the marks it reads and deletes and
 * the data it computes from belong to one snapshot, so a mark committed meanwhile is left
 * for the next run. The caller holds the programme's claim, taken before the snapshot, so
 * the snapshot sees everything the previous holder committed. */
static enum progress_service_result refresh_transaction(struct refresh *rf)
{
    if (!snapshot_store_begin_refresh(rf->conn, rf->request_id))
        return PROGRESS_SERVICE_DB_ERROR;
    enum progress_service_result result = refresh_locked(rf);
    if (result == PROGRESS_SERVICE_OK || result == PROGRESS_SERVICE_NO_ROADMAP) {
        if (!db_commit(rf->conn, rf->request_id))
            result = PROGRESS_SERVICE_DB_ERROR;
    } else {
        db_rollback(rf->conn, rf->request_id);
    }
    if (result != PROGRESS_SERVICE_DB_ERROR && rf->computed > 0)
        count_computed(rf->computed);
    return result;
}

static enum progress_service_result refresh_one(PGconn *conn, int64_t programme_id, bool wait,
                                                progress_service_yield_fn yield, void *yield_arg,
                                                int *computed, bool *more, const char *request_id)
{
    *computed = 0;
    bool got = false;
    if (!snapshot_store_lock(conn, programme_id, wait, &got, request_id))
        return PROGRESS_SERVICE_DB_ERROR;
    if (!got)
        return PROGRESS_SERVICE_BUSY;
    struct refresh rf = {.conn = conn,
                         .programme_id = programme_id,
                         .request_id = request_id,
                         .yield = yield,
                         .yield_arg = yield_arg};
    enum progress_service_result result = refresh_transaction(&rf);
    if (result != PROGRESS_SERVICE_DB_ERROR) {
        *computed = rf.computed;
        *more = *more || rf.more;
    }
    snapshot_store_unlock(conn, programme_id, request_id);
    refresh_release(&rf);
    return result;
}

enum progress_service_result progress_service_refresh(PGconn *conn, int64_t programme_id, bool wait,
                                                      int *computed, const char *request_id)
{
    int ignored = 0;
    bool more = false;
    return refresh_one(conn, programme_id, wait, NULL, NULL, computed ? computed : &ignored, &more,
                       request_id);
}

int progress_service_refresh_all(PGconn *conn, progress_service_yield_fn yield, void *yield_arg,
                                 bool *more)
{
    int64_t *ids = NULL;
    size_t n = 0;
    bool left = false;
    if (more == NULL)
        more = &left;
    *more = false;
    if (!roadmap_store_programmes(conn, &ids, &n))
        return -1;
    int total = 0;
    for (size_t i = 0; i < n && total >= 0; i++) {
        if (total > 0 && yield != NULL && yield(yield_arg)) {
            *more = true; /* the other programmes keep their marks for the next run */
            break;
        }
        int computed = 0;
        enum progress_service_result rc =
            refresh_one(conn, ids[i], false, yield, yield_arg, &computed, more, NULL);
        if (rc == PROGRESS_SERVICE_DB_ERROR)
            total = -1;
        else
            total += computed;
    }
    free(ids);
    return total;
}

long progress_service_months_computed(void)
{
    return atomic_load(&months_computed_total);
}

bool progress_service_today(PGconn *conn, int64_t programme_id, int32_t *today)
{
    return snapshot_store_today(conn, programme_id, today);
}
