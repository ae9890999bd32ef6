-- Progress snapshots are brought up to date in the background, never on a read
-- (docs/ARCHITECTURE.md, "Progress snapshots"). A read answers from the stored snapshots at
-- once and says how fresh they are; the refresh recomputes only the months a change affects.

-- The latest period a change touched (NULL: through the latest month, as every mark set
-- before this migration and every deletion), so that a revision of an old month recomputes
-- that month and the few after it that read it, not the whole history; and the first period
-- of an institutionalisation score it touched (NULL: none), since the latest score counts
-- for every later month. exact: the months [since_period, until_period] themselves, left by
-- a refresh that gave way to requests.
ALTER TABLE progress_dirty ADD COLUMN until_period date,
    ADD COLUMN score_since date,
    ADD COLUMN exact boolean NOT NULL DEFAULT false;

-- The score series of a batch are found from the programme's few score indicators, looked
-- up in the batch's rows once: a batch without scores costs one pass over its rows.
CREATE OR REPLACE FUNCTION progress_mark_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO progress_dirty (programme_id, since_period)
        SELECT programme_id, min(period_start) FROM changed GROUP BY programme_id;
    ELSE
        INSERT INTO progress_dirty (programme_id, since_period, until_period, score_since)
        SELECT c.programme_id, min(c.period_start), max(c.period_start),
               (SELECT min(x.period_start) FROM changed x
                WHERE x.programme_id = c.programme_id AND x.series_id IN
                    (SELECT se.id FROM indicator i
                     JOIN series se ON se.programme_id = i.programme_id AND se.indicator_id = i.id
                     WHERE i.programme_id = c.programme_id AND i.value_type = 'score'))
        FROM changed c GROUP BY c.programme_id;
    END IF;
    RETURN NULL;
END $$;

-- What the last refresh of a programme's snapshots reflects: every change committed before
-- data_as_of (the start of its transaction); and the programme's first observed period,
-- kept from the marks so that a refresh does not scan every observation to find it (NULL:
-- not known yet, or no observation).
CREATE TABLE progress_refresh (
    programme_id    bigint PRIMARY KEY REFERENCES programme (id) ON DELETE CASCADE,
    data_as_of      timestamptz NOT NULL,
    refreshed_at    timestamptz NOT NULL,
    months_computed integer NOT NULL,
    first_data      date
);

-- A read takes a programme's snapshots in the order of its series (dimension, region,
-- month): from this index rather than a sort of them all.
CREATE INDEX progress_snapshot_series ON progress_snapshot (programme_id, dimension, region_id,
                                                             period_start);
