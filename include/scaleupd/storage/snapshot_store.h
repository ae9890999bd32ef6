/*
 * Progress snapshots over libpq: one row per programme (and region), dimension and complete
 * month in progress_snapshot, replaced by a refresh and read back for the progress API; the
 * progress_dirty marks that triggers set when late data arrives (sql/002); the advisory lock
 * that serialises the refreshes of one programme (docs/ARCHITECTURE.md, the storage layer).
 */
#ifndef SCALEUPD_STORAGE_SNAPSHOT_STORE_H
#define SCALEUPD_STORAGE_SNAPSHOT_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/progress_month.h"

/* The advisory lock class of a programme's snapshot refresh (the key is the programme id). */
#define SNAPSHOT_STORE_LOCK_CLASS 7242004

/* Takes the programme's refresh lock for this session: waiting for it with wait, else only
 * when free (*got says whether it was taken). False on a database error. */
bool snapshot_store_lock(PGconn *conn, int64_t programme_id, bool wait, bool *got,
                         const char *request_id) __attribute__((warn_unused_result));

/* Releases it, best effort (a lost connection releases it with its session). */
void snapshot_store_unlock(PGconn *conn, int64_t programme_id, const char *request_id);

/* Opens the REPEATABLE READ transaction of a refresh, so that the marks it reads and clears
 * and the data it computes from belong to one snapshot; end it with db_commit/db_rollback. */
bool snapshot_store_begin_refresh(PGconn *conn, const char *request_id)
    __attribute__((warn_unused_result));

/* The programme's snapshot state, and the newest dirty mark seen (the one a refresh clears
 * with the older ones). */
struct snapshot_store_state {
    struct progress_month_state month;
    int64_t last_mark; /* when month.dirty */
};

/* Reads the state at clock_now(); the first observed period (a scan of the programme's
 * observations) only with with_first_data. False on a database error or unknown programme. */
bool snapshot_store_read_state(PGconn *conn, int64_t programme_id, bool with_first_data,
                               struct snapshot_store_state *out, const char *request_id)
    __attribute__((warn_unused_result));

/* Replaces the snapshots of the months [range->from, …) and of the months outside
 * [range->first, range->last] with the rows of months[0..n). */
bool snapshot_store_replace(PGconn *conn, int64_t programme_id,
                            const struct progress_month_range *range,
                            const struct progress_month *months, size_t n, const char *request_id)
    __attribute__((warn_unused_result));

/* Deletes the programme's dirty marks up to last_mark (a mark set meanwhile stays). */
bool snapshot_store_clear_marks(PGconn *conn, int64_t programme_id, int64_t last_mark,
                                const char *request_id) __attribute__((warn_unused_result));

/* Today in the programme's time zone by clock_now(), as days since 1970-01-01; false on a
 * database error or an unknown programme. */
bool snapshot_store_today(PGconn *conn, int64_t programme_id, int32_t *today)
    __attribute__((warn_unused_result));

/* ---- reading snapshots back ------------------------------------------------------------ */

/* One stored snapshot row. */
struct snapshot_row {
    int32_t period_start;
    char dimension[24];
    int64_t region_id; /* 0: the programme */
    int version;
    bool has_actual;
    double actual, planned, progress, gap; /* progress and gap 0 without an actual */
    char status[16];
    json_t *detail; /* owned; an empty object when unreadable */
};

/* A region of the programme's site hierarchy. */
struct snapshot_region {
    int64_t id;
    char *code, *name;
};

/* Snapshots ordered by dimension, region, period, and the regions ordered by code. */
struct snapshot_set {
    size_t n;
    struct snapshot_row *rows;
    size_t n_regions;
    struct snapshot_region *regions;
};

/* Loads the snapshots of the months up to `until` (days) and the regions into *out; false
 * on a database error. Release with snapshot_set_release, also after a failure. */
bool snapshot_store_load(PGconn *conn, int64_t programme_id, int32_t until,
                         struct snapshot_set *out) __attribute__((warn_unused_result));

/* Frees what a set holds and zeroes it. */
void snapshot_set_release(struct snapshot_set *set);

#endif /* SCALEUPD_STORAGE_SNAPSHOT_STORE_H */
