-- One table of dirty-series marks: the evaluator's append-only marks become dirty_series,
-- the mark that issue 3's ingest promises, and the upserted table that nothing read any more
-- goes. Each batch inserts one row per series it changed (with the earliest changed
-- period); the evaluator deletes the rows it claimed in the transaction that evaluates
-- them (FOR UPDATE SKIP LOCKED), so ingest never waits on an evaluation.
INSERT INTO alert_dirty (programme_id, series_id, since_period, marked_at)
    SELECT programme_id, series_id, since_period, marked_at FROM dirty_series
    WHERE NOT EXISTS (SELECT 1 FROM alert_dirty a WHERE a.programme_id = dirty_series.programme_id
                      AND a.series_id = dirty_series.series_id);
DROP TABLE dirty_series;
ALTER TABLE alert_dirty RENAME TO dirty_series;
ALTER INDEX alert_dirty_pkey RENAME TO dirty_series_pkey;
ALTER INDEX alert_dirty_series RENAME TO dirty_series_series;
ALTER SEQUENCE alert_dirty_id_seq RENAME TO dirty_series_id_seq;
