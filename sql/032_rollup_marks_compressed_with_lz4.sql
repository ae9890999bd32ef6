-- The arrays ingest writes in every batch's transaction that sql/010 did not cover: a rollup
-- mark's series and periods (sql/012: 12 kB for a batch of 1,000 rows) and an evaluation
-- mark's latest periods (sql/031). They were compressed with PostgreSQL's default, pglz: in
-- bench/ingest.sh's load pglz_compress was 3 % of PostgreSQL's CPU samples, and inserting
-- 181 rollup marks built afresh took 93 to 133 ms with pglz against 6 to 7 ms with lz4
-- (2026-12-03). A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE rollup_dirty ALTER COLUMN series_ids SET COMPRESSION lz4,
                             ALTER COLUMN periods SET COMPRESSION lz4;
    ALTER TABLE dirty_series ALTER COLUMN until_periods SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: rollup marks stay compressed with pglz';
END
$$;
