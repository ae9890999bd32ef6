-- Roadmap versions, progress snapshots, and the progress service's own change marks
-- (dirty_series belongs to the evaluator; progress keeps a separate per-programme mark,
-- filled by triggers, so neither consumer can take the other's work away).

-- Each PUT of a roadmap is a new version; the one created most recently by a date is in force.
CREATE TABLE roadmap_version (
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version >= 1),
    label        text,
    document     jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    token_id     bigint,
    PRIMARY KEY (programme_id, version)
);

-- Progress of one programme (region_id 0) or one region at the end of one complete period,
-- against the roadmap version in force then. NULL actual: no data (never a zero).
CREATE TABLE progress_snapshot (
    programme_id    bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    period_start    date NOT NULL,
    dimension       text NOT NULL
                    CHECK (dimension IN ('coverage', 'expansion', 'institutionalisation')),
    region_id       bigint NOT NULL DEFAULT 0,
    roadmap_version integer NOT NULL,
    actual          double precision,
    planned         double precision NOT NULL,
    progress        double precision,
    gap             double precision,
    status          text NOT NULL,
    detail          jsonb NOT NULL DEFAULT '{}',
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, period_start, dimension, region_id)
);

-- Marks of changes that make snapshots stale: recompute the programme from since_period on
-- ('-infinity': everything). Append-only, so that concurrent writers never wait for each
-- other here; the refresh deletes the marks it has seen (progress_snapshots.c).
CREATE TABLE progress_dirty (
    id           bigserial PRIMARY KEY,
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    since_period date NOT NULL,
    marked_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX progress_dirty_programme ON progress_dirty (programme_id, id);

CREATE FUNCTION progress_mark_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO progress_dirty (programme_id, since_period)
    SELECT programme_id, min(period_start) FROM changed GROUP BY programme_id;
    RETURN NULL;
END $$;

CREATE TRIGGER observation_progress_insert AFTER INSERT ON observation
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION progress_mark_observations();
CREATE TRIGGER observation_progress_update AFTER UPDATE ON observation
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION progress_mark_observations();
CREATE TRIGGER observation_progress_delete AFTER DELETE ON observation
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION progress_mark_observations();

-- Sites and membership decide regions and expansion: any change recomputes everything.
CREATE FUNCTION progress_mark_programme() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO progress_dirty (programme_id, since_period)
    SELECT DISTINCT programme_id, '-infinity'::date FROM changed;
    RETURN NULL;
END $$;

CREATE TRIGGER membership_progress_insert AFTER INSERT ON membership
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION progress_mark_programme();
CREATE TRIGGER membership_progress_update AFTER UPDATE ON membership
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION progress_mark_programme();
CREATE TRIGGER site_progress_update AFTER UPDATE ON site
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION progress_mark_programme();
CREATE TRIGGER roadmap_progress_insert AFTER INSERT ON roadmap_version
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION progress_mark_programme();
