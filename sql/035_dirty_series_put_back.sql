-- Ids for the marks the evaluator puts back (the series of a claim past the slice it evaluates
-- in one transaction): counting down from -1, so that a mark put back is claimed before every
-- mark waiting, in particular before the later months of its own series (a state fed past a
-- mark still waiting is rebuilt from its whole history when that mark comes).
CREATE SEQUENCE dirty_series_head_seq INCREMENT BY -1 MAXVALUE -1 START WITH -1;
