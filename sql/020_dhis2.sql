-- DHIS2's identifiers of a programme's indicators and sites (README, "DHIS2"): a data element
-- UID with a category option combination UID ('' for the default combination) names one
-- indicator, an organisation unit UID one site. Written from the programme document's
-- "dhis2" members each time the programme is applied (storage/dhis2_map_store.c); read per
-- batch, for the batch's organisation units only.
CREATE TABLE dhis2_data_element (
    programme_id          bigint NOT NULL,
    data_element          text NOT NULL,
    category_option_combo text NOT NULL DEFAULT '',
    indicator_id          bigint NOT NULL,
    PRIMARY KEY (programme_id, data_element, category_option_combo),
    FOREIGN KEY (programme_id, indicator_id) REFERENCES indicator (programme_id, id)
        ON DELETE CASCADE
);

CREATE TABLE dhis2_org_unit (
    programme_id bigint NOT NULL,
    org_unit     text NOT NULL,
    site_id      bigint NOT NULL,
    PRIMARY KEY (programme_id, org_unit),
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);

-- What DHIS2 says of a data value besides its value and comment: who stored it (storedBy) and
-- whether it is marked for follow-up, kept per observation as the last import gave them
-- (storage/dhis2_value_meta.c); gone with the observation when a delete takes it.
CREATE TABLE dhis2_value_meta (
    programme_id bigint NOT NULL,
    series_id    bigint NOT NULL,
    period_start date NOT NULL,
    stored_by    text,
    followup     boolean,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- no foreign key to series, as observation has none: tables of observations are emptied
    -- together with series (TRUNCATE …, series) and the daemon never deletes a series
    PRIMARY KEY (programme_id, series_id, period_start)
);

-- Asynchronous imports (?async=true): a job per request, answered at once with its id; the
-- import runs on a pool worker, and its status and import summary are read at DHIS2's
-- /api/system/tasks/DATAVALUE_IMPORT/{id} and /api/system/taskSummaries/DATAVALUE_IMPORT/{id}
-- by the token that started it.
CREATE TABLE dhis2_import_job (
    id           text PRIMARY KEY,
    token_id     bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    status       text NOT NULL DEFAULT 'RUNNING' CHECK (status IN ('RUNNING', 'COMPLETED', 'ERROR')),
    http_status  integer,
    summary      jsonb
);
CREATE INDEX dhis2_import_job_created ON dhis2_import_job (created_at);
