/* The months a background refresh of progress snapshots recomputes (progress_plan.h): the
 * months without a snapshot and the ones the dirty marks' changes affect, by what each month
 * reads (core/progress_month.c). Pure: no I/O. */
#include "scaleupd/core/progress_plan.h"

#include <string.h>

static int32_t month_of(int32_t day)
{
    return period_start(period_containing(PERIOD_MONTHLY, day));
}

static int32_t month_after(int32_t month, int n)
{
    return period_start(period_add(period_containing(PERIOD_MONTHLY, month), n));
}

int32_t progress_plan_last_affected(const struct progress_plan_reads *reads, size_t n,
                                    int32_t period_start_day)
{
    int32_t last = month_of(period_start_day);
    for (size_t i = 0; i < n; i++) {
        int window = reads[i].window < 1 ? 1 : reads[i].window;
        /* month M reads P while P is within the window of M's latest complete period:
         * until the period `window` after P's has ended, the day after M */
        struct period through =
            period_add(period_containing(reads[i].activity_type, period_start_day), window);
        int32_t month = month_after(month_of(period_end(through)), -1);
        if (month > last)
            last = month;
    }
    return last;
}

int32_t progress_plan_reads_from(const struct progress_plan_reads *reads, size_t n, int32_t month)
{
    int32_t as_of = period_end(period_containing(PERIOD_MONTHLY, month)) + 1;
    int32_t from = month;
    for (size_t i = 0; i < n; i++) {
        int32_t start =
            progress_activity_window_start(reads[i].activity_type, reads[i].window, as_of);
        if (start < from)
            from = start;
    }
    return from;
}

/* The first month kept: the earliest baseline or first data, at most the cap back. */
static int32_t first_month(const struct progress_plan_state *st,
                           const struct roadmap_versions *versions, int32_t last)
{
    int32_t start = versions->versions[0].plan->baseline_date;
    for (size_t i = 1; i < versions->n; i++)
        if (versions->versions[i].plan->baseline_date < start)
            start = versions->versions[i].plan->baseline_date;
    if (st->has_first_data && st->first_data < start)
        start = st->first_data;
    int32_t oldest = month_after(last, -(PROGRESS_MONTH_MAX_PERIODS - 1));
    return month_of(start < oldest ? oldest : start);
}

/* Months from `from` to `to` (month starts), negative when to is earlier. */
static long months_between(int32_t from, int32_t to)
{
    int fy, fm, fd, ty, tm, td;
    date_to_ymd(from, &fy, &fm, &fd);
    date_to_ymd(to, &ty, &tm, &td);
    return ((long)ty - fy) * 12 + (tm - fm);
}

/* Marks the months [from, to] (month starts) that fall within the plan. */
static void mark(struct progress_plan *out, int32_t from, int32_t to)
{
    long lo = from < out->first ? 0 : months_between(out->first, from);
    long hi = to > out->last ? (long)out->n_months - 1 : months_between(out->first, to);
    if (hi > (long)out->n_months - 1)
        hi = (long)out->n_months - 1;
    for (long i = lo; i <= hi; i++)
        if (!out->todo[i]) {
            out->todo[i] = true;
            out->n_todo++;
        }
}

static void mark_change(struct progress_plan *out, const struct progress_change *c,
                        const struct progress_plan_reads *reads, size_t n_versions)
{
    if (c->since < out->first) {
        mark(out, out->first, out->last); /* everything, or data before the first month */
        return;
    }
    int32_t from = month_of(c->since);
    if (!c->has_until)
        mark(out, from, out->last);
    else if (c->exact)
        mark(out, from, month_of(c->until));
    else
        mark(out, from, progress_plan_last_affected(reads, n_versions, c->until));
    if (c->has_score_since) /* the latest score stands for every later month */
        mark(out, month_of(c->score_since), out->last);
}

void progress_plan_months(const struct progress_plan_state *st,
                          const struct roadmap_versions *versions,
                          const struct progress_plan_reads *reads,
                          const struct progress_change *changes, size_t n_changes,
                          struct progress_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->last = period_start(progress_latest_complete_period(PERIOD_MONTHLY, st->today));
    out->first = first_month(st, versions, out->last);
    if (out->first > out->last)
        return; /* the roadmap starts after the latest complete month: no month yet */
    out->n_months = (size_t)months_between(out->first, out->last) + 1;
    if (!st->has_snapshots) {
        mark(out, out->first, out->last);
        return;
    }
    if (out->first < st->first_snapshot)
        mark(out, out->first, month_after(st->first_snapshot, -1));
    if (st->last_snapshot < out->last)
        mark(out, month_after(st->last_snapshot, 1), out->last);
    for (size_t i = 0; i < n_changes && out->n_todo < out->n_months; i++)
        mark_change(out, &changes[i], reads, versions->n);
}
