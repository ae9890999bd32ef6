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

/* An SQL condition: the site whose id is the expression `site` (of programme $1) puts its own
 * observations in the aggregates of the sites above it, the rollups (storage/rollup_store.c):
 * every site but a planned one (a member with status planned). A site listed without a
 * membership counts (a hierarchy applied without statuses, a district's own rows, as DHIS2
 * counts a parent organisation unit's own values); a planned practice keeps its own series but
 * is not in the aggregates before it adopts. The "m" of an aggregate's "n of m"
 * (observations_read.c, SQL_AGG_EXPECTED) counts the same sites, so that n never exceeds m. */
#define SITE_SQL_COUNTS(site)                                                                      \
    " NOT EXISTS (SELECT 1 FROM membership pm WHERE pm.programme_id = $1 AND pm.site_id = " site   \
    " AND pm.status = 'planned')"

#endif
