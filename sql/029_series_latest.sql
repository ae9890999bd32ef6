-- The latest period of a series and when it last changed move out of series into a narrow
-- table of their own (docs/ARCHITECTURE.md, "Rollups"). The rollup fold moved them for every
-- series it touched, so a backfill of 72 months rewrote each series row 72 times; while a long
-- transaction held vacuum back, series grew to 347 MB for 142,000 rows and every probe of
-- series_pkey (ingest's lookups, the fold's, the recompute's) walked dead versions (a claim of
-- 64 marks read 1.3 M buffers). Here the fold's updates touch a row of four columns with no
-- index on the changed ones, on pages left half empty for HOT updates; series is written once.
CREATE TABLE series_latest (
    programme_id    bigint NOT NULL,
    series_id       bigint NOT NULL,
    last_period     date,        -- the latest period stored in the series (NULL: none)
    last_changed_at timestamptz, -- when a batch last changed one of its values
    PRIMARY KEY (programme_id, series_id),
    FOREIGN KEY (programme_id, series_id) REFERENCES series (programme_id, id) ON DELETE CASCADE
) WITH (fillfactor = 50, vacuum_truncate = off);

INSERT INTO series_latest (programme_id, series_id, last_period, last_changed_at)
    SELECT programme_id, id, last_period, last_changed_at FROM series
    WHERE last_period IS NOT NULL OR last_changed_at IS NOT NULL;

ALTER TABLE series DROP COLUMN last_period, DROP COLUMN last_changed_at;

-- Whether a mark's pairs were deleted (true: the delete path) or hold a value at the mark's
-- commit (false: every other write). The fold then knows what a site sent and a series' latest
-- period from the marks, and looks in observation only for pairs a deletion named. NULL: a
-- mark written before this migration, looked up as before.
ALTER TABLE rollup_dirty ADD COLUMN removed boolean;
