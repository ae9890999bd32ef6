/* The SQL of rollups (rollup_store.h): claiming ingest's marks, recomputing the rollups they
 * name level by level from each site's children, and keeping site_tree when a programme's
 * hierarchy is applied. */
#include "scaleupd/storage/rollup_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/member_owes.h"
#include "scaleupd/storage/sql_numeric.h"

#define ROLLUP_LOCK_CLASS "7242012" /* advisory lock class: one fold of a programme at a time */
#define ROLLUP_SAVEPOINT "scaleupd_rollup_fold"
#define ROLLUP_WORK_MEM "64MB" /* a fold's sorts and groups stay in memory (set_work_mem) */
#define KEY_TEXT_MAX (ROLLUP_KEYS_PER_STATEMENT * 24 + 16) /* one array literal of a chunk */

static const char SQL_LOCK_WAIT[] =
    "SELECT true FROM pg_advisory_xact_lock(" ROLLUP_LOCK_CLASS ", hashint8($1))";
static const char SQL_LOCK_TRY[] =
    "SELECT pg_try_advisory_xact_lock(" ROLLUP_LOCK_CLASS ", hashint8($1))";

/* Claims up to $2 marks of programme $1, brings the latest period of their series
 * (series_latest) and what their sites sent for the marked periods up to date (site_sent: each
 * marked (series, period) adds its indicator to its site's row when it holds a value now,
 * removes it when not; the marks name every change, so the row stays what a recount would
 * give, and a row that became empty stays, empty), and returns the rollups to recompute
 * (indicator, ancestor, period) with the ancestor's height (its own ancestors: a deeper site
 * comes first, so its parent sums what it wrote). The first row always comes: the marks claimed
 * and whether one asked for a rebuild.
 *
 * The work is per series, not per pair: each series the marks name is looked up once (its
 * site, indicator, parent and latest row), its periods carried as an array. A pair holds a
 * value when every mark of the claim that names its series says so (removed false: written by
 * an insert or an update; a deletion of the pair commits after the mark of the write it
 * deletes, so it has a greater id and is claimed with it or after it); pairs of a series a
 * deletion, or a mark from before sql/029, names are looked up in observation. Likewise a
 * series' latest period moves to the greatest marked period, and is looked up when a deletion
 * named it. Every row is found by its full key (run without sequential scans, see fold_body):
 * a recount of a site's series, or a DELETE joined to the changes, was planned as a scan per
 * change while the statistics of a table that grows as data comes said it was empty (minutes a
 * fold at 7,000 practices). */
static const char SQL_CLAIM[] =
    "WITH claimed AS ("
    " DELETE FROM rollup_dirty WHERE id IN (SELECT id FROM rollup_dirty WHERE programme_id = $1"
    "  ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " RETURNING series_ids, periods, marked_at, removed"
    "), by_series AS ("
    " SELECT p.series_id, array_agg(p.period_start) AS periods, max(p.period_start) AS newest,"
    "  max(c.marked_at) AS at, bool_or(c.removed IS NOT FALSE) AS unsure FROM claimed c,"
    "  unnest(c.series_ids, c.periods) AS p(series_id, period_start) GROUP BY p.series_id"
    "), info AS MATERIALIZED ("
    " SELECT b.*, se.site_id, se.indicator_id, up.parent_id, l.series_id IS NOT NULL AS kept,"
    "  l.last_period, l.last_changed_at FROM by_series b"
    " CROSS JOIN LATERAL (SELECT se.site_id, se.indicator_id FROM series se"
    "  WHERE se.programme_id = $1 AND se.id = b.series_id LIMIT 1) se"
    " LEFT JOIN LATERAL (SELECT t.ancestor_id AS parent_id FROM site_tree t"
    "  WHERE t.programme_id = $1 AND t.site_id = se.site_id AND t.depth = 1 LIMIT 1) up ON true"
    " LEFT JOIN LATERAL (SELECT * FROM series_latest l WHERE l.programme_id = $1"
    "  AND l.series_id = b.series_id LIMIT 1) l ON true"
    "), latest AS ("
    " SELECT i.series_id, i.kept, i.last_period AS was_period, i.last_changed_at AS was_at,"
    "  CASE WHEN i.unsure THEN (SELECT max(o.period_start) FROM observation o"
    "   WHERE o.programme_id = $1 AND o.series_id = i.series_id)"
    "   ELSE greatest(i.last_period, i.newest) END AS last_period,"
    "  greatest(i.last_changed_at, i.at) AS last_changed_at FROM info i"
    "), feed AS ("
    " INSERT INTO series_latest AS l (programme_id, series_id, last_period, last_changed_at)"
    " SELECT $1, series_id, last_period, last_changed_at FROM latest WHERE NOT kept"
    "  OR (was_period, was_at) IS DISTINCT FROM (last_period, last_changed_at)"
    " ORDER BY series_id"
    " ON CONFLICT (programme_id, series_id) DO UPDATE SET last_period = excluded.last_period,"
    "  last_changed_at = excluded.last_changed_at"
    "), sent_pairs AS MATERIALIZED ("
    " SELECT i.site_id, p.period_start, i.indicator_id, NOT i.unsure OR EXISTS (SELECT 1"
    "  FROM observation o WHERE o.programme_id = $1 AND o.series_id = i.series_id"
    "  AND o.period_start = p.period_start) AS has FROM info i,"
    "  unnest(i.periods) AS p(period_start)"
    "), sent_delta AS ("
    " SELECT site_id, period_start, array_agg(indicator_id) FILTER (WHERE has) AS plus,"
    "  array_agg(indicator_id) FILTER (WHERE NOT has) AS minus FROM sent_pairs GROUP BY 1, 2"
    "), sent_now AS ("
    " SELECT d.site_id, d.period_start, ARRAY(SELECT DISTINCT x FROM"
    "  unnest(coalesce(t.indicator_ids, '{}') || coalesce(d.plus, '{}')) AS x"
    "  WHERE x <> ALL (coalesce(d.minus, '{}')) ORDER BY x) AS ids"
    " FROM sent_delta d LEFT JOIN site_sent t ON t.programme_id = $1"
    "  AND t.period_start = d.period_start AND t.site_id = d.site_id"
    "), sent_kept AS ("
    " INSERT INTO site_sent (programme_id, period_start, site_id, indicator_ids)"
    " SELECT $1::bigint, period_start, site_id, ids FROM sent_now"
    " ON CONFLICT (programme_id, period_start, site_id) DO UPDATE"
    "  SET indicator_ids = excluded.indicator_ids"
    "  WHERE site_sent.indicator_ids IS DISTINCT FROM excluded.indicator_ids"
    "), under AS (" /* each (indicator, parent, period) once, then the parent's ancestors */
    " SELECT DISTINCT i.indicator_id, i.parent_id, p.period_start FROM info i,"
    "  unnest(i.periods) AS p(period_start) WHERE i.parent_id IS NOT NULL"
    "), keys AS ("
    " SELECT indicator_id, parent_id AS ancestor_id, period_start FROM under"
    " UNION SELECT u.indicator_id, t.ancestor_id, u.period_start FROM under u"
    " JOIN site_tree t ON t.programme_id = $1 AND t.site_id = u.parent_id"
    "), claim AS ("
    " SELECT count(*) AS marks, coalesce(bool_or(series_ids IS NULL), false) AS everything"
    " FROM claimed"
    ")"
    " SELECT c.marks, c.everything, k.indicator_id, k.ancestor_id, k.period_start,"
    " (SELECT count(*) FROM site_tree a WHERE a.programme_id = $1 AND a.site_id = k.ancestor_id)"
    "  AS height"
    " FROM claim c LEFT JOIN keys k ON true ORDER BY height DESC, 3, 4, 5";

/* Every rollup programme $1 should have or has, for a rebuild; in the shape of SQL_CLAIM. */
static const char SQL_ALL_KEYS[] =
    "SELECT 0, true, k.indicator_id, k.ancestor_id, k.period_start,"
    " (SELECT count(*) FROM site_tree a WHERE a.programme_id = $1 AND a.site_id = k.ancestor_id)"
    "  AS height"
    " FROM (SELECT DISTINCT se.indicator_id, t.ancestor_id, o.period_start FROM observation o"
    "  JOIN series se ON se.programme_id = o.programme_id AND se.id = o.series_id"
    "  JOIN site_tree t ON t.programme_id = $1 AND t.site_id = se.site_id"
    "  WHERE o.programme_id = $1"
    "  UNION SELECT indicator_id, site_id, period_start FROM rollup WHERE programme_id = $1) k"
    " ORDER BY height DESC, 3, 4, 5";

/* After a rebuild, which deleted the aggregate detector states: one series per (indicator, parent
 * site) marked changed "since always", so that the evaluator goes over every aggregate above
 * them from its rebuilt rollups now, not when data under it next arrives (the due-date pass
 * finds a waiting aggregate through its state). 1,000 to a mark, as a new rule's marks. */
static const char SQL_REBUILT_MARKS[] =
    "INSERT INTO dirty_series (programme_id, series_ids, since_periods)"
    " SELECT $1, array_agg(id ORDER BY id), array_agg(date '-infinity')"
    " FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 1000 AS chunk"
    "  FROM (SELECT DISTINCT ON (se.indicator_id, s.parent_id) se.id FROM series se"
    "   JOIN site s ON s.programme_id = se.programme_id AND s.id = se.site_id"
    "   WHERE se.programme_id = $1 AND s.parent_id IS NOT NULL"
    "   ORDER BY se.indicator_id, s.parent_id, se.id) one) x GROUP BY chunk";

/* The latest period of every series of programme $1, for a rebuild. */
static const char SQL_ALL_LATEST[] =
    "INSERT INTO series_latest AS se (programme_id, series_id, last_period, last_changed_at)"
    " SELECT $1, s.id, max(o.period_start), max(o.received_at)"
    "  FROM series s LEFT JOIN observation o ON o.programme_id = s.programme_id"
    "  AND o.series_id = s.id WHERE s.programme_id = $1 GROUP BY s.id ORDER BY s.id"
    " ON CONFLICT (programme_id, series_id) DO UPDATE SET last_period = excluded.last_period,"
    "  last_changed_at = excluded.last_changed_at"
    " WHERE (se.last_period, se.last_changed_at)"
    "  IS DISTINCT FROM (excluded.last_period, excluded.last_changed_at)";

/* Recomputes the rollups ($2 indicators, $3 sites, $4 periods; sites of one height) of
 * programme $1 from their children: each child's own observation unless the child is planned
 * (member_owes.h: a planned practice is not in the aggregates before it adopts) (values in exact
 * numeric; numerator and denominator only where both are there, and how many had both: the sites of
 * a weighted point) and each child's rollup. A rollup nothing is left under is deleted. Returns the
 * rollups written, deleted, and the parts read. The keys are taken per (indicator, site) with their
 * periods: each child, and its series, is found once for all the periods, and its observations and
 * rollups of those periods by one range of their primary key (the periods kept by a filter the
 * index cannot take, `+ 0`: as an index condition each period was a descent of its own; OFFSET 0
 * keeps the range in the index condition, where a join read every period of the series), where a
 * probe per key read each child's series once per period (a fold of a bulk load's marks spans a
 * dozen months). Every row is found through its parent and key, never by a scan, however stale the
 * statistics of a table that grows as data comes. Never prepared, like SQL_CLAIM: a generic plan,
 * made while rollup was small, scanned the whole table for each key once a rebuild had filled it
 * (minutes at 1 M observations); an unnamed statement is planned for its own keys (and without
 * sequential scans: see recompute_keys). */
/* clang-format off */ /* it would fold the macros into the literals */
static const char SQL_RECOMPUTE[] =
    "WITH k AS ("
    " SELECT * FROM unnest($2::int8[], $3::int8[], $4::date[]) AS k(indicator_id, site_id,"
    "  period_start)"
    "), g AS MATERIALIZED ("
    " SELECT indicator_id, site_id, array_agg(period_start) AS periods,"
    "  min(period_start) AS first, max(period_start) AS last FROM k GROUP BY 1, 2"
    "), kids AS MATERIALIZED (" /* each parent's children once, whatever its indicators */
    " SELECT p.site_id, c.id AS child_id," SITE_SQL_COUNTS("c.id") " AS counted"
    " FROM (SELECT DISTINCT site_id FROM g) p CROSS JOIN LATERAL (SELECT c.id FROM site c"
    "  WHERE c.programme_id = $1 AND c.parent_id = p.site_id) c"
    "), children AS MATERIALIZED ("
    " SELECT g.*, c.child_id, c.counted FROM g JOIN kids c ON c.site_id = g.site_id"
    "), parts AS ("
    " SELECT k.indicator_id, k.site_id, o.period_start, 1 AS sites,"
    "  " SQL_EXACT("o.value") " AS total,"
    "  CASE WHEN o.numerator IS NOT NULL AND o.denominator IS NOT NULL"
    "   THEN " SQL_EXACT("o.numerator") " END AS num,"
    "  CASE WHEN o.numerator IS NOT NULL AND o.denominator IS NOT NULL"
    "   THEN " SQL_EXACT("o.denominator") " END AS den,"
    "  CASE WHEN o.numerator IS NOT NULL AND o.denominator IS NOT NULL THEN 1 ELSE 0 END AS ws,"
    "  o.value AS lv, o.received_at AS la, o.series_id AS ls"
    " FROM (SELECT * FROM children WHERE counted) k"
    " CROSS JOIN LATERAL (SELECT se.id FROM series se WHERE se.programme_id = $1"
    "  AND se.indicator_id = k.indicator_id AND se.site_id = k.child_id LIMIT 1) se"
    " CROSS JOIN LATERAL (SELECT * FROM observation o WHERE o.programme_id = $1"
    "  AND o.series_id = se.id AND o.period_start BETWEEN k.first AND k.last"
    "  AND o.period_start + 0 = ANY (k.periods) OFFSET 0) o"
    " UNION ALL"
    " SELECT k.indicator_id, k.site_id, r.period_start, r.sites, r.total, r.numerator,"
    "  r.denominator, coalesce(r.weighted_sites, CASE WHEN r.numerator IS NOT NULL"
    "  THEN r.sites ELSE 0 END), r.latest_value, r.latest_at, r.latest_series"
    " FROM children k CROSS JOIN LATERAL (SELECT * FROM rollup r WHERE r.programme_id = $1"
    "  AND r.indicator_id = k.indicator_id AND r.site_id = k.child_id"
    "  AND r.period_start BETWEEN k.first AND k.last AND r.period_start + 0 = ANY (k.periods)"
    "  OFFSET 0) r"
    "), agg AS ("
    " SELECT indicator_id, site_id, period_start, sum(sites)::integer AS sites,"
    "  sum(total) AS total, sum(num) AS num, sum(den) AS den, sum(ws)::integer AS ws,"
    "  (array_agg(lv ORDER BY la DESC, ls DESC))[1] AS lv, max(la) AS la,"
    "  (array_agg(ls ORDER BY la DESC, ls DESC))[1] AS ls"
    " FROM parts GROUP BY indicator_id, site_id, period_start"
    "), written AS ("
    " INSERT INTO rollup AS r (programme_id, indicator_id, site_id, period_start, sites, total,"
    "  numerator, denominator, weighted_sites, latest_value, latest_at, latest_series)"
    " SELECT $1, indicator_id, site_id, period_start, sites, total, num, den, ws, lv, la, ls"
    " FROM agg"
    " ORDER BY indicator_id, site_id, period_start"
    " ON CONFLICT (programme_id, indicator_id, site_id, period_start) DO UPDATE SET"
    "  sites = excluded.sites, total = excluded.total, numerator = excluded.numerator,"
    "  denominator = excluded.denominator, weighted_sites = excluded.weighted_sites,"
    "  latest_value = excluded.latest_value, latest_at = excluded.latest_at,"
    "  latest_series = excluded.latest_series"
    " WHERE (r.sites, r.total, r.numerator, r.denominator, r.weighted_sites, r.latest_value,"
    "  r.latest_at, r.latest_series) IS DISTINCT FROM (excluded.sites, excluded.total,"
    "  excluded.numerator, excluded.denominator, excluded.weighted_sites, excluded.latest_value,"
    "  excluded.latest_at, excluded.latest_series)"
    " RETURNING 1"
    "), removed AS ("
    " DELETE FROM rollup r USING k WHERE r.programme_id = $1 AND r.indicator_id = k.indicator_id"
    "  AND r.site_id = k.site_id AND r.period_start = k.period_start"
    "  AND NOT EXISTS (SELECT 1 FROM agg a WHERE a.indicator_id = k.indicator_id"
    "   AND a.site_id = k.site_id AND a.period_start = k.period_start)"
    " RETURNING 1"
    ")"
    " SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM removed),"
    " (SELECT count(*) FROM parts)";
/* clang-format on */

static const char SQL_PENDING[] =
    "SELECT programme_id, count(*), extract(epoch FROM clock_timestamp() - min(marked_at))::float8"
    " FROM rollup_dirty GROUP BY programme_id ORDER BY min(id) LIMIT $1";

/* The tree of programme $1 from its parents (depth: the distance from the ancestor), written
 * where it differs; a changed tree marks every rollup of the programme for a rebuild (when it
 * has data: a new programme has nothing to rebuild). */
static const char SQL_SITE_TREE[] =
    "WITH RECURSIVE up (ancestor_id, site_id, depth) AS ("
    " SELECT parent_id, id, 1 FROM site WHERE programme_id = $1 AND parent_id IS NOT NULL"
    " UNION ALL SELECT s.parent_id, u.site_id, u.depth + 1 FROM up u"
    " JOIN site s ON s.programme_id = $1 AND s.id = u.ancestor_id"
    " WHERE s.parent_id IS NOT NULL AND u.depth < 64"
    "), fresh AS ("
    " SELECT ancestor_id, site_id, min(depth) AS depth FROM up GROUP BY ancestor_id, site_id"
    "), gone AS ("
    " DELETE FROM site_tree t WHERE t.programme_id = $1 AND NOT EXISTS (SELECT 1 FROM fresh f"
    "  WHERE f.ancestor_id = t.ancestor_id AND f.site_id = t.site_id) RETURNING 1"
    "), added AS ("
    " INSERT INTO site_tree AS t (programme_id, ancestor_id, site_id, depth)"
    " SELECT $1, ancestor_id, site_id, depth FROM fresh ORDER BY ancestor_id, site_id"
    " ON CONFLICT (programme_id, ancestor_id, site_id) DO UPDATE SET depth = excluded.depth"
    "  WHERE t.depth <> excluded.depth"
    " RETURNING 1"
    ")"
    " INSERT INTO rollup_dirty (programme_id)"
    " SELECT $1 WHERE (EXISTS (SELECT 1 FROM gone) OR EXISTS (SELECT 1 FROM added))"
    "  AND EXISTS (SELECT 1 FROM observation WHERE programme_id = $1)";

/* One fold: the connection, the programme as text, and what it counted. */
struct fold {
    PGconn *conn;
    char pid[24];
    struct rollup_stats stats;
    const char *request_id;
};

/* The rollups of rows [from, to) of keys (columns 2..4 of SQL_CLAIM) recomputed by one
 * statement. */
static bool recompute_chunk(struct fold *f, const PGresult *keys, int from, int to)
{
    struct dynbuf arrays[3];
    bool ok = true;
    for (int a = 0; a < 3; a++) {
        dynbuf_init(&arrays[a], KEY_TEXT_MAX);
        ok = ok && dynbuf_addstr(&arrays[a], "{");
        for (int r = from; ok && r < to; r++)
            ok = dynbuf_addf(&arrays[a], "%s%s", r > from ? "," : "", db_text(keys, r, 2 + a));
        ok = ok && dynbuf_addstr(&arrays[a], "}");
    }
    PGresult *res = NULL;
    if (ok) {
        const char *v[] = {f->pid, dynbuf_str(&arrays[0]), dynbuf_str(&arrays[1]),
                           dynbuf_str(&arrays[2])};
        res = db_run(f->conn, NULL, SQL_RECOMPUTE, 4, v, PGRES_TUPLES_OK, f->request_id,
                     "recompute rollups");
    }
    for (int a = 0; a < 3; a++)
        dynbuf_free(&arrays[a]);
    if (res == NULL)
        return false;
    f->stats.written += (long)db_int64(res, 0, 0);
    f->stats.removed += (long)db_int64(res, 0, 1);
    f->stats.parts += (long)db_int64(res, 0, 2);
    f->stats.keys += to - from;
    PQclear(res);
    return true;
}

/* Sets enable_seqscan for the rest of the transaction; *was (may be NULL) gets what it was,
 * a static string ("on" or "off"). */
static bool set_seqscan(struct fold *f, const char *to, const char **was)
{
    const char *v[] = {to};
    PGresult *res = db_run(f->conn, NULL,
                           "SELECT current_setting('enable_seqscan'),"
                           " set_config('enable_seqscan', $1, true)",
                           1, v, PGRES_TUPLES_OK, f->request_id, "set the rollup plans");
    if (res == NULL)
        return false;
    if (was != NULL)
        *was = strcmp(db_text(res, 0, 0), "off") == 0 ? "off" : "on";
    PQclear(res);
    return true;
}

/* Sets work_mem for the rest of the fold (the claim of a full fold sorts and groups about
 * 64,000 pairs and 128,000 ancestor rows: in 4 MB they spilled to disk); was gets what it
 * was, to be set again after. */
static bool set_work_mem(struct fold *f, const char *to, char *was, size_t was_size)
{
    const char *v[] = {to};
    PGresult *res = db_run(f->conn, NULL,
                           "SELECT current_setting('work_mem'), set_config('work_mem', $1, true)",
                           1, v, PGRES_TUPLES_OK, f->request_id, "set the fold's memory");
    if (res == NULL)
        return false;
    if (was != NULL)
        snprintf(was, was_size, "%s", db_text(res, 0, 0));
    PQclear(res);
    return true;
}

/* Recomputes the keys of a SQL_CLAIM-shaped result, one height at a time, deepest first (the
 * rows come in that order), at most ROLLUP_KEYS_PER_STATEMENT per statement. Without
 * sequential scans: the rollups a fold writes are not in the statistics (a rollup table
 * analysed empty looks empty however much the fold has written), and a plan that scanned it
 * for each key took minutes once a rebuild had written a few thousand. */
static bool recompute_keys(struct fold *f, const PGresult *keys)
{
    int n = PQntuples(keys);
    int r = 0;
    while (r < n && db_is_null(keys, r, 2))
        r++;
    if (r >= n)
        return true;
    const char *was = "on";
    bool ok = set_seqscan(f, "off", &was);
    while (ok && r < n) {
        int end = r;
        while (end < n && end - r < ROLLUP_KEYS_PER_STATEMENT &&
               strcmp(db_text(keys, end, 5), db_text(keys, r, 5)) == 0)
            end++;
        ok = recompute_chunk(f, keys, r, end);
        r = end;
    }
    return ok && set_seqscan(f, was, NULL);
}

/* Every rollup of the programme recomputed, and the last period of every series; the
 * detector states of its aggregate rules (sql/025), which went on from the rollups as they
 * were, are deleted, and each subject is marked for evaluation (SQL_REBUILT_MARKS), which
 * rebuilds its state from the rollups. */
static bool rebuild(struct fold *f)
{
    const char *v[] = {f->pid};
    if (!db_command(f->conn, NULL, SQL_ALL_LATEST, 1, v, f->request_id,
                    "bring the series' last periods up to date") ||
        !db_command(f->conn, NULL, "DELETE FROM aggregate_detector_state WHERE programme_id = $1",
                    1, v, f->request_id, "forget the aggregate detector states"))
        return false;
    PGresult *keys = db_run(f->conn, NULL, SQL_ALL_KEYS, 1, v, PGRES_TUPLES_OK, f->request_id,
                            "list the rollups to rebuild");
    if (keys == NULL)
        return false;
    bool ok =
        recompute_keys(f, keys) && db_command(f->conn, NULL, SQL_REBUILT_MARKS, 1, v, f->request_id,
                                              "mark the rebuilt aggregates for evaluation");
    PQclear(keys);
    f->stats.rebuilt = true;
    return ok;
}

/* Takes the programme's fold lock; *busy when another session holds it (wait false). */
static bool fold_lock(struct fold *f, bool wait, bool *busy)
{
    const char *v[] = {f->pid};
    PGresult *res = db_run(f->conn, wait ? "scaleupd_rollup_lock_wait" : "scaleupd_rollup_lock_try",
                           wait ? SQL_LOCK_WAIT : SQL_LOCK_TRY, 1, v, PGRES_TUPLES_OK,
                           f->request_id, "take the rollup lock");
    if (res == NULL)
        return false;
    *busy = !db_bool(res, 0, 0);
    PQclear(res);
    return true;
}

/* The fold inside a transaction or savepoint: lock, claim, recompute. */
static enum rollup_fold fold_body(struct fold *f, long max_marks, bool wait)
{
    bool busy = false;
    if (!fold_lock(f, wait, &busy))
        return ROLLUP_ERROR;
    if (busy)
        return ROLLUP_BUSY;
    char limit[24];
    snprintf(limit, sizeof(limit), "%ld", max_marks > 0 ? max_marks : 1);
    const char *v[] = {f->pid, limit};
    const char *was = "on";
    char work_mem[32];
    if (!set_work_mem(f, ROLLUP_WORK_MEM, work_mem, sizeof(work_mem)) ||
        !set_seqscan(f, "off", &was))
        return ROLLUP_ERROR;
    PGresult *keys = db_run(f->conn, NULL, SQL_CLAIM, 2, v, PGRES_TUPLES_OK, f->request_id,
                            "claim rollup marks");
    if (keys == NULL || !set_seqscan(f, was, NULL)) {
        PQclear(keys);
        return ROLLUP_ERROR;
    }
    f->stats.marks += (long)db_int64(keys, 0, 0);
    bool ok = db_bool(keys, 0, 1) ? rebuild(f) : recompute_keys(f, keys);
    PQclear(keys);
    ok = ok && set_work_mem(f, work_mem, NULL, 0);
    return ok ? ROLLUP_FOLDED : ROLLUP_ERROR;
}

static void stats_add(struct rollup_stats *to, const struct rollup_stats *from)
{
    if (to == NULL)
        return;
    to->marks += from->marks;
    to->keys += from->keys;
    to->parts += from->parts;
    to->written += from->written;
    to->removed += from->removed;
    to->rebuilt = to->rebuilt || from->rebuilt;
}

enum rollup_fold rollup_store_fold(PGconn *conn, int64_t programme_id, long max_marks, bool wait,
                                   struct rollup_stats *stats, const char *request_id)
{
    struct fold f = {.conn = conn, .request_id = request_id};
    snprintf(f.pid, sizeof(f.pid), "%lld", (long long)programme_id);
    bool nested = PQtransactionStatus(conn) == PQTRANS_INTRANS;
    if (nested ? !db_savepoint(conn, ROLLUP_SAVEPOINT, request_id) : !db_begin(conn, request_id))
        return ROLLUP_ERROR;
    enum rollup_fold result = fold_body(&f, max_marks, wait);
    bool ended;
    if (result == ROLLUP_ERROR) {
        if (nested) {
            /* the caller's transaction goes on without the fold, or fails at its commit */
            bool undone = db_rollback_to(conn, ROLLUP_SAVEPOINT, request_id) &&
                          db_release(conn, ROLLUP_SAVEPOINT, request_id);
            (void)undone;
        } else
            db_rollback(conn, request_id);
        ended = false;
    } else {
        ended =
            nested ? db_release(conn, ROLLUP_SAVEPOINT, request_id) : db_commit(conn, request_id);
    }
    if (result != ROLLUP_ERROR && !ended)
        return ROLLUP_ERROR;
    if (result == ROLLUP_FOLDED)
        stats_add(stats, &f.stats);
    return result;
}

bool rollup_store_marked(PGconn *conn, int64_t programme_id, struct rollup_marked *out,
                         const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *v[] = {pid};
    PGresult *res = db_run(
        conn, "scaleupd_rollup_marked",
        "SELECT EXISTS (SELECT 1 FROM rollup_dirty WHERE programme_id = $1),"
        " EXISTS (SELECT 1 FROM rollup_dirty WHERE programme_id = $1 AND series_ids IS NULL),"
        " EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        "  AND classid = " ROLLUP_LOCK_CLASS " AND objid = (hashint8($1::bigint)::bigint"
        "  & 4294967295)::oid AND objsubid = 2)",
        1, v, PGRES_TUPLES_OK, request_id, "look for rollup marks");
    if (res == NULL)
        return false;
    out->marked = db_bool(res, 0, 0);
    out->rebuild = db_bool(res, 0, 1);
    out->folding_here = db_bool(res, 0, 2);
    PQclear(res);
    return true;
}

bool rollup_store_pending(PGconn *conn, size_t max, struct rollup_backlog **out, size_t *n)
{
    char limit[24];
    snprintf(limit, sizeof(limit), "%zu", max ? max : 1);
    const char *v[] = {limit};
    PGresult *res = db_run(conn, "scaleupd_rollup_pending", SQL_PENDING, 1, v, PGRES_TUPLES_OK,
                           NULL, "list programmes with rollup marks");
    if (res == NULL)
        return false;
    *n = (size_t)PQntuples(res);
    *out = xcalloc(*n + 1, sizeof(**out));
    for (size_t r = 0; r < *n; r++) {
        (*out)[r].programme_id = db_int64(res, (int)r, 0);
        (*out)[r].marks = (long)db_int64(res, (int)r, 1);
        (*out)[r].oldest_age = db_double(res, (int)r, 2);
    }
    PQclear(res);
    return true;
}

bool rollup_store_site_tree(PGconn *conn, int64_t programme_id, const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *v[] = {pid};
    return db_command(conn, NULL, SQL_SITE_TREE, 1, v, request_id, "store the site tree");
}
