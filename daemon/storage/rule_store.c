/* Alert rules (rule_store.h): storing a parsed rule by name, listing, deleting (a default
 * rule stays as a disabled tombstone) and each programme's default set. SQL only: the rule
 * document was checked by core/rules.c. */
#include "scaleupd/storage/rule_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/clock.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/problems.h"
#include "scaleupd/storage/db.h"

static const char rule_put_sql[] =
    "WITH scope AS (SELECT (SELECT id FROM indicator WHERE programme_id = $1 AND code = $4)"
    " AS indicator_id, (SELECT id FROM site WHERE programme_id = $1 AND code = $5) AS site_id)"
    ", up AS (INSERT INTO alert_rule AS r (programme_id, name, kind, indicator_id, site_id,"
    " dimension, for_count, resolve_count, receivers, document)"
    " SELECT $1, $2, $3, indicator_id, site_id, nullif($6, ''), $7::int, $8::int,"
    " CASE WHEN $9::text IS NULL THEN NULL ELSE $9::text[] END, $10::jsonb FROM scope"
    " WHERE ($4 = '' OR indicator_id IS NOT NULL) AND ($5 = '' OR site_id IS NOT NULL)"
    " ON CONFLICT (programme_id, name) DO UPDATE SET kind = excluded.kind,"
    " indicator_id = excluded.indicator_id, site_id = excluded.site_id,"
    " dimension = excluded.dimension, for_count = excluded.for_count,"
    " resolve_count = excluded.resolve_count, receivers = excluded.receivers,"
    " document = excluded.document, is_default = false, enabled = true, updated_at = now()"
    " RETURNING (xmax = 0) AS created)"
    ", old AS (SELECT enabled, kind FROM alert_rule WHERE programme_id = $1 AND name = $2)"
    " SELECT (SELECT indicator_id IS NOT NULL FROM scope), (SELECT site_id IS NOT NULL FROM scope),"
    " (SELECT created OR NOT coalesce((SELECT enabled FROM old), true) FROM up),"
    " (SELECT kind FROM old) IS DISTINCT FROM $3";

/* The incidents of the alerts in `gone` (id, incident_id: alerts deleted by the statement)
 * resolved at $N when no open member is left: a deleted alert never resolves its incident
 * itself. */
#define INCIDENTS_LEFT_SQL(now)                                                                    \
    ", left_open AS (UPDATE incident n SET resolved_at = to_timestamp(" now ")"                    \
    " WHERE n.id IN (SELECT incident_id FROM gone) AND n.resolved_at IS NULL"                      \
    " AND NOT EXISTS (SELECT 1 FROM alert x WHERE x.incident_id = n.id"                            \
    "  AND x.state IN ('pending', 'firing', 'no_data') AND x.id NOT IN (SELECT id FROM gone))"     \
    " RETURNING 1)"

/* The alerts of rule $2 that it no longer watches, deleted as a deleted rule's are (all of
 * them when $3, its kind changed): those of another indicator, of a site outside its site's
 * tree, of a region's aggregate when it watches practices (or the reverse), of another
 * dimension. An alert of no indicator or no site is not judged on that. Rows of the rule's
 * new scope stay, state and all, so that narrowing a noisy rule does not notify again what
 * is open. Returns how many went. */
/* clang-format off */
static const char rule_prune_sql[] =
    "WITH r AS (SELECT id, kind, indicator_id, site_id, dimension, document FROM alert_rule"
    " WHERE programme_id = $1 AND name = $2 AND enabled)"
    ", gone AS (DELETE FROM alert a USING r WHERE a.programme_id = $1 AND a.rule_id = r.id"
    " AND ($3::boolean"
    "  OR (r.indicator_id IS NOT NULL AND a.indicator_id <> r.indicator_id)"
    "  OR (r.site_id IS NOT NULL AND a.site_id <> r.site_id AND NOT EXISTS (SELECT 1"
    "   FROM site_tree t WHERE t.programme_id = $1 AND t.ancestor_id = r.site_id"
    "   AND t.site_id = a.site_id))"
    "  OR (r.kind IN ('spc', 'threshold') AND (a.subject ~ '^i[0-9]+:a[0-9]+$')"
    "   <> coalesce((r.document ->> 'aggregate')::boolean, false))"
    "  OR (r.kind = 'trajectory' AND r.dimension IS NOT NULL AND a.subject <> 'd' || r.dimension))"
    " RETURNING a.id, a.incident_id)"
    INCIDENTS_LEFT_SQL("$4")
    " SELECT count(*) FROM gone";
/* clang-format on */

/* The receivers of a rule as a PostgreSQL array literal, or NULL for all. */
static char *receivers_literal(const struct rule *rule)
{
    if (rule->n_receivers == 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < rule->n_receivers; i++)
        json_array_append_new(arr, json_string(rule->receivers[i]));
    char *text = json_dumps(arr, 0);
    json_decref(arr);
    if (text != NULL) { /* ["a","b"] → {"a","b"}: names are JSON-escaped strings */
        text[0] = '{';
        text[strlen(text) - 1] = '}';
    }
    return text;
}

/* Marks the series a stored spc or threshold rule ($2) watches dirty, so that it is evaluated
 * on the data already there rather than first at the next push: the series of its indicator
 * (or all) at its site and below (or everywhere), 1,000 to a mark, changed "since always". */
static const char rule_marks_sql[] =
    "WITH RECURSIVE r AS (SELECT indicator_id, site_id FROM alert_rule WHERE programme_id = $1"
    " AND name = $2 AND kind IN ('spc', 'threshold')),"
    " down AS (SELECT s.id FROM site s JOIN r ON s.programme_id = $1 AND s.id = r.site_id"
    " UNION ALL SELECT s.id FROM site s JOIN down d ON s.programme_id = $1 AND"
    " s.parent_id = d.id),"
    " se AS (SELECT s.id, (row_number() OVER (ORDER BY s.id) - 1) / 1000 AS chunk FROM series s,"
    " r WHERE s.programme_id = $1 AND (r.indicator_id IS NULL OR s.indicator_id ="
    " r.indicator_id) AND (r.site_id IS NULL OR s.site_id IN (SELECT id FROM down)))"
    " INSERT INTO dirty_series (programme_id, series_ids, since_periods)"
    " SELECT $1, array_agg(id ORDER BY id), array_agg(date '-infinity') FROM se GROUP BY chunk";

/* What the upsert's one row says: unknown codes as problems, else created or replaced. */
static enum alerts_result rule_put_outcome(const PGresult *res, const struct rule *rule,
                                           json_t **problems)
{
    if (!db_bool(res, 0, 0) && rule->indicator[0])
        problems_add(problems, "$.indicator", "unknown_indicator",
                     "no indicator \"%s\" in this programme", rule->indicator);
    if (!db_bool(res, 0, 1) && rule->site[0])
        problems_add(problems, "$.site", "unknown_site", "no site \"%s\" in this programme",
                     rule->site);
    return *problems ? ALERTS_INVALID : db_bool(res, 0, 2) ? ALERTS_CREATED : ALERTS_OK;
}

enum alerts_result alerts_rule_put(PGconn *conn, int64_t programme_id, const json_t *doc,
                                   const struct rule *rule, json_t **problems)
{
    char pid[24], for_count[16], resolve_count[16];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(for_count, sizeof(for_count), "%d", rule->for_count);
    snprintf(resolve_count, sizeof(resolve_count), "%d", rule->resolve_count);
    char *receivers = receivers_literal(rule);
    char *document = json_dumps(doc, JSON_COMPACT);
    const char *params[] = {pid,
                            rule->name,
                            rule_kind_name(rule->kind),
                            rule->indicator,
                            rule->site,
                            rule->dimension,
                            for_count,
                            resolve_count,
                            receivers,
                            document};
    PGresult *res =
        db_run(conn, NULL, rule_put_sql, 10, params, PGRES_TUPLES_OK, NULL, "store a rule");
    enum alerts_result result = res ? rule_put_outcome(res, rule, problems) : ALERTS_DB_ERROR;
    bool kind_changed = result == ALERTS_OK && db_bool(res, 0, 3);
    PQclear(res);
    if (result == ALERTS_OK) {
        char now[32];
        snprintf(now, sizeof(now), "%.6f", clock_now());
        const char *prune[] = {pid, rule->name, kind_changed ? "true" : "false", now};
        PGresult *gone = db_run(conn, NULL, rule_prune_sql, 4, prune, PGRES_TUPLES_OK, NULL,
                                "drop the alerts a rule no longer watches");
        if (gone == NULL)
            result = ALERTS_DB_ERROR;
        else if (db_int64(gone, 0, 0) > 0)
            log_info("rule %s: %lld alerts it no longer watches dropped", rule->name,
                     (long long)db_int64(gone, 0, 0));
        PQclear(gone);
    }
    if (result == ALERTS_OK || result == ALERTS_CREATED) {
        const char *mark_params[] = {pid, rule->name};
        if (!db_command(conn, NULL, rule_marks_sql, 2, mark_params, NULL,
                        "mark the series of a rule"))
            log_warning("rule %s is stored; it watches its data from the next push", rule->name);
    }
    free(receivers);
    free(document);
    return result;
}

json_t *alerts_rule_list(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    PGresult *res =
        db_run(conn, NULL,
               "SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'kind',"
               " kind, 'default', is_default, 'for', for_count, 'resolve', resolve_count,"
               " 'document', document) ORDER BY name), '[]') FROM alert_rule"
               " WHERE programme_id = $1 AND enabled",
               1, params, PGRES_TUPLES_OK, NULL, "list rules");
    json_t *list = res ? json_loads(db_text(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    return list;
}

json_t *alerts_rule_list_with_defaults(PGconn *conn, int64_t programme_id)
{
    if (!alerts_ensure_defaults(conn, programme_id))
        return NULL;
    return alerts_rule_list(conn, programme_id);
}

/* A default rule stays as a disabled tombstone (its alerts go), so that the default set does
 * not bring it back; any other rule is deleted with its alerts. */
/* clang-format off */
static const char delete_rule_sql[] =
    "WITH r AS (SELECT id, is_default FROM alert_rule WHERE programme_id = $1 AND name = $2"
    " AND enabled FOR UPDATE)"
    ", gone AS (DELETE FROM alert WHERE programme_id = $1 AND rule_id IN (SELECT id FROM r)"
    " RETURNING id, incident_id)"
    INCIDENTS_LEFT_SQL("$3")
    ", off AS (UPDATE alert_rule SET enabled = false, updated_at = now() WHERE programme_id = $1"
    " AND id IN (SELECT id FROM r WHERE is_default) RETURNING id)"
    ", del AS (DELETE FROM alert_rule WHERE programme_id = $1 AND id IN (SELECT id FROM r"
    " WHERE NOT is_default) RETURNING id)"
    " SELECT id FROM off UNION ALL SELECT id FROM del";
/* clang-format on */

enum alerts_result alerts_rule_delete(PGconn *conn, int64_t programme_id, const char *name)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    char now[32];
    snprintf(now, sizeof(now), "%.6f", clock_now());
    const char *params[] = {pid, name, now};
    PGresult *res =
        db_run(conn, NULL, delete_rule_sql, 3, params, PGRES_TUPLES_OK, NULL, "delete a rule");
    if (res == NULL)
        return ALERTS_DB_ERROR;
    int deleted = PQntuples(res);
    PQclear(res);
    return deleted == 0 ? ALERTS_NOT_FOUND : ALERTS_OK;
}

static const char defaults_sql[] =
    "INSERT INTO alert_rule (programme_id, name, kind, indicator_id, dimension, is_default,"
    " document)"
    " SELECT $1, d.name, d.kind, d.indicator_id, d.dimension, true, d.document FROM ("
    "  SELECT 'spc-' || code AS name, 'spc' AS kind, id AS indicator_id, NULL AS dimension,"
    "   jsonb_build_object('name', 'spc-' || code, 'kind', 'spc', 'indicator', code) AS document"
    "  FROM indicator WHERE programme_id = $1 AND direction <> 'none'"
    "  UNION ALL"
    "  SELECT 'late-feed-' || code, 'late_feed', id, NULL,"
    "   jsonb_build_object('name', 'late-feed-' || code, 'kind', 'late_feed', 'indicator', code)"
    "  FROM indicator WHERE programme_id = $1"
    "  UNION ALL"
    "  SELECT 'trajectory-' || dim, 'trajectory', NULL, dim,"
    "   jsonb_build_object('name', 'trajectory-' || dim, 'kind', 'trajectory', 'dimension', dim)"
    "  FROM unnest(ARRAY['coverage', 'expansion', 'institutionalisation']) AS dim"
    "  UNION ALL"
    "  SELECT '" ALERTS_SELF_RULE "', 'self', NULL, NULL,"
    "   jsonb_build_object('name', '" ALERTS_SELF_RULE "', 'kind', 'self')"
    " ) d ON CONFLICT (programme_id, name) DO NOTHING";

bool alerts_ensure_defaults(PGconn *conn, int64_t programme_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *params[] = {pid};
    return db_command(conn, NULL, defaults_sql, 1, params, NULL, "create default rules");
}
