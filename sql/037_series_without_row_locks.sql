-- A new series no longer takes a row lock on its indicator and its site. The two foreign keys
-- of series did, for each new series (FOR KEY SHARE): every batch that creates series locks
-- the same few indicator rows, so concurrent batches share those locks through multixacts,
-- each one written to the indicator's page and logged. In bench/ingest.sh that was 380 of the
-- 453 ms that creating 5,000 series took, against 76 ms without the keys.
--
-- What the keys gave is kept another way. The daemon creates a series only for an indicator
-- and a site that exist: its statement joins both (storage/observations_write.c), and the
-- catalog it read the codes from is the same transaction's. The daemon never deletes a site or
-- an indicator; when someone does (a programme removed by hand, a DELETE in psql), the
-- triggers below delete their series, as ON DELETE CASCADE did, and the series' own
-- dependants follow through their keys. A deletion that commits while a batch is creating a
-- series of that very site or indicator can leave the series behind, with no site or indicator
-- to read it by: observation already has no key to series, for the same reason (speed), and
-- nothing reads a series except through its indicator and site.
ALTER TABLE series DROP CONSTRAINT series_programme_id_indicator_id_fkey,
    DROP CONSTRAINT series_programme_id_site_id_fkey;

CREATE FUNCTION series_of_deleted_indicators() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM series se USING old_rows o
    WHERE se.programme_id = o.programme_id AND se.indicator_id = o.id;
    RETURN NULL;
END $$;

-- Through the unique key (programme_id, indicator_id, site_id): each deleted site's series
-- are found under each indicator of its programme, without an index of their own.
CREATE FUNCTION series_of_deleted_sites() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM series se USING old_rows o, indicator i
    WHERE i.programme_id = o.programme_id AND se.programme_id = o.programme_id
      AND se.indicator_id = i.id AND se.site_id = o.id;
    RETURN NULL;
END $$;

-- Rows deleted by a programme's own deletion (indicator and site go by their keys to
-- programme) fire these too. The site trigger runs when a site goes while its indicators stay;
-- when both go, whichever runs first deletes the series.
CREATE TRIGGER indicator_series_delete AFTER DELETE ON indicator
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION series_of_deleted_indicators();
CREATE TRIGGER site_series_delete AFTER DELETE ON site
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION series_of_deleted_sites();

