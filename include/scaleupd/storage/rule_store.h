/* Storage of alert rules: each programme's rules by name, with the default set (spc,
 * late-feed, trajectory and self rules) every programme gets. SQL with parameters only; the
 * rule documents are parsed and checked by core/rules.h before they come here. */
#ifndef SCALEUPD_STORAGE_RULE_STORE_H
#define SCALEUPD_STORAGE_RULE_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/rules.h"
#include "scaleupd/storage/alerts_result.h"

/* The default rule (kind "self") whose alerts say that notifications to a receiver of the
 * programme are being dead-lettered; subject "receiver:NAME". */
#define ALERTS_SELF_RULE "notification-delivery"

/* Stores a parsed rule (doc is its document) under its name, creating (ALERTS_CREATED) or
 * replacing (ALERTS_OK) it, and marks the series it watches for evaluation. A replaced rule's
 * alerts outside its new scope (another indicator, a site outside its site's tree, the region
 * where it now watches practices or the reverse, another dimension; all of them when its kind
 * changed) are deleted as a deleted rule's are; those inside stay as they were. Unknown
 * indicator or site codes give ALERTS_INVALID with *problems (owned by the caller) naming
 * $.indicator or $.site. */
enum alerts_result alerts_rule_put(PGconn *conn, int64_t programme_id, const json_t *doc,
                                   const struct rule *rule, json_t **problems)
    __attribute__((warn_unused_result));

/* The programme's enabled rules as a JSON array (id, name, kind, default, for, resolve,
 * document) ordered by name; NULL on error. The caller owns the array. */
json_t *alerts_rule_list(PGconn *conn, int64_t programme_id) __attribute__((warn_unused_result));

/* alerts_ensure_defaults, then alerts_rule_list: the rules as GET /rules shows them. */
json_t *alerts_rule_list_with_defaults(PGconn *conn, int64_t programme_id)
    __attribute__((warn_unused_result));

/* Deletes a rule by name (its alerts go with it, and an incident they leave with no open
 * member is resolved). A default rule is kept disabled, so the
 * default set does not recreate it; putting a rule of that name enables it again. Disabled
 * rules are neither listed nor evaluated; deleting one again is ALERTS_NOT_FOUND. */
enum alerts_result alerts_rule_delete(PGconn *conn, int64_t programme_id, const char *name)
    __attribute__((warn_unused_result));

/* Adds the default rules the programme lacks (by name): spc-CODE for each indicator with a
 * direction, late-feed-CODE for each indicator, trajectory-DIMENSION for each dimension and
 * the self rule ALERTS_SELF_RULE. A default rule a person deleted stays deleted (its
 * disabled row keeps the name). Returns false on a database error. */
bool alerts_ensure_defaults(PGconn *conn, int64_t programme_id) __attribute__((warn_unused_result));

#endif
