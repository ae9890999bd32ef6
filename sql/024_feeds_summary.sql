-- The feeds summary kept between reads, with the key of everything it was computed from, so
-- that a read of a programme of thousands of practices answers from one row while nothing it
-- depends on changed (docs/ARCHITECTURE.md, "Feeds at scale").

-- Generations of what a programme's summary depends on, bumped by the triggers below in the
-- transaction of each change: 'sent' for site_sent (the rollup fold), 'catalog' for the sites,
-- their tree, memberships and indicators (a programme's apply). A missing row is generation 0.
CREATE TABLE feeds_generation (
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('sent', 'catalog')),
    generation   bigint NOT NULL,
    PRIMARY KEY (programme_id, kind)
);

-- A programme's summary for one grace, as GET …/feeds answers it, and its key: the due
-- periods (indicator ids, starts, ends, due dates, as text), the indicators member sites
-- report, and the generations it was computed under, with no rollup mark naming series
-- pending. A read uses it only when all are what they are now. read_at: when a read last
-- asked for it (at most hourly), so that the background keeps only what is read.
CREATE TABLE feeds_summary (
    programme_id       bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    grace_days         integer NOT NULL,
    due                text NOT NULL,
    by_sites           bigint[] NOT NULL,
    sent_generation    bigint NOT NULL,
    catalog_generation bigint NOT NULL,
    document           text NOT NULL,
    computed_at        timestamptz NOT NULL DEFAULT now(),
    read_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, grace_days)
);

-- Bumps generation kind of the programmes ids (those that still exist: a programme being
-- deleted takes its rows with it).
CREATE FUNCTION feeds_generation_bump(kind text, ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO feeds_generation AS g (programme_id, kind, generation)
    SELECT p.id, kind, 1 FROM programme p WHERE p.id = ANY (ids) ORDER BY p.id
    ON CONFLICT (programme_id, kind) DO UPDATE SET generation = g.generation + 1
$$;

CREATE FUNCTION feeds_changed_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM feeds_generation_bump(TG_ARGV[0], ARRAY(SELECT DISTINCT programme_id FROM new_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION feeds_changed_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM feeds_generation_bump(TG_ARGV[0], ARRAY(SELECT DISTINCT programme_id FROM old_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION feeds_changed_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM feeds_generation_bump(TG_ARGV[0], ARRAY(SELECT programme_id FROM new_rows
                                                    UNION SELECT programme_id FROM old_rows));
    RETURN NULL;
END $$;

-- A TRUNCATE names no programme: every programme's generations move.
CREATE FUNCTION feeds_changed_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM feeds_generation_bump(TG_ARGV[0], ARRAY(SELECT id FROM programme));
    RETURN NULL;
END $$;

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('site_sent', 'sent'), ('membership', 'catalog'),
                                   ('site', 'catalog'), ('site_tree', 'catalog'),
                                   ('indicator', 'catalog')) AS x(tab, kind) LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION feeds_changed_new(%L)',
                       t.tab || '_feeds_insert', t.tab, t.kind);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows'
                       ' NEW TABLE AS new_rows FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION feeds_changed_both(%L)',
                       t.tab || '_feeds_update', t.tab, t.kind);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION feeds_changed_old(%L)',
                       t.tab || '_feeds_delete', t.tab, t.kind);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION feeds_changed_all(%L)',
                       t.tab || '_feeds_truncate', t.tab, t.kind);
    END LOOP;
END $$;
