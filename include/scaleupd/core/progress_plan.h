/*
 * Which months of progress snapshots a background refresh recomputes, from the changes the
 * dirty marks record (docs/ARCHITECTURE.md, "Progress snapshots"). Pure: no I/O. A change of
 * the data at period P affects only the months that read P: the coverage of the months whose
 * latest complete data period is P's, the expansion of the months whose activity window
 * holds P, and — for an institutionalisation score — every month from P's on (the latest
 * score stands until another comes).
 */
#ifndef SCALEUPD_CORE_PROGRESS_PLAN_H
#define SCALEUPD_CORE_PROGRESS_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/progress_month.h"
#include "scaleupd/core/roadmap_doc.h"

/* One dirty mark. */
struct progress_change {
    int32_t since; /* the first period start it touched; INT32_MIN: everything */
    bool has_until;
    int32_t until; /* the last period start it touched (without: through the latest month) */
    bool has_score_since;
    int32_t score_since; /* the first period of an institutionalisation score it touched */
    bool exact;          /* [since, until] are the month starts to recompute themselves */
};

/* The snapshots when a refresh starts. */
struct progress_plan_state {
    int32_t today; /* in the programme's time zone */
    bool has_snapshots;
    int32_t first_snapshot, last_snapshot; /* month starts */
    bool has_first_data;
    int32_t first_data; /* the oldest observed period start */
};

/* What a version reads: its activity period type (the coverage numerator's, else monthly)
 * and its activity window in those periods (1 without expansion). */
struct progress_plan_reads {
    enum period_type activity_type;
    int window;
};

/* The months to recompute: snapshots are kept for [first, last] (month starts), month
 * first + i is recomputed when todo[i]. */
struct progress_plan {
    int32_t first, last;
    size_t n_months;
    size_t n_todo;
    bool todo[PROGRESS_MONTH_MAX_PERIODS];
};

/*
 * Plans a refresh: first is the month of the earliest of the versions' baseline dates and
 * the first data (at most PROGRESS_MONTH_MAX_PERIODS months back), last the latest complete
 * month at today. A month is recomputed when it has no snapshot (outside [first_snapshot,
 * last_snapshot]) or a change affects it: an exact change its months; a change without an
 * until every month from its since on (everything when since is before first); any other
 * the months from since's to progress_plan_last_affected(until), and every month from its
 * score_since on. reads[i] belongs to versions->versions[i].
 */
void progress_plan_months(const struct progress_plan_state *st,
                          const struct roadmap_versions *versions,
                          const struct progress_plan_reads *reads,
                          const struct progress_change *changes, size_t n_changes,
                          struct progress_plan *out);

/* The last month (its start) whose coverage or expansion reads the data of the period
 * starting period_start, under any of the versions' reads[0..n). */
int32_t progress_plan_last_affected(const struct progress_plan_reads *reads, size_t n,
                                    int32_t period_start);

/* The earliest period start that the evaluation of the month starting `month` reads (its
 * activity window and its coverage data period), under any of reads[0..n). */
int32_t progress_plan_reads_from(const struct progress_plan_reads *reads, size_t n, int32_t month);

#endif /* SCALEUPD_CORE_PROGRESS_PLAN_H */
