/* Digests of a receiver (README, "Digests"): how a receiver is told ("notify": immediate
 * notices, a digest on a schedule, or both), the schedule document ("digest": weekly on a
 * day at an hour, or monthly some days after the due date of a month's data) and when a
 * digest is next due, in the receiver's time zone. Pure: the zone's UTC offsets are asked of
 * a callback (the storage asks PostgreSQL, which knows the receivers' zones; tests pass
 * their own rules). */
#ifndef SCALEUPD_CORE_DIGEST_SCHEDULE_H
#define SCALEUPD_CORE_DIGEST_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>

#define DIGEST_MAX_DAYS_AFTER_DUE 28
#define DIGEST_MAX_GRACE_DAYS 366
#define DIGEST_DEFAULT_GRACE_DAYS 15 /* as the feeds status: monthly data due by the 15th */

enum digest_notify {
    DIGEST_NOTIFY_IMMEDIATE, /* notices as alerts change (the default) */
    DIGEST_NOTIFY_DIGEST,    /* the digest only */
    DIGEST_NOTIFY_BOTH,
};

enum digest_every {
    DIGEST_WEEKLY,
    DIGEST_MONTHLY,
};

/* A schedule. Weekly: weekday (1 Monday .. 7 Sunday) at hour:00 local time. Monthly: at
 * hour:00 local time on the day days_after_due after the due date of each month's data,
 * the due date being the month's last day plus grace_days (the feeds status's grace). */
struct digest_schedule {
    enum digest_every every;
    int weekday;
    int hour;
    int days_after_due;
    int grace_days;
};

/* "immediate", "digest" or "both" (exact) into *out; false, *out untouched, otherwise. */
bool digest_notify_from_name(const char *name, enum digest_notify *out)
    __attribute__((warn_unused_result));

/* The name of a notify value ("immediate"); a static string. */
const char *digest_notify_name(enum digest_notify notify);

/*
 * Checks the "notify" and "digest" fields of each receiver of a receivers document's list
 * (anything that is not an array, or an element that is not an object, is left to
 * receiver_doc_parse) and appends problems under $.receivers[i].notify / .digest
 * (problems.h): invalid_notify, invalid_digest (with the field's path), missing_digest
 * ("digest"/"both" without a schedule; "digest": null is none) and unused_digest (a
 * schedule with "immediate") and no_email (a digest for a receiver with no e-mail address:
 * digests go by e-mail only).
 */
void digest_doc_check(const json_t *receivers, json_t **problems);

/* Reads a schedule that digest_doc_check accepted (digest is the receiver's "digest"
 * object); false for anything it would not accept. */
bool digest_schedule_from_json(const json_t *digest, struct digest_schedule *out)
    __attribute__((warn_unused_result));

/* The schedule in its canonical form: {"every":"week","day":"monday","hour":8} or
 * {"every":"month","days_after_due":1,"grace_days":15,"hour":8}. The caller owns it. */
json_t *digest_schedule_json(const struct digest_schedule *s);

/* A time zone: offset(ctx, utc, &seconds) sets the zone's offset east of UTC in force at
 * utc (seconds since 1970) and returns true, or false when it cannot tell. */
struct digest_zone {
    bool (*offset)(void *ctx, double utc, int *seconds);
    void *ctx;
};

/*
 * The UTC time of local wall-clock time `local` (seconds since 1970 read as if UTC) in zone.
 * A time that occurs twice (the hour the clocks go back) is its first occurrence; one that
 * does not occur (the hour the clocks go forward) is moved forward by the gap (02:30 on the
 * day Brussels springs forward is 03:30 CEST), as PostgreSQL does. False when the zone
 * cannot tell.
 */
bool digest_local_to_utc(const struct digest_zone *zone, double local, double *utc)
    __attribute__((warn_unused_result));

/* The first due time of s strictly after `after` (UTC seconds), in zone, into *due. False
 * when the zone cannot tell. */
bool digest_next_due(const struct digest_schedule *s, const struct digest_zone *zone, double after,
                     double *due) __attribute__((warn_unused_result));

#endif
