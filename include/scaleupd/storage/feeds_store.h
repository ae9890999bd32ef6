/* The SQL of the dashboard's feeds status: which indicators a programme has, and who
 * reported each one's latest due period (expected and reported values per indicator, site
 * and region). What is due when is the service's (services/feeds.h). */
#ifndef SCALEUPD_FEEDS_STORE_H
#define SCALEUPD_FEEDS_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/period.h"

#define FEEDS_MAX_INDICATORS 500 /* indicators of a programme the status covers */
/* The cap of the status document as read from the database (one JSON text). */
#define FEEDS_DOC_MAX_BYTES (64u << 20)

/* An indicator of the programme and how often it is reported. */
struct feeds_indicator {
    int64_t id;
    enum period_type period_type;
};

/* The indicators of a programme (at most FEEDS_MAX_INDICATORS; those of an unknown period
 * type are left out), in id order, into out[] (room for FEEDS_MAX_INDICATORS), their number
 * into *n, and the programme's date at `now` (epoch seconds) in its time zone into *today.
 * False on a database error or when the programme does not exist. */
bool feeds_store_indicators(PGconn *conn, int64_t programme_id, double now,
                            struct feeds_indicator *out, size_t *n, int32_t *today,
                            const char *request_id) __attribute__((warn_unused_result));

/* An indicator's latest due period: its first and last day and the day it was due (days
 * since 1970-01-01). */
struct feeds_due {
    int64_t indicator_id;
    int32_t period_start, period_end, due_on;
};

/* The status of the n due periods (n <= FEEDS_MAX_INDICATORS): a new JSON object owned by
 * the caller, {"indicators":[{"code","name","unit","period_type","period_start",
 * "period_end","due_on","reported_by_sites","expected","reported"}],"sites":[{"code","name",
 * "region","region_name","expected","reported","late":[codes],"last_received_at","status"}],
 * "regions":[{"code","name","sites_expected","sites_complete","values_expected",
 * "values_reported","completeness"}]}. A value is expected of a member site that had adopted
 * by the period's end and had not withdrawn before its start, for an indicator that member
 * sites report at all. NULL on a database error, or when the document would exceed
 * FEEDS_DOC_MAX_BYTES (logged). */
json_t *feeds_store_status(PGconn *conn, int64_t programme_id, const struct feeds_due *due,
                           size_t n, const char *request_id) __attribute__((warn_unused_result));

#endif
