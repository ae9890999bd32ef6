-- How many of a rollup's sites carry both a numerator and a denominator: the "n" of a weighted
-- point (Σ numerators ÷ Σ denominators covers only those), where `sites` counted every site
-- with a value and said "3 of 4 practices" of a ratio two of them made. NULL until the rebuild
-- this migration asks for has recomputed the rollup (reads take `sites` meanwhile, as before).
ALTER TABLE rollup ADD COLUMN weighted_sites integer CHECK (weighted_sites >= 0);

INSERT INTO rollup_dirty (programme_id)
SELECT DISTINCT programme_id FROM rollup;
