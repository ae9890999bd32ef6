-- Progress snapshots are brought up to date in the background, never on a read
-- (docs/ARCHITECTURE.md, "Progress snapshots"). A read answers from the stored snapshots at
-- once and says how fresh they are; the refresh recomputes only the months a change affects.

-- The latest period a change touched (NULL: through the latest month, as every mark set
-- before this migration and every deletion), so that a revision of an old month recomputes
-- that month and the few after it that read it, not the whole history. exact: the months
-- [since_period, until_period] themselves, left by a refresh that gave way to requests.
ALTER TABLE progress_dirty ADD COLUMN until_period date,
    ADD COLUMN exact boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION progress_mark_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO progress_dirty (programme_id, since_period)
        SELECT programme_id, min(period_start) FROM changed GROUP BY programme_id;
    ELSE
        INSERT INTO progress_dirty (programme_id, since_period, until_period)
        SELECT programme_id, min(period_start), max(period_start) FROM changed
        GROUP BY programme_id;
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
