-- The alerting detector's state (core/detector.h), one row per (spc rule, series): what the
-- evaluator needs to judge the series' next point without reading its history. A new point
-- updates the row; a revision of a period the state has seen, a re-baseline, a changed rule
-- (rule_updated_at) or budget (params) rebuilds it from the series' points. The state is the
-- daemon's struct, opaque to SQL; params names its layout too, so a daemon whose struct
-- differs rebuilds rather than misreads it. last_period and holding are for people.
CREATE TABLE detector_state (
    programme_id    bigint NOT NULL,
    rule_id         bigint NOT NULL,
    series_id       bigint NOT NULL,
    params          text NOT NULL,         -- detector_params_key of the params it was fed with
    rule_updated_at timestamptz NOT NULL,  -- alert_rule.updated_at then
    state           bytea NOT NULL,        -- struct detector_state
    last_period     date,                  -- the last point fed (NULL: none yet)
    holding         boolean NOT NULL,      -- the detector holds at that point
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, series_id, rule_id),
    FOREIGN KEY (programme_id, rule_id) REFERENCES alert_rule (programme_id, id) ON DELETE CASCADE
);
-- No foreign key to series: it would make every TRUNCATE of series name this table too, and
-- a series is gone only with its site or indicator (whose rules' states then go with the
-- programme or rule) or its programme. A row whose series is gone is never read again (series
-- ids are not reused).
-- the cascade from a deleted rule
CREATE INDEX detector_state_rule ON detector_state (programme_id, rule_id);

-- A late feed has no value: older versions stored 0 (and the alert's update keeps a value it
-- is not given), so a late-feed alert said "value 0 for 2026-10". Missing is never a zero.
UPDATE alert a SET value = NULL, centre = NULL, lower_limit = NULL, upper_limit = NULL
  FROM alert_rule r
 WHERE r.programme_id = a.programme_id AND r.id = a.rule_id AND r.kind = 'late_feed'
   AND a.value IS NOT NULL;
