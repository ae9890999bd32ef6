-- Rollups: the aggregate of an indicator over a site's descendants for one period, kept as
-- data arrives, so that charts, series and progress of a region or the country read one row
-- per period instead of every practice's observations (docs/ARCHITECTURE.md, "Rollups").

-- Each site with each of its ancestors (depth 1: its parent), rebuilt when a programme's
-- hierarchy is applied.
CREATE TABLE site_tree (
    programme_id bigint NOT NULL,
    ancestor_id  bigint NOT NULL,
    site_id      bigint NOT NULL,
    depth        integer NOT NULL CHECK (depth >= 1),
    PRIMARY KEY (programme_id, ancestor_id, site_id),
    FOREIGN KEY (programme_id, ancestor_id) REFERENCES site (programme_id, id) ON DELETE CASCADE,
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);
CREATE INDEX site_tree_up ON site_tree (programme_id, site_id);

INSERT INTO site_tree (programme_id, ancestor_id, site_id, depth)
    WITH RECURSIVE up (programme_id, ancestor_id, site_id, depth) AS (
        SELECT programme_id, parent_id, id, 1 FROM site WHERE parent_id IS NOT NULL
        UNION ALL
        SELECT u.programme_id, s.parent_id, u.site_id, u.depth + 1 FROM up u
        JOIN site s ON s.programme_id = u.programme_id AND s.id = u.ancestor_id
        WHERE s.parent_id IS NOT NULL AND u.depth < 64)
    SELECT programme_id, ancestor_id, site_id, min(depth) FROM up
    GROUP BY programme_id, ancestor_id, site_id;

-- The aggregate of indicator_id over every observation of the strict descendants of site_id
-- for one period, in exact numeric: how many observations it covers (the "n" of "n of m
-- practices"), the sum of their values, the sums of numerator and denominator over those that
-- have both, and the value received last (ties broken by the greater series id). A site's
-- rollup is the sum of its children's own observations and its children's rollups.
CREATE TABLE rollup (
    programme_id  bigint NOT NULL,
    indicator_id  bigint NOT NULL,
    site_id       bigint NOT NULL,
    period_start  date NOT NULL,
    sites         integer NOT NULL CHECK (sites > 0),
    total         numeric NOT NULL,
    numerator     numeric,
    denominator   numeric,
    latest_value  double precision NOT NULL,
    latest_at     timestamptz NOT NULL,
    latest_series bigint NOT NULL,
    PRIMARY KEY (programme_id, indicator_id, site_id, period_start),
    FOREIGN KEY (programme_id, indicator_id) REFERENCES indicator (programme_id, id) ON DELETE CASCADE,
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);

-- The observations a batch changed, as (series, period) pairs, for the rollup service to bring
-- the rollups of their ancestors for those periods up to date (the evaluator has its own marks
-- in dirty_series). series_ids NULL: every rollup of the programme (a new hierarchy, or this
-- migration).
CREATE TABLE rollup_dirty (
    id           bigserial PRIMARY KEY,
    programme_id bigint NOT NULL,
    series_ids   bigint[],
    periods      date[],
    marked_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(series_ids) = cardinality(periods))
);
CREATE INDEX rollup_dirty_programme ON rollup_dirty (programme_id, id);

-- A site's children, for a rollup to find what it sums.
CREATE INDEX site_parent ON site (programme_id, parent_id);

INSERT INTO rollup_dirty (programme_id) SELECT id FROM programme;

-- The latest period stored in a series and when it last changed, kept by the rollup service,
-- so the feeds status reads one row per series rather than its observations.
ALTER TABLE series ADD COLUMN last_period date, ADD COLUMN last_changed_at timestamptz;
-- Each batch moves the last period of the series it touched: room on each page for the new
-- row versions (HOT updates, no index work), and no truncation by VACUUM, whose exclusive
-- lock on the table stalled every ingest for seconds during a national load.
ALTER TABLE series SET (fillfactor = 70, vacuum_truncate = off);
UPDATE series se SET last_period = o.last_period, last_changed_at = o.last_changed_at
    FROM (SELECT programme_id, series_id, max(period_start) AS last_period,
                 max(received_at) AS last_changed_at
          FROM observation GROUP BY programme_id, series_id) o
    WHERE se.programme_id = o.programme_id AND se.id = o.series_id;
