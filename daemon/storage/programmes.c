/* Programme documents: validation with JSON paths, a set-based upsert through
 * jsonb_to_recordset, and the read side. */
#include "scaleupd/storage/programmes.h"

#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/storage/db.h"
#include "scaleupd/core/period.h"

static void problem(json_t *problems, const char *path, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(json_t *problems, const char *path, const char *code, const char *fmt, ...)
{
    char message[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    json_array_append_new(
        problems, json_pack("{s:s,s:s,s:s}", "path", path, "code", code, "message", message));
}

static bool one_of(const char *value, const char *const *options)
{
    for (; *options; options++)
        if (strcmp(value, *options) == 0)
            return true;
    return false;
}

/* A required string member; reports and returns NULL when missing or not a non-empty string. */
static const char *need_string(json_t *problems, const json_t *obj, const char *base,
                               const char *key)
{
    char path[128];
    snprintf(path, sizeof(path), "%s.%s", base, key);
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        problem(problems, path, "missing_field", "%s is required", key);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        problem(problems, path, "invalid_type", "%s must be a non-empty string", key);
        return NULL;
    }
    return json_string_value(v);
}

/* An optional string member restricted to options. */
static void check_enum(json_t *problems, const json_t *obj, const char *base, const char *key,
                       const char *const *options, bool required)
{
    char path[128];
    snprintf(path, sizeof(path), "%s.%s", base, key);
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            problem(problems, path, "missing_field", "%s is required", key);
        return;
    }
    if (!json_is_string(v) || !one_of(json_string_value(v), options))
        problem(problems, path, "invalid_value", "%s is not one of the allowed values", key);
}

static bool valid_code(const char *code)
{
    size_t len = strlen(code);
    if (len == 0 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)code[i];
        if (c <= ' ' || c == ',' || c == '"' || c >= 0x7f)
            return false;
    }
    return true;
}

/* The site of sites whose code is code, or NULL. */
static const json_t *site_by_code(const json_t *sites, const char *code)
{
    size_t i;
    const json_t *site;
    json_array_foreach(sites, i, site)
    {
        const char *c = json_string_value(json_object_get(site, "code"));
        if (c != NULL && strcmp(c, code) == 0)
            return site;
    }
    return NULL;
}

/* True when walking up from start's parent comes back to start (a walk longer than the
 * number of sites must have gone round a cycle). */
static bool parent_cycle(const json_t *sites, const json_t *start)
{
    const json_t *at = start;
    for (size_t steps = 0; steps <= json_array_size(sites); steps++) {
        const char *parent = json_string_value(json_object_get(at, "parent"));
        if (parent == NULL || (at = site_by_code(sites, parent)) == NULL)
            return false;
        if (at == start)
            return true;
    }
    return false; /* a cycle above start, reported at the sites on it */
}

static void validate_sites(json_t *problems, const json_t *sites)
{
    static const char *const statuses[] = {"planned", "active", "withdrawn", NULL};
    json_t *seen = json_object();
    size_t i;
    const json_t *site;
    json_array_foreach(sites, i, site)
    {
        char base[64];
        snprintf(base, sizeof(base), "$.sites[%zu]", i);
        if (!json_is_object(site)) {
            problem(problems, base, "invalid_type", "a site must be an object");
            continue;
        }
        const char *code = need_string(problems, site, base, "code");
        need_string(problems, site, base, "name");
        need_string(problems, site, base, "level");
        check_enum(problems, site, base, "status", statuses, false);
        if (code != NULL && !valid_code(code))
            problem(problems, base, "invalid_code",
                    "site code \"%s\" must be 1-63 printable characters without spaces or commas",
                    code);
        else if (code != NULL && json_object_get(seen, code) != NULL)
            problem(problems, base, "duplicate_code", "site code \"%s\" appears twice", code);
        else if (code != NULL)
            json_object_set_new(seen, code, json_true());
        const json_t *adopted = json_object_get(site, "adopted");
        int32_t day;
        if (adopted != NULL &&
            (!json_is_string(adopted) ||
             !date_parse(json_string_value(adopted), json_string_length(adopted), &day))) {
            char path[96];
            snprintf(path, sizeof(path), "%s.adopted", base);
            problem(problems, path, "invalid_date", "adopted must be a date (YYYY-MM-DD)");
        }
    }
    json_array_foreach(sites, i, site)
    {
        const json_t *parent = json_object_get(site, "parent");
        if (parent == NULL)
            continue;
        char path[96];
        snprintf(path, sizeof(path), "$.sites[%zu].parent", i);
        if (!json_is_string(parent) || json_object_get(seen, json_string_value(parent)) == NULL)
            problem(problems, path, "unknown_site", "parent is not a site of this document");
        else if (json_equal(parent, json_object_get(site, "code")))
            problem(problems, path, "invalid_value", "a site cannot be its own parent");
        else if (parent_cycle(sites, site))
            problem(problems, path, "parent_cycle",
                    "the parents of this site lead back to it: the hierarchy must be a tree");
    }
    json_decref(seen);
}

static void validate_indicators(json_t *problems, const json_t *indicators)
{
    static const char *const value_types[] = {"count", "percentage", "ratio", "score", NULL};
    static const char *const period_types[] = {"weekly", "monthly", "quarterly", "yearly", NULL};
    static const char *const directions[] = {"up", "down", "none", NULL};
    static const char *const aggregates[] = {"sum", "mean", "weighted", "last", NULL};
    static const char *const dimensions[] = {"coverage", "expansion", "institutionalisation", NULL};
    json_t *seen = json_object();
    size_t i;
    const json_t *ind;
    json_array_foreach(indicators, i, ind)
    {
        char base[64];
        snprintf(base, sizeof(base), "$.indicators[%zu]", i);
        if (!json_is_object(ind)) {
            problem(problems, base, "invalid_type", "an indicator must be an object");
            continue;
        }
        const char *code = need_string(problems, ind, base, "code");
        need_string(problems, ind, base, "name");
        check_enum(problems, ind, base, "value_type", value_types, true);
        check_enum(problems, ind, base, "period_type", period_types, true);
        check_enum(problems, ind, base, "direction", directions, false);
        check_enum(problems, ind, base, "aggregate", aggregates, false);
        check_enum(problems, ind, base, "dimension", dimensions, false);
        const json_t *target = json_object_get(ind, "target");
        if (target != NULL && !json_is_number(target)) {
            char path[96];
            snprintf(path, sizeof(path), "%s.target", base);
            problem(problems, path, "invalid_type", "target must be a number");
        }
        if (code != NULL && !valid_code(code))
            problem(problems, base, "invalid_code",
                    "indicator code \"%s\" must be 1-63 printable characters without spaces or "
                    "commas",
                    code);
        else if (code != NULL && json_object_get(seen, code) != NULL)
            problem(problems, base, "duplicate_code", "indicator code \"%s\" appears twice", code);
        else if (code != NULL)
            json_object_set_new(seen, code, json_true());
    }
    json_decref(seen);
}

json_t *programme_validate(const json_t *doc)
{
    json_t *problems = json_array();
    if (!json_is_object(doc)) {
        problem(problems, "$", "invalid_type", "a programme must be a JSON object");
        return problems;
    }
    const char *slug = need_string(problems, doc, "$", "slug");
    if (slug != NULL) {
        regex_t re;
        if (regcomp(&re, "^[a-z0-9][a-z0-9-]{0,62}$", REG_EXTENDED | REG_NOSUB) == 0) {
            if (regexec(&re, slug, 0, NULL, 0) != 0)
                problem(problems, "$.slug", "invalid_slug",
                        "slug must be lower-case letters, digits and dashes (at most 63)");
            regfree(&re);
        }
    }
    need_string(problems, doc, "$", "name");
    const json_t *tz = json_object_get(doc, "time_zone");
    if (tz != NULL && !json_is_string(tz))
        problem(problems, "$.time_zone", "invalid_type", "time_zone must be a string");
    const json_t *teams = json_object_get(doc, "teams");
    if (teams != NULL && !json_is_array(teams))
        problem(problems, "$.teams", "invalid_type", "teams must be an array");
    const json_t *sites = json_object_get(doc, "sites");
    const json_t *indicators = json_object_get(doc, "indicators");
    if (sites != NULL && !json_is_array(sites))
        problem(problems, "$.sites", "invalid_type", "sites must be an array");
    else if (sites != NULL)
        validate_sites(problems, sites);
    if (indicators != NULL && !json_is_array(indicators))
        problem(problems, "$.indicators", "invalid_type", "indicators must be an array");
    else if (indicators != NULL)
        validate_indicators(problems, indicators);
    return problems;
}

static bool run(PGconn *conn, const char *sql, int n, const char *const *values,
                ExecStatusType expected, const char *request_id, const char *what, PGresult **out)
{
    PGresult *res = db_query(conn, sql, n, values);
    bool ok = db_ok(res, expected, request_id, what);
    if (ok && out != NULL)
        *out = res;
    else
        PQclear(res);
    return ok;
}

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

static const char SQL_UPSERT_MEMBERSHIP[] =
    "INSERT INTO membership (programme_id, site_id, status, adopted_on) "
    "SELECT $1, site.id, coalesce(s.status, 'active'), s.adopted "
    "FROM jsonb_to_recordset($2::jsonb) AS s(code text, adopted date, status text) "
    "JOIN site ON site.programme_id = $1 AND site.code = s.code "
    "WHERE s.adopted IS NOT NULL OR s.status IS NOT NULL "
    "ON CONFLICT (programme_id, site_id) DO UPDATE SET status = excluded.status, "
    "adopted_on = excluded.adopted_on, "
    "withdrawn_on = CASE WHEN excluded.status = 'withdrawn' "
    "THEN coalesce(membership.withdrawn_on, current_date) END";

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

static bool time_zone_known(PGconn *conn, const char *tz, bool *known, const char *request_id)
{
    const char *values[] = {tz};
    PGresult *res;
    if (!run(conn, "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)", 1, values,
             PGRES_TUPLES_OK, request_id, "check the time zone", &res))
        return false;
    *known = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return true;
}

/* A member of doc as compact JSON text, "[]" when absent; never NULL (aborts on OOM). */
static char *dump_array(const json_t *doc, const char *key)
{
    const json_t *v = json_object_get(doc, key);
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("[]");
    if (text == NULL)
        abort();
    return text;
}

enum programme_result programme_apply(PGconn *conn, const json_t *doc, int64_t *id,
                                      json_t **problems, const char *request_id)
{
    const char *tz = json_string_value(json_object_get(doc, "time_zone"));
    bool known = true;
    if (tz != NULL && !time_zone_known(conn, tz, &known, request_id))
        return PROGRAMME_DB_ERROR;
    if (!known) {
        *problems = json_array();
        problem(*problems, "$.time_zone", "unknown_time_zone", "\"%s\" is not a known time zone",
                tz);
        return PROGRAMME_INVALID;
    }
    enum programme_result result = PROGRAMME_DB_ERROR;
    char *document = json_dumps(doc, JSON_COMPACT);
    char *sites = dump_array(doc, "sites");
    char *indicators = dump_array(doc, "indicators");
    char *teams = json_object_get(doc, "teams") ? dump_array(doc, "teams") : NULL;
    char idtext[24];
    PGresult *res = NULL;
    if (!run(conn, "BEGIN", 0, NULL, PGRES_COMMAND_OK, request_id, "begin", NULL))
        goto out;
    const char *pv[] = {json_string_value(json_object_get(doc, "slug")),
                        json_string_value(json_object_get(doc, "name")), tz, teams, document};
    if (!run(conn, SQL_UPSERT_PROGRAMME, 5, pv, PGRES_TUPLES_OK, request_id, "store programme",
             &res))
        goto rollback;
    *id = db_int64(res, 0, 0);
    bool created = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    snprintf(idtext, sizeof(idtext), "%lld", (long long)*id);
    const char *sv[] = {idtext, sites};
    const char *iv[] = {idtext, indicators};
    if (!run(conn, SQL_UPSERT_SITES, 2, sv, PGRES_COMMAND_OK, request_id, "store sites", NULL) ||
        !run(conn, SQL_SET_PARENTS, 2, sv, PGRES_COMMAND_OK, request_id, "link sites", NULL) ||
        !run(conn, SQL_UPSERT_MEMBERSHIP, 2, sv, PGRES_COMMAND_OK, request_id, "store membership",
             NULL) ||
        !run(conn, SQL_UPSERT_INDICATORS, 2, iv, PGRES_COMMAND_OK, request_id, "store indicators",
             NULL) ||
        !run(conn, "COMMIT", 0, NULL, PGRES_COMMAND_OK, request_id, "commit", NULL))
        goto rollback;
    result = created ? PROGRAMME_CREATED : PROGRAMME_UPDATED;
    goto out;
rollback:
    PQclear(PQexec(conn, "ROLLBACK"));
out:
    free(document);
    free(sites);
    free(indicators);
    free(teams);
    return result;
}

int programme_find(PGconn *conn, const char *slug, int64_t *id)
{
    const char *values[] = {slug};
    PGresult *res = db_query_prepared(conn, "scaleupd_programme_id",
                                      "SELECT id FROM programme WHERE slug = $1", 1, values);
    int found = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        found = PQntuples(res) == 1;
        if (found)
            *id = db_int64(res, 0, 0);
    }
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
    PGresult *res = db_query(conn, SQL_GET_PROGRAMME, 1, values);
    *db_error = PQresultStatus(res) != PGRES_TUPLES_OK;
    json_t *doc = NULL;
    if (!*db_error && PQntuples(res) == 1)
        doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return doc;
}

json_t *programme_list(PGconn *conn)
{
    PGresult *res = PQexec(
        conn, "SELECT coalesce(json_agg(json_build_object('slug', p.slug, 'name', p.name, "
              "'time_zone', p.time_zone, 'sites', (SELECT count(*) FROM site s WHERE "
              "s.programme_id = p.id), 'indicators', (SELECT count(*) FROM indicator i WHERE "
              "i.programme_id = p.id), 'updated_at', p.updated_at) ORDER BY p.slug), '[]') "
              "FROM programme p");
    json_t *list = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        list = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return list;
}
