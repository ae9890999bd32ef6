-- Institutionalisation while no roadmap item has a score yet is no value (no_data), where it
-- was 0 % and "behind": the snapshots of every programme are computed again, from its first.
INSERT INTO progress_dirty (programme_id, since_period)
SELECT programme_id, min(period_start) FROM progress_snapshot GROUP BY programme_id;
