/* Roadmap versions over libpq: append-only versions per programme, their listing, and the
 * parsed set the progress service computes against. */
#include "scaleupd/storage/roadmap_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/storage/db.h"
#include "scaleupd/core/progress.h"

struct roadmaps_indicator {
    char *code;
    struct roadmap_indicator_info info;
};

struct roadmaps_indicators {
    size_t n;
    struct roadmaps_indicator *items;
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

struct roadmaps_indicators *roadmaps_indicators_load(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {pid};
    PGresult *res = db_query(conn, SQL_INDICATORS, 1, values);
    struct roadmaps_indicators *set = NULL;
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "read indicators"))
        goto out;
    set = calloc(1, sizeof(*set));
    int n = PQntuples(res);
    if (set == NULL || (n > 0 && (set->items = calloc((size_t)n, sizeof(*set->items))) == NULL))
        goto fail;
    for (int r = 0; r < n; r++) {
        struct roadmaps_indicator *ind = &set->items[set->n];
        ind->code = strdup(PQgetvalue(res, r, 0));
        if (ind->code == NULL)
            goto fail;
        set->n++;
        ind->info.dimension = dimension_from_name(PQgetvalue(res, r, 1));
        ind->info.value_type = value_type_of(PQgetvalue(res, r, 2));
        if (!period_type_from_name(PQgetvalue(res, r, 3), &ind->info.period_type))
            ind->info.period_type = PERIOD_MONTHLY;
    }
    goto out;
fail:
    roadmaps_indicators_free(&set);
out:
    PQclear(res);
    return set;
}

void roadmaps_indicators_free(struct roadmaps_indicators **set)
{
    if (set == NULL || *set == NULL)
        return;
    for (size_t i = 0; i < (*set)->n; i++)
        free((*set)->items[i].code);
    free((*set)->items);
    free(*set);
    *set = NULL;
}

static const struct roadmaps_indicator *find_indicator(const struct roadmaps_indicators *set,
                                                       const char *code)
{
    for (size_t i = 0; set != NULL && i < set->n; i++)
        if (strcmp(set->items[i].code, code) == 0)
            return &set->items[i];
    return NULL;
}

static bool lookup_find(void *ctx, const char *code, struct roadmap_indicator_info *out)
{
    const struct roadmaps_indicator *ind = find_indicator(ctx, code);
    if (ind == NULL)
        return false;
    *out = ind->info;
    return true;
}

struct roadmap_indicator_lookup roadmaps_indicators_lookup(const struct roadmaps_indicators *set)
{
    struct roadmap_indicator_lookup lookup = {(void *)set, lookup_find};
    return lookup;
}

bool roadmaps_indicator_period_type(const struct roadmaps_indicators *set, const char *code,
                                    enum period_type *out)
{
    const struct roadmaps_indicator *ind = code ? find_indicator(set, code) : NULL;
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

bool roadmaps_store(PGconn *conn, int64_t programme_id, const char *document, const char *label,
                    int64_t token_id, double created_at, int *version, const char *request_id)
{
    char pid[24], when[40], tid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(when, sizeof(when), "%.6f", created_at);
    snprintf(tid, sizeof(tid), "%lld", (long long)token_id);
    const char *values[] = {pid, label, document, when, token_id > 0 ? tid : NULL};
    PGresult *res = db_query(conn, SQL_STORE, 5, values);
    bool ok =
        db_ok(res, PGRES_TUPLES_OK, request_id, "store a roadmap version") && PQntuples(res) == 1;
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

static PGresult *query_versions(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {pid};
    PGresult *res = db_query(conn, SQL_VERSIONS, 1, values);
    if (!db_ok(res, PGRES_TUPLES_OK, NULL, "read roadmap versions")) {
        PQclear(res);
        return NULL;
    }
    return res;
}

static json_t *version_json(const PGresult *res, int r, bool in_force)
{
    json_t *v =
        json_pack("{s:I,s:s?,s:s,s:b}", "version", (json_int_t)db_int64(res, r, 0), "label",
                  db_text(res, r, 1), "created_at", db_text(res, r, 2), "in_force", in_force);
    json_object_set_new(v, "token_id",
                        PQgetisnull(res, r, 3) ? json_null()
                                               : json_integer((json_int_t)db_int64(res, r, 3)));
    return v;
}

enum roadmaps_result roadmaps_get(PGconn *conn, int64_t programme_id, int version, int32_t today,
                                  json_t **out)
{
    PGresult *res = query_versions(conn, programme_id);
    if (res == NULL)
        return ROADMAPS_DB_ERROR;
    int n = PQntuples(res);
    int32_t *days = calloc(n > 0 ? (size_t)n : 1, sizeof(*days));
    size_t in_force = 0;
    enum roadmaps_result result = ROADMAPS_NONE;
    if (days == NULL) {
        result = ROADMAPS_DB_ERROR;
        goto out;
    }
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
    json_object_set_new(doc, "roadmap", json_loads(PQgetvalue(res, wanted, 5), 0, NULL));
    json_object_set_new(doc, "versions", list);
    *out = doc;
    result = ROADMAPS_OK;
out:
    free(days);
    PQclear(res);
    return result;
}

static bool load_version(const PGresult *res, int r, struct roadmaps_version *v)
{
    const char *doc = PQgetvalue(res, r, 5);
    struct roadmap_errors *errs = malloc(sizeof(*errs));
    if (errs == NULL)
        return false;
    enum roadmap_status st = roadmap_parse(doc, strlen(doc), NULL, &v->plan, errs);
    free(errs);
    v->version = (int)db_int64(res, r, 0);
    v->created_day = (int32_t)db_int64(res, r, 4);
    v->label = PQgetisnull(res, r, 1) ? NULL : strdup(PQgetvalue(res, r, 1));
    return st == ROADMAP_OK;
}

bool roadmaps_load(PGconn *conn, int64_t programme_id, struct roadmaps_set *out)
{
    memset(out, 0, sizeof(*out));
    PGresult *res = query_versions(conn, programme_id);
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    bool ok = true;
    if (n > 0) {
        out->versions = calloc((size_t)n, sizeof(*out->versions));
        out->created_days = calloc((size_t)n, sizeof(*out->created_days));
        ok = out->versions != NULL && out->created_days != NULL;
    }
    for (int r = 0; ok && r < n; r++) {
        out->n++;
        ok = load_version(res, r, &out->versions[r]);
        out->created_days[r] = out->versions[r].created_day;
    }
    PQclear(res);
    return ok;
}

void roadmaps_set_release(struct roadmaps_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->versions[i].label);
        roadmap_free(&set->versions[i].plan);
    }
    free(set->versions);
    free(set->created_days);
    memset(set, 0, sizeof(*set));
}

const struct roadmaps_version *roadmaps_in_force(const struct roadmaps_set *set, int32_t date)
{
    size_t index;
    if (!progress_version_in_force(set->created_days, set->n, date, &index))
        return NULL;
    return &set->versions[index];
}
