/* The alert state machine: sequences of observations and the states and events they give. */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/core/alert_state.h"

struct sequence_case {
    const char *name;
    int for_count, resolve_count;
    const char *observations; /* H holds, O ok, N no data */
    const char *states;       /* one letter per step: i p f r n */
    const char *events;       /* one letter per step: - F R */
};

static const struct sequence_case cases[] = {
    {"fires at once with for 1", 1, 1, "HO", "fr", "FR"},
    {"pending until for", 3, 1, "HHHO", "ppfr", "--FR"},
    {"a gap resets pending", 2, 1, "HOHH", "pipf", "---F"},
    {"resolve needs resolve count in a row", 1, 2, "HOHOO", "ffffr", "F---R"},
    {"no data never resolves", 1, 1, "HNNH", "fnnf", "F---"},
    {"data after no data resolves a fired alert", 1, 1, "HNO", "fnr", "F-R"},
    {"no data of a quiet alert stays inactive", 1, 1, "NNO", "iii", "---"},
    {"pending then no data then holds starts over", 2, 1, "HNH", "pnp", "---"},
    {"fires again after resolving", 1, 1, "HOH", "frf", "FRF"},
    {"resolved then no data then ok goes inactive", 1, 1, "HONO", "frni", "FR--"},
};

static char state_letter(enum alert_state s)
{
    return "ipfrn"[s];
}

Test(alert_state, sequences)
{
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct alert_status st = {ALERT_INACTIVE, 0, false};
        const struct sequence_case *k = &cases[c];
        for (size_t i = 0; k->observations[i]; i++) {
            char o = k->observations[i];
            enum alert_observation obs = o == 'H'   ? ALERT_OBS_HOLDS
                                         : o == 'O' ? ALERT_OBS_OK
                                                    : ALERT_OBS_NO_DATA;
            enum alert_event ev = alert_step(&st, obs, k->for_count, k->resolve_count);
            char got_ev = ev == ALERT_EVENT_FIRING ? 'F' : ev == ALERT_EVENT_RESOLVED ? 'R' : '-';
            cr_expect_eq(state_letter(st.state), k->states[i], "%s: step %zu state %c, want %c",
                         k->name, i, state_letter(st.state), k->states[i]);
            cr_expect_eq(got_ev, k->events[i], "%s: step %zu event %c, want %c", k->name, i, got_ev,
                         k->events[i]);
        }
    }
}

Test(alert_state, names_round_trip)
{
    for (int s = ALERT_INACTIVE; s <= ALERT_NO_DATA; s++) {
        enum alert_state back;
        cr_assert(alert_state_from_name(alert_state_name((enum alert_state)s), &back));
        cr_expect_eq(back, s);
    }
    enum alert_state out = ALERT_FIRING;
    cr_expect_not(alert_state_from_name("open", &out));
    cr_expect_not(alert_state_from_name(NULL, &out));
    cr_expect_eq(out, ALERT_FIRING);
    cr_expect_str_eq(alert_state_name((enum alert_state)99), "unknown");
}
