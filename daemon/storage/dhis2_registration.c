/* DHIS2 data sets and complete registrations (dhis2_registration.h): one statement each. A
 * site is named by its DHIS2 UID (dhis2_org_unit) or its code, as the import's scheme says;
 * storedBy is the registering token's name. */
#include "scaleupd/storage/dhis2_registration.h"

#include <stdio.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/storage/db.h"

static const char SQL_FIND[] = "SELECT uid FROM dhis2_data_set WHERE programme_id = $1"
                               " AND ((uid = $2 AND $3 <> 'CODE') OR (code = $2 AND $3 <> 'UID'))"
                               " ORDER BY uid = $2 DESC LIMIT 1";

static const char SQL_STORE[] =
    "WITH s AS (SELECT site_id FROM dhis2_org_unit WHERE programme_id = $1 AND org_unit = $5"
    "  AND $6 <> 'CODE' UNION ALL SELECT id FROM site WHERE programme_id = $1 AND code = $5"
    "  AND $6 <> 'UID' LIMIT 1)"
    " INSERT INTO dhis2_complete_registration AS r (programme_id, data_set, period,"
    " period_start, site_id, completed_date, stored_by)"
    " SELECT $1, $2, $3, date '1970-01-01' + $4::int, s.site_id,"
    " least(CASE WHEN lower($7) = 'true' THEN current_date ELSE $7::date END, current_date),"
    " coalesce((SELECT name FROM token WHERE id = $8), '') FROM s"
    " ON CONFLICT (programme_id, data_set, period, site_id, attribute_option_combo) DO UPDATE"
    " SET completed_date = excluded.completed_date, stored_by = excluded.stored_by,"
    " last_updated = now() RETURNING to_char(r.completed_date, 'YYYY-MM-DD')";

static const char SQL_READ[] =
    "SELECT json_build_object('completeDataSetRegistrations', coalesce(json_agg("
    " json_build_object('dataSet', r.data_set, 'period', r.period, 'organisationUnit',"
    " coalesce((SELECT min(u.org_unit) FROM dhis2_org_unit u WHERE u.programme_id = r.programme_id"
    " AND u.site_id = r.site_id), s.code), 'attributeOptionCombo', r.attribute_option_combo,"
    " 'date', to_char(r.completed_date, 'YYYY-MM-DD'), 'storedBy', r.stored_by,"
    " 'lastUpdated', to_char(r.last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS'),"
    " 'completed', true) ORDER BY r.data_set, r.period_start, s.code), '[]'))::text"
    " FROM (SELECT * FROM dhis2_complete_registration r WHERE r.programme_id = $1"
    "  AND ($2::text IS NULL OR r.data_set = $2 OR r.data_set = (SELECT d.uid FROM"
    "  dhis2_data_set d WHERE d.programme_id = $1 AND d.code = $2))"
    "  AND ($3::text IS NULL OR r.period = $3)"
    "  AND ($4::text IS NULL OR r.site_id IN (SELECT u.site_id FROM dhis2_org_unit u WHERE"
    "  u.programme_id = $1 AND u.org_unit = $4 UNION ALL SELECT t.id FROM site t WHERE"
    "  t.programme_id = $1 AND t.code = $4))"
    "  ORDER BY r.data_set, r.period_start, r.site_id LIMIT 10000) r"
    " JOIN site s ON s.programme_id = r.programme_id AND s.id = r.site_id";

static const char *scheme_text(enum dhis2_id_scheme scheme)
{
    return scheme == DHIS2_SCHEME_UID ? "UID" : scheme == DHIS2_SCHEME_CODE ? "CODE" : "";
}

bool dhis2_data_set_find(PGconn *conn, int64_t programme_id, const char *ident,
                         enum dhis2_id_scheme scheme, char uid[DHIS2_UID_MAX + 1], bool *found,
                         const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {pid, ident, scheme_text(scheme)};
    *found = false;
    PGresult *res = db_run(conn, "scaleupd_dhis2_data_set_find", SQL_FIND, 3, values,
                           PGRES_TUPLES_OK, request_id, "find a dhis2 data set");
    if (res == NULL)
        return false;
    if (PQntuples(res) == 1) {
        *found = true;
        snprintf(uid, DHIS2_UID_MAX + 1, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return true;
}

enum dhis2_registration_status dhis2_registration_store(PGconn *conn, int64_t programme_id,
                                                        const struct dhis2_registration *r,
                                                        char completed[DHIS2_DATE_MAX],
                                                        const char *request_id)
{
    char pid[24], start[16], tid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    snprintf(start, sizeof(start), "%d", (int)r->period_start);
    snprintf(tid, sizeof(tid), "%lld", (long long)r->token_id);
    const char *values[] = {pid,
                            r->data_set,
                            r->period,
                            start,
                            r->org_unit,
                            scheme_text(r->org_unit_scheme),
                            r->complete_date,
                            tid};
    PGresult *res = db_run(conn, "scaleupd_dhis2_registration_store", SQL_STORE, 8, values,
                           PGRES_TUPLES_OK, request_id, "register a dhis2 data set complete");
    if (res == NULL)
        return DHIS2_REGISTRATION_DB_ERROR;
    enum dhis2_registration_status status =
        PQntuples(res) == 1 ? DHIS2_REGISTRATION_STORED : DHIS2_REGISTRATION_UNKNOWN_ORG_UNIT;
    if (status == DHIS2_REGISTRATION_STORED)
        snprintf(completed, DHIS2_DATE_MAX, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return status;
}

bool dhis2_registrations_read(PGconn *conn, int64_t programme_id, const char *data_set,
                              const char *period, const char *org_unit, json_t **out,
                              const char *request_id)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)programme_id);
    const char *values[] = {pid, data_set, period, org_unit};
    *out = NULL;
    PGresult *res = db_run(conn, "scaleupd_dhis2_registrations_read", SQL_READ, 4, values,
                           PGRES_TUPLES_OK, request_id, "read dhis2 complete registrations");
    if (res == NULL)
        return false;
    *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return *out != NULL;
}
