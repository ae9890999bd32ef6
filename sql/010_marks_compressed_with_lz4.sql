-- A dirty mark lists up to 1,000 series and their periods (12 kB): stored with PostgreSQL's
-- default compression (pglz), compressing it cost about a quarter of what copying the
-- batch's 1,000 rows into observation costs. lz4 compresses it several times faster. A
-- server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE dirty_series ALTER COLUMN series_ids SET COMPRESSION lz4,
                             ALTER COLUMN since_periods SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: dirty marks stay compressed with pglz';
END
$$;
