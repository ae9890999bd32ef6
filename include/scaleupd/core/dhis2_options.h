/* DHIS2's data value import options, wherever DHIS2 reads them: the query parameters of
 * POST /api/dataValueSets (?dryRun=true&idScheme=CODE…) and the members of the data value set
 * itself ({"dryRun": true, "strategy": …, "dataValues": […]}). Each is either honoured, when
 * its value is what scaleupd does, or refused by name; an unknown query parameter is refused
 * too, never ignored. One table for both places; what it honours is the README's "DHIS2"
 * section. Pure: no I/O. */
#ifndef SCALEUPD_DHIS2_OPTIONS_H
#define SCALEUPD_DHIS2_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/core/obs_parse.h"

/* How the data values name data elements and organisation units (idScheme and its
 * refinements dataElementIdScheme and orgUnitIdScheme). */
enum dhis2_id_scheme {
    DHIS2_SCHEME_DEFAULT, /* not given: a UID that the programme maps, else a code */
    DHIS2_SCHEME_UID,     /* DHIS2 UIDs, mapped by the programme's dhis2 identifiers */
    DHIS2_SCHEME_CODE,    /* scaleupd's indicator and site codes */
};

/* What importStrategy (or the set's strategy) asks for each value. */
enum dhis2_strategy {
    DHIS2_STRATEGY_CREATE_AND_UPDATE, /* the default: new values created, changed ones updated */
    DHIS2_STRATEGY_CREATE,            /* only values that do not exist yet; the others ignored */
    DHIS2_STRATEGY_UPDATE,            /* only values that exist; the others ignored */
    DHIS2_STRATEGY_DELETE,            /* every value given is deleted (kept as a revision) */
};

/* What the honoured options ask of the import. */
struct dhis2_options {
    bool dry_run; /* dryRun: validate and report, store nothing */
    bool dry_run_given;
    enum dhis2_id_scheme id_scheme, data_element_scheme, org_unit_scheme; /* as given */
    enum dhis2_strategy strategy;
    bool first_row_is_header_off; /* firstRowIsHeader=false: a CSV body has no header */
    bool async;                   /* async=true: answered as a job (dhis2_job_answer) */
    /* dataSet (the query's, or the set's, which wins): "" when not given; the programme must
       declare it (named per dhis2_options_data_set_scheme) */
    char data_set[OBS_SET_OPTION_VALUE_MAX + 1];
    enum dhis2_id_scheme data_set_scheme; /* dataSetIdScheme, as given */
    /* completeDate of the set: "" (not given), "true", "false" or a date YYYY-MM-DD */
    char complete_date[OBS_SET_OPTION_VALUE_MAX + 1];
};

/* The scheme that applies to data elements (dataElementIdScheme, else idScheme) and to
 * organisation units (orgUnitIdScheme, else idScheme), as DHIS2's IdSchemes resolves them. */
enum dhis2_id_scheme dhis2_options_data_element_scheme(const struct dhis2_options *options);
enum dhis2_id_scheme dhis2_options_org_unit_scheme(const struct dhis2_options *options);
/* Whether value is a completeDate as DHIS2 reads it: "true" (today), "false" (none) or a date
 * YYYY-MM-DD (one after today is today), case-insensitively. */
bool dhis2_complete_date_valid(const char *value);

/* The scheme that names the data set (dataSetIdScheme, else idScheme), as in DHIS2. */
enum dhis2_id_scheme dhis2_options_data_set_scheme(const struct dhis2_options *options);

/* Why an option was refused: the option (printable: every byte that is not printable ASCII,
 * or is a quote or backslash, shown as '?'), a code (unknown_parameter,
 * unsupported_parameter, invalid_parameter, duplicate_parameter) and a message naming the
 * option and, for a value we do not implement, what we do. */
struct dhis2_refusal {
    char parameter[65];
    char code[32];
    char message[384];
};

/* One query parameter as the edge decoded it; the strings stay the caller's. */
struct dhis2_query_param {
    const char *name;
    const char *value;
};

/* Reads the query parameters query[0..n) of a DHIS2 import into *out. Names listed in ours
 * (NULL-terminated: scaleupd's own parameters of the route, which its handler reads) are
 * skipped but, like every name, may be given only once. False, with *why filled, at the
 * first parameter that is unknown, repeated, not a value of its type, or a value scaleupd
 * does not implement. */
bool dhis2_options_read_query(const struct dhis2_query_param *query, size_t n,
                              const char *const *ours, struct dhis2_options *out,
                              struct dhis2_refusal *why) __attribute__((warn_unused_result));

/* The names of the data value set's members that DHIS2 reads as import options or as
 * set-level properties scaleupd does not support (dryRun, strategy, the id schemes, dataSet,
 * completeDate, attributeOptionCombo, …), in the table's order: at most max of them into
 * names (static strings); returns how many. obs_parse_dhis2 collects these members. */
size_t dhis2_options_set_members(const char **names, size_t max);

/* Applies the members of a data value set that obs_parse_dhis2 collected (set[0..n)) over
 * *options, which holds the query's: as in DHIS2, a member that the set gives wins over the
 * query parameter of the same meaning (dryRun). False, with *why filled, at the first member
 * that is not of its type (a dryRun that is not a boolean, a scheme or strategy that is not a
 * string: invalid_parameter) or whose value scaleupd does not implement
 * (unsupported_parameter); *options is then unspecified. */
bool dhis2_options_read_set(const struct obs_set_option *set, size_t n,
                            struct dhis2_options *options, struct dhis2_refusal *why)
    __attribute__((warn_unused_result));

#endif
