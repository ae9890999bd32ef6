-- Incidents (docs/ARCHITECTURE.md, "Incidents"): alerts with one cause, shown, acknowledged
-- and silenced as one. An alert joins the open incident of its key when it starts firing
-- (core/incident.h makes the key: a late feed per practice and due period, a signal per
-- indicator, region and period, any other alert alone); the incident resolves when no member
-- is open any more. alert.incident_id is an alert's current incident; incident_member keeps
-- every incident an alert was in, so a resolved incident still lists its members.
CREATE TABLE incident (
    id           bigserial PRIMARY KEY,
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('late_feed', 'signal', 'alert')),
    key          text NOT NULL,        -- core/incident.h: what its members share
    title        text NOT NULL,
    indicator_id bigint,               -- a signal's indicator
    site_id      bigint,               -- a late feed's practice, a signal's region
    period_start date,                 -- the due period (late feed) or the signalling period
    period       text,                 -- period_start as people read it ("2026-10")
    due_date     date,                 -- a late feed's due date
    opened_at    timestamptz NOT NULL,
    resolved_at  timestamptz
);
-- At most one open incident per key: a concurrent opener of the same key waits and joins it.
CREATE UNIQUE INDEX incident_open_key ON incident (programme_id, key) WHERE resolved_at IS NULL;
-- Incidents are listed newest first (id DESC), by programme too (keyset pages, sql/016).
CREATE INDEX incident_listed_programme ON incident (programme_id, id);

ALTER TABLE alert ADD COLUMN incident_id bigint REFERENCES incident (id) ON DELETE SET NULL;
CREATE INDEX alert_incident ON alert (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE incident_member (
    incident_id  bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    programme_id bigint NOT NULL,
    alert_id     bigint NOT NULL,
    joined_at    timestamptz NOT NULL,
    PRIMARY KEY (incident_id, alert_id),
    FOREIGN KEY (programme_id, alert_id) REFERENCES alert (programme_id, id) ON DELETE CASCADE
);
-- the cascade from a deleted alert (its rule deleted)
CREATE INDEX incident_member_alert ON incident_member (programme_id, alert_id);

-- A late feed's due date (the period is period_start): missing data has a date, never a value.
ALTER TABLE alert ADD COLUMN due_date date;
