-- Digests (README, "Digests"): per receiver, whether alerts are told at once, in a digest on
-- a schedule, or both, with the schedule and when it is next due; and the record of every
-- digest sent, written in the transaction that queues it in the outbox, so that a digest is
-- never sent twice nor skipped. Kept apart from the receiver table (which a receivers PUT
-- rewrites whole) so that a PUT that keeps a schedule keeps when it is due.

CREATE TABLE receiver_digest (
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    receiver     text NOT NULL,
    notify       text NOT NULL DEFAULT 'immediate'
                 CHECK (notify IN ('immediate', 'digest', 'both')),
    schedule     jsonb,            -- the receiver's "digest" as given (core/digest_doc.h); NULL: none
    since        timestamptz NOT NULL, -- the first digest covers what happened from here
    next_due_at  timestamptz,      -- NULL: to compute (a new or changed schedule)
    last_due_at  timestamptz,      -- the due time the last digest sent covered up to
    progress     jsonb,            -- each dimension's status and actual in the last digest
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, receiver),
    CHECK (notify = 'immediate' OR schedule IS NOT NULL)
);
CREATE INDEX receiver_digest_due ON receiver_digest (next_due_at) WHERE schedule IS NOT NULL;

-- One row per digest sent: the period it covers and the outbox messages that carry it.
CREATE TABLE digest_sent (
    programme_id bigint NOT NULL REFERENCES programme (id) ON DELETE CASCADE,
    receiver     text NOT NULL,
    due_at       timestamptz NOT NULL,
    covers_from  timestamptz NOT NULL,
    queued_at    timestamptz NOT NULL,
    messages     bigint[] NOT NULL,   -- outbox ids
    PRIMARY KEY (programme_id, receiver, due_at)
);
