/* The alert state machine: pending, firing, resolved and no_data with `for` and resolve
 * counts. Pure. */
#include "scaleupd/core/alert_state.h"

#include <string.h>

static const char *const state_names[] = {"inactive", "pending", "firing", "resolved", "no_data"};

const char *alert_state_name(enum alert_state state)
{
    if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
        return "unknown";
    return state_names[state];
}

bool alert_state_from_name(const char *name, enum alert_state *out)
{
    for (unsigned i = 0; name != NULL && i < sizeof(state_names) / sizeof(state_names[0]); i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum alert_state)i;
            return true;
        }
    }
    return false;
}

static enum alert_event step_holds(struct alert_status *s, int for_count)
{
    if (s->state == ALERT_FIRING || (s->state == ALERT_NO_DATA && s->fired)) {
        s->state = ALERT_FIRING;
        s->streak = 0;
        return ALERT_EVENT_NONE;
    }
    if (s->state != ALERT_PENDING)
        s->streak = 0;
    s->streak++;
    if (s->streak < for_count) {
        s->state = ALERT_PENDING;
        return ALERT_EVENT_NONE;
    }
    s->state = ALERT_FIRING;
    s->streak = 0;
    s->fired = true;
    return ALERT_EVENT_FIRING;
}

static enum alert_event step_ok(struct alert_status *s, int resolve_count)
{
    if (s->state == ALERT_FIRING || (s->state == ALERT_NO_DATA && s->fired)) {
        s->streak++;
        if (s->streak < resolve_count) {
            s->state = ALERT_FIRING;
            return ALERT_EVENT_NONE;
        }
        s->state = ALERT_RESOLVED;
        s->streak = 0;
        s->fired = false;
        return ALERT_EVENT_RESOLVED;
    }
    if (s->state == ALERT_PENDING || s->state == ALERT_NO_DATA)
        s->state = ALERT_INACTIVE;
    s->streak = 0;
    return ALERT_EVENT_NONE;
}

enum alert_event alert_step(struct alert_status *status, enum alert_observation obs, int for_count,
                            int resolve_count)
{
    if (for_count < 1)
        for_count = 1;
    if (resolve_count < 1)
        resolve_count = 1;
    switch (obs) {
    case ALERT_OBS_HOLDS:
        return step_holds(status, for_count);
    case ALERT_OBS_OK:
        return step_ok(status, resolve_count);
    case ALERT_OBS_NO_DATA:
        break;
    }
    if (status->state == ALERT_FIRING || status->state == ALERT_PENDING ||
        status->state == ALERT_RESOLVED) {
        /* a pending alert had not fired: its streak starts again when data returns */
        if (status->state == ALERT_PENDING)
            status->streak = 0;
        status->state = ALERT_NO_DATA;
    }
    return ALERT_EVENT_NONE;
}
