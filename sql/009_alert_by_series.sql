-- The evaluator reads the alerts a claim's series already have by (indicator, site): without
-- an index that read scanned every alert of the programme on each claim.
CREATE INDEX alert_series ON alert (programme_id, indicator_id, site_id);
