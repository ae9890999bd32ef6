/* Digest schedules (digest_schedule.h): the receivers' "notify" and "digest" fields, checked
 * and read, and the next due time of a schedule in a receiver's time zone, from civil
 * calendar arithmetic (core/period.h) and the zone's offsets. */
#include "scaleupd/core/digest_schedule.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/period.h"
#include "scaleupd/core/problems.h"

static const char *const weekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
static const char *const notify_names[] = {"immediate", "digest", "both"};

bool digest_notify_from_name(const char *name, enum digest_notify *out)
{
    for (int i = 0; i < 3; i++)
        if (name != NULL && strcmp(name, notify_names[i]) == 0) {
            *out = (enum digest_notify)i;
            return true;
        }
    return false;
}

const char *digest_notify_name(enum digest_notify notify)
{
    return (unsigned)notify < 3 ? notify_names[notify] : "immediate";
}

/* An optional integer field of o in [min, max] into *v (left as is when absent). */
static bool int_field(const json_t *o, const char *key, int min, int max, int *v)
{
    const json_t *f = json_object_get(o, key);
    if (f == NULL)
        return true;
    if (!json_is_integer(f) || json_integer_value(f) < min || json_integer_value(f) > max)
        return false;
    *v = (int)json_integer_value(f);
    return true;
}

/* Reads a schedule; on failure *bad names the field at fault. */
static bool read_schedule(const json_t *d, struct digest_schedule *s, const char **bad)
{
    *s = (struct digest_schedule){
        .hour = 8, .days_after_due = 1, .grace_days = DIGEST_DEFAULT_GRACE_DAYS};
    const char *every = json_string_value(json_object_get(d, "every"));
    *bad = "every";
    if (!json_is_object(d) || every == NULL)
        return false;
    s->every = strcmp(every, "month") == 0 ? DIGEST_MONTHLY : DIGEST_WEEKLY;
    if (strcmp(every, "week") != 0 && s->every != DIGEST_MONTHLY)
        return false;
    *bad = "hour";
    if (!int_field(d, "hour", 0, 23, &s->hour))
        return false;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)d, key, v)
    {
        *bad = key;
        bool known = strcmp(key, "every") == 0 || strcmp(key, "hour") == 0 ||
                     (s->every == DIGEST_WEEKLY && strcmp(key, "day") == 0) ||
                     (s->every == DIGEST_MONTHLY &&
                      (strcmp(key, "days_after_due") == 0 || strcmp(key, "grace_days") == 0));
        if (!known)
            return false;
    }
    if (s->every == DIGEST_MONTHLY) {
        *bad = "days_after_due";
        if (!int_field(d, "days_after_due", 0, DIGEST_MAX_DAYS_AFTER_DUE, &s->days_after_due))
            return false;
        *bad = "grace_days";
        return int_field(d, "grace_days", 0, DIGEST_MAX_GRACE_DAYS, &s->grace_days);
    }
    *bad = "day";
    const char *day = json_string_value(json_object_get(d, "day"));
    for (int i = 0; day != NULL && i < 7; i++)
        if (strcmp(day, weekdays[i]) == 0)
            s->weekday = i + 1;
    return s->weekday != 0;
}

bool digest_schedule_from_json(const json_t *digest, struct digest_schedule *out)
{
    const char *bad;
    return read_schedule(digest, out, &bad);
}

static const char schedule_help[] =
    "a digest is {\"every\":\"week\",\"day\":\"monday\",\"hour\":0..23} or {\"every\":\"month\","
    "\"days_after_due\":0..28,\"grace_days\":0..366,\"hour\":0..23}";

/* Checks receiver i's notify and digest. */
static void check_one(const json_t *r, size_t i, json_t **problems)
{
    char path[96];
    const json_t *notify = json_object_get(r, "notify");
    const json_t *digest = json_object_get(r, "digest");
    enum digest_notify n = DIGEST_NOTIFY_IMMEDIATE;
    if (json_is_null(digest))
        digest = NULL; /* "digest": null is no schedule */
    snprintf(path, sizeof(path), "$.receivers[%zu].notify", i);
    if (notify != NULL && !digest_notify_from_name(json_string_value(notify), &n)) {
        problems_add(problems, path, "invalid_notify",
                     "notify is \"immediate\", \"digest\" or \"both\"");
        return;
    }
    if (n != DIGEST_NOTIFY_IMMEDIATE && digest == NULL)
        problems_add(problems, path, "missing_digest",
                     "notify \"%s\" needs a digest schedule (\"digest\")", digest_notify_name(n));
    else if (n != DIGEST_NOTIFY_IMMEDIATE && json_array_size(json_object_get(r, "email")) == 0)
        problems_add(problems, path, "no_email",
                     "a digest goes by e-mail: notify \"%s\" needs an e-mail address",
                     digest_notify_name(n));
    snprintf(path, sizeof(path), "$.receivers[%zu].digest", i);
    if (digest == NULL)
        return;
    struct digest_schedule s;
    const char *bad;
    if (!read_schedule(digest, &s, &bad)) {
        snprintf(path, sizeof(path), "$.receivers[%zu].digest%s%s", i,
                 json_is_object(digest) ? "." : "", json_is_object(digest) ? bad : "");
        problems_add(problems, path, "invalid_digest", "%s", schedule_help);
    } else if (n == DIGEST_NOTIFY_IMMEDIATE) {
        problems_add(problems, path, "unused_digest",
                     "a digest schedule needs notify \"digest\" or \"both\"");
    }
}

void digest_doc_check(const json_t *receivers, json_t **problems)
{
    size_t i;
    const json_t *r;
    if (!json_is_array(receivers))
        return;
    json_array_foreach(receivers, i, r)
    {
        if (json_is_object(r))
            check_one(r, i, problems);
    }
}

json_t *digest_schedule_json(const struct digest_schedule *s)
{
    if (s->every == DIGEST_WEEKLY)
        return json_pack("{s:s,s:s,s:i}", "every", "week", "day", weekdays[(s->weekday - 1) % 7],
                         "hour", s->hour);
    return json_pack("{s:s,s:i,s:i,s:i}", "every", "month", "days_after_due", s->days_after_due,
                     "grace_days", s->grace_days, "hour", s->hour);
}

bool digest_local_to_utc(const struct digest_zone *zone, double local, double *utc)
{
    int early, late, check;
    if (!zone->offset(zone->ctx, local - 86400, &early) ||
        !zone->offset(zone->ctx, local + 86400, &late))
        return false;
    /* the offsets a day before and after: at most one change between them */
    double first = local - (early > late ? early : late);
    double second = local - (early > late ? late : early);
    if (!zone->offset(zone->ctx, first, &check))
        return false;
    if (local - check == first) {
        *utc = first;
        return true;
    }
    if (!zone->offset(zone->ctx, second, &check))
        return false;
    /* consistent: the later instant of a change; neither: a gap, crossed with the offset
     * before it */
    *utc = local - check == second ? second : local - early;
    return true;
}

/* The due time at hour on local day `day`. */
static bool due_on(const struct digest_schedule *s, const struct digest_zone *zone, int32_t day,
                   double *due)
{
    return digest_local_to_utc(zone, (double)day * 86400.0 + s->hour * 3600.0, due);
}

bool digest_next_due(const struct digest_schedule *s, const struct digest_zone *zone, double after,
                     double *due)
{
    int offset;
    if (!zone->offset(zone->ctx, after, &offset))
        return false;
    int32_t today = (int32_t)floor((after + offset) / 86400.0);
    if (s->every == DIGEST_WEEKLY) {
        int32_t day = today - 1 - ((date_iso_weekday(today - 1) - s->weekday + 7) % 7);
        for (int k = 0; k < 4; k++, day += 7) {
            if (!due_on(s, zone, day, due))
                return false;
            if (*due > after)
                return true;
        }
        return false;
    }
    int lag = s->grace_days + s->days_after_due;
    struct period month = period_containing(PERIOD_MONTHLY, today - lag - 40);
    for (int k = 0; k < 6; k++, month = period_add(month, 1)) {
        if (!due_on(s, zone, period_end(month) + lag, due))
            return false;
        if (*due > after)
            return true;
    }
    return false;
}
