/* The feeds status: which period of each indicator is due today (period arithmetic of
 * core/period.h), and who reported it (feeds_store.c): the summary and the pages of sites. */
#include "scaleupd/services/feeds.h"

#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/core/period.h"

/* The latest period of `type` whose due date (last day + grace) is before today. */
static struct period latest_due(enum period_type type, int32_t today, int grace)
{
    struct period p = period_containing(type, today - grace - 1);
    if (period_end(p) + grace >= today)
        p = period_add(p, -1);
    return p;
}

/* The due periods of the programme's indicators (of only the one of code `only` when not
 * NULL) into due[] (room for FEEDS_MAX_INDICATORS), their number into *n, today into
 * *today. False on a database error. */
static bool due_periods(PGconn *conn, int64_t programme_id, int grace_days, const char *only,
                        struct feeds_due *due, size_t *n, int32_t *today, const char *request_id)
{
    struct feeds_indicator *indicators = xcalloc(FEEDS_MAX_INDICATORS, sizeof(*indicators));
    size_t all = 0;
    bool ok = feeds_store_indicators(conn, programme_id, clock_now(), indicators, &all, today,
                                     request_id);
    *n = 0;
    for (size_t i = 0; ok && i < all; i++) {
        if (only != NULL && strcmp(indicators[i].code, only) != 0)
            continue;
        struct period p = latest_due(indicators[i].period_type, *today, grace_days);
        due[(*n)++] = (struct feeds_due){indicators[i].id, period_start(p), period_end(p),
                                         period_end(p) + grace_days};
    }
    free(indicators);
    return ok;
}

enum feeds_status feeds_summary(PGconn *conn, int64_t programme_id, int grace_days,
                                const char *request_id, json_t **doc)
{
    struct feeds_due *due = xcalloc(FEEDS_MAX_INDICATORS, sizeof(*due));
    enum feeds_status status = FEEDS_DB_ERROR;
    size_t n = 0;
    int32_t today = 0;
    if (!due_periods(conn, programme_id, grace_days, NULL, due, &n, &today, request_id))
        goto out;
    json_t *summary = feeds_store_summary(conn, programme_id, due, n, request_id);
    char day[DATE_FORMAT_MAX];
    if (summary == NULL || !date_format(today, day, sizeof(day))) {
        json_decref(summary);
        goto out;
    }
    json_object_set_new(summary, "today", json_string(day));
    json_object_set_new(summary, "grace_days", json_integer(grace_days));
    *doc = summary;
    status = FEEDS_OK;
out:
    free(due);
    return status;
}

enum feeds_status feeds_sites(PGconn *conn, int64_t programme_id, int grace_days,
                              const char *indicator, const struct feeds_sites_query *q,
                              json_t **rows, char *next[3], const char *request_id)
{
    bool region_found, indicator_found;
    if (!feeds_store_lookup(conn, programme_id, q->region, indicator, &region_found,
                            &indicator_found, request_id))
        return FEEDS_DB_ERROR;
    if (!region_found)
        return FEEDS_UNKNOWN_REGION;
    if (!indicator_found)
        return FEEDS_UNKNOWN_INDICATOR;
    struct feeds_due *due = xcalloc(FEEDS_MAX_INDICATORS, sizeof(*due));
    size_t n = 0;
    int32_t today = 0;
    bool ok = due_periods(conn, programme_id, grace_days, indicator, due, &n, &today, request_id) &&
              feeds_store_sites(conn, programme_id, due, n, q, rows, next, request_id);
    free(due);
    return ok ? FEEDS_OK : FEEDS_DB_ERROR;
}
