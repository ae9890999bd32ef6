/* Alert groups (docs/ARCHITECTURE.md, notification and delivery): the alert events of one
 * programme and receiver, gathered into one message. SQL only: the groups with news or a
 * repeat due, the lock and remembered timers of a group, the alerts its message shows, the
 * receiver's targets, and the record of a dispatch. The decisions are the notification
 * service's (services/notify.h) and core/notify_timing.h's. */
#ifndef SCALEUPD_STORAGE_ALERT_GROUPS_H
#define SCALEUPD_STORAGE_ALERT_GROUPS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/notify_render.h"
#include "scaleupd/core/notify_timing.h"

/* A group: one programme and one receiver. */
struct alert_group_key {
    int64_t programme_id;
    char *receiver; /* owned by the list */
};

struct alert_group_list {
    struct alert_group_key *groups;
    size_t n;
};

/* The groups that may be due at now: those with events not yet dispatched, and those whose
 * last message carried a firing alert more than repeat_interval seconds ago. False on
 * error; the caller frees the list with alert_group_list_free. */
bool alert_groups_pending(PGconn *conn, double now, int repeat_interval,
                          struct alert_group_list *list) __attribute__((warn_unused_result));

/* Frees what the list owns and empties it. */
void alert_group_list_free(struct alert_group_list *list);

enum alert_group_lock {
    ALERT_GROUP_LOCKED, /* the group is ours until the transaction ends */
    ALERT_GROUP_BUSY,   /* another daemon holds it: skip it this round */
    ALERT_GROUP_ERROR,
};

/* What a locked group remembers. */
struct alert_group_state {
    struct notify_group_times times;
    char thread_id[200]; /* the Message-ID that started its thread; "" when none yet */
};

/* In the caller's transaction: creates the group when it is new and locks it (FOR UPDATE
 * SKIP LOCKED), reading its state into *state. */
enum alert_group_lock alert_groups_lock(PGconn *conn, int64_t programme_id, const char *receiver,
                                        struct alert_group_state *state)
    __attribute__((warn_unused_result));

/* The alerts a group's message shows at now, firing first: firing ones not acknowledged
 * (or acknowledged but newly firing again), and, with send_resolved, those whose
 * resolution is news; never silenced ones, nor the receiver's own self alert. The
 * notify_group's strings and alerts are owned by rows (alert_group_alerts_clear). False on
 * error. */
struct alert_group_alerts {
    struct notify_group group; /* programme, programme_name, time_zone, alerts, n_alerts */
    bool firing;               /* any alert is firing */
    PGresult *rows;
};

bool alert_groups_alerts(PGconn *conn, int64_t programme_id, const char *receiver, double now,
                         bool send_resolved, struct alert_group_alerts *out)
    __attribute__((warn_unused_result));

/* Frees the alerts and their rows and zeroes *alerts (safe on a zeroed or failed read). */
void alert_group_alerts_clear(struct alert_group_alerts *alerts);

/* The programme and time zone of a receiver, for a test message (out->group with no
 * alerts; clear it with alert_group_alerts_clear in every case): 1 found, 0 unknown
 * receiver, -1 on error. */
int alert_groups_receiver(PGconn *conn, int64_t programme_id, const char *receiver,
                          struct alert_group_alerts *out) __attribute__((warn_unused_result));

/* One place a receiver's messages go. */
struct alert_group_target {
    bool webhook; /* false: e-mail */
    const char *target;
};

/* The e-mail addresses, then the webhook URLs, of a receiver; the strings are owned by
 * rows (alert_group_targets_clear). False on error. */
struct alert_group_targets {
    struct alert_group_target *targets;
    size_t n;
    PGresult *rows;
};

bool alert_groups_targets(PGconn *conn, int64_t programme_id, const char *receiver,
                          struct alert_group_targets *out) __attribute__((warn_unused_result));

/* Frees the targets and their rows and zeroes *targets. */
void alert_group_targets_clear(struct alert_group_targets *targets);

/* Records a dispatch at now in the caller's transaction: the group remembers the message
 * (notified: one was queued; firing: it carried a firing alert; its thread) and its pending
 * events are marked dispatched, notified or dropped. */
bool alert_groups_dispatched(PGconn *conn, int64_t programme_id, const char *receiver, double now,
                             bool notified, bool firing, const char *thread_id)
    __attribute__((warn_unused_result));

#endif
