-- The latest period each series of an evaluation mark was written in (beside since_periods,
-- the earliest). The evaluator feeds a series' detector states only up to the latest period
-- its claimed marks name: a claim that read every point already stored (a bulk load lands
-- faster than it is evaluated) moved the state past the periods of marks not yet claimed,
-- and each of those marks, claimed next, looked like a revision of an old period and rebuilt
-- the state from the whole history: a backfill of N months rebuilt each series about N / 16
-- times (the evaluator claims 16 marks at a time). NULL: no bound (marks written before this
-- migration, deletions, a rule put on data already there): the points stored are read, as
-- before.
ALTER TABLE dirty_series ADD COLUMN until_periods date[];
ALTER TABLE dirty_series ADD CONSTRAINT dirty_series_until_periods_match
    CHECK (until_periods IS NULL OR cardinality(until_periods) = cardinality(series_ids));
