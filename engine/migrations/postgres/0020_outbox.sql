-- The outbox (ADR 0032): the messages jejak owes people, made from the log
-- by the notifications process manager and sent by the server's deliverer.
-- Outside the hash chain, like the caches: every message is derived from
-- the log, and only its delivery changes. A message's id is derived from
-- what caused it (an event, or a day or week of the clock), its recipient
-- and its kind, so that making it again adds nothing. Nothing personal:
-- the recipient is an opaque id (a person id or a staff subject) and the
-- facts are codes, titles, dates and decisions as the log holds them.
-- Times are microseconds since the epoch, by the engine's clock.
CREATE TABLE outbox (
    id              TEXT    PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    recipient_role  TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    facts           TEXT    NOT NULL,
    cause_position  BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    -- pending (to send, or to send again), sent, failed (given up), dropped
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    -- The channels that took it already ("email", "webhook").
    delivered       TEXT    NOT NULL DEFAULT '',
    last_error      TEXT,
    sent_at         BIGINT,
    -- The id the person sees: the message's own, or its daily digest's.
    delivery_id     TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_recipient ON outbox (recipient);
