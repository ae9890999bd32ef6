-- The ingest statement now marks series for the alert evaluator itself, set-based, in the
-- same statement as dirty_series: the row-level trigger that copied each mark cost about a
-- quarter of an ingest batch.
DROP TRIGGER dirty_series_to_alerts ON dirty_series;
DROP FUNCTION alert_dirty_mark();
