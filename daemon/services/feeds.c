/* The feeds status: which period of each indicator is due today (period arithmetic of
 * core/period.h), and who reported it (feeds_store.c): the summary (kept between reads, and
 * brought up to date in the background) and the pages of sites. */
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

/* The summary of the n due periods: the kept one when its key is the key now, else computed
 * from scratch and kept (unless a mark is pending). NULL on a database error. */
static json_t *summary_of(PGconn *conn, int64_t programme_id, int grace_days,
                          const struct feeds_due *due, size_t n, const char *request_id)
{
    json_t *doc = NULL;
    bool pending = false;
    if (!feeds_store_summary_kept(conn, programme_id, grace_days, due, n, &doc, &pending,
                                  request_id))
        return NULL;
    if (doc != NULL)
        return doc;
    return feeds_store_summary_keep(conn, programme_id, grace_days, due, n, true, NULL, request_id);
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
    json_t *summary = summary_of(conn, programme_id, grace_days, due, n, request_id);
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

/* Brings one kept summary up to date: 1 when it was computed and kept, 0 when it was up to
 * date or a mark is pending (the fold that takes it kicks again), -1 on a database error. */
static int refresh_one(PGconn *conn, const struct feeds_kept_key *key, struct feeds_due *due)
{
    size_t n = 0;
    int32_t today = 0;
    json_t *doc = NULL;
    bool pending = false, kept = false;
    if (!due_periods(conn, key->programme_id, key->grace_days, NULL, due, &n, &today, NULL) ||
        !feeds_store_summary_kept(conn, key->programme_id, key->grace_days, due, n, &doc, &pending,
                                  NULL))
        return -1;
    if (doc != NULL || pending) {
        json_decref(doc);
        return 0;
    }
    doc = feeds_store_summary_keep(conn, key->programme_id, key->grace_days, due, n, false, &kept,
                                   NULL);
    if (doc == NULL)
        return -1;
    json_decref(doc);
    return kept ? 1 : 0;
}

int feeds_refresh_summaries(PGconn *conn, bool (*yield)(void *arg), void *arg, bool *more)
{
    struct feeds_kept_key *keys = NULL;
    size_t n = 0;
    int refreshed = 0;
    *more = false;
    if (!feeds_store_summaries_read(conn, FEEDS_REFRESH_MAX, &keys, &n))
        return -1;
    struct feeds_due *due = xcalloc(FEEDS_MAX_INDICATORS, sizeof(*due));
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && yield != NULL && yield(arg)) {
            *more = true;
            break;
        }
        int one = refresh_one(conn, &keys[i], due);
        if (one < 0) {
            refreshed = -1;
            break;
        }
        refreshed += one;
    }
    free(due);
    free(keys);
    return refreshed;
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
