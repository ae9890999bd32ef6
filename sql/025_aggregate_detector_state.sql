-- The alerting detector's state of aggregate rules (core/detector.h), one row per (rule,
-- aggregate subject = indicator x ancestor site), as detector_state (sql/013) keeps one per
-- (rule, series): a new rollup point updates the row without reading the rollup's history. A
-- change of a period the state has seen rebuilds it from the rollup's points, except a change
-- of its last period alone (a late practice of the latest month, the common case of an
-- aggregate), which goes on from `prior`, the state before that point. A re-baseline, a
-- changed rule (rule_updated_at), budget, aggregation or daemon (params) rebuilds it too;
-- a rebuild of a programme's rollups (a new hierarchy) deletes its rows. The states are the
-- daemon's struct, opaque to SQL; last_period and holding are for people.
CREATE TABLE aggregate_detector_state (
    programme_id    bigint NOT NULL,
    indicator_id    bigint NOT NULL,
    site_id         bigint NOT NULL,         -- the ancestor whose descendants are aggregated
    rule_id         bigint NOT NULL,
    params          text NOT NULL,           -- detector_params_key and the aggregation
    rule_updated_at timestamptz NOT NULL,    -- alert_rule.updated_at then
    state           bytea NOT NULL,          -- struct detector_state after the last point
    prior           bytea,                   -- the same before the last point (NULL: none)
    last_period     date,                    -- the last point fed (NULL: none yet)
    holding         boolean NOT NULL,        -- the detector holds at that point
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, indicator_id, site_id, rule_id),
    FOREIGN KEY (programme_id, rule_id) REFERENCES alert_rule (programme_id, id) ON DELETE CASCADE,
    FOREIGN KEY (programme_id, indicator_id) REFERENCES indicator (programme_id, id) ON DELETE CASCADE,
    FOREIGN KEY (programme_id, site_id) REFERENCES site (programme_id, id) ON DELETE CASCADE
);
-- the cascade from a deleted rule
CREATE INDEX aggregate_detector_state_rule ON aggregate_detector_state (programme_id, rule_id);
