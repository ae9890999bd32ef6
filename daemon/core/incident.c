/* Incident keys (incident.h): which open incident an alert that starts firing joins, and
 * that incident's title. The grouping rules are docs/ARCHITECTURE.md, "Incidents". */
#include "scaleupd/core/incident.h"

#include <stdio.h>
#include <string.h>

const char *incident_kind_name(enum incident_kind kind)
{
    switch (kind) {
    case INCIDENT_LATE_FEED:
        return "late_feed";
    case INCIDENT_SIGNAL:
        return "signal";
    case INCIDENT_ALERT:
        break;
    }
    return "alert";
}

/* snprintf cuts at a byte: cut back to the last whole UTF-8 character. */
static void trim_utf8(char *buf, size_t size, int written)
{
    if (written < 0 || (size_t)written < size)
        return;
    size_t len = strlen(buf);
    size_t end = len;
    while (end > 0 && ((unsigned char)buf[end - 1] & 0xc0) == 0x80)
        end--;
    /* end - 1 is the lead byte of the last character (or ASCII): keep it only when whole */
    if (end > 0 && (unsigned char)buf[end - 1] >= 0xc0) {
        unsigned char lead = (unsigned char)buf[end - 1];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (len - (end - 1) < need)
            buf[end - 1] = '\0';
    }
}

static const char *or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

static bool is_signal_kind(const char *kind)
{
    return kind != NULL && (strcmp(kind, "spc") == 0 || strcmp(kind, "threshold") == 0);
}

static void late_feed_key(const struct incident_subject *s, struct incident_key *out)
{
    out->kind = INCIDENT_LATE_FEED;
    out->site_id = s->site_id;
    snprintf(out->key, sizeof(out->key), "late_feed:s%lld:d%ld", (long long)s->site_id,
             (long)s->period_start);
    int n = s->due != NULL
                ? snprintf(out->title, sizeof(out->title), "%s: no report for %s (due %s)",
                           or_dash(s->site_name), or_dash(s->period), s->due)
                : snprintf(out->title, sizeof(out->title), "%s: no report for %s",
                           or_dash(s->site_name), or_dash(s->period));
    trim_utf8(out->title, sizeof(out->title), n);
}

static void signal_key(const struct incident_subject *s, struct incident_key *out)
{
    bool own = s->aggregate || s->region_id == 0;
    int64_t region = own ? s->site_id : s->region_id;
    const char *region_name = own ? s->site_name : s->region_name;
    out->kind = INCIDENT_SIGNAL;
    out->indicator_id = s->indicator_id;
    out->site_id = region;
    /* no period in the key: a signal joins the open incident of its indicator and region
     * whatever period that began in, which the title names ("since") */
    snprintf(out->key, sizeof(out->key), "signal:i%lld:r%lld", (long long)s->indicator_id,
             (long long)region);
    int n = snprintf(out->title, sizeof(out->title), "%s signals in %s since %s",
                     or_dash(s->indicator_name), or_dash(region_name), or_dash(s->period));
    trim_utf8(out->title, sizeof(out->title), n);
}

/* The title of an alert about the whole programme (no indicator, no site: the roadmap's
   trajectory, a receiver that cannot be reached), or 0 when its summary cannot make one: the
   summary as a sentence, without its figures (after ": "), which go on changing while the
   title stays what opened the incident: "Could not deliver to change-team"; a trajectory's
   names its dimension only, since its status changes too: "Coverage against the roadmap". A
   trajectory summary without figures ("behind against the roadmap") does not name its dimension and
   keeps the rule's name before it. */
static int programme_wide_title(const struct incident_subject *s, char *title, size_t size)
{
    if (s->indicator_name != NULL || s->site_name != NULL || s->summary == NULL ||
        s->summary[0] == '\0')
        return 0;
    const char *cut = strstr(s->summary, ": ");
    bool self = s->rule_kind != NULL && strcmp(s->rule_kind, "self") == 0;
    if (cut == NULL && !self)
        return 0;
    int len = cut != NULL ? (int)(cut - s->summary) : (int)strlen(s->summary);
    if (len < 1)
        return 0;
    /* a trajectory's status changes while its incident is open (behind, at risk): the title
       names the dimension only ("Coverage against the roadmap"), its members say the status */
    const char *space = strchr(s->summary, ' ');
    if (s->rule_kind != NULL && strcmp(s->rule_kind, "trajectory") == 0 && space != NULL &&
        space - s->summary < len) {
        char first = s->summary[0];
        return snprintf(title, size, "%c%.*s against the roadmap",
                        first >= 'a' && first <= 'z' ? first - 'a' + 'A' : first,
                        (int)(space - s->summary) - 1, s->summary + 1);
    }
    char first = s->summary[0];
    return snprintf(title, size, "%c%.*s", first >= 'a' && first <= 'z' ? first - 'a' + 'A' : first,
                    len - 1, s->summary + 1);
}

/* The title of an alert that is its own incident: its rule and what it is about. */
static int alone_title(const struct incident_subject *s, char *title, size_t size)
{
    int wide = programme_wide_title(s, title, size);
    if (wide > 0)
        return wide;
    const char *rule = or_dash(s->rule_name);
    if (s->site_name != NULL)
        return snprintf(title, size, "%s: %s at %s", rule, or_dash(s->indicator_name),
                        s->site_name);
    if (s->indicator_name != NULL)
        return snprintf(title, size, "%s: %s", rule, s->indicator_name);
    if (s->summary != NULL && s->summary[0] != '\0')
        return snprintf(title, size, "%s: %s", rule, s->summary);
    return snprintf(title, size, "%s", rule);
}

void incident_key_of(const struct incident_subject *s, struct incident_key *out)
{
    memset(out, 0, sizeof(*out));
    bool dated = s->period_start >= 0;
    if (dated && s->site_id > 0 && s->rule_kind != NULL && strcmp(s->rule_kind, "late_feed") == 0) {
        late_feed_key(s, out);
    } else if (dated && s->site_id > 0 && s->indicator_id > 0 && is_signal_kind(s->rule_kind)) {
        signal_key(s, out);
    } else {
        out->kind = INCIDENT_ALERT;
        snprintf(out->key, sizeof(out->key), "alert:%lld", (long long)s->alert_id);
        trim_utf8(out->title, sizeof(out->title), alone_title(s, out->title, sizeof(out->title)));
    }
}
