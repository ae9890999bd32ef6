/*
 * Progress snapshots over libpq: one row per programme (and region), dimension and complete
 * month in progress_snapshot, replaced by a background refresh and read back for the
 * progress API; the progress_dirty marks that triggers set when data changes (sql/002,
 * sql/014) and progress_refresh, what the last refresh reflects; the advisory lock that
 * claims a programme's refresh (docs/ARCHITECTURE.md, the storage layer).
 */
#ifndef SCALEUPD_STORAGE_SNAPSHOT_STORE_H
#define SCALEUPD_STORAGE_SNAPSHOT_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/progress_month.h"
#include "scaleupd/core/progress_plan.h"

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

/* The programme's snapshot state when a refresh starts. */
struct snapshot_store_state {
    struct progress_plan_state plan;
    bool dirty;        /* a dirty mark exists */
    int64_t last_mark; /* the newest one, when dirty: a refresh clears it with the older */
    bool has_record;   /* a refresh was recorded (plan.first_data is known) */
};

/* Reads the state at clock_now() (first_data as the last refresh recorded it). False on a
 * database error or unknown programme. */
bool snapshot_store_read_state(PGconn *conn, int64_t programme_id, struct snapshot_store_state *out,
                               const char *request_id) __attribute__((warn_unused_result));

/* The distinct changes of the marks up to last_mark into *out (n of them; the caller frees
 * *out, also after a failure); lowers state->plan.first_data to the earliest period a mark
 * of data touched. False on a database error. */
bool snapshot_store_read_marks(PGconn *conn, int64_t programme_id, int64_t last_mark,
                               struct snapshot_store_state *state, struct progress_change **out,
                               size_t *n, const char *request_id)
    __attribute__((warn_unused_result));

/* Sets st's first_data to the programme's first observed period (one index probe per
 * series). False on a database error. */
bool snapshot_store_first_data(PGconn *conn, int64_t programme_id, struct progress_plan_state *st,
                               const char *request_id) __attribute__((warn_unused_result));

/* Replaces the snapshots of the consecutive months[0..n) with their rows. */
bool snapshot_store_replace(PGconn *conn, int64_t programme_id, const struct progress_month *months,
                            size_t n, const char *request_id) __attribute__((warn_unused_result));

/* Deletes the snapshots of the months outside [first, last] (month starts). */
bool snapshot_store_trim(PGconn *conn, int64_t programme_id, int32_t first, int32_t last,
                         const char *request_id) __attribute__((warn_unused_result));

/* Deletes the programme's dirty marks up to last_mark (a mark set meanwhile stays). */
bool snapshot_store_clear_marks(PGconn *conn, int64_t programme_id, int64_t last_mark,
                                const char *request_id) __attribute__((warn_unused_result));

/* Adds an exact mark: the months [from, to] (month starts) are left to recompute. */
bool snapshot_store_mark_months(PGconn *conn, int64_t programme_id, int32_t from, int32_t to,
                                const char *request_id) __attribute__((warn_unused_result));

/* Records a refresh in the open transaction: its data time (the transaction's start: it
 * reflects every change committed before), the months it computed, and st's first_data. */
bool snapshot_store_record(PGconn *conn, int64_t programme_id, int months_computed,
                           const struct progress_plan_state *st, const char *request_id)
    __attribute__((warn_unused_result));

/* How fresh a programme's snapshots are, as ISO 8601 UTC times ("" when unknown). */
struct snapshot_freshness {
    char as_of[40];         /* the data time of the last refresh; "" before the first */
    char pending_since[40]; /* since when a refresh is due; "" when none is */
};

/* Reads it at clock_now(): a refresh is due while a dirty mark exists or once the month
 * after the newest snapshot has ended. False on a database error. */
bool snapshot_store_freshness(PGconn *conn, int64_t programme_id, struct snapshot_freshness *out,
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

/* Loads the programme's snapshots of the months up to `until` (days) into *out, with
 * with_regions also the regions' snapshots and the regions (else n_regions is 0); false on a
 * database error. Release with snapshot_set_release, also after a failure. */
bool snapshot_store_load(PGconn *conn, int64_t programme_id, int32_t until, bool with_regions,
                         struct snapshot_set *out) __attribute__((warn_unused_result));

/* Frees what a set holds and zeroes it. */
void snapshot_set_release(struct snapshot_set *set);

#endif /* SCALEUPD_STORAGE_SNAPSHOT_STORE_H */
