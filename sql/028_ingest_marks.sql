-- The progress mark of an insert or update of observations costs one pass over the statement's
-- rows when its programme has no score indicator, as sql/014 meant (docs/ARCHITECTURE.md,
-- "Rollups" and "Progress snapshots"): its lookup of the score series ran once per row (the
-- subquery named the outer programme, so it could not be hashed) and took about 3 ms of a
-- 1,000-row batch, in ingest and in COPY alike. The score indicators of the statement's
-- programmes are found once; when there are some, each row's series is found by its key.
CREATE OR REPLACE FUNCTION progress_mark_observations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scores bigint[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO progress_dirty (programme_id, since_period)
        SELECT programme_id, min(period_start) FROM changed GROUP BY programme_id;
        RETURN NULL;
    END IF;
    SELECT array_agg(i.id) INTO scores FROM indicator i
    WHERE i.value_type = 'score' AND i.programme_id IN (SELECT programme_id FROM changed);
    INSERT INTO progress_dirty (programme_id, since_period, until_period, score_since)
    SELECT c.programme_id, min(c.period_start), max(c.period_start),
           CASE WHEN scores IS NOT NULL THEN
               (SELECT min(x.period_start) FROM changed x
                CROSS JOIN LATERAL (SELECT se.indicator_id FROM series se
                    WHERE se.programme_id = x.programme_id AND se.id = x.series_id LIMIT 1) se
                WHERE x.programme_id = c.programme_id AND se.indicator_id = ANY (scores))
           END
    FROM changed c GROUP BY c.programme_id;
    RETURN NULL;
END $$;
