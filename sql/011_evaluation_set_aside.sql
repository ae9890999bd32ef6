-- Series whose evaluation failed, set aside so that they no longer hold up the others
-- (docs/ARCHITECTURE.md, "The path of an evaluation"). Before, one series that could not be
-- evaluated (a region whose sum overflowed) rolled back its whole claim, whose marks came
-- back and failed again on every pass: no series was evaluated any more.
--
-- The evaluator evaluates a claim under savepoints; a series (a site's own rules) or a
-- region's aggregate (its aggregate rules) that fails is rolled back alone and recorded here
-- with the reason, and the rest of the claim goes on. It is tried again when retry_at has
-- passed (a backoff: 1 minute after the first failure, doubling up to 1 hour), by claiming
-- series_id again, or sooner when ingest marks that series; the row goes once it evaluates.
CREATE TABLE evaluation_set_aside (
    programme_id bigint NOT NULL,
    indicator_id bigint NOT NULL,
    site_id      bigint NOT NULL,
    aggregate    boolean NOT NULL,     -- the aggregate rules of the site's descendants
    series_id    bigint NOT NULL,      -- the series to claim to retry it (for an aggregate: one
                                       -- that feeds it)
    reason       text NOT NULL,
    failures     integer NOT NULL DEFAULT 1,
    set_aside_at timestamptz NOT NULL, -- the first failure
    failed_at    timestamptz NOT NULL, -- the latest
    retry_at     timestamptz NOT NULL,
    PRIMARY KEY (programme_id, indicator_id, site_id, aggregate),
    FOREIGN KEY (programme_id, series_id) REFERENCES series (programme_id, id) ON DELETE CASCADE
);
CREATE INDEX evaluation_set_aside_retry ON evaluation_set_aside (retry_at);
CREATE INDEX evaluation_set_aside_series ON evaluation_set_aside (programme_id, series_id);
