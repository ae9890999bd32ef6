/* Rollups (sql/012, docs/ARCHITECTURE.md "Rollups"): the aggregate of an indicator over a
 * site's descendants for one period, with the number of observations it covers, kept in exact
 * numeric. Ingest marks the (series, period) pairs it changed in rollup_dirty, in its own
 * transaction; rollup_store_fold claims the marks of a programme and recomputes the rollups of
 * those periods for every ancestor of those series, deepest first: a site's rollup is the sum
 * of its children's observations and of its children's rollups, so a recomputation reads the
 * children of one site for one period, never every practice. Recomputing (rather than adding
 * deltas) makes revisions, late data, deletions and replays exact by construction. */
#ifndef SCALEUPD_STORAGE_ROLLUP_STORE_H
#define SCALEUPD_STORAGE_ROLLUP_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROLLUP_KEYS_PER_STATEMENT 2000 /* rollups recomputed by one statement */

/* What a fold did: the work it counted (tests compare these, never times). */
struct rollup_stats {
    long marks;   /* rollup_dirty rows claimed */
    long keys;    /* rollups (indicator, site, period) recomputed */
    long parts;   /* observations and child rollups read to recompute them */
    long written; /* rollups inserted or changed */
    long removed; /* rollups deleted (no observation left under them) */
    bool rebuilt; /* a mark asked for every rollup of the programme */
};

enum rollup_fold {
    ROLLUP_FOLDED, /* the marks claimed (possibly none) were folded */
    ROLLUP_BUSY,   /* another session folds this programme now (wait false only) */
    ROLLUP_ERROR,  /* a database error, logged; nothing was claimed */
};

/* Claims up to max_marks marks of the programme (in mark order) and brings the rollups they
 * name up to date, with the series' last_period and last_changed_at. One fold of a programme
 * runs at a time (a transaction-level advisory lock): with wait it waits for a running one,
 * without it answers ROLLUP_BUSY. On an idle connection it runs in its own transaction; inside
 * the caller's transaction it runs in a savepoint and the lock is held until the caller ends
 * it. stats (may be NULL) is added to. */
enum rollup_fold rollup_store_fold(PGconn *conn, int64_t programme_id, long max_marks, bool wait,
                                   struct rollup_stats *stats, const char *request_id);

/* What is waiting for a programme's rollups, as this session sees it. */
struct rollup_marked {
    bool marked;       /* marks wait to be folded */
    bool rebuild;      /* one of them asks for every rollup of the programme */
    bool folding_here; /* this session's transaction holds the fold lock: it folded, and
                          what it folded is in the transaction (a rolled-back savepoint
                          releases the lock with the fold) */
};

/* Fills *out for the programme. False on a database error. */
bool rollup_store_marked(PGconn *conn, int64_t programme_id, struct rollup_marked *out,
                         const char *request_id) __attribute__((warn_unused_result));

/* A programme whose rollups have marks waiting: how many, and how long the oldest has waited
 * (seconds since its batch's transaction began, by the database's clock). */
struct rollup_backlog {
    int64_t programme_id;
    long marks;
    double oldest_age;
};

/* The programmes that have marks waiting, oldest mark first, at most max: *out is new (free()),
 * *n their number. False on a database error (logged). */
bool rollup_store_pending(PGconn *conn, size_t max, struct rollup_backlog **out, size_t *n);

/* Rebuilds the site_tree of a programme after its sites and parents were stored, and marks
 * every rollup of the programme for a rebuild when the tree changed. In the caller's
 * transaction. */
bool rollup_store_site_tree(PGconn *conn, int64_t programme_id, const char *request_id)
    __attribute__((warn_unused_result));

#endif
