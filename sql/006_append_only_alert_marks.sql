-- Alert marks become append-only, like progress_dirty: an ingest inserts a row per touched
-- series and never updates one, so it never waits on the evaluator, which deletes exactly
-- the rows it claimed (FOR UPDATE SKIP LOCKED) in the transaction that evaluates them.
-- With the upsert, a batch marking a series the evaluator had claimed waited for the whole
-- evaluation to finish.
ALTER TABLE alert_dirty DROP CONSTRAINT alert_dirty_pkey;
ALTER TABLE alert_dirty ADD COLUMN id bigserial PRIMARY KEY;
CREATE INDEX alert_dirty_series ON alert_dirty (programme_id, series_id);
