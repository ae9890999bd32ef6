/* The dashboard's chart endpoint: an indicator's XmR chart (services/charts.h); the feeds
 * status is routes_feeds_status.c, the files static_files.c. */
#include <errno.h>
#include <stdlib.h>

#include "scaleupd/edge/app.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/services/charts.h"

/* ---- the XmR chart of an indicator ---------------------------------------------------- */

/* ?baseline=N: the first N points set the limits (0 or absent: every point). */
static bool chart_baseline(struct request *req, size_t *fix_after_n)
{
    const char *text = request_query(req, "baseline");
    *fix_after_n = 0;
    if (text == NULL)
        return true;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < 0 || n > 100000) {
        request_reply_error(req, 400, "invalid_parameter",
                            "baseline must be a number of points from 0 to 100000");
        return false;
    }
    *fix_after_n = (size_t)n;
    return true;
}

void handle_get_chart(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    long long programme_id;
    struct charts_query q = {0};
    if (!handler_check_programme(req, conn, &programme_id) || !chart_baseline(req, &q.fix_after_n))
        return;
    q.programme_id = programme_id;
    q.indicator = request_query(req, "indicator");
    q.site = request_query(req, "site");
    q.request_id = req->id;
    if (q.indicator == NULL || q.site == NULL) {
        request_reply_error(req, 400, "missing_parameter",
                            "chart needs ?indicator=CODE&site=CODE (a site, region or country)");
        return;
    }
    json_t *doc = NULL;
    enum spc_status why = SPC_OK;
    switch (charts_xmr(conn, &q, &doc, &why)) {
    case CHARTS_OK:
        request_reply_json(req, 200, doc);
        break;
    case CHARTS_NOT_CHARTABLE:
        request_reply_error(req, 422, "not_chartable", "the series cannot be charted: %s",
                            spc_status_message(why));
        break;
    case CHARTS_UNKNOWN_INDICATOR:
        request_reply_error(req, 404, "unknown_indicator", "no indicator \"%s\" in this programme",
                            q.indicator);
        break;
    case CHARTS_UNKNOWN_SITE:
        request_reply_error(req, 404, "unknown_site", "no site \"%s\" in this programme", q.site);
        break;
    case CHARTS_DB_ERROR:
        handler_db_error(req, conn);
        break;
    }
}
