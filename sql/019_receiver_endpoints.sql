-- Receivers' webhooks and Alertmanagers with their options (README, "Webhooks" and
-- "Connecting an Alertmanager"): each endpoint's own send_resolved and max_alerts, the
-- Authorization it sends (bearer or basic; the secret is never answered by GET receivers),
-- and for an Alertmanager when its firing alerts are next re-posted. Kept apart from the
-- receiver table, whose webhook column stays the list of URLs; a receivers PUT rewrites
-- both in one transaction.

CREATE TABLE receiver_endpoint (
    programme_id    bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    receiver        text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('webhook', 'alertmanager')),
    url             text NOT NULL,
    position        integer NOT NULL,       -- its place in the receiver's list
    send_resolved   boolean,                -- NULL: [alerts] send_resolved (webhooks only)
    max_alerts      integer NOT NULL DEFAULT 0 CHECK (max_alerts >= 0), -- 0: every alert
    resend_interval integer NOT NULL DEFAULT 60 CHECK (resend_interval > 0), -- seconds
    auth_type       text CHECK (auth_type IN ('bearer', 'basic')),
    auth_username   text,                   -- basic only
    auth_secret     text,                   -- the bearer token or the basic password
    next_post_at    timestamptz,            -- alertmanager: when firing alerts are re-posted
    -- where delivery posts: the outbox row's target
    post_url        text NOT NULL GENERATED ALWAYS AS (CASE kind WHEN 'alertmanager' THEN
                        rtrim(url, '/') || '/api/v2/alerts' ELSE url END) STORED,
    PRIMARY KEY (programme_id, receiver, kind, url),
    CHECK ((auth_type IS NULL) = (auth_secret IS NULL)),
    CHECK ((auth_type = 'basic') = (auth_username IS NOT NULL))
);
CREATE INDEX receiver_endpoint_resend ON receiver_endpoint (next_post_at)
    WHERE kind = 'alertmanager';

-- the webhooks that existed before, without options
INSERT INTO receiver_endpoint (programme_id, receiver, kind, url, position)
SELECT r.programme_id, r.name, 'webhook', w.url, min(w.n)::int - 1
  FROM receiver r, unnest(r.webhook) WITH ORDINALITY AS w (url, n)
 GROUP BY r.programme_id, r.name, w.url;

-- messages to an Alertmanager's API v2 go through the same outbox
ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check
    CHECK (channel IN ('email', 'webhook', 'alertmanager'));
