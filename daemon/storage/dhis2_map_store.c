/* The DHIS2 identifiers of a programme (dhis2_map_store.h): two tables rewritten from the
 * programme document, and the per-batch read of the data elements and of the batch's own
 * organisation units. */
#include "scaleupd/storage/dhis2_map_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/storage/db.h"

static const char SQL_CLEAR[] = "WITH d AS (DELETE FROM dhis2_data_element WHERE programme_id = $1)"
                                " DELETE FROM dhis2_org_unit WHERE programme_id = $1";

/* The default combination is stored as '': DHIS2 writes it as its UID, as "default" or not
 * at all. */
static const char SQL_DATA_ELEMENTS[] =
    "INSERT INTO dhis2_data_element (programme_id, data_element, category_option_combo, "
    "indicator_id) SELECT $1, x.dhis2->>'dataElement', CASE WHEN coalesce(x.dhis2->>"
    "'categoryOptionCombo', '') IN ('', 'HllvX50cXC0', 'default') THEN '' ELSE "
    "x.dhis2->>'categoryOptionCombo' END, i.id FROM jsonb_to_recordset($2::jsonb) AS "
    "x(code text, dhis2 jsonb) JOIN indicator i ON i.programme_id = $1 AND i.code = x.code "
    "WHERE jsonb_typeof(x.dhis2) = 'object' AND x.dhis2 ? 'dataElement'";

/* An indicator's categoryOptions (ADX's categories) as one more combination of its data
 * element: the key dhis2_categories_key builds, by category code in byte order. */
static const char SQL_CATEGORIES[] =
    "INSERT INTO dhis2_data_element (programme_id, data_element, category_option_combo, "
    "indicator_id) SELECT $1, x.dhis2->>'dataElement', (SELECT '{' || string_agg(c.key || '=' "
    "|| c.value, ',' ORDER BY c.key COLLATE \"C\") || '}' FROM jsonb_each_text("
    "x.dhis2->'categoryOptions') c), i.id FROM jsonb_to_recordset($2::jsonb) AS "
    "x(code text, dhis2 jsonb) JOIN indicator i ON i.programme_id = $1 AND i.code = x.code "
    "WHERE jsonb_typeof(x.dhis2) = 'object' AND x.dhis2 ? 'dataElement' "
    "AND jsonb_typeof(x.dhis2->'categoryOptions') = 'object'";

static const char SQL_ORG_UNITS[] =
    "INSERT INTO dhis2_org_unit (programme_id, org_unit, site_id) SELECT $1, "
    "x.dhis2->>'orgUnit', s.id FROM jsonb_to_recordset($2::jsonb) AS x(code text, dhis2 jsonb) "
    "JOIN site s ON s.programme_id = $1 AND s.code = x.code "
    "WHERE jsonb_typeof(x.dhis2) = 'object' AND x.dhis2 ? 'orgUnit'";

/* The data sets: the ones no longer declared go (with their registrations), the others are
 * kept (their registrations too) with their code as declared now. */
static const char SQL_DATA_SETS[] =
    "WITH x AS (SELECT d.id, d.code FROM jsonb_to_recordset($2::jsonb) AS d(id text, code text)),"
    " gone AS (DELETE FROM dhis2_data_set WHERE programme_id = $1 AND uid NOT IN"
    " (SELECT id FROM x))"
    " INSERT INTO dhis2_data_set (programme_id, uid, code) SELECT $1, id, code FROM x"
    " ON CONFLICT (programme_id, uid) DO UPDATE SET code = excluded.code";

static const char SQL_CLEAR_CODES[] =
    "UPDATE dhis2_data_set SET code = NULL WHERE programme_id = $1";

static char *data_sets_of(const json_t *doc)
{
    const json_t *list = json_object_get(json_object_get(doc, "dhis2"), "dataSets");
    return json_is_array(list) ? json_dumps(list, JSON_COMPACT) : xstrdup("[]");
}

static char *dump_member(const json_t *doc, const char *name)
{
    const json_t *list = json_object_get(doc, name);
    return json_is_array(list) ? json_dumps(list, JSON_COMPACT) : xstrdup("[]");
}

bool dhis2_map_store(PGconn *conn, int64_t programme_id, const json_t *doc, const char *request_id)
{
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)programme_id);
    char *indicators = dump_member(doc, "indicators");
    char *sites = dump_member(doc, "sites");
    const char *clear[] = {idtext};
    const char *de[] = {idtext, indicators};
    const char *ou[] = {idtext, sites};
    char *data_sets = data_sets_of(doc);
    const char *ds[] = {idtext, data_sets};
    /* codes are cleared first, so that two data sets may swap theirs */
    bool ok =
        db_command(conn, NULL, SQL_CLEAR_CODES, 1, clear, request_id,
                   "clear dhis2 data set codes") &&
        db_command(conn, NULL, SQL_DATA_SETS, 2, ds, request_id, "store dhis2 data sets") &&
        db_command(conn, NULL, SQL_CLEAR, 1, clear, request_id, "clear dhis2 identifiers") &&
        db_command(conn, NULL, SQL_DATA_ELEMENTS, 2, de, request_id, "store dhis2 data elements") &&
        db_command(conn, NULL, SQL_CATEGORIES, 2, de, request_id, "store dhis2 categories") &&
        db_command(conn, NULL, SQL_ORG_UNITS, 2, ou, request_id, "store dhis2 org units");
    free(indicators);
    free(sites);
    free(data_sets);
    return ok;
}

static const char SQL_LOAD[] =
    "SELECT 'd', m.data_element, m.category_option_combo, i.code FROM dhis2_data_element m "
    "JOIN indicator i ON i.programme_id = m.programme_id AND i.id = m.indicator_id "
    "WHERE m.programme_id = $1 UNION ALL SELECT 'o', m.org_unit, '', s.code FROM dhis2_org_unit m "
    "JOIN site s ON s.programme_id = m.programme_id AND s.id = m.site_id WHERE m.programme_id = $1 "
    "AND m.org_unit IN (SELECT jsonb_array_elements_text($2::jsonb))";

/* The batch's organisation units as a JSON array (a run of one unit sent once). */
static char *batch_org_units(const struct obs_batch *batch)
{
    json_t *units = json_array();
    const char *last = "";
    for (size_t i = 0; i < batch->n_rows; i++) {
        const char *site = batch->rows[i].site;
        if (site[0] != '\0' && strcmp(site, last) != 0) {
            json_t *s = json_string(site);
            if (s != NULL) /* the parser keeps only UTF-8 codes */
                json_array_append_new(units, s);
        }
        last = site;
    }
    char *text = json_dumps(units, JSON_COMPACT);
    json_decref(units);
    return text;
}

bool dhis2_map_load(PGconn *conn, int64_t programme_id, const struct obs_batch *batch,
                    struct dhis2_map **out, const char *request_id)
{
    *out = NULL;
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)programme_id);
    char *units = batch_org_units(batch);
    const char *values[] = {idtext, units};
    PGresult *res = db_run(conn, "scaleupd_dhis2_map", SQL_LOAD, 2, values, PGRES_TUPLES_OK,
                           request_id, "load dhis2 identifiers");
    free(units);
    if (res == NULL)
        return false;
    struct dhis2_map *map = dhis2_map_new();
    for (int r = 0; r < PQntuples(res); r++) {
        const char *uid = PQgetvalue(res, r, 1), *code = PQgetvalue(res, r, 3);
        if (PQgetvalue(res, r, 0)[0] == 'd')
            dhis2_map_add_data_element(map, uid, PQgetvalue(res, r, 2), code);
        else
            dhis2_map_add_org_unit(map, uid, code);
    }
    PQclear(res);
    *out = map;
    return true;
}
