/* The delivery thread: runs delivery rounds (services/delivery.h: grouping alert events into
 * messages, then sending them) on a thread of its own with its own PostgreSQL connection,
 * so that a slow or hanging SMTP server or webhook never holds a database worker of the
 * pool (ingest and the API keep answering). */
#ifndef SCALEUPD_EDGE_DELIVERY_H
#define SCALEUPD_EDGE_DELIVERY_H

#include <stdbool.h>

struct app;
struct event_base;

/* Starts the thread and a timer on base that wakes it every [alerts] deliver_interval with
 * the config then in force. The thread connects once the pool has migrated the schema.
 * False when the thread or the timer cannot be created. */
bool delivery_start(struct event_base *base, struct app *app) __attribute__((warn_unused_result));

/* Wakes the thread for a round now (after a test message was queued, say); any thread may
 * call it. A round already under way is followed by another. */
void delivery_kick(void);

/* Aborts transfers in progress (the messages stay queued), joins the thread and frees the
 * timer; call on the loop thread before the event base is freed. */
void delivery_stop(void);

#endif
