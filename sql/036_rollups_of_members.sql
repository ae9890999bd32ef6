-- Rollups aggregate the observations of the programme's members that are not planned (the
-- sites an aggregate's "n of m" counts as m), no longer those of every site below: a planned
-- practice, a site listed without a membership or a district's own row made a region's chart
-- say "7 of 4 practices reporting". Every programme with rollups is rebuilt; reads answer from
-- the rollups as they stand until it is done.
INSERT INTO rollup_dirty (programme_id)
SELECT DISTINCT programme_id FROM rollup;
