/* The feeds status's SQL: a programme's indicators with its date today, and who reported
 * the latest due period of each (one statement over the due periods as arrays). */
#include "scaleupd/storage/feeds_store.h"

#include <stdio.h>

#include "scaleupd/core/dynbuf.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/db.h"

static const char SQL_FEEDS_INDICATORS[] =
    "SELECT i.id, i.period_type,"
    " ((to_timestamp($2::float8) AT TIME ZONE p.time_zone)::date - DATE '1970-01-01')"
    " FROM programme p LEFT JOIN indicator i ON i.programme_id = p.id"
    " WHERE p.id = $1 ORDER BY i.id";

/* $1 programme, $2 indicator ids, $3 their latest due period's start, $4 its end, $5 the
 * due date. Expected = (member site that had adopted by the period's end and had not
 * withdrawn before its start) x (indicator that member sites report at all). */
static const char SQL_FEEDS_STATUS[] =
    "WITH RECURSIVE up(site_id, ancestor_id, depth) AS ("
    " SELECT m.site_id, s.parent_id, 1 FROM membership m JOIN site s"
    "  ON s.programme_id = m.programme_id AND s.id = m.site_id"
    "  WHERE m.programme_id = $1 AND s.parent_id IS NOT NULL"
    " UNION ALL SELECT u.site_id, p.parent_id, u.depth + 1 FROM up u JOIN site p"
    "  ON p.programme_id = $1 AND p.id = u.ancestor_id WHERE p.parent_id IS NOT NULL"
    "  AND u.depth < 32"
    "), region AS ("
    " SELECT DISTINCT ON (u.site_id) u.site_id, r.code, r.name FROM up u JOIN site r"
    "  ON r.programme_id = $1 AND r.id = u.ancestor_id WHERE r.level = 'region'"
    "  ORDER BY u.site_id, u.depth"
    "), due AS ("
    " SELECT * FROM unnest($2::bigint[], $3::date[], $4::date[], $5::date[])"
    "  AS d(indicator_id, period_start, period_end, due_on)"
    "), by_sites AS ("
    " SELECT d.* FROM due d WHERE EXISTS (SELECT 1 FROM series se JOIN membership m"
    "  ON m.programme_id = se.programme_id AND m.site_id = se.site_id"
    "  WHERE se.programme_id = $1 AND se.indicator_id = d.indicator_id)"
    "), cell AS ("
    " SELECT m.site_id, d.indicator_id, o.received_at FROM membership m CROSS JOIN by_sites d"
    " LEFT JOIN series se ON se.programme_id = $1 AND se.indicator_id = d.indicator_id"
    "  AND se.site_id = m.site_id"
    " LEFT JOIN observation o ON o.programme_id = $1 AND o.series_id = se.id"
    "  AND o.period_start = d.period_start"
    " WHERE m.programme_id = $1 AND m.status <> 'planned'"
    "  AND (m.adopted_on IS NULL OR m.adopted_on <= d.period_end)"
    "  AND (m.withdrawn_on IS NULL OR m.withdrawn_on > d.period_start)"
    "  AND NOT (m.status = 'withdrawn' AND m.withdrawn_on IS NULL)"
    "), per_site AS ("
    " SELECT c.site_id, count(*) AS expected, count(c.received_at) AS reported,"
    "  max(c.received_at) AS last_received,"
    "  coalesce(array_agg(i.code ORDER BY i.code) FILTER (WHERE c.received_at IS NULL), '{}')"
    "   AS late"
    " FROM cell c JOIN indicator i ON i.programme_id = $1 AND i.id = c.indicator_id"
    " GROUP BY c.site_id"
    "), site_rows AS ("
    " SELECT s.code, s.name, r.code AS region, r.name AS region_name, ps.* FROM per_site ps"
    " JOIN site s ON s.programme_id = $1 AND s.id = ps.site_id"
    " LEFT JOIN region r ON r.site_id = ps.site_id"
    ")"
    " SELECT json_build_object("
    " 'indicators', (SELECT coalesce(json_agg(json_build_object('code', i.code, 'name', i.name,"
    "  'unit', i.unit, 'period_type', i.period_type, 'period_start', d.period_start,"
    "  'period_end', d.period_end, 'due_on', d.due_on,"
    "  'reported_by_sites', d.indicator_id IN (SELECT indicator_id FROM by_sites),"
    "  'expected', (SELECT count(*) FROM cell c WHERE c.indicator_id = d.indicator_id),"
    "  'reported', CASE WHEN d.indicator_id IN (SELECT indicator_id FROM by_sites)"
    "   THEN (SELECT count(received_at) FROM cell c WHERE c.indicator_id = d.indicator_id)"
    "   ELSE (SELECT count(*) FROM series se JOIN observation o ON o.programme_id = $1"
    "    AND o.series_id = se.id AND o.period_start = d.period_start"
    "    WHERE se.programme_id = $1 AND se.indicator_id = d.indicator_id) END)"
    "  ORDER BY i.id), '[]') FROM due d JOIN indicator i"
    "  ON i.programme_id = $1 AND i.id = d.indicator_id),"
    " 'sites', (SELECT coalesce(json_agg(json_build_object('code', code, 'name', name,"
    "  'region', region, 'region_name', region_name, 'expected', expected,"
    "  'reported', reported, 'late', late, 'last_received_at', last_received,"
    "  'status', CASE WHEN reported = expected THEN 'reported' WHEN reported = 0 THEN 'late'"
    "   ELSE 'partial' END) ORDER BY region, code), '[]') FROM site_rows),"
    " 'regions', (SELECT coalesce(json_agg(json_build_object('code', region, 'name', region_name,"
    "  'sites_expected', n, 'sites_complete', complete, 'values_expected', ve,"
    "  'values_reported', vr, 'completeness', CASE WHEN ve > 0 THEN round(vr::numeric / ve, 4)"
    "  END) ORDER BY region), '[]') FROM (SELECT region, region_name, count(*) AS n,"
    "  count(*) FILTER (WHERE reported = expected) AS complete, sum(expected) AS ve,"
    "  sum(reported) AS vr FROM site_rows GROUP BY region, region_name) g)"
    ")::text";

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
        out[(*n)++] = (struct feeds_indicator){db_int64(res, row, 0), type};
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

/* The four array literals of SQL_FEEDS_STATUS's $2..$5 (empty: "{}"). */
static bool build_arrays(const struct feeds_due *due, size_t n, struct dynbuf arrays[4])
{
    bool ok = true;
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
    return ok;
}

json_t *feeds_store_status(PGconn *conn, int64_t programme_id, const struct feeds_due *due,
                           size_t n, const char *request_id)
{
    struct dynbuf arrays[4];
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    json_t *doc = NULL;
    if (!build_arrays(due, n, arrays)) {
        log_write(LOG_LEVEL_ERROR, request_id,
                  "could not read the feeds status: the due periods do not fit in %d bytes",
                  FEEDS_ARRAY_MAX);
        goto out;
    }
    const char *values[] = {pid, dynbuf_str(&arrays[0]), dynbuf_str(&arrays[1]),
                            dynbuf_str(&arrays[2]), dynbuf_str(&arrays[3])};
    PGresult *res = db_run(conn, NULL, SQL_FEEDS_STATUS, 5, values, PGRES_TUPLES_OK, request_id,
                           "read the feeds status");
    if (res == NULL)
        goto out;
    if ((size_t)PQgetlength(res, 0, 0) >= FEEDS_DOC_MAX_BYTES)
        log_write(LOG_LEVEL_ERROR, request_id,
                  "could not read the feeds status: it exceeds %u bytes", FEEDS_DOC_MAX_BYTES);
    else
        doc = json_loads(db_text(res, 0, 0), 0, NULL);
    PQclear(res);
out:
    for (int k = 0; k < 4; k++)
        dynbuf_free(&arrays[k]);
    return doc;
}
