-- A signal incident is one indicator in one region while it is open, whatever period each
-- member signals in (docs/ARCHITECTURE.md, "Incidents"): core/incident.c's key of a signal
-- drops its period ("signal:i<indicator>:r<region>") and its title says since when
-- ("X signals in Region since 2026-03").
--
-- The open signal incidents take the new key so that a member signalling after the upgrade
-- joins them. Where one indicator and region has several open incidents (one per period
-- before), the oldest takes the key; the others keep theirs and resolve with their members
-- (at most one open incident per key: incident_open_key).
UPDATE incident n
   SET key = 'signal:i' || n.indicator_id || ':r' || n.site_id,
       title = CASE WHEN n.period IS NOT NULL AND right(n.title, length(n.period) + 2) = ', ' || n.period
                    THEN left(n.title, length(n.title) - length(n.period) - 2) || ' since ' || n.period
                    ELSE n.title END
 WHERE n.id IN (SELECT DISTINCT ON (programme_id, indicator_id, site_id) id
                  FROM incident
                 WHERE kind = 'signal' AND resolved_at IS NULL
                   AND indicator_id IS NOT NULL AND site_id IS NOT NULL
                 ORDER BY programme_id, indicator_id, site_id, id);
