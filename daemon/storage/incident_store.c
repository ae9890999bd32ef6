/* Incidents (incident_store.h): joining an opening alert to the open incident of its key,
 * resolving an incident when its last member closes, and the API's reads of incidents with
 * their members. The key comes from the pure core (core/incident.c). SQL only. */
#include "scaleupd/storage/incident_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/incident.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/silence_store.h"

/* What an alert is about, for its key: its rule, indicator, site and the site's parent,
 * whether it is an aggregate ("i3:a2"), its period (as a day number and as people read it)
 * and its due date. */
/* clang-format off */
static const char subject_sql[] =
    "SELECT r.kind, r.name, a.indicator_id, a.site_id, s.parent_id,"
    " a.subject ~ '^i[0-9]+:a[0-9]+$', coalesce(a.period_start - date '1970-01-01', -1), a.period_start::text,"
    " CASE i.period_type WHEN 'monthly' THEN to_char(a.period_start, 'YYYY-MM')"
    " ELSE to_char(a.period_start, 'YYYY-MM-DD') END, a.due_date::text,"
    " i.name, s.name, reg.name, a.summary"
    " FROM alert a JOIN alert_rule r ON r.programme_id = a.programme_id AND r.id = a.rule_id"
    " LEFT JOIN indicator i ON i.programme_id = a.programme_id AND i.id = a.indicator_id"
    " LEFT JOIN site s ON s.programme_id = a.programme_id AND s.id = a.site_id"
    " LEFT JOIN site reg ON reg.programme_id = s.programme_id AND reg.id = s.parent_id"
    " WHERE a.programme_id = $1 AND a.id = $2";

/* Opens the incident of the key or joins the open one (DO UPDATE so that RETURNING gives
 * its id either way, and the row is locked against a concurrent release). */
static const char join_sql[] =
    "WITH inc AS (INSERT INTO incident AS n (programme_id, kind, key, title, indicator_id,"
    " site_id, period_start, period, due_date, opened_at)"
    " VALUES ($1, $3, $4, $5, nullif($6, '0')::bigint, nullif($7, '0')::bigint, $8::date, $9,"
    " $10::date, to_timestamp($11))"
    " ON CONFLICT (programme_id, key) WHERE resolved_at IS NULL DO UPDATE SET key = n.key"
    " RETURNING id),"
    " mem AS (INSERT INTO incident_member (incident_id, programme_id, alert_id, joined_at)"
    " SELECT id, $1, $2, to_timestamp($11) FROM inc ON CONFLICT DO NOTHING)"
    " UPDATE alert SET incident_id = (SELECT id FROM inc) WHERE programme_id = $1 AND id = $2";
/* clang-format on */

static int64_t opt_id(const PGresult *res, int col)
{
    int64_t v = 0;
    return db_int64_opt(res, 0, col, &v) ? v : 0;
}

static void subject_of(const PGresult *res, int64_t alert_id, struct incident_subject *s)
{
    *s = (struct incident_subject){.alert_id = alert_id,
                                   .rule_kind = db_text(res, 0, 0),
                                   .rule_name = db_text(res, 0, 1),
                                   .indicator_id = opt_id(res, 2),
                                   .site_id = opt_id(res, 3),
                                   .region_id = opt_id(res, 4),
                                   .aggregate = db_bool(res, 0, 5),
                                   .period_start = (int32_t)db_int64(res, 0, 6),
                                   .period = db_text(res, 0, 8),
                                   .due = db_text(res, 0, 9),
                                   .indicator_name = db_text(res, 0, 10),
                                   .site_name = db_text(res, 0, 11),
                                   .region_name = db_text(res, 0, 12),
                                   .summary = db_text(res, 0, 13)};
}

bool incidents_attach(PGconn *conn, int64_t programme_id, int64_t alert_id, double now)
{
    char pid[24], aid[24], ind[24], site[24], t[32];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(aid, sizeof(aid), "%lld", (long long)alert_id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {pid, aid};
    PGresult *res = db_run(conn, "scaleupd_incident_subject", subject_sql, 2, params,
                           PGRES_TUPLES_OK, NULL, "read what an alert is about");
    if (res == NULL)
        return false;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return true; /* gone meanwhile: nothing to join */
    }
    struct incident_subject s;
    subject_of(res, alert_id, &s);
    struct incident_key key;
    incident_key_of(&s, &key);
    snprintf(ind, sizeof(ind), "%lld", (long long)key.indicator_id);
    snprintf(site, sizeof(site), "%lld", (long long)key.site_id);
    bool dated = key.kind != INCIDENT_ALERT;
    bool late = key.kind == INCIDENT_LATE_FEED;
    const char *join[] = {pid,
                          aid,
                          incident_kind_name(key.kind),
                          key.key,
                          key.title,
                          ind,
                          site,
                          dated ? db_text(res, 0, 7) : NULL,
                          dated ? s.period : NULL,
                          late ? s.due : NULL,
                          t};
    bool ok = db_command(conn, "scaleupd_incident_join", join_sql, 11, join, NULL,
                         "join an alert to its incident");
    PQclear(res);
    return ok;
}

bool incidents_release(PGconn *conn, int64_t incident_id, double now)
{
    char id[24], t[32];
    snprintf(id, sizeof(id), "%lld", (long long)incident_id);
    snprintf(t, sizeof(t), "%.6f", now);
    const char *params[] = {id, t};
    /* two statements: the second's snapshot sees what a joiner that held the lock committed */
    return db_command(conn, "scaleupd_incident_lock",
                      "SELECT 1 FROM incident WHERE id = $1 AND resolved_at IS NULL FOR UPDATE", 1,
                      params, NULL, "lock an incident") &&
           db_command(conn, "scaleupd_incident_resolve",
                      "UPDATE incident SET resolved_at = to_timestamp($2) WHERE id = $1 AND"
                      " resolved_at IS NULL AND NOT EXISTS (SELECT 1 FROM alert WHERE"
                      " incident_id = $1 AND state IN ('pending', 'firing', 'no_data'))",
                      2, params, NULL, "resolve an incident");
}

/* An incident as the API shows it, from the incident rows of `inner` (alias n): its members
 * (incident_member, in alert id order; a member that has moved on to a later incident reads
 * as resolved here), how many are open, whether every open one is acknowledged. "open" also
 * needs an open member, so an incident whose members went with their rule reads as
 * resolved. Silences are matched afterwards, in the core (annotate_silences). */
/* clang-format off */
#define INCIDENT_SQL(inner)                                                                   \
    "SELECT json_build_object('id', n.id, 'programme', p.slug, 'kind', n.kind, 'title', n.title,"  \
    " 'state', CASE WHEN n.resolved_at IS NULL AND m.open > 0 THEN 'open' ELSE 'resolved' END,"    \
    " 'indicator', i.code, 'site', s.code, 'site_name', s.name, 'period', n.period,"               \
    " 'period_start', n.period_start, 'due', n.due_date, 'opened_at', n.opened_at,"                \
    " 'resolved_at', n.resolved_at, 'since', coalesce(m.since, n.opened_at),"                      \
    " 'open_members', m.open, 'acked', m.open > 0 AND m.unacked = 0,"                              \
    " 'members', m.members)::text, n.id::text"                                                     \
    " FROM " inner " n JOIN programme p ON p.id = n.programme_id"                                  \
    " LEFT JOIN indicator i ON i.programme_id = n.programme_id AND i.id = n.indicator_id"          \
    " LEFT JOIN site s ON s.programme_id = n.programme_id AND s.id = n.site_id"                    \
    " CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE x.open) AS open,"                          \
    " count(*) FILTER (WHERE x.open AND x.acked_at IS NULL) AS unacked,"                           \
    " min(x.active_since) FILTER (WHERE x.current) AS since,"                                     \
    " coalesce(json_agg(json_build_object('id', x.id, 'rule', x.rule, 'kind', x.kind,"             \
    " 'indicator', x.indicator, 'site', x.site, 'site_name', x.site_name,"                         \
    " 'aggregate', x.aggregate, 'state', x.state, 'value', x.value, 'period', x.period_start,"      \
    " 'due', x.due_date, 'summary', x.summary, 'active_since', x.active_since,"                    \
    " 'acked_at', x.acked_at, 'acked_by', x.acked_by, 'programme', x.programme) ORDER BY x.id),"   \
    " '[]') AS members"                                                                            \
    " FROM (SELECT a.id, a.incident_id = n.id AS current, a.incident_id = n.id AND a.state IN"    \
    " ('pending', 'firing', 'no_data') AS open, CASE WHEN a.incident_id = n.id THEN a.state"       \
    " ELSE 'resolved' END AS state, a.value,"                                                      \
    " a.period_start, a.due_date, a.summary, a.active_since, a.acked_at, a.acked_by,"              \
    " r.name AS rule, r.kind, mi.code AS indicator, ms.code AS site, ms.name AS site_name,"        \
    " a.subject ~ '^i[0-9]+:a[0-9]+$' AS aggregate, p.slug AS programme"                          \
    " FROM incident_member im JOIN alert a ON a.programme_id = im.programme_id"                    \
    " AND a.id = im.alert_id"                                                                      \
    " JOIN alert_rule r ON r.programme_id = a.programme_id AND r.id = a.rule_id"                   \
    " LEFT JOIN indicator mi ON mi.programme_id = a.programme_id AND mi.id = a.indicator_id"       \
    " LEFT JOIN site ms ON ms.programme_id = a.programme_id AND ms.id = a.site_id"                 \
    " WHERE im.incident_id = n.id) x) m"

/* $1 programme slug, $2 "open"/"resolved", $3 kind (NULL: any), $4 the previous page's last
 * id, $5 limit + 1. The page is a range of the primary key (or of
 * incident_listed_programme) from the cursor down; the members are read for its rows only. */
static const char list_sql[] = INCIDENT_SQL(
    "(SELECT * FROM incident n WHERE ($1::text IS NULL OR n.programme_id ="
    " (SELECT id FROM programme WHERE slug = $1))"
    " AND ($2::text IS NULL OR ($2 = 'open') = (n.resolved_at IS NULL))"
    " AND ($3::text IS NULL OR n.kind = $3) AND ($4::int8 IS NULL OR n.id < $4::int8)"
    " AND ($6::int8 IS NULL OR n.programme_id = $6::int8)"
    " ORDER BY n.id DESC LIMIT $5::int)") " ORDER BY n.id DESC";

static const char get_sql[] =
    INCIDENT_SQL("(SELECT * FROM incident WHERE id = $1::int8)");
/* clang-format on */

/* Whether a member (as INCIDENT_SQL lists it) is open: its state in its current incident. */
static bool member_open(const json_t *member)
{
    const char *state = json_string_value(json_object_get(member, "state"));
    return state != NULL && (strcmp(state, "pending") == 0 || strcmp(state, "firing") == 0 ||
                             strcmp(state, "no_data") == 0);
}

/* Adds to each incident of incidents (a JSON array) the silences in force at now that mute
 * each member ("silenced_by", "silenced"), the members silenced ("silenced_members") and
 * whether every open member is ("silenced"), matched as alerts are (silence_store.h). */
static bool annotate_silences(PGconn *conn, double now, json_t *incidents)
{
    json_t *members = json_array();
    size_t i, j;
    json_t *incident, *member;
    json_array_foreach(incidents, i, incident)
        json_array_extend(members, json_object_get(incident, "members"));
    bool ok = alerts_silenced_by(conn, now, members);
    json_decref(members); /* the member objects are shared with the incidents */
    json_array_foreach(incidents, i, incident)
    {
        json_t *ids = json_array();
        size_t open = 0, open_silenced = 0;
        json_array_foreach(json_object_get(incident, "members"), j, member)
        {
            bool silenced = json_array_size(json_object_get(member, "silenced_by")) > 0;
            json_object_set_new(member, "silenced", json_boolean(silenced));
            if (silenced)
                json_array_append(ids, json_object_get(member, "id"));
            if (member_open(member)) {
                open++;
                open_silenced += silenced;
            }
        }
        json_object_set_new(incident, "silenced_members", ids);
        json_object_set_new(incident, "silenced", json_boolean(open > 0 && open_silenced == open));
    }
    return ok;
}

enum page_rows_status incidents_list_page(PGconn *conn, const struct incidents_filter *filter,
                                          double now, const struct page_request *request,
                                          struct page_rows *page)
{
    if (request->has_after && !page_rows_cursor_valid(&request->after, "i"))
        return PAGE_ROWS_BAD_CURSOR;
    char fetch[16], scope[24];
    snprintf(scope, sizeof(scope), "%lld", (long long)filter->programme_id);
    const char *params[] = {filter->programme,
                            filter->state,
                            filter->kind,
                            request->has_after ? request->after.fields[0] : NULL,
                            page_rows_fetch_limit(request->limit, fetch, sizeof(fetch)),
                            filter->programme_id != 0 ? scope : NULL};
    PGresult *res = db_run(conn, "scaleupd_incident_list", list_sql, 6, params, PGRES_TUPLES_OK,
                           NULL, "list incidents");
    bool ok = res != NULL && page_rows_collect(res, request->limit, 1, page) &&
              annotate_silences(conn, now, page->items);
    PQclear(res);
    return ok ? PAGE_ROWS_OK : PAGE_ROWS_DB_ERROR;
}

enum alerts_result incidents_get(PGconn *conn, int64_t id, double now, json_t **incident)
{
    char ids[24];
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    const char *params[] = {ids};
    *incident = NULL;
    PGresult *res = db_run(conn, "scaleupd_incident_get", get_sql, 1, params, PGRES_TUPLES_OK, NULL,
                           "read an incident");
    if (res == NULL)
        return ALERTS_DB_ERROR;
    enum alerts_result r = ALERTS_NOT_FOUND;
    if (PQntuples(res) == 1) {
        *incident = json_loads(db_text(res, 0, 0), 0, NULL);
        json_t *one = json_array();
        json_array_append(one, *incident);
        r = *incident != NULL && annotate_silences(conn, now, one) ? ALERTS_OK : ALERTS_DB_ERROR;
        json_decref(one);
        if (r != ALERTS_OK) {
            json_decref(*incident);
            *incident = NULL;
        }
    }
    PQclear(res);
    return r;
}

enum alerts_result incidents_open_members(PGconn *conn, int64_t id, int64_t **ids, size_t *n)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)id);
    const char *params[] = {text};
    *ids = NULL, *n = 0;
    /* the second column: whether the incident has an open member at all */
    PGresult *res = db_run(conn, NULL,
                           "SELECT a.id, EXISTS (SELECT 1 FROM alert o WHERE o.incident_id = n.id"
                           " AND o.state IN ('pending', 'firing', 'no_data'))"
                           " FROM incident n LEFT JOIN alert a ON a.incident_id = n.id"
                           " AND a.state IN ('pending', 'firing', 'no_data')"
                           " AND a.acked_at IS NULL WHERE n.id = $1"
                           " ORDER BY a.id",
                           1, params, PGRES_TUPLES_OK, NULL, "read an incident's members");
    if (res == NULL)
        return ALERTS_DB_ERROR;
    int rows = PQntuples(res);
    enum alerts_result r = rows == 0             ? ALERTS_NOT_FOUND
                           : !db_bool(res, 0, 1) ? ALERTS_CONFLICT
                                                 : ALERTS_OK;
    *ids = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(**ids));
    for (int i = 0; i < rows; i++)
        if (!db_is_null(res, i, 0))
            (*ids)[(*n)++] = db_int64(res, i, 0);
    PQclear(res);
    return r;
}
