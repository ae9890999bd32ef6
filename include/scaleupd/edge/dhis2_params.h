/* DHIS2's data value import parameters (POST /api/dataValueSets?dryRun=true&idScheme=CODE…):
 * each is either honoured, when its value is what scaleupd does, or refused by name; an
 * unknown one is refused too, never ignored. The table of what is honoured is the README's
 * "DHIS2" section. Pure: no I/O. */
#ifndef SCALEUPD_DHIS2_PARAMS_H
#define SCALEUPD_DHIS2_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/edge/request.h"

/* What the honoured parameters ask of the import. */
struct dhis2_params {
    bool dry_run; /* dryRun=true: validate and report, store nothing */
    bool dry_run_given;
};

/* Why a request's parameters were refused: the parameter (printable, router_printable), a
 * code (unknown_parameter, unsupported_parameter, invalid_parameter, duplicate_parameter)
 * and a message naming the parameter and, for a value we do not implement, what we do. */
struct dhis2_refusal {
    char parameter[65];
    char code[32];
    char message[384];
};

/* Reads the query parameters query[0..n) of a DHIS2 import into *out. Names listed in ours
 * (NULL-terminated: scaleupd's own parameters of the route, which its handler reads) are
 * skipped but, like every name, may be given only once. False, with *why filled, at the
 * first parameter that is unknown, repeated, not a value of its type, or a value scaleupd
 * does not implement. */
bool dhis2_params_read(const struct request_kv *query, size_t n, const char *const *ours,
                       struct dhis2_params *out, struct dhis2_refusal *why)
    __attribute__((warn_unused_result));

#endif
