/* DHIS2 data sets and their complete registrations (sql/026_dhis2_data_sets.sql): the data
 * sets a programme declares, found by UID or code; a data set registered complete for a
 * period, organisation unit and attribute option combination by an import, in its
 * transaction; the registrations read back as DHIS2's completeDataSetRegistrations. */
#ifndef SCALEUPD_DHIS2_REGISTRATION_H
#define SCALEUPD_DHIS2_REGISTRATION_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/dhis2_options.h"

#define DHIS2_UID_MAX 11
#define DHIS2_DATE_MAX 11 /* "2025-06-30" */

/* Finds the programme's data set that ident names: its UID (scheme UID), its code (CODE), or
 * either, the UID first (DHIS2_SCHEME_DEFAULT). *found says whether there is one, whose UID
 * is then in uid. False on a database error. */
bool dhis2_data_set_find(PGconn *conn, int64_t programme_id, const char *ident,
                         enum dhis2_id_scheme scheme, char uid[DHIS2_UID_MAX + 1], bool *found,
                         const char *request_id) __attribute__((warn_unused_result));

enum dhis2_registration_status {
    DHIS2_REGISTRATION_STORED,
    DHIS2_REGISTRATION_UNKNOWN_ORG_UNIT, /* org_unit names no site of the programme */
    DHIS2_REGISTRATION_DB_ERROR,
};

/* What a registration says. */
struct dhis2_registration {
    const char *data_set; /* the data set's UID */
    const char *period;   /* DHIS2's identifier of the period */
    int32_t period_start; /* days since 1970-01-01 */
    const char *org_unit; /* as the import named it, per org_unit_scheme */
    enum dhis2_id_scheme org_unit_scheme;
    const char *complete_date; /* "true" (today) or YYYY-MM-DD (after today: today) */
    int64_t token_id;          /* who registered it: the token's name is storedBy */
};

/* Registers r's data set complete for its period, site and the default attribute option
 * combination, replacing a registration of the same key (as DHIS2 updates one), in the
 * caller's transaction; the date registered into completed (YYYY-MM-DD). */
enum dhis2_registration_status
dhis2_registration_store(PGconn *conn, int64_t programme_id, const struct dhis2_registration *r,
                         char completed[DHIS2_DATE_MAX], const char *request_id)
    __attribute__((warn_unused_result));

/* The programme's registrations, filtered by data set (UID or code), period (DHIS2's
 * identifier) and organisation unit (UID or site code) where these are not NULL, as
 * {"completeDataSetRegistrations": [{"dataSet", "period", "organisationUnit" (the site's UID,
 * else its code), "attributeOptionCombo", "date", "storedBy", "lastUpdated", "completed"}]}
 * ordered by data set, period start and organisation unit, at most 10,000, into *out (the
 * caller's). False on a database error. */
bool dhis2_registrations_read(PGconn *conn, int64_t programme_id, const char *data_set,
                              const char *period, const char *org_unit, json_t **out,
                              const char *request_id) __attribute__((warn_unused_result));

#endif
