-- Programmes, their site hierarchy and membership, indicators, API tokens, and the
-- observations with their revision history. Every key carries the programme, so the
-- schema can be distributed by programme without redesign.

CREATE TABLE programme (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL,
    time_zone   text NOT NULL DEFAULT 'UTC',
    teams       jsonb NOT NULL DEFAULT '[]',
    document    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- An organisation unit (country, region, district, practice) as a programme knows it.
CREATE TABLE site (
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    id           bigserial,
    code         text NOT NULL,
    name         text NOT NULL,
    level        text NOT NULL,
    parent_id    bigint,
    PRIMARY KEY (programme_id, id),
    UNIQUE (programme_id, code),
    FOREIGN KEY (programme_id, parent_id) REFERENCES site (programme_id, id) DEFERRABLE INITIALLY DEFERRED
);

-- A site that takes part in the programme: when it adopted the package and where it stands.
CREATE TABLE membership (
    programme_id bigint NOT NULL,
    site_id      bigint NOT NULL,
    status       text NOT NULL CHECK (status IN ('planned', 'active', 'withdrawn')),
    adopted_on   date,
    withdrawn_on date,
    PRIMARY KEY (programme_id, site_id),
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);

CREATE TABLE indicator (
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    id           bigserial,
    code         text NOT NULL,
    name         text NOT NULL,
    unit         text NOT NULL DEFAULT '',
    value_type   text NOT NULL CHECK (value_type IN ('count', 'percentage', 'ratio', 'score')),
    period_type  text NOT NULL CHECK (period_type IN ('weekly', 'monthly', 'quarterly', 'yearly')),
    direction    text NOT NULL DEFAULT 'none' CHECK (direction IN ('up', 'down', 'none')),
    aggregate    text NOT NULL DEFAULT 'sum' CHECK (aggregate IN ('sum', 'mean', 'weighted', 'last')),
    dimension    text CHECK (dimension IN ('coverage', 'expansion', 'institutionalisation')),
    target       double precision,
    PRIMARY KEY (programme_id, id),
    UNIQUE (programme_id, code)
);

-- API credentials: only the SHA-256 of the secret is kept.
CREATE TABLE token (
    id           bigserial PRIMARY KEY,
    hash         bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    scope        text NOT NULL CHECK (scope IN ('admin', 'read', 'feed')),
    programme_id bigint REFERENCES programme (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK ((scope = 'feed') = (programme_id IS NOT NULL))
);

-- (programme, indicator, site) → an integer series id, the key of observations.
CREATE TABLE series (
    programme_id bigint NOT NULL,
    id           bigserial,
    indicator_id bigint NOT NULL,
    site_id      bigint NOT NULL,
    PRIMARY KEY (programme_id, id),
    UNIQUE (programme_id, indicator_id, site_id),
    FOREIGN KEY (programme_id, indicator_id) REFERENCES indicator (programme_id, id) ON DELETE CASCADE,
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);

CREATE TABLE observation (
    programme_id bigint NOT NULL,
    series_id    bigint NOT NULL,
    period_start date NOT NULL,
    value        double precision NOT NULL,
    numerator    double precision,
    denominator  double precision,
    comment      text,
    token_id     bigint,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, series_id, period_start)
);

-- The values an observation had before each change: who changed it, when, and from what.
CREATE TABLE observation_revision (
    programme_id bigint NOT NULL,
    series_id    bigint NOT NULL,
    period_start date NOT NULL,
    value        double precision NOT NULL,
    numerator    double precision,
    denominator  double precision,
    comment      text,
    token_id     bigint,
    received_at  timestamptz NOT NULL,
    replaced_at  timestamptz NOT NULL DEFAULT now(),
    replaced_by  bigint
);
CREATE INDEX observation_revision_key ON observation_revision (programme_id, series_id, period_start);

-- Series whose data changed since they were last evaluated, with the earliest changed period.
CREATE TABLE dirty_series (
    programme_id bigint NOT NULL,
    series_id    bigint NOT NULL,
    since_period date NOT NULL,
    marked_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, series_id)
);

-- Answers to requests that carried an Idempotency-Key, replayed for a repeat.
CREATE TABLE idempotency (
    token_id     bigint NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       integer NOT NULL,
    response     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, key)
);
