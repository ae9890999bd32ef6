-- DHIS2 data sets and their complete registrations, and asynchronous imports that run after
-- their answer (README, "DHIS2").

-- The data sets a programme declares ("dhis2": {"dataSets": [{"id", "code"?}]} of its
-- document), rewritten each time the programme is applied (storage/dhis2_map_store.c): a
-- data value set's dataSet must name one of them, by UID or (dataSetIdScheme=CODE) by code.
CREATE TABLE dhis2_data_set (
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    uid          text NOT NULL,
    code         text,
    PRIMARY KEY (programme_id, uid),
    UNIQUE (programme_id, code)
);

-- A data set registered complete for (period, organisation unit, attribute option
-- combination), as DHIS2's completeDataSetRegistrations: written by an import whose data value
-- set (or ADX group) gives dataSet and completeDate, in the import's transaction
-- (storage/dhis2_registration.c); a later registration of the same key replaces it, as in
-- DHIS2. Read at GET /api/completeDataSetRegistrations.
CREATE TABLE dhis2_complete_registration (
    programme_id           bigint NOT NULL,
    data_set               text NOT NULL,
    period                 text NOT NULL, -- DHIS2's identifier of the period: 202501, 2025Q1
    period_start           date NOT NULL,
    site_id                bigint NOT NULL,
    attribute_option_combo text NOT NULL DEFAULT 'HllvX50cXC0',
    completed_date         date NOT NULL,
    stored_by              text NOT NULL, -- the token's name, as DHIS2 keeps the user's
    last_updated           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, data_set, period, site_id, attribute_option_combo),
    FOREIGN KEY (programme_id, data_set) REFERENCES dhis2_data_set (programme_id, uid)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);

-- Which database session answers for a RUNNING job: the one that accepted it until a worker
-- claims it, then the worker's. A RUNNING job whose session is gone (the daemon stopped) did
-- not finish, and its reader says so (storage/dhis2_import_job.c).
ALTER TABLE dhis2_import_job
    ADD COLUMN runner_pid     integer,
    ADD COLUMN runner_started timestamptz;
