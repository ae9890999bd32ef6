/* Digests (digest.h): the receivers' notify modes and schedules stored with the receivers,
 * and the digest task: claim a due receiver digest (storage/digest_store.c), gather what it
 * shows (alerts, progress_service, feeds), render it (core/digest_render.c) and queue it in
 * the outbox with the record of the digest sent, one transaction per digest. */
#include "scaleupd/services/digest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/digest_render.h"
#include "scaleupd/core/digest_schedule.h"
#include "scaleupd/core/log.h"
#include "scaleupd/core/notify_render.h"
#include "scaleupd/services/feeds.h"
#include "scaleupd/services/progress_service.h"
#include "scaleupd/storage/alert_groups.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/storage/digest_store.h"
#include "scaleupd/storage/outbox.h"
#include "scaleupd/storage/receiver_store.h"

/* [{"name","notify","digest"}] of a checked receivers list, schedules in canonical form. */
static json_t *settings_of(const json_t *receivers)
{
    json_t *settings = json_array();
    size_t i;
    const json_t *r;
    json_array_foreach(receivers, i, r)
    {
        enum digest_notify notify = DIGEST_NOTIFY_IMMEDIATE;
        struct digest_schedule s;
        const json_t *digest = json_object_get(r, "digest");
        if (!digest_notify_from_name(json_string_value(json_object_get(r, "notify")), &notify))
            notify = DIGEST_NOTIFY_IMMEDIATE;
        json_t *schedule = json_is_object(digest) && digest_schedule_from_json(digest, &s)
                               ? digest_schedule_json(&s)
                               : json_null();
        json_array_append_new(settings,
                              json_pack("{s:O,s:s,s:o}", "name", json_object_get(r, "name"),
                                        "notify", digest_notify_name(notify), "digest", schedule));
    }
    return settings;
}

json_t *digest_receivers_get(PGconn *conn, int64_t programme_id)
{
    json_t *list = alerts_receivers_get(conn, programme_id);
    json_t *settings = list ? digest_store_get(conn, programme_id) : NULL;
    if (settings == NULL) {
        json_decref(list);
        return NULL;
    }
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        json_t *s = json_object_get(settings, json_string_value(json_object_get(r, "name")));
        json_t *notify = json_object_get(s, "notify");
        json_object_set_new(r, "notify", notify ? json_incref(notify) : json_string("immediate"));
        if (json_is_object(json_object_get(s, "digest"))) {
            json_object_set(r, "digest", json_object_get(s, "digest"));
            json_object_set(r, "next_digest_at", json_object_get(s, "next_digest_at"));
        }
    }
    json_decref(settings);
    return list;
}

enum alerts_result digest_receivers_put(PGconn *conn, int64_t programme_id, const json_t *receivers,
                                        double now, json_t **problems, json_t **stored)
{
    if (!db_begin(conn, NULL))
        return ALERTS_DB_ERROR;
    json_t *listed = NULL;
    enum alerts_result r = alerts_receivers_put(conn, programme_id, receivers, problems, &listed);
    json_decref(listed);
    json_t *settings = settings_of(receivers);
    if (r == ALERTS_OK && !digest_store_put(conn, programme_id, settings, now))
        r = ALERTS_DB_ERROR;
    json_decref(settings);
    if (r != ALERTS_OK || !db_commit(conn, NULL)) {
        db_rollback(conn, NULL);
        return r == ALERTS_OK ? ALERTS_DB_ERROR : r;
    }
    *stored = digest_receivers_get(conn, programme_id);
    return *stored != NULL ? ALERTS_OK : ALERTS_DB_ERROR;
}

/* What one digest shows, and what its strings point into. */
struct gathered {
    struct digest d;
    struct digest_alert_list alerts;
    json_t *progress_doc, *previous, *feeds_doc;
    json_t *progress_now; /* what the next digest compares with */
    struct digest_late_feed *late;
    char (*periods)[16];
    char from[40], to[40];
};

static void gathered_clear(struct gathered *g)
{
    digest_alert_list_clear(&g->alerts);
    json_decref(g->progress_doc), json_decref(g->previous), json_decref(g->feeds_doc);
    json_decref(g->progress_now);
    free(g->late), free(g->periods);
}

static const char *const dimension_names[] = {"coverage", "expansion", "institutionalisation"};

/* One dimension now (from the progress document) and in the last digest. */
static void read_dimension(struct gathered *g, size_t i)
{
    const char *name = dimension_names[i];
    struct digest_dimension *dim = &g->d.dimensions[i];
    const json_t *now = json_object_get(json_object_get(g->progress_doc, "dimensions"), name);
    const json_t *before = json_object_get(g->previous, name);
    const json_t *progress = json_object_get(now, "progress");
    const json_t *previous = json_object_get(before, "progress");
    *dim = (struct digest_dimension){.name = name,
                                     .status = json_string_value(json_object_get(now, "status")),
                                     .has_progress = json_is_number(progress),
                                     .progress = json_number_value(progress),
                                     .previous_status =
                                         json_string_value(json_object_get(before, "status")),
                                     .has_previous_progress = json_is_number(previous),
                                     .previous_progress = json_number_value(previous)};
    json_object_set_new(g->progress_now, name,
                        json_pack("{s:s?,s:O?}", "status", dim->status, "progress",
                                  json_is_number(progress) ? progress : NULL));
}

static bool gather_progress(PGconn *conn, const struct digest_claim *c, struct gathered *g)
{
    g->progress_now = json_object();
    enum progress_service_result r =
        progress_service_read(conn, c->programme_id, NULL, false, &g->progress_doc, NULL);
    if (r == PROGRESS_SERVICE_NO_ROADMAP)
        return true;
    if (r != PROGRESS_SERVICE_OK)
        return false;
    g->previous = c->previous_progress ? json_loads(c->previous_progress, 0, NULL) : NULL;
    g->d.has_progress = true;
    g->d.n_dimensions = 3;
    for (size_t i = 0; i < 3; i++)
        read_dimension(g, i);
    return true;
}

/* The indicators whose latest due period some member sites have not sent. */
static bool gather_feeds(PGconn *conn, const struct digest_claim *c, int grace, struct gathered *g)
{
    /* a feeds status that cannot be read (over its size cap, say) is said in the digest,
     * under a savepoint so that the rest of the digest still goes */
    if (!db_savepoint(conn, "digest_feeds", NULL))
        return false;
    enum feeds_status r = feeds_summary(conn, c->programme_id, grace, NULL, &g->feeds_doc);
    if (r != FEEDS_OK)
        return !db_connection_lost(conn) && db_rollback_to(conn, "digest_feeds", NULL);
    if (!db_release(conn, "digest_feeds", NULL))
        return false;
    g->d.has_feeds = true;
    const json_t *totals = json_object_get(g->feeds_doc, "totals");
    g->d.sites_late = (long long)json_integer_value(json_object_get(totals, "sites_late"));
    g->d.sites_expected = (long long)json_integer_value(json_object_get(totals, "sites_expected"));
    const json_t *list = json_object_get(g->feeds_doc, "indicators");
    size_t n = json_array_size(list);
    g->late = xcalloc(n ? n : 1, sizeof(*g->late));
    g->periods = xcalloc(n ? n : 1, sizeof(*g->periods));
    for (size_t i = 0; i < n; i++) {
        const json_t *ind = json_array_get(list, i);
        json_int_t expected = json_integer_value(json_object_get(ind, "expected"));
        json_int_t reported = json_integer_value(json_object_get(ind, "reported"));
        if (!json_is_true(json_object_get(ind, "reported_by_sites")) || reported >= expected)
            continue;
        const char *start = json_string_value(json_object_get(ind, "period_start"));
        const char *type = json_string_value(json_object_get(ind, "period_type"));
        bool monthly = type != NULL && strcmp(type, "monthly") == 0;
        size_t k = g->d.n_late_feeds++;
        snprintf(g->periods[k], 16, "%.*s", monthly ? 7 : 10, start ? start : "?");
        g->late[k] = (struct digest_late_feed){
            .indicator_name = json_string_value(json_object_get(ind, "name")),
            .period = g->periods[k],
            .due_on = json_string_value(json_object_get(ind, "due_on")),
            .sites_late = (long long)(expected - reported),
            .sites_expected = (long long)expected};
    }
    g->d.late_feeds = g->late;
    return true;
}

static bool gather(PGconn *conn, const struct digest_claim *c, const struct digest_schedule *s,
                   const struct config *config, struct gathered *g)
{
    struct digest *d = &g->d;
    *d = (struct digest){.programme = c->programme,
                         .programme_name = c->programme_name,
                         .receiver = c->receiver,
                         .time_zone = c->time_zone,
                         .base_url = config->base_url,
                         .monthly = s->every == DIGEST_MONTHLY,
                         .from = g->from,
                         .to = g->to};
    if (!digest_store_local_time(conn, c->time_zone, c->covers_from, g->from, sizeof(g->from)) ||
        !digest_store_local_time(conn, c->time_zone, c->next_due, g->to, sizeof(g->to)) ||
        !digest_store_alerts(conn, c, c->covers_from, c->next_due, &g->alerts))
        return false;
    d->opened = g->alerts.alerts[0], d->n_opened = g->alerts.n[0];
    d->total_opened = g->alerts.total[0];
    d->resolved = g->alerts.alerts[1], d->n_resolved = g->alerts.n[1];
    d->total_resolved = g->alerts.total[1];
    d->still_open = g->alerts.alerts[2], d->n_still_open = g->alerts.n[2];
    d->total_still_open = g->alerts.total[2];
    int grace = s->every == DIGEST_MONTHLY ? s->grace_days : DIGEST_DEFAULT_GRACE_DAYS;
    return gather_progress(conn, c, g) && gather_feeds(conn, c, grace, g);
}

/* The rendered parts, shared by every address of the receiver. */
struct parts {
    char *subject, *text, *html;
};

/* Queues the digest to each e-mail address of the receiver (digests are for people: its
 * webhooks get none); the ids into *ids (the caller frees), their number or -1. */
static long queue_mail(PGconn *conn, const struct config *config, const struct digest_claim *c,
                       const struct parts *p, double now, int64_t **ids)
{
    struct alert_group_targets targets;
    if (!alert_groups_targets(conn, c->programme_id, c->receiver, &targets))
        return -1;
    *ids = xcalloc(targets.n ? targets.n : 1, sizeof(**ids));
    char domain[128];
    notify_mail_domain(config->smtp_from, domain, sizeof(domain));
    long n = 0;
    for (size_t i = 0; i < targets.n && n >= 0; i++) {
        if (targets.targets[i].webhook)
            continue;
        const char *to = targets.targets[i].target;
        struct outbox_message m = {.programme_id = c->programme_id,
                                   .receiver = c->receiver,
                                   .target = to,
                                   .created_at = now};
        int64_t id = outbox_queue(conn, &m);
        char message_id[200], date[64], boundary[64];
        notify_message_id((long long)id, c->programme, domain, message_id, sizeof(message_id));
        notify_mail_date(now, date, sizeof(date));
        notify_boundary((long long)id, boundary, sizeof(boundary));
        char *message = id == 0
                            ? NULL
                            : notify_email_message(config->smtp_from, to, p->subject, date,
                                                   message_id, NULL, p->text, p->html, boundary);
        bool ok = message != NULL && outbox_set_body(conn, id, p->subject, message, NULL);
        free(message);
        n = ok ? n + 1 : -1;
        if (ok)
            (*ids)[n - 1] = id;
    }
    alert_group_targets_clear(&targets);
    return n;
}

/* Renders and queues the claimed digest and records it with the next due time after
 * max(its due time, now) (a daemon that was down sends one digest, not the missed ones).
 * The number of messages queued or -1. */
static long send_claimed(PGconn *conn, const struct config *config, const struct digest_claim *c,
                         const struct digest_schedule *s, const struct digest_zone *zone,
                         double now)
{
    struct gathered g = {0};
    long n = -1;
    double next;
    if (!gather(conn, c, s, config, &g) ||
        !digest_next_due(s, zone, c->next_due > now ? c->next_due : now, &next))
        goto out;
    struct parts p = {digest_subject(&g.d), digest_text(&g.d), digest_html(&g.d)};
    int64_t *ids = NULL;
    if (p.subject && p.text && p.html)
        n = queue_mail(conn, config, c, &p, now, &ids);
    else
        log_warning("could not render the digest of %s/%s: over %zu bytes", c->programme,
                    c->receiver, DIGEST_RENDER_MAX);
    char *progress = json_dumps(g.progress_now, JSON_COMPACT);
    if (n >= 0 && !digest_store_record(conn, c, now, ids, (size_t)n, progress, next))
        n = -1;
    free(progress), free(ids);
    free(p.subject), free(p.text), free(p.html);
out:
    gathered_clear(&g);
    return n;
}

/* The keys of the digests that failed in this run, as a text array literal: the claim
 * skips them, so that one that cannot be sent does not hold up the others. */
struct skip {
    char text[4096];
    size_t len;
};

static void skip_add(struct skip *k, int64_t programme_id, const char *receiver)
{
    char key[300];
    int n = snprintf(key, sizeof(key), "%s\"%lld/", k->len > 2 ? "," : "", (long long)programme_id);
    for (const char *p = receiver; n > 0 && (size_t)n < sizeof(key) - 4 && *p; p++) {
        if (*p == '"' || *p == '\\')
            key[n++] = '\\';
        key[n++] = *p;
    }
    key[n++] = '"';
    key[n] = '\0';
    if (k->len + (size_t)n + 2 < sizeof(k->text)) {
        memcpy(k->text + k->len - 1, key, (size_t)n);
        k->len += (size_t)n;
        k->text[k->len - 1] = '}';
        k->text[k->len] = '\0';
    }
}

/* One claim in its own transaction: 1 done (scheduled or sent), 0 nothing due, -2 the
 * claimed digest failed (added to skip), -1 another error. */
static int run_one(PGconn *conn, const struct config *config, double now, struct skip *skip,
                   long *queued)
{
    if (!db_begin(conn, NULL))
        return -1;
    struct digest_claim c;
    int got = digest_store_claim(conn, now, skip->text, &c);
    struct digest_schedule s;
    json_t *schedule = got == 1 ? json_loads(c.schedule, 0, NULL) : NULL;
    if (got == 1 && !digest_schedule_from_json(schedule, &s))
        got = -2;
    json_decref(schedule);
    struct digest_store_zone z = {conn, c.time_zone};
    struct digest_zone zone = {digest_store_zone_offset, &z};
    double next;
    long n = 0;
    if (got == 1 && !c.has_next_due) {
        /* a new or changed schedule: its first due time after the last digest */
        if (!digest_next_due(&s, &zone, c.covers_from, &next) ||
            !digest_store_set_next(conn, &c, next))
            got = -2;
    } else if (got == 1) {
        n = send_claimed(conn, config, &c, &s, &zone, now);
        got = n < 0 ? -2 : 1;
    }
    if (got == 1)
        log_info("%s the digest of %s/%s", c.has_next_due ? "queued" : "scheduled", c.programme,
                 c.receiver);
    if (got >= 0 && db_commit(conn, NULL)) {
        digest_claim_clear(&c);
        *queued += n;
        return got;
    }
    db_rollback(conn, NULL);
    if (got == -2) {
        log_warning("could not send the digest of %s/%s; trying again at the next run", c.programme,
                    c.receiver);
        skip_add(skip, c.programme_id, c.receiver);
    }
    digest_claim_clear(&c);
    return got == -2 ? -2 : -1;
}

long digest_run(PGconn *conn, const struct config *config, double now, bool *more)
{
    long queued = 0;
    struct skip skip = {"{}", 2};
    bool failed = false;
    if (more != NULL)
        *more = false;
    for (int i = 0; i < DIGEST_RUN_MAX; i++) {
        int r = run_one(conn, config, now, &skip, &queued);
        if (r == -1 || (r < 0 && db_connection_lost(conn)))
            return -1;
        failed = failed || r < 0;
        if (r == 0)
            return failed ? -1 : queued;
    }
    if (more != NULL)
        *more = true;
    return failed ? -1 : queued;
}
