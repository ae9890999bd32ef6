/* Programmes (programmes.h): the SQL of a programme document — the programme row, its sites
 * with parents and membership, its indicators, each one set-based statement through
 * jsonb_to_recordset — and the read side. The use case that writes a document in one
 * transaction is services/programme_apply.c. */
#include "scaleupd/storage/programmes.h"

#include <stdio.h>
#include <stdlib.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/rollup_store.h"

static const char SQL_UPSERT_PROGRAMME[] =
    "INSERT INTO programme (slug, name, time_zone, teams, document) "
    "VALUES ($1, $2, coalesce($3, 'UTC'), coalesce($4::jsonb, '[]'), $5) "
    "ON CONFLICT (slug) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone, "
    "teams = excluded.teams, document = excluded.document, updated_at = now() "
    "RETURNING id, (xmax = 0)";

static const char SQL_UPSERT_SITES[] =
    "INSERT INTO site (programme_id, code, name, level) "
    "SELECT $1, s.code, s.name, s.level "
    "FROM jsonb_to_recordset($2::jsonb) AS s(code text, name text, level text) "
    "ON CONFLICT (programme_id, code) DO UPDATE SET name = excluded.name, level = excluded.level";

static const char SQL_SET_PARENTS[] =
    "UPDATE site SET parent_id = p.id "
    "FROM jsonb_to_recordset($2::jsonb) AS s(code text, parent text) "
    "LEFT JOIN site p ON p.programme_id = $1 AND p.code = s.parent "
    "WHERE site.programme_id = $1 AND site.code = s.code "
    "AND site.parent_id IS DISTINCT FROM p.id";

/* The sites' memberships; when a site that holds data starts or stops counting in the
 * programme's aggregates (storage/member_owes.h: every site but a planned one; a planned
 * practice adopts, an active one or a site without a membership is planned), a mark asking
 * for a rebuild of the programme's rollups, as a new hierarchy does (rollup_store_site_tree).
 * Recomputing only that site's periods would read its region's whole history for every
 * indicator (at 7,000 practices about 600,000 rows for one practice, all 10 million for an
 * adoption wave across the regions), and the first read after the change would fold it
 * itself; a rebuild is left to the background while reads answer from the rollups as they
 * stand. A planned practice usually has sent nothing: then nothing is marked. */
static const char SQL_UPSERT_MEMBERSHIP[] =
    "WITH before AS ("
    " SELECT m.site_id, m.status <> 'planned' AS counted FROM membership m"
    "  WHERE m.programme_id = $1"
    "), stored AS ("
    " INSERT INTO membership AS m (programme_id, site_id, status, adopted_on)"
    " SELECT $1, site.id, coalesce(s.status, 'active'), s.adopted"
    " FROM jsonb_to_recordset($2::jsonb) AS s(code text, adopted date, status text)"
    " JOIN site ON site.programme_id = $1 AND site.code = s.code"
    " WHERE s.adopted IS NOT NULL OR s.status IS NOT NULL"
    " ON CONFLICT (programme_id, site_id) DO UPDATE SET status = excluded.status,"
    "  adopted_on = excluded.adopted_on,"
    "  withdrawn_on = CASE WHEN excluded.status = 'withdrawn'"
    "  THEN coalesce(m.withdrawn_on, current_date) END"
    " RETURNING m.site_id, m.status <> 'planned' AS counted"
    "), flipped AS MATERIALIZED ("
    " SELECT x.site_id FROM stored x LEFT JOIN before b ON b.site_id = x.site_id"
    " WHERE x.counted IS DISTINCT FROM coalesce(b.counted, true)"
    ")"
    " INSERT INTO rollup_dirty (programme_id)"
    " SELECT $1 WHERE EXISTS (SELECT 1 FROM flipped f JOIN indicator i ON i.programme_id = $1"
    "  JOIN series se ON se.programme_id = $1 AND se.indicator_id = i.id"
    "  AND se.site_id = f.site_id)"; /* the indicators' keys: series has no index by site */

static const char SQL_UPSERT_INDICATORS[] =
    "INSERT INTO indicator (programme_id, code, name, unit, value_type, period_type, direction, "
    "aggregate, dimension, target) "
    "SELECT $1, i.code, i.name, coalesce(i.unit, ''), i.value_type, i.period_type, "
    "coalesce(i.direction, 'none'), coalesce(i.aggregate, 'sum'), i.dimension, i.target "
    "FROM jsonb_to_recordset($2::jsonb) AS i(code text, name text, unit text, value_type text, "
    "period_type text, direction text, aggregate text, dimension text, target float8) "
    "ON CONFLICT (programme_id, code) DO UPDATE SET name = excluded.name, unit = excluded.unit, "
    "value_type = excluded.value_type, period_type = excluded.period_type, "
    "direction = excluded.direction, aggregate = excluded.aggregate, "
    "dimension = excluded.dimension, target = excluded.target";

bool programme_time_zone_known(PGconn *conn, const char *time_zone, bool *known,
                               const char *request_id)
{
    const char *values[] = {time_zone};
    PGresult *res =
        db_run(conn, NULL, "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)", 1,
               values, PGRES_TUPLES_OK, request_id, "check the time zone");
    if (res == NULL)
        return false;
    *known = db_bool(res, 0, 0);
    PQclear(res);
    return true;
}

/* A member of doc as compact JSON text, "[]" when absent; the caller frees it. */
static char *dump_array(const json_t *doc, const char *key)
{
    const json_t *v = json_object_get(doc, key);
    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("[]");
}

bool programme_store(PGconn *conn, const json_t *doc, int64_t *id, bool *created,
                     const char *request_id)
{
    char *document = json_dumps(doc, JSON_COMPACT);
    char *teams = json_object_get(doc, "teams") ? dump_array(doc, "teams") : NULL;
    const char *values[] = {json_string_value(json_object_get(doc, "slug")),
                            json_string_value(json_object_get(doc, "name")),
                            json_string_value(json_object_get(doc, "time_zone")), teams, document};
    PGresult *res = db_run(conn, NULL, SQL_UPSERT_PROGRAMME, 5, values, PGRES_TUPLES_OK, request_id,
                           "store programme");
    free(document);
    free(teams);
    if (res == NULL)
        return false;
    *id = db_int64(res, 0, 0);
    *created = db_bool(res, 0, 1);
    PQclear(res);
    return true;
}

bool programme_store_sites(PGconn *conn, int64_t programme_id, const json_t *doc,
                           const char *request_id)
{
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)programme_id);
    char *sites = dump_array(doc, "sites");
    const char *values[] = {idtext, sites};
    /* The statistics are brought up to date as the sites go in (ANALYZE sees this
       transaction's rows): planned from statistics of a small table, the tree's recursive
       statement and the foreign-key checks at COMMIT scanned the sites for each site, and a
       programme of 20,000 sites applied after a 40-site one took 154 s (3.5 s with this) */
    bool ok =
        db_command(conn, NULL, SQL_UPSERT_SITES, 2, values, request_id, "store sites") &&
        db_command(conn, NULL, "ANALYZE site", 0, NULL, request_id, "analyse the sites") &&
        db_command(conn, NULL, SQL_SET_PARENTS, 2, values, request_id, "link sites") &&
        rollup_store_site_tree(conn, programme_id, request_id) &&
        db_command(conn, NULL, SQL_UPSERT_MEMBERSHIP, 2, values, request_id, "store membership") &&
        db_command(conn, NULL, "ANALYZE site_tree, membership", 0, NULL, request_id,
                   "analyse the site tree");
    free(sites);
    return ok;
}

bool programme_store_indicators(PGconn *conn, int64_t programme_id, const json_t *doc,
                                const char *request_id)
{
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)programme_id);
    char *indicators = dump_array(doc, "indicators");
    const char *values[] = {idtext, indicators};
    bool ok =
        db_command(conn, NULL, SQL_UPSERT_INDICATORS, 2, values, request_id, "store indicators");
    free(indicators);
    return ok;
}

int programme_find(PGconn *conn, const char *slug, int64_t *id)
{
    const char *values[] = {slug};
    PGresult *res =
        db_run(conn, "scaleupd_programme_id", "SELECT id FROM programme WHERE slug = $1", 1, values,
               PGRES_TUPLES_OK, NULL, "look up a programme");
    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        *id = db_int64(res, 0, 0);
    PQclear(res);
    return found;
}

static const char SQL_GET_PROGRAMME[] =
    "SELECT json_build_object("
    " 'slug', p.slug, 'name', p.name, 'time_zone', p.time_zone, 'teams', p.teams,"
    " 'created_at', p.created_at, 'updated_at', p.updated_at,"
    " 'sites', coalesce((SELECT json_agg(json_strip_nulls(json_build_object("
    "   'code', s.code, 'name', s.name, 'level', s.level, 'parent', ps.code,"
    "   'status', m.status, 'adopted', m.adopted_on, 'withdrawn', m.withdrawn_on)) ORDER BY s.id)"
    "   FROM site s LEFT JOIN site ps ON ps.programme_id = s.programme_id AND ps.id = s.parent_id"
    "   LEFT JOIN membership m ON m.programme_id = s.programme_id AND m.site_id = s.id"
    "   WHERE s.programme_id = p.id), '[]'),"
    " 'indicators', coalesce((SELECT json_agg(json_strip_nulls(json_build_object("
    "   'code', i.code, 'name', i.name, 'unit', i.unit, 'value_type', i.value_type,"
    "   'period_type', i.period_type, 'direction', i.direction, 'aggregate', i.aggregate,"
    "   'dimension', i.dimension, 'target', i.target)) ORDER BY i.id)"
    "   FROM indicator i WHERE i.programme_id = p.id), '[]'))"
    " FROM programme p WHERE p.slug = $1";

json_t *programme_get(PGconn *conn, const char *slug, bool *db_error)
{
    const char *values[] = {slug};
    PGresult *res =
        db_run(conn, NULL, SQL_GET_PROGRAMME, 1, values, PGRES_TUPLES_OK, NULL, "read a programme");
    *db_error = res == NULL;
    json_t *doc = NULL;
    if (res != NULL && PQntuples(res) == 1)
        doc = json_loads(db_text(res, 0, 0), 0, NULL);
    PQclear(res);
    return doc;
}

json_t *programme_list(PGconn *conn)
{
    PGresult *res =
        db_run(conn, NULL,
               "SELECT coalesce(json_agg(json_build_object('slug', p.slug, 'name', p.name, "
               "'time_zone', p.time_zone, 'sites', (SELECT count(*) FROM site s WHERE "
               "s.programme_id = p.id), 'indicators', (SELECT count(*) FROM indicator i WHERE "
               "i.programme_id = p.id), 'updated_at', p.updated_at) ORDER BY p.slug), '[]') "
               "FROM programme p",
               0, NULL, PGRES_TUPLES_OK, NULL, "list programmes");
    json_t *list = res ? json_loads(db_text(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    return list;
}
