-- One dirty mark per batch instead of one per series: a batch that touches a thousand series
-- inserted a thousand mark rows (heap, index and sequence work per row, about a tenth of the
-- cost of storing the batch); now it inserts one row per 1,000 series that lists them. The
-- evaluator claims rows as before (FOR UPDATE SKIP LOCKED) and evaluates each listed series
-- once. Marks not yet evaluated are carried over, 1,000 series per row.
-- Daemons of the old schema cannot write marks any more: upgrade every daemon of a database
-- together.
ALTER TABLE dirty_series RENAME TO dirty_series_old;
ALTER INDEX dirty_series_pkey RENAME TO dirty_series_old_pkey;
ALTER INDEX dirty_series_series RENAME TO dirty_series_old_series;
ALTER SEQUENCE dirty_series_id_seq RENAME TO dirty_series_old_id_seq;

CREATE TABLE dirty_series (
    id            bigserial PRIMARY KEY,
    programme_id  bigint NOT NULL,
    series_ids    bigint[] NOT NULL,  -- the series the batch changed, in id order
    since_periods date[] NOT NULL,    -- the earliest period it changed in each
    marked_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(series_ids) = cardinality(since_periods))
);

INSERT INTO dirty_series (programme_id, series_ids, since_periods, marked_at)
    SELECT programme_id, array_agg(series_id ORDER BY series_id),
           array_agg(since ORDER BY series_id), max(marked_at)
    FROM (SELECT programme_id, series_id, min(since_period) AS since, max(marked_at) AS marked_at,
                 (row_number() OVER (PARTITION BY programme_id ORDER BY series_id) - 1) / 1000
                     AS chunk
          FROM dirty_series_old GROUP BY programme_id, series_id) m
    GROUP BY programme_id, chunk;
DROP TABLE dirty_series_old;
