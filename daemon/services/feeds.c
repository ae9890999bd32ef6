/* The feeds status: which period of each indicator is due today (period arithmetic of
 * core/period.h), and who reported it (feeds_store.c). */
#include "scaleupd/services/feeds.h"

#include <stdlib.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/clock.h"
#include "scaleupd/core/period.h"
#include "scaleupd/storage/feeds_store.h"

/* The latest period of `type` whose due date (last day + grace) is before today. */
static struct period latest_due(enum period_type type, int32_t today, int grace)
{
    struct period p = period_containing(type, today - grace - 1);
    if (period_end(p) + grace >= today)
        p = period_add(p, -1);
    return p;
}

enum feeds_status feeds_status(PGconn *conn, int64_t programme_id, int grace_days,
                               const char *request_id, json_t **doc)
{
    struct feeds_indicator *indicators = xcalloc(FEEDS_MAX_INDICATORS, sizeof(*indicators));
    struct feeds_due *due = xcalloc(FEEDS_MAX_INDICATORS, sizeof(*due));
    enum feeds_status status = FEEDS_DB_ERROR;
    size_t n = 0;
    int32_t today = 0;
    if (!feeds_store_indicators(conn, programme_id, clock_now(), indicators, &n, &today,
                                request_id))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct period p = latest_due(indicators[i].period_type, today, grace_days);
        due[i] = (struct feeds_due){indicators[i].id, period_start(p), period_end(p),
                                    period_end(p) + grace_days};
    }
    json_t *status_doc = feeds_store_status(conn, programme_id, due, n, request_id);
    char day[DATE_FORMAT_MAX];
    if (status_doc == NULL || !date_format(today, day, sizeof(day))) {
        json_decref(status_doc);
        goto out;
    }
    json_object_set_new(status_doc, "today", json_string(day));
    json_object_set_new(status_doc, "grace_days", json_integer(grace_days));
    *doc = status_doc;
    status = FEEDS_OK;
out:
    free(indicators);
    free(due);
    return status;
}
