-- What each site sent for each period, kept by the rollup service beside the rollups, so that
-- the feeds status of a programme of thousands of practices reads one row per practice and
-- due period rather than one per series (docs/ARCHITECTURE.md, "Feeds at scale").

-- The indicators (ids, ascending) whose series of site_id hold a value for the period that
-- starts on period_start (of any period type: a reader keeps those of the window it asks
-- about). A site with no value for a period has no row, or an empty one (its values were
-- deleted).
CREATE TABLE site_sent (
    programme_id  bigint NOT NULL,
    period_start  date NOT NULL,
    site_id       bigint NOT NULL,
    indicator_ids bigint[] NOT NULL,
    PRIMARY KEY (programme_id, period_start, site_id),
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);

INSERT INTO site_sent (programme_id, period_start, site_id, indicator_ids)
    SELECT se.programme_id, o.period_start, se.site_id,
           array_agg(se.indicator_id ORDER BY se.indicator_id)
    FROM observation o
    JOIN series se ON se.programme_id = o.programme_id AND se.id = o.series_id
    GROUP BY se.programme_id, o.period_start, se.site_id;
