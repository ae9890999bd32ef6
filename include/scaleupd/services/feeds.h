/* The dashboard's feeds status: for each indicator of a programme, its latest period whose
 * data is due (the period's end plus a grace of days is past), and who reported it: a
 * summary per region and indicator, and the member sites a page at a time, late ones first. */
#ifndef SCALEUPD_FEEDS_H
#define SCALEUPD_FEEDS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "scaleupd/storage/feeds_store.h"

#define FEEDS_DEFAULT_GRACE_DAYS 15 /* monthly data due by the 15th of the next month */
#define FEEDS_MAX_GRACE_DAYS 366

enum feeds_status {
    FEEDS_OK,
    FEEDS_DB_ERROR,          /* db_failure_of(conn) says what kind; also an unreadable status */
    FEEDS_UNKNOWN_REGION,    /* feeds_sites: no region of that code */
    FEEDS_UNKNOWN_INDICATOR, /* feeds_sites: no indicator of that code */
};

/* The feeds summary of the programme today (clock_now, in its time zone) with grace_days
 * (0..FEEDS_MAX_GRACE_DAYS): the document of feeds_store_summary (feeds_store.h) with
 * "today" (YYYY-MM-DD) and "grace_days" added; the kept one when its key is the key now, else
 * computed and kept (feeds_store_summary_keep). *doc is new and owned by the caller when
 * FEEDS_OK. */
enum feeds_status feeds_summary(PGconn *conn, int64_t programme_id, int grace_days,
                                const char *request_id, json_t **doc)
    __attribute__((warn_unused_result));

/* Brings the kept summaries reads asked for within the day (at most FEEDS_REFRESH_MAX) up to
 * date: each whose key is not the key now is computed and kept, unless a rollup mark naming
 * series is pending (the fold that takes it kicks this again). Stops early when yield(arg)
 * says other work waits (*more then true). The number computed and kept, -1 on a database
 * error (logged). */
#define FEEDS_REFRESH_MAX 64
int feeds_refresh_summaries(PGconn *conn, bool (*yield)(void *arg), void *arg, bool *more)
    __attribute__((warn_unused_result));

/* A page of the member sites' status today with grace_days, as feeds_store_sites returns it
 * (rows, and next[0..3) when more follow), for q (its region a region code or NULL) and, when
 * indicator is not NULL, for that indicator's due period alone (expected, reported, missing
 * and status then count that indicator only). FEEDS_UNKNOWN_REGION / _INDICATOR when the
 * programme has no such region / indicator. */
enum feeds_status feeds_sites(PGconn *conn, int64_t programme_id, int grace_days,
                              const char *indicator, const struct feeds_sites_query *q,
                              json_t **rows, char *next[3], const char *request_id)
    __attribute__((warn_unused_result));

#endif
