-- Drift detection and alerting: rules, receivers, alerts with their append-only history,
-- silences, the transactional outbox of alert events, notification groups and the
-- delivery queue of rendered messages (docs/ARCHITECTURE.md, "The path of an evaluation").

-- Who is told: e-mail addresses and webhook URLs, with the time zone of their messages.
CREATE TABLE receiver (
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    name         text NOT NULL,
    email        text[] NOT NULL DEFAULT '{}',
    webhook      text[] NOT NULL DEFAULT '{}',
    time_zone    text NOT NULL DEFAULT 'UTC',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, name)
);

-- What counts as drift, scoped to a programme and optionally an indicator and a site or region.
CREATE TABLE alert_rule (
    programme_id  bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    id            bigserial,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('threshold', 'spc', 'trajectory', 'late_feed',
                                                'completeness')),
    indicator_id  bigint,
    site_id       bigint,
    dimension     text,
    for_count     integer NOT NULL DEFAULT 1 CHECK (for_count >= 1),
    resolve_count integer NOT NULL DEFAULT 1 CHECK (resolve_count >= 1),
    receivers     text[],          -- NULL: every receiver of the programme
    is_default    boolean NOT NULL DEFAULT false,
    document      jsonb NOT NULL,  -- the rule as given (parameters of its kind)
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, id),
    UNIQUE (programme_id, name),
    FOREIGN KEY (programme_id, indicator_id) REFERENCES indicator (programme_id, id) ON DELETE CASCADE,
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);

-- The evaluator's own watermark over dirty_series (which another consumer also reads): a
-- trigger copies every mark here, and the evaluator deletes what it has evaluated.
CREATE TABLE alert_dirty (
    programme_id bigint NOT NULL,
    series_id    bigint NOT NULL,
    since_period date NOT NULL,
    marked_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, series_id)
);

CREATE FUNCTION alert_dirty_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alert_dirty (programme_id, series_id, since_period, marked_at)
    VALUES (NEW.programme_id, NEW.series_id, NEW.since_period, NEW.marked_at)
    ON CONFLICT (programme_id, series_id) DO UPDATE
        SET since_period = least(alert_dirty.since_period, excluded.since_period),
            marked_at = excluded.marked_at;
    RETURN NEW;
END $$;

CREATE TRIGGER dirty_series_to_alerts AFTER INSERT OR UPDATE ON dirty_series
    FOR EACH ROW EXECUTE FUNCTION alert_dirty_mark();

-- One rule for one subject (a series, an indicator, a dimension): its state and latest values.
CREATE TABLE alert (
    programme_id  bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    id            bigserial,
    rule_id       bigint NOT NULL,
    subject       text NOT NULL,   -- e.g. "i12:s34" for indicator 12 at site 34
    indicator_id  bigint,
    site_id       bigint,
    state         text NOT NULL CHECK (state IN ('inactive', 'pending', 'firing', 'resolved',
                                                 'no_data')),
    streak        integer NOT NULL DEFAULT 0, -- consecutive evaluations toward the next state
    fired         boolean NOT NULL DEFAULT false, -- a firing notice went out since the last resolve
    value         double precision,
    centre        double precision,
    lower_limit   double precision,
    upper_limit   double precision,
    period_start  date,
    summary       text NOT NULL DEFAULT '',
    active_since  timestamptz,   -- when the current firing (or pending) episode began
    updated_at    timestamptz NOT NULL,
    acked_at      timestamptz,
    acked_by      text,
    PRIMARY KEY (programme_id, id),
    UNIQUE (programme_id, rule_id, subject),
    FOREIGN KEY (programme_id, rule_id) REFERENCES alert_rule (programme_id, id) ON DELETE CASCADE
);
CREATE INDEX alert_state ON alert (state) WHERE state IN ('pending', 'firing', 'no_data');

-- Every state change of every alert, never updated.
CREATE TABLE alert_history (
    programme_id bigint NOT NULL,
    alert_id     bigint NOT NULL,
    rule_id      bigint NOT NULL,
    at           timestamptz NOT NULL,
    from_state   text NOT NULL,
    to_state     text NOT NULL,
    value        double precision,
    centre       double precision,
    lower_limit  double precision,
    upper_limit  double precision,
    period_start date,
    summary      text NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_alert ON alert_history (programme_id, alert_id, at);

CREATE TABLE silence (
    id           bigserial PRIMARY KEY,
    programme_id bigint REFERENCES programme (id) ON DELETE CASCADE, -- NULL: any programme
    matchers     jsonb NOT NULL,  -- {"indicator":…, "site":…, "rule":…}; absent = any
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at),
    author       text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expired_at   timestamptz  -- set by DELETE: the silence ends early
);

-- The transactional outbox: one row per alert transition and receiver, written in the
-- transaction that changes the alert; the dispatcher turns them into grouped messages.
CREATE TABLE alert_event (
    id            bigserial PRIMARY KEY,
    programme_id  bigint NOT NULL,
    receiver      text NOT NULL,
    alert_id      bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('firing', 'resolved')),
    created_at    timestamptz NOT NULL,
    dispatched_at timestamptz,
    outcome       text  -- 'notified', 'silenced', 'acked', 'stale'
);
CREATE INDEX alert_event_pending ON alert_event (programme_id, receiver, created_at)
    WHERE dispatched_at IS NULL;

-- Notification group state (by programme and receiver): its timers and its mail thread.
CREATE TABLE alert_group (
    programme_id bigint NOT NULL,
    receiver     text NOT NULL,
    thread_id    text NOT NULL,   -- Message-ID of the group's first message (References)
    last_sent_at timestamptz,
    had_firing   boolean NOT NULL DEFAULT false, -- the last message carried firing alerts
    PRIMARY KEY (programme_id, receiver)
);

-- Rendered messages to deliver, one per target (an e-mail address or a webhook URL).
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    programme_id  bigint,
    receiver      text NOT NULL,
    channel       text NOT NULL CHECK (channel IN ('email', 'webhook')),
    target        text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    body          text NOT NULL,       -- the MIME body (e-mail) or JSON payload (webhook)
    thread_id     text,
    is_test       boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    next_at       timestamptz NOT NULL,
    lease_until   timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    sent_at       timestamptz,
    dead_at       timestamptz,
    last_error    text
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE sent_at IS NULL AND dead_at IS NULL;
