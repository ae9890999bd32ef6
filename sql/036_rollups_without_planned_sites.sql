-- Rollups leave out the observations of planned practices (a member with status planned),
-- and an aggregate's sites_expected counts, beside the members that are not planned, the
-- sites without a membership that have sent the indicator: a planned practice's values were
-- in n and not in m, and a region's point could say "7 of 4 practices reporting". The
-- programmes whose rollups hold a planned practice's values are rebuilt; reads answer from the
-- rollups as they stand until it is done. (sites_expected is read, not stored: nothing to do.)
INSERT INTO rollup_dirty (programme_id)
SELECT p.id FROM programme p
WHERE EXISTS (SELECT 1 FROM rollup r WHERE r.programme_id = p.id)
  AND EXISTS (SELECT 1 FROM membership m
              JOIN series se ON se.programme_id = m.programme_id AND se.site_id = m.site_id
              WHERE m.programme_id = p.id AND m.status = 'planned');
