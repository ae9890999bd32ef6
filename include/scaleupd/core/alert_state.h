/* The state machine of one alert (Alertmanager's, made durable): inactive → pending → firing →
 * resolved, plus no_data, with `for` and resolve counts. Pure: the caller stores the
 * status and turns the returned event into notifications. */
#ifndef SCALEUPD_ALERT_STATE_H
#define SCALEUPD_ALERT_STATE_H

#include <stdbool.h>

enum alert_state {
    ALERT_INACTIVE, /* never held, or held once and went away before firing */
    ALERT_PENDING,  /* holds, for fewer than `for` consecutive evaluations */
    ALERT_FIRING,
    ALERT_RESOLVED, /* fired, then stopped holding for `resolve` consecutive evaluations */
    ALERT_NO_DATA,  /* the data that would decide is missing: never read as resolved */
};

/* What one evaluation found. */
enum alert_observation { ALERT_OBS_OK, ALERT_OBS_HOLDS, ALERT_OBS_NO_DATA };

/* What the receivers must be told about a step. */
enum alert_event { ALERT_EVENT_NONE, ALERT_EVENT_FIRING, ALERT_EVENT_RESOLVED };

struct alert_status {
    enum alert_state state;
    int streak; /* consecutive evaluations toward the next state */
    bool fired; /* a firing event was raised since the last resolve */
};

/*
 * Applies one observation to *status. for_count and resolve_count are >= 1 (smaller values
 * count as 1). HOLDS moves toward firing (pending until for_count in a row); OK moves a
 * firing (or no_data after firing) alert toward resolved after resolve_count in a row and a
 * pending one back to inactive; NO_DATA parks a pending, firing or resolved alert in no_data
 * without resolving it, and returning data continues where it stood. Returns the event to
 * notify: FIRING when it starts firing (not when it comes back from no_data having fired),
 * RESOLVED when a fired alert resolves.
 */
enum alert_event alert_step(struct alert_status *status, enum alert_observation obs, int for_count,
                            int resolve_count);

/* "inactive", "pending", "firing", "resolved", "no_data"; "unknown" if out of range. */
const char *alert_state_name(enum alert_state state);

/* Parses a state name; false (and *out untouched) for anything else. */
bool alert_state_from_name(const char *name, enum alert_state *out)
    __attribute__((warn_unused_result));

#endif
