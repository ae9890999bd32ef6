/* Storage of alerting: rules (with each programme's default set), receivers, alerts with
 * their append-only history and outbox events, acknowledgements and silences. SQL with
 * parameters; times come from the caller (clock_now()), never from now(). */
#ifndef SCALEUPD_ALERTS_H
#define SCALEUPD_ALERTS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "scaleupd/core/alert_state.h"
#include "scaleupd/core/rules.h"

enum alerts_result { ALERTS_OK, ALERTS_CREATED, ALERTS_INVALID, ALERTS_NOT_FOUND, ALERTS_DB_ERROR };

/* Stores a parsed rule (doc is its document) under its name, creating or replacing it.
 * Unknown indicator or site codes give ALERTS_INVALID with *problems (owned by the caller)
 * naming $.indicator or $.site. */
enum alerts_result alerts_rule_put(PGconn *conn, int64_t programme_id, const json_t *doc,
                                   const struct rule *rule, json_t **problems)
    __attribute__((warn_unused_result));

/* The programme's rules as a JSON array (id, name, kind, default, document); NULL on error. */
json_t *alerts_rule_list(PGconn *conn, int64_t programme_id);

/* Deletes a rule by name (its alerts go with it). A default rule is kept disabled, so the
 * default set does not recreate it; putting a rule of that name enables it again. Disabled
 * rules are neither listed nor evaluated; deleting one again is ALERTS_NOT_FOUND. */
enum alerts_result alerts_rule_delete(PGconn *conn, int64_t programme_id, const char *name)
    __attribute__((warn_unused_result));

/* Adds the default rules the programme lacks (by name): spc-CODE for each indicator with a
 * direction, late-feed-CODE for each indicator, trajectory-DIMENSION for each dimension and
 * the self rule ALERTS_SELF_RULE. A default rule a person deleted stays deleted (its
 * disabled row keeps the name). Returns false on a database error. */
bool alerts_ensure_defaults(PGconn *conn, int64_t programme_id) __attribute__((warn_unused_result));

/* The default rule (kind "self") whose alerts say that notifications to a receiver of the
 * programme are being dead-lettered; subject "receiver:NAME". */
#define ALERTS_SELF_RULE "notification-delivery"

/* Inside the caller's transaction: a notification to receiver was dead-lettered, so the
 * receiver's self alert fires (unless the self rule is deleted), told to the programme's
 * other receivers; or a notification to it was delivered, so a firing self alert resolves.
 * False on a database error. */
bool alerts_delivery_failed(PGconn *conn, int64_t programme_id, const char *receiver, double now)
    __attribute__((warn_unused_result));
bool alerts_delivery_recovered(PGconn *conn, int64_t programme_id, const char *receiver, double now)
    __attribute__((warn_unused_result));

/* Validates a receivers document {"receivers":[{"name","email":[…],"webhook":[…],
 * "time_zone"}]} and replaces the programme's receivers with it. */
enum alerts_result alerts_receivers_put(PGconn *conn, int64_t programme_id, const json_t *doc,
                                        json_t **problems) __attribute__((warn_unused_result));

/* The programme's receivers as a JSON array; NULL on error. */
json_t *alerts_receivers_get(PGconn *conn, int64_t programme_id);

/* What an evaluation found for one alert subject. */
struct alert_update {
    int64_t programme_id;
    int64_t rule_id;
    const char *subject;           /* "i12:s34" */
    int64_t indicator_id, site_id; /* 0: none */
    int for_count, resolve_count;
    enum alert_observation obs;
    const struct rule_eval *eval; /* NULL with ALERT_OBS_NO_DATA */
    int32_t period_start;         /* day of the value's period; -1 when none */
    double now;
};

/* Applies one evaluation inside the caller's transaction: steps the state machine, stores
 * the alert, appends to alert_history when the state changes, and writes one alert_event
 * per receiver of the rule when receivers must be told (the transactional outbox). */
bool alerts_apply(PGconn *conn, const struct alert_update *u) __attribute__((warn_unused_result));

/* Alerts as JSON, filtered by programme slug, state, indicator and site codes (each may be
 * NULL); NULL on error. */
json_t *alerts_list(PGconn *conn, const char *programme, const char *state, const char *indicator,
                    const char *site);

/* Acknowledges an alert: no repeats until it resolves. */
enum alerts_result alerts_ack(PGconn *conn, int64_t alert_id, const char *who, double now)
    __attribute__((warn_unused_result));

/* Validates and stores a silence {"programme"?, "matchers":{"indicator"?,"site"?,"rule"?},
 * "starts_at"?, "ends_at", "author", "reason"?}; *id receives its id. */
enum alerts_result alerts_silence_create(PGconn *conn, const json_t *doc, double now, int64_t *id,
                                         json_t **problems) __attribute__((warn_unused_result));

/* Silences that have not ended as JSON; NULL on error. */
json_t *alerts_silence_list(PGconn *conn, double now);

/* Ends a silence now. */
enum alerts_result alerts_silence_expire(PGconn *conn, int64_t id, double now)
    __attribute__((warn_unused_result));

/* SQL condition (on alias a = alert, with $N the time) that an alert is silenced; used by
 * the outbox. */
#define ALERTS_SILENCED_SQL(now_param)                                                             \
    "EXISTS (SELECT 1 FROM silence s JOIN alert_rule sr ON sr.programme_id = a.programme_id"       \
    " AND sr.id = a.rule_id LEFT JOIN indicator si ON si.programme_id = a.programme_id"            \
    " AND si.id = a.indicator_id LEFT JOIN site ss ON ss.programme_id = a.programme_id"            \
    " AND ss.id = a.site_id WHERE (s.programme_id IS NULL OR s.programme_id = a.programme_id)"     \
    " AND s.starts_at <= to_timestamp(" now_param ") AND s.ends_at > to_timestamp(" now_param      \
    ") AND (s.expired_at IS NULL OR s.expired_at > to_timestamp(" now_param "))"                   \
    " AND (s.matchers->>'rule' IS NULL OR s.matchers->>'rule' = sr.name)"                          \
    " AND (s.matchers->>'indicator' IS NULL OR s.matchers->>'indicator' = si.code)"                \
    " AND (s.matchers->>'site' IS NULL OR s.matchers->>'site' = ss.code))"

#endif
