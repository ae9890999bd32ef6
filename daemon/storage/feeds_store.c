/* The feeds status's SQL: a programme's indicators with its date today, and who reported the
 * latest due period of each: a summary per region and indicator, and a page of the sites
 * (docs/ARCHITECTURE.md, "Feeds at scale"). Both read one row of site_sent per member site
 * and due window, and the series of only the sites a rollup mark not folded yet names; the
 * summary is kept (feeds_summary) under the key of what it was computed from. */
#include "scaleupd/storage/feeds_store.h"

#include <stdio.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/member_owes.h"

static const char SQL_FEEDS_INDICATORS[] =
    "SELECT i.id, i.period_type,"
    " ((to_timestamp($2::float8) AT TIME ZONE p.time_zone)::date - DATE '1970-01-01'), i.code"
    " FROM programme p LEFT JOIN indicator i ON i.programme_id = p.id"
    " WHERE p.id = $1 ORDER BY i.id";

/* Whether membership m owes a value for a period of window x (storage/member_owes.h, the rule
 * the evaluator's aggregate rules share). */
#define FEEDS_SQL_MEMBER_OWES_OF(m, x) MEMBER_SQL_OWES(m, x)
#define FEEDS_SQL_MEMBER_OWES(x) FEEDS_SQL_MEMBER_OWES_OF("m", x)

/* What both statements start from. $1 programme, $2 indicator ids, $3 their latest due
 * period's start, $4 its end, $5 the due date. Expected = (member site that had adopted by
 * the period's end and had not withdrawn before its start) x (indicator that member sites
 * report at all): owed is each member site with each window (period start and end) it owes,
 * and how many indicators share that window. A series sent its due period when it holds a
 * value for it (FEEDS_SQL_SENT_PERIOD). stale: the series of the rollup marks not folded yet,
 * whose last_period may be behind (a mark of every series, for a new hierarchy, moves no
 * series' latest period: it names none). */
/* clang-format off */ /* it would fold the macros into the literals */
#define FEEDS_SQL_OWED                                                                             \
    "WITH RECURSIVE due AS ("                                                                      \
    " SELECT * FROM unnest($2::bigint[], $3::date[], $4::date[], $5::date[])"                      \
    "  AS d(indicator_id, period_start, period_end, due_on)"                                       \
    "), by_sites AS ("                                                                             \
    " SELECT d.* FROM due d WHERE EXISTS (SELECT 1 FROM series se JOIN membership m"               \
    "  ON m.programme_id = se.programme_id AND m.site_id = se.site_id"                             \
    "  WHERE se.programme_id = $1 AND se.indicator_id = d.indicator_id)"                           \
    "), win AS ("                                                                                  \
    " SELECT period_start, period_end, count(*) AS n, array_agg(indicator_id) AS ids"             \
    " FROM by_sites GROUP BY 1, 2"                                                                 \
    "), owed AS ("                                                                                 \
    " SELECT m.site_id, w.period_start, w.period_end, w.n, w.ids FROM membership m"                \
    " CROSS JOIN win w"                                                                            \
    " WHERE m.programme_id = $1 AND" FEEDS_SQL_MEMBER_OWES("w")                                  \
    "), stale AS ("                                                                                \
    " SELECT DISTINCT unnest(series_ids) AS series_id FROM rollup_dirty"                           \
    "  WHERE programme_id = $1"                                                                    \
    ")"
/* clang-format on */

/* Whether series se sent the period d.period_start: known from its last_period (series_latest)
 * alone when that is at or before the period (equal: sent; before: not), looked up in the
 * observations (one index probe) when it is later or not known, or when a rollup mark not folded
 * yet names the series (ingest writes the mark in its transaction and the fold clears it as it
 * moves last_period, so the answer is exact at any moment). */
#define FEEDS_SQL_SENT_PERIOD                                                                      \
    " CASE WHEN se.last_period <= d.period_start AND se.id NOT IN (SELECT series_id FROM stale)"   \
    "  THEN se.last_period = d.period_start"                                                       \
    "  ELSE EXISTS (SELECT 1 FROM observation o WHERE o.programme_id = $1"                         \
    "   AND o.series_id = se.id AND o.period_start = d.period_start) END"

/* The owed series of the stale sites (those with a series a rollup mark not folded yet names)
 * that sent their due period: their series (found by their full key, whatever the planner's
 * statistics say) with their site's membership (hashed: one row per member), then their indicator's
 * due period (hashed: one row per indicator); the fence (OFFSET 0) keeps the planner from building
 * the due periods x memberships product first. */
#define FEEDS_SQL_SENT_BY_STALE_SERIES                                                             \
    " SELECT se.site_id, se.indicator_id"                                                          \
    " FROM (SELECT se.id, se.site_id, se.indicator_id, l.last_period, m.status, m.adopted_on,"     \
    "  m.withdrawn_on FROM stale_sites ss CROSS JOIN by_sites b JOIN series se"                    \
    "  ON se.programme_id = $1 AND se.indicator_id = b.indicator_id AND se.site_id = ss.site_id"   \
    "  JOIN membership m ON m.programme_id = $1"                                                   \
    "  AND m.site_id = se.site_id LEFT JOIN series_latest l ON l.programme_id = $1"                \
    "  AND l.series_id = se.id OFFSET 0) se"                                                       \
    " JOIN by_sites d ON d.indicator_id = se.indicator_id"                                         \
    " WHERE" FEEDS_SQL_MEMBER_OWES_OF("se", "d") " AND" FEEDS_SQL_SENT_PERIOD

/* Each member site owing something: what it owes and sent, with its region (its nearest
 * ancestor of level 'region', from site_tree) and its status: rank 0 late (sent nothing), 1
 * partial, 2 reported (the site and its region looked up per site through site's and
 * site_tree's indexes: as joins, with a status filter estimated to keep one row, they were
 * planned as a nested loop over every site or region: 490,000 rows compared for a page of
 * reported sites at 1,000 practices). What was sent is read from site_sent (one row per site and
 * window, kept by the rollup service) for every site but the stale ones, whose series are looked at
 * one by one. due_sent is the site_sent rows of the due windows' starts only, each start one range
 * of the primary key: joined to owed directly, site_sent was read whole into a hash (a row per site
 * and month of history: 504,000 rows at 7,000 practices x 72 months, most of a page's 300 ms).
 * tally is (site, count) of what each site sent, and for the summary also (indicator, count):
 * FEEDS_SQL_TALLY or FEEDS_SQL_TALLY_BY_SITE between the two halves. */
#define FEEDS_SQL_DUE_SENT                                                                         \
    ", stale_sites AS ("                                                                           \
    " SELECT DISTINCT se.site_id FROM stale st JOIN series se ON se.programme_id = $1"             \
    "  AND se.id = st.series_id"                                                                   \
    "), due_sent AS MATERIALIZED ("                                                                \
    " SELECT t.* FROM (SELECT DISTINCT period_start FROM win) w CROSS JOIN LATERAL (SELECT *"      \
    "  FROM site_sent t WHERE t.programme_id = $1 AND t.period_start = w.period_start OFFSET 0) t" \
    ")"

/* tally for the summary: sent is each (site, indicator) owed and sent, counted per site and
 * per indicator. */
#define FEEDS_SQL_TALLY                                                                            \
    ", sent AS ("                                                                                  \
    " SELECT w.site_id, x.indicator_id FROM owed w JOIN due_sent t"                                \
    "  ON t.period_start = w.period_start AND t.site_id = w.site_id"                               \
    "  CROSS JOIN LATERAL unnest(t.indicator_ids) AS x(indicator_id)"                              \
    "  WHERE x.indicator_id = ANY (w.ids) AND w.site_id NOT IN (SELECT site_id FROM stale_sites)"  \
    " UNION ALL" FEEDS_SQL_SENT_BY_STALE_SERIES "), tally AS ("                                    \
    " SELECT site_id, indicator_id, count(*) AS sent FROM sent"                                    \
    " GROUP BY GROUPING SETS ((site_id), (indicator_id))"                                          \
    ")"

/* tally for a page: per site only, a window whose site_sent row holds all its indicators
 * (most of them) counted without unnesting the row. */
#define FEEDS_SQL_TALLY_BY_SITE                                                                    \
    ", tally AS ("                                                                                 \
    " SELECT site_id, sum(sent) AS sent FROM ("                                                    \
    "  SELECT w.site_id, CASE WHEN t.indicator_ids @> w.ids THEN cardinality(w.ids)"               \
    "   ELSE (SELECT count(*) FROM unnest(t.indicator_ids) AS x(indicator_id)"                     \
    "    WHERE x.indicator_id = ANY (w.ids)) END AS sent"                                          \
    "  FROM owed w JOIN due_sent t ON t.period_start = w.period_start AND t.site_id = w.site_id"   \
    "  WHERE w.site_id NOT IN (SELECT site_id FROM stale_sites)"                                   \
    "  UNION ALL SELECT site_id, count(*) FROM (" FEEDS_SQL_SENT_BY_STALE_SERIES ") st"            \
    "  GROUP BY site_id) s GROUP BY site_id"                                                       \
    ")"

#define FEEDS_SQL_SITE_STATE                                                                       \
    ", per_site AS ("                                                                              \
    " SELECT o.site_id, o.expected, coalesce(t.sent, 0) AS reported FROM (SELECT site_id,"         \
    "  sum(n) AS expected FROM owed GROUP BY site_id) o LEFT JOIN tally t"                         \
    "  ON t.site_id = o.site_id"                                                                   \
    "), site_state AS ("                                                                           \
    " SELECT ps.*, s.code, s.name, r.code AS region, r.name AS region_name,"                       \
    "  CASE WHEN ps.reported = ps.expected THEN 2 WHEN ps.reported = 0 THEN 0 ELSE 1 END"          \
    "   AS rank FROM per_site ps CROSS JOIN LATERAL (SELECT s.code, s.name FROM site s"            \
    "  WHERE s.programme_id = $1 AND s.id = ps.site_id LIMIT 1) s"                                 \
    " LEFT JOIN LATERAL (SELECT r.code, r.name FROM site_tree t JOIN site r"                       \
    "  ON r.programme_id = $1 AND r.id = t.ancestor_id WHERE t.programme_id = $1"                  \
    "  AND t.site_id = ps.site_id AND r.level = 'region' ORDER BY t.depth LIMIT 1) r ON true"      \
    ")"

/* One region's counts (or the programme's), from a row of counts. */
#define FEEDS_SQL_COUNTS(code_and_name)                                                            \
    "json_build_object(" code_and_name " 'sites_expected', n, 'sites_complete', complete,"         \
    " 'sites_partial', partial, 'sites_late', late, 'values_expected', ve,"                        \
    " 'values_reported', vr, 'completeness', CASE WHEN ve > 0 THEN round(vr::numeric / ve, 4)"     \
    " END)"

/* The summary's counts per region and in total, and the owed sites per window. */
#define FEEDS_SQL_SUMMARY_COUNTS                                                                   \
    ", counts AS ("                                                                                \
    " SELECT grouping(region) AS total, region, region_name, count(*) AS n,"                       \
    "  count(*) FILTER (WHERE rank = 2) AS complete, count(*) FILTER (WHERE rank = 1) AS partial," \
    "  count(*) FILTER (WHERE rank = 0) AS late, coalesce(sum(expected), 0) AS ve,"                \
    "  coalesce(sum(reported), 0) AS vr FROM site_state GROUP BY ROLLUP ((region, region_name))"   \
    "), owed_by_window AS ("                                                                       \
    " SELECT period_start, period_end, count(*) AS sites FROM owed GROUP BY 1, 2"                  \
    ")"

/* The summary document (text), from FEEDS_SQL_OWED, _SITE_STATE and _SUMMARY_COUNTS. */
/* clang-format off */ /* it would fold the macros into the literals */
#define FEEDS_SQL_SUMMARY_DOCUMENT                                                                 \
    " json_build_object("                                                                          \
    " 'indicators', (SELECT coalesce(json_agg(json_build_object('code', i.code, 'name', i.name,"   \
    "  'unit', i.unit, 'period_type', i.period_type, 'period_start', d.period_start,"              \
    "  'period_end', d.period_end, 'due_on', d.due_on,"                                            \
    "  'reported_by_sites', d.indicator_id IN (SELECT indicator_id FROM by_sites),"                \
    "  'expected', CASE WHEN d.indicator_id IN (SELECT indicator_id FROM by_sites)"                \
    "   THEN coalesce(ow.sites, 0) ELSE 0 END,"                                                    \
    "  'reported', CASE WHEN d.indicator_id IN (SELECT indicator_id FROM by_sites)"                \
    "   THEN coalesce((SELECT t.sent FROM tally t WHERE t.indicator_id = d.indicator_id), 0)"      \
    "   ELSE (SELECT count(*) FROM series se WHERE se.programme_id = $1"                           \
    "    AND se.indicator_id = d.indicator_id AND (SELECT true FROM observation o"                 \
    "    WHERE o.programme_id = $1 AND o.series_id = se.id AND o.period_start = d.period_start"    \
    "    LIMIT 1)) END)"                                                                           \
    "  ORDER BY i.id), '[]') FROM due d JOIN indicator i"                                          \
    "  ON i.programme_id = $1 AND i.id = d.indicator_id LEFT JOIN owed_by_window ow"               \
    "  ON ow.period_start = d.period_start AND ow.period_end = d.period_end),"                     \
    " 'regions', (SELECT coalesce(json_agg("                                                       \
    FEEDS_SQL_COUNTS("'code', region, 'name', region_name,")                                       \
    "  ORDER BY region), '[]') FROM counts WHERE total = 0),"                                      \
    " 'totals', (SELECT " FEEDS_SQL_COUNTS("") " FROM counts WHERE total = 1)"                     \
    ")::text"
/* clang-format on */

static const char SQL_FEEDS_SUMMARY[] =
    FEEDS_SQL_OWED FEEDS_SQL_DUE_SENT FEEDS_SQL_TALLY FEEDS_SQL_SITE_STATE FEEDS_SQL_SUMMARY_COUNTS
    " SELECT" FEEDS_SQL_SUMMARY_DOCUMENT;

/* The key a kept summary of $1 with grace $6 must have to be used now (after FEEDS_SQL_OWED):
 * the due periods as text, the indicators member sites report, the generations of site_sent
 * and of the catalog (sql/024), and whether a rollup mark naming series is pending (then
 * nothing kept is used or kept: the stale sites are looked at one by one). */
#define FEEDS_SQL_KEY                                                                              \
    ", key AS ("                                                                                   \
    " SELECT concat_ws(' ', $2::bigint[], $3::date[], $4::date[], $5::date[]) AS due,"             \
    "  ARRAY(SELECT indicator_id FROM by_sites ORDER BY 1) AS by_sites,"                           \
    "  coalesce((SELECT generation FROM feeds_generation WHERE programme_id = $1"                  \
    "   AND kind = 'sent'), 0) AS sent,"                                                           \
    "  coalesce((SELECT generation FROM feeds_generation WHERE programme_id = $1"                  \
    "   AND kind = 'catalog'), 0) AS catalog,"                                                     \
    "  EXISTS (SELECT 1 FROM rollup_dirty WHERE programme_id = $1"                                 \
    "   AND series_ids IS NOT NULL) AS pending"                                                    \
    ")"

/* The summary of $1 with grace $6 computed from scratch (SQL_FEEDS_SUMMARY) and kept with
 * its key unless a mark is pending; $7: whether a read asked (read_at moves). Returns the
 * document and whether it was kept. Key and document come from one snapshot, so what is kept
 * is what that key describes, whichever session writes last. */
static const char SQL_FEEDS_SUMMARY_KEEP[] = FEEDS_SQL_OWED FEEDS_SQL_DUE_SENT FEEDS_SQL_TALLY
    FEEDS_SQL_SITE_STATE FEEDS_SQL_SUMMARY_COUNTS FEEDS_SQL_KEY
    ", doc AS (SELECT" FEEDS_SQL_SUMMARY_DOCUMENT " AS document"
    "), kept AS ("
    " INSERT INTO feeds_summary AS f (programme_id, grace_days, due, by_sites, sent_generation,"
    "  catalog_generation, document)"
    " SELECT $1, $6::integer, k.due, k.by_sites, k.sent, k.catalog, d.document FROM key k, doc d"
    " WHERE NOT k.pending"
    " ON CONFLICT (programme_id, grace_days) DO UPDATE SET due = excluded.due,"
    "  by_sites = excluded.by_sites, sent_generation = excluded.sent_generation,"
    "  catalog_generation = excluded.catalog_generation, document = excluded.document,"
    "  computed_at = excluded.computed_at,"
    "  read_at = CASE WHEN $7::boolean THEN excluded.read_at ELSE f.read_at END"
    " RETURNING 1"
    ")"
    " SELECT d.document, EXISTS (SELECT 1 FROM kept) FROM doc d";

/* The kept summary of $1 with grace $6 when its key is the key now (else NULL), and whether a
 * mark is pending; its read_at moved when over an hour old. Reads no site_sent row. */
static const char SQL_FEEDS_SUMMARY_KEPT[] = FEEDS_SQL_OWED FEEDS_SQL_KEY
    ", hit AS ("
    " SELECT f.document, f.read_at FROM feeds_summary f, key k WHERE f.programme_id = $1"
    "  AND f.grace_days = $6::integer AND f.due = k.due AND f.by_sites = k.by_sites"
    "  AND f.sent_generation = k.sent AND f.catalog_generation = k.catalog AND NOT k.pending"
    "), touched AS ("
    " UPDATE feeds_summary SET read_at = now() WHERE programme_id = $1"
    "  AND grace_days = $6::integer AND read_at < now() - interval '1 hour'"
    "  AND EXISTS (SELECT 1 FROM hit) RETURNING 1"
    ")"
    " SELECT (SELECT document FROM hit), (SELECT pending FROM key)";

/* The kept summaries read within the day (programme, grace), and those not read for a week
 * forgotten. */
static const char SQL_FEEDS_SUMMARIES_READ[] =
    "WITH forgotten AS (DELETE FROM feeds_summary WHERE read_at < now() - interval '7 days')"
    " SELECT programme_id, grace_days FROM feeds_summary"
    " WHERE read_at >= now() - interval '1 day' ORDER BY 1, 2 LIMIT $1";

/* A page of the sites in the order late, partial, reported, then region code (none first),
 * then site code, byte-wise. $6 the status rank wanted (NULL: any), $7 the region code
 * (NULL: any), $8..$10 the last row's key (NULL: from the first), $11 the rows wanted. Each
 * row: rank, region code ('' for none), site code, the row as JSON. What a row's site
 * missed and when it last sent are read for the page's rows only: page_owed is what they owe,
 * materialized, so that each row scans the page's windows rather than every member's (inlined,
 * it was a scan of all the owed rows per page row). */
static const char SQL_FEEDS_SITES[] =
    FEEDS_SQL_OWED FEEDS_SQL_DUE_SENT FEEDS_SQL_TALLY_BY_SITE FEEDS_SQL_SITE_STATE
    ", page AS ("
    " SELECT * FROM site_state"
    " WHERE ($6::int IS NULL OR rank = $6) AND ($7::text IS NULL OR region = $7)"
    "  AND ($8::int IS NULL OR (rank, coalesce(region, '') COLLATE \"C\", code COLLATE \"C\")"
    "   > ($8::int, $9::text COLLATE \"C\", $10::text COLLATE \"C\"))"
    " ORDER BY rank, coalesce(region, '') COLLATE \"C\", code COLLATE \"C\" LIMIT $11::int"
    "), page_owed AS MATERIALIZED ("
    " SELECT w.* FROM owed w WHERE w.site_id IN (SELECT site_id FROM page)"
    ")"
    " SELECT p.rank, coalesce(p.region, ''), p.code, json_build_object('code', p.code,"
    "  'name', p.name, 'region', p.region, 'region_name', p.region_name,"
    "  'expected', p.expected, 'reported', p.reported,"
    "  'late', coalesce(m.codes, '[]'), 'missing', coalesce(m.named, '[]'),"
    "  'last_received_at', m.last_received,"
    "  'status', (ARRAY['late', 'partial', 'reported'])[p.rank + 1])::text"
    " FROM page p CROSS JOIN LATERAL (SELECT"
    "  json_agg(i.code ORDER BY i.code) FILTER (WHERE NOT c.sent) AS codes,"
    "  json_agg(json_build_object('code', i.code, 'name', i.name) ORDER BY i.code)"
    "   FILTER (WHERE NOT c.sent) AS named, max(c.received) AS last_received"
    "  FROM by_sites d JOIN page_owed w ON w.site_id = p.site_id"
    "   AND w.period_start = d.period_start"
    "   AND w.period_end = d.period_end"
    "  JOIN indicator i ON i.programme_id = $1 AND i.id = d.indicator_id"
    "  CROSS JOIN LATERAL (SELECT coalesce(bool_or(" FEEDS_SQL_SENT_PERIOD "), false) AS sent,"
    "   max(coalesce(se.last_changed_at, (SELECT max(o.received_at) FROM observation o"
    "    WHERE o.programme_id = $1 AND o.series_id = se.id))) AS received"
    "   FROM (SELECT s.id, l.last_period, l.last_changed_at FROM series s"
    "    LEFT JOIN series_latest l ON l.programme_id = $1 AND l.series_id = s.id"
    "    WHERE s.programme_id = $1 AND s.indicator_id = d.indicator_id"
    "    AND s.site_id = p.site_id) se) c) m"
    " ORDER BY p.rank, coalesce(p.region, '') COLLATE \"C\", p.code COLLATE \"C\"";

/* Whether the programme has a region of code $2 and an indicator of code $3 (NULL: true). */
static const char SQL_FEEDS_LOOKUP[] =
    "SELECT $2::text IS NULL OR EXISTS (SELECT 1 FROM site WHERE programme_id = $1"
    "  AND code = $2 AND level = 'region'),"
    " $3::text IS NULL OR EXISTS (SELECT 1 FROM indicator WHERE programme_id = $1"
    "  AND code = $3)";

bool feeds_store_indicators(PGconn *conn, int64_t programme_id, double now,
                            struct feeds_indicator *out, size_t *n, int32_t *today,
                            const char *request_id)
{
    char pid[24], at[32];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(at, sizeof(at), "%.3f", now);
    const char *values[] = {pid, at};
    PGresult *res = db_run(conn, NULL, SQL_FEEDS_INDICATORS, 2, values, PGRES_TUPLES_OK, request_id,
                           "read the indicators");
    if (res == NULL)
        return false;
    bool found = PQntuples(res) > 0;
    *n = 0;
    if (found)
        *today = (int32_t)db_int64(res, 0, 2);
    for (int row = 0; row < PQntuples(res) && row < FEEDS_MAX_INDICATORS; row++) {
        enum period_type type;
        if (db_is_null(res, row, 0) || !period_type_from_name(db_text(res, row, 1), &type))
            continue;
        struct feeds_indicator *ind = &out[(*n)++];
        *ind = (struct feeds_indicator){db_int64(res, row, 0), type, {0}};
        snprintf(ind->code, sizeof(ind->code), "%s", db_text(res, row, 3));
    }
    PQclear(res);
    if (!found)
        log_write(LOG_LEVEL_ERROR, request_id, "could not read the indicators: no programme %s",
                  pid);
    return found;
}

/* Each array literal: FEEDS_MAX_INDICATORS elements of at most 21 bytes, with commas. */
#define FEEDS_ARRAY_MAX (FEEDS_MAX_INDICATORS * 22 + 3)

/* Appends an element (a bigint when a date is NULL, else the date) to an array literal. */
static bool add_element(struct dynbuf *array, size_t i, int64_t id, const int32_t *day)
{
    char date[DATE_FORMAT_MAX];
    if (day != NULL && !date_format(*day, date, sizeof(date)))
        return false;
    if (day == NULL)
        return dynbuf_addf(array, "%s%lld", i ? "," : "{", (long long)id);
    return dynbuf_addf(array, "%s%s", i ? "," : "{", date);
}

/* The programme id and the four array literals of FEEDS_SQL_OWED's $1..$5 (empty: "{}"),
 * into text[0..5), their storage in arrays (freed by free_params). False (logged) when the
 * due periods do not fit. */
static bool build_params(int64_t programme_id, const struct feeds_due *due, size_t n, char pid[24],
                         struct dynbuf arrays[4], const char *text[5], const char *request_id)
{
    bool ok = true;
    snprintf(pid, 24, "%lld", (long long)programme_id);
    for (int k = 0; k < 4; k++)
        dynbuf_init(&arrays[k], FEEDS_ARRAY_MAX);
    for (size_t i = 0; ok && i < n; i++) {
        const struct feeds_due *d = &due[i];
        ok = add_element(&arrays[0], i, d->indicator_id, NULL) &&
             add_element(&arrays[1], i, 0, &d->period_start) &&
             add_element(&arrays[2], i, 0, &d->period_end) &&
             add_element(&arrays[3], i, 0, &d->due_on);
    }
    for (int k = 0; ok && k < 4; k++)
        ok = dynbuf_addstr(&arrays[k], n ? "}" : "{}");
    text[0] = pid;
    for (int k = 0; k < 4; k++)
        text[k + 1] = dynbuf_str(&arrays[k]);
    if (!ok)
        log_write(LOG_LEVEL_ERROR, request_id,
                  "could not read the feeds status: the due periods do not fit in %d bytes",
                  FEEDS_ARRAY_MAX);
    return ok;
}

static void free_params(struct dynbuf arrays[4])
{
    for (int k = 0; k < 4; k++)
        dynbuf_free(&arrays[k]);
}

/* The summary's text of res (row 0, column 0) as a new JSON document; NULL (logged) past
 * FEEDS_DOC_MAX_BYTES. */
static json_t *summary_document(const PGresult *res, const char *request_id)
{
    if ((size_t)PQgetlength(res, 0, 0) < FEEDS_DOC_MAX_BYTES)
        return json_loads(db_text(res, 0, 0), 0, NULL);
    log_write(LOG_LEVEL_ERROR, request_id, "could not read the feeds summary: it exceeds %u bytes",
              FEEDS_DOC_MAX_BYTES);
    return NULL;
}

json_t *feeds_store_summary(PGconn *conn, int64_t programme_id, const struct feeds_due *due,
                            size_t n, const char *request_id)
{
    struct dynbuf arrays[4];
    char pid[24];
    const char *values[5];
    json_t *doc = NULL;
    if (!build_params(programme_id, due, n, pid, arrays, values, request_id))
        goto out;
    PGresult *res = db_run(conn, NULL, SQL_FEEDS_SUMMARY, 5, values, PGRES_TUPLES_OK, request_id,
                           "read the feeds summary");
    if (res == NULL)
        goto out;
    doc = summary_document(res, request_id);
    PQclear(res);
out:
    free_params(arrays);
    return doc;
}

/* Runs sql (SQL_FEEDS_SUMMARY_KEEP or _KEPT) with the due periods and grace (and, for KEEP,
 * whether a read asked); the result, or NULL on a database error (logged). */
static PGresult *run_kept(PGconn *conn, const char *sql, int64_t programme_id, int grace_days,
                          const struct feeds_due *due, size_t n, bool read, const char *what,
                          const char *request_id)
{
    struct dynbuf arrays[4];
    char pid[24], grace[16];
    const char *values[7];
    PGresult *res = NULL;
    if (!build_params(programme_id, due, n, pid, arrays, values, request_id))
        goto out;
    snprintf(grace, sizeof(grace), "%d", grace_days);
    values[5] = grace;
    values[6] = read ? "true" : "false";
    res = db_run(conn, NULL, sql, sql == SQL_FEEDS_SUMMARY_KEEP ? 7 : 6, values, PGRES_TUPLES_OK,
                 request_id, what);
out:
    free_params(arrays);
    return res;
}

bool feeds_store_summary_kept(PGconn *conn, int64_t programme_id, int grace_days,
                              const struct feeds_due *due, size_t n, json_t **doc, bool *pending,
                              const char *request_id)
{
    PGresult *res = run_kept(conn, SQL_FEEDS_SUMMARY_KEPT, programme_id, grace_days, due, n, true,
                             "read the kept feeds summary", request_id);
    if (res == NULL)
        return false;
    *doc = db_is_null(res, 0, 0) ? NULL : summary_document(res, request_id);
    *pending = db_bool(res, 0, 1);
    PQclear(res);
    return true;
}

json_t *feeds_store_summary_keep(PGconn *conn, int64_t programme_id, int grace_days,
                                 const struct feeds_due *due, size_t n, bool read, bool *kept,
                                 const char *request_id)
{
    PGresult *res = run_kept(conn, SQL_FEEDS_SUMMARY_KEEP, programme_id, grace_days, due, n, read,
                             "compute and keep the feeds summary", request_id);
    if (res == NULL)
        return NULL;
    json_t *doc = summary_document(res, request_id);
    if (kept != NULL)
        *kept = db_bool(res, 0, 1);
    PQclear(res);
    return doc;
}

bool feeds_store_summaries_read(PGconn *conn, size_t max, struct feeds_kept_key **keys, size_t *n)
{
    char limit[24];
    snprintf(limit, sizeof(limit), "%zu", max ? max : 1);
    const char *v[] = {limit};
    PGresult *res = db_run(conn, "scaleupd_feeds_summaries_read", SQL_FEEDS_SUMMARIES_READ, 1, v,
                           PGRES_TUPLES_OK, NULL, "list the kept feeds summaries");
    if (res == NULL)
        return false;
    *n = (size_t)PQntuples(res);
    *keys = xcalloc(*n + 1, sizeof(**keys));
    for (size_t r = 0; r < *n; r++)
        (*keys)[r] =
            (struct feeds_kept_key){db_int64(res, (int)r, 0), (int)db_int64(res, (int)r, 1)};
    PQclear(res);
    return true;
}

/* Appends the rows of a page (at most limit of them) to rows and, when there was one more,
 * the last kept row's key into next[0..3) (malloc'd). */
static void read_page(PGresult *res, int limit, json_t *rows, char *next[3])
{
    int kept = PQntuples(res) < limit ? PQntuples(res) : limit;
    for (int row = 0; row < kept; row++)
        json_array_append_new(rows, json_loads(db_text(res, row, 3), 0, NULL));
    if (PQntuples(res) > limit && kept > 0)
        for (int k = 0; k < 3; k++)
            next[k] = xstrdup(db_text(res, kept - 1, k));
}

bool feeds_store_sites(PGconn *conn, int64_t programme_id, const struct feeds_due *due, size_t n,
                       const struct feeds_sites_query *q, json_t **rows, char *next[3],
                       const char *request_id)
{
    struct dynbuf arrays[4];
    char pid[24], rank[16], after_rank[16], limit[16];
    const char *values[11];
    bool ok = false;
    if (!build_params(programme_id, due, n, pid, arrays, values, request_id))
        goto out;
    snprintf(rank, sizeof(rank), "%d", (int)q->status);
    snprintf(after_rank, sizeof(after_rank), "%d", (int)q->after_status);
    snprintf(limit, sizeof(limit), "%d", q->limit + 1);
    values[5] = q->has_status ? rank : NULL;
    values[6] = q->region;
    values[7] = q->has_after ? after_rank : NULL;
    values[8] = q->has_after ? q->after_region : NULL;
    values[9] = q->has_after ? q->after_code : NULL;
    values[10] = limit;
    PGresult *res = db_run(conn, NULL, SQL_FEEDS_SITES, 11, values, PGRES_TUPLES_OK, request_id,
                           "read a page of the feeds' sites");
    if (res == NULL)
        goto out;
    *rows = json_array();
    read_page(res, q->limit, *rows, next);
    PQclear(res);
    ok = true;
out:
    free_params(arrays);
    return ok;
}

bool feeds_store_lookup(PGconn *conn, int64_t programme_id, const char *region,
                        const char *indicator, bool *region_found, bool *indicator_found,
                        const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {pid, region, indicator};
    PGresult *res = db_run(conn, NULL, SQL_FEEDS_LOOKUP, 3, values, PGRES_TUPLES_OK, request_id,
                           "look up the feeds' filters");
    if (res == NULL)
        return false;
    *region_found = strcmp(db_text(res, 0, 0), "t") == 0;
    *indicator_found = strcmp(db_text(res, 0, 1), "t") == 0;
    PQclear(res);
    return true;
}
