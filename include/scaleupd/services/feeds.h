/* The dashboard's feeds status: for each indicator of a programme, its latest period whose
 * data is due (the period's end plus a grace of days is past), and who reported it. */
#ifndef SCALEUPD_FEEDS_H
#define SCALEUPD_FEEDS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#define FEEDS_DEFAULT_GRACE_DAYS 15 /* monthly data due by the 15th of the next month */
#define FEEDS_MAX_GRACE_DAYS 366

enum feeds_status {
    FEEDS_OK,
    FEEDS_DB_ERROR, /* db_failure_of(conn) says what kind; also an unreadable status */
};

/* The feeds status of the programme today (clock_now, in its time zone) with grace_days
 * (0..FEEDS_MAX_GRACE_DAYS): the document of feeds_store_status (feeds_store.h) with
 * "today" (YYYY-MM-DD) and "grace_days" added. *doc is new and owned by the caller when
 * FEEDS_OK. */
enum feeds_status feeds_status(PGconn *conn, int64_t programme_id, int grace_days,
                               const char *request_id, json_t **doc)
    __attribute__((warn_unused_result));

#endif
