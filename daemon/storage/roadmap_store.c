/* Roadmap versions over libpq (roadmap_store.h): append-only versions per programme, their
 * listing, the parsed set the progress services compute against, and the programme's
 * indicators as the roadmap validator looks them up. */
#include "scaleupd/storage/roadmap_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/progress.h"
#include "scaleupd/storage/db.h"

struct roadmap_store_indicator {
    char *code;
    struct roadmap_indicator_info info;
};

struct roadmap_store_indicators {
    size_t n;
    struct roadmap_store_indicator *items;
};

static const char SQL_INDICATORS[] =
    "SELECT code, coalesce(dimension, ''), value_type, period_type FROM indicator "
    "WHERE programme_id = $1 ORDER BY code";

static enum roadmap_dimension dimension_from_name(const char *name)
{
    if (strcmp(name, "coverage") == 0)
        return ROADMAP_DIMENSION_COVERAGE;
    if (strcmp(name, "expansion") == 0)
        return ROADMAP_DIMENSION_EXPANSION;
    if (strcmp(name, "institutionalisation") == 0)
        return ROADMAP_DIMENSION_INSTITUTIONALISATION;
    return ROADMAP_DIMENSION_NONE;
}

static enum roadmap_value_type value_type_of(const char *name)
{
    if (strcmp(name, "percentage") == 0)
        return ROADMAP_VALUE_PERCENTAGE;
    if (strcmp(name, "ratio") == 0)
        return ROADMAP_VALUE_RATIO;
    if (strcmp(name, "score") == 0)
        return ROADMAP_VALUE_SCORE;
    return ROADMAP_VALUE_COUNT;
}

struct roadmap_store_indicators *roadmap_store_indicators_load(PGconn *conn, int64_t programme_id,
                                                               const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {pid};
    PGresult *res = db_run(conn, NULL, SQL_INDICATORS, 1, values, PGRES_TUPLES_OK, request_id,
                           "read indicators");
    if (res == NULL)
        return NULL;
    struct roadmap_store_indicators *set = xcalloc(1, sizeof(*set));
    int n = PQntuples(res);
    set->items = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*set->items));
    for (int r = 0; r < n; r++) {
        struct roadmap_store_indicator *ind = &set->items[set->n++];
        ind->code = xstrdup(db_text(res, r, 0));
        ind->info.dimension = dimension_from_name(db_text(res, r, 1));
        ind->info.value_type = value_type_of(db_text(res, r, 2));
        if (!period_type_from_name(db_text(res, r, 3), &ind->info.period_type))
            ind->info.period_type = PERIOD_MONTHLY;
    }
    PQclear(res);
    return set;
}

void roadmap_store_indicators_free(struct roadmap_store_indicators **set)
{
    if (set == NULL || *set == NULL)
        return;
    for (size_t i = 0; i < (*set)->n; i++)
        free((*set)->items[i].code);
    free((*set)->items);
    free(*set);
    *set = NULL;
}

static const struct roadmap_store_indicator *
find_indicator(const struct roadmap_store_indicators *set, const char *code)
{
    for (size_t i = 0; set != NULL && i < set->n; i++)
        if (strcmp(set->items[i].code, code) == 0)
            return &set->items[i];
    return NULL;
}

static bool lookup_find(void *ctx, const char *code, struct roadmap_indicator_info *out)
{
    const struct roadmap_store_indicator *ind = find_indicator(ctx, code);
    if (ind == NULL)
        return false;
    *out = ind->info;
    return true;
}

struct roadmap_indicator_lookup
roadmap_store_indicators_lookup(const struct roadmap_store_indicators *set)
{
    struct roadmap_indicator_lookup lookup = {(void *)set, lookup_find};
    return lookup;
}

bool roadmap_store_indicator_period_type(const struct roadmap_store_indicators *set,
                                         const char *code, enum period_type *out)
{
    const struct roadmap_store_indicator *ind = code ? find_indicator(set, code) : NULL;
    if (ind == NULL)
        return false;
    *out = ind->info.period_type;
    return true;
}

static const char SQL_STORE[] =
    "WITH locked AS (SELECT id FROM programme WHERE id = $1 FOR UPDATE) "
    "INSERT INTO roadmap_version (programme_id, version, label, document, created_at, token_id) "
    "SELECT $1, coalesce((SELECT max(version) FROM roadmap_version WHERE programme_id = $1), 0)"
    " + 1, $2, $3::jsonb, to_timestamp($4::float8), $5 FROM locked RETURNING version";

bool roadmap_store_add(PGconn *conn, int64_t programme_id, const char *document, const char *label,
                       int64_t token_id, double created_at, int *version, const char *request_id)
{
    char pid[24], when[40], tid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(when, sizeof(when), "%.6f", created_at);
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *values[] = {pid, label, document, when, token_id > 0 ? tid : NULL};
    PGresult *res = db_run(conn, NULL, SQL_STORE, 5, values, PGRES_TUPLES_OK, request_id,
                           "store a roadmap version");
    bool ok = res != NULL && PQntuples(res) == 1;
    if (ok)
        *version = (int)db_int64(res, 0, 0);
    PQclear(res);
    return ok;
}

static const char SQL_VERSIONS[] =
    "SELECT version, label, to_char(created_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), token_id,"
    " (created_at AT TIME ZONE 'UTC')::date - date '1970-01-01', document::text "
    "FROM roadmap_version WHERE programme_id = $1 ORDER BY version";

static PGresult *query_versions(PGconn *conn, int64_t programme_id, const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {pid};
    return db_run(conn, NULL, SQL_VERSIONS, 1, values, PGRES_TUPLES_OK, request_id,
                  "read roadmap versions");
}

static json_t *version_json(const PGresult *res, int r, bool in_force)
{
    json_t *v =
        json_pack("{s:I,s:s?,s:s,s:b}", "version", (json_int_t)db_int64(res, r, 0), "label",
                  db_text(res, r, 1), "created_at", db_text(res, r, 2), "in_force", in_force);
    int64_t token_id;
    json_object_set_new(v, "token_id",
                        db_int64_opt(res, r, 3, &token_id) ? json_integer((json_int_t)token_id)
                                                           : json_null());
    return v;
}

enum roadmap_store_result roadmap_store_get(PGconn *conn, int64_t programme_id, int version,
                                            int32_t today, json_t **out, const char *request_id)
{
    PGresult *res = query_versions(conn, programme_id, request_id);
    if (res == NULL)
        return ROADMAP_STORE_DB_ERROR;
    int n = PQntuples(res);
    int32_t *days = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*days));
    size_t in_force = 0;
    enum roadmap_store_result result = ROADMAP_STORE_NONE;
    for (int r = 0; r < n; r++)
        days[r] = (int32_t)db_int64(res, r, 4);
    if (!progress_version_in_force(days, (size_t)n, today, &in_force))
        goto out;
    int wanted = version == 0 ? (int)in_force : version - 1;
    if (wanted < 0 || wanted >= n)
        goto out;
    json_t *list = json_array();
    for (int r = 0; r < n; r++)
        json_array_append_new(list, version_json(res, r, (size_t)r == in_force));
    json_t *doc = version_json(res, wanted, (size_t)wanted == in_force);
    json_object_set_new(doc, "roadmap", json_loads(db_text(res, wanted, 5), 0, NULL));
    json_object_set_new(doc, "versions", list);
    *out = doc;
    result = ROADMAP_STORE_OK;
out:
    free(days);
    PQclear(res);
    return result;
}

static bool load_version(const PGresult *res, int r, struct roadmap_version *v)
{
    const char *doc = db_text(res, r, 5);
    struct roadmap_errors *errs = xmalloc(sizeof(*errs));
    enum roadmap_status st = roadmap_parse(doc, strlen(doc), NULL, &v->plan, errs);
    free(errs);
    v->version = (int)db_int64(res, r, 0);
    v->created_day = (int32_t)db_int64(res, r, 4);
    v->label = db_is_null(res, r, 1) ? NULL : xstrdup(db_text(res, r, 1));
    return st == ROADMAP_OK;
}

bool roadmap_store_load(PGconn *conn, int64_t programme_id, struct roadmap_versions *out,
                        const char *request_id)
{
    memset(out, 0, sizeof(*out));
    PGresult *res = query_versions(conn, programme_id, request_id);
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    out->versions = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*out->versions));
    out->created_days = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*out->created_days));
    bool ok = true;
    for (int r = 0; ok && r < n; r++) {
        out->n++;
        ok = load_version(res, r, &out->versions[r]);
        out->created_days[r] = out->versions[r].created_day;
    }
    PQclear(res);
    return ok;
}

bool roadmap_store_programmes(PGconn *conn, int64_t **ids, size_t *n)
{
    PGresult *res =
        db_run(conn, NULL, "SELECT DISTINCT programme_id FROM roadmap_version ORDER BY 1", 0, NULL,
               PGRES_TUPLES_OK, NULL, "list programmes with a roadmap");
    if (res == NULL)
        return false;
    *n = (size_t)PQntuples(res);
    *ids = xcalloc(*n ? *n : 1, sizeof(**ids));
    for (size_t r = 0; r < *n; r++)
        (*ids)[r] = db_int64(res, (int)r, 0);
    PQclear(res);
    return true;
}
