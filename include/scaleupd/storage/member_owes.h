/* Which member sites owe a period (SQL text shared by the feeds status, storage/feeds_store.c,
 * and the evaluator's aggregate reads, storage/observations_read.c): one rule, so that what
 * the feeds status counts as expected is what gates an aggregate rule (docs/ARCHITECTURE.md). */
#ifndef SCALEUPD_MEMBER_OWES_H
#define SCALEUPD_MEMBER_OWES_H

/* An SQL condition: membership m (a row with its status, adopted_on, withdrawn_on) owes a
 * value for a period of window x (x.period_start, x.period_end): not planned, had adopted by
 * the period's end and had not withdrawn before its start (a withdrawn membership without a
 * date owes nothing). m and x are string literals naming the rows. */
#define MEMBER_SQL_OWES(m, x)                                                                      \
    " " m ".status <> 'planned' AND (" m ".adopted_on IS NULL OR " m ".adopted_on <= " x           \
    ".period_end) AND (" m ".withdrawn_on IS NULL OR " m ".withdrawn_on > " x ".period_start)"     \
    " AND NOT (" m ".status = 'withdrawn' AND " m ".withdrawn_on IS NULL)"

/* An SQL condition: membership m (a row with its status) puts its site's observations in the
 * aggregates of the sites above it, the rollups (storage/rollup_store.c): a member that is not
 * planned, the sites an aggregate's "n of m" counts as m (observations_read.c), so that n never
 * exceeds m. A planned site, or a site listed without a membership, keeps its own series but
 * is not in the programme's aggregates, as the roadmap's coverage counts only participating
 * sites. */
#define MEMBER_SQL_COUNTS(m) " " m ".status <> 'planned'"

#endif
