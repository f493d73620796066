-- The web portal's sign-in (ADR 0034), beside the log and outside the
-- hash chain.
--
-- `portal_links`: the id of every one-time sign-in link used, so that a
-- link works once, on this server or any other sharing the database.
-- Written only by inserting.
--
-- `portal_sessions`: the sessions those links opened. A session is known
-- by the SHA-256 of its random 256-bit id (the cookie holds the id; the
-- table never does). It names the subject, role and scope the link was
-- issued for, and nothing personal besides: no name, no NIP. Signing out
-- ends the row; an ended or expired row opens nothing.
CREATE TABLE portal_links (
    token_id    TEXT    PRIMARY KEY,
    used_at     BIGINT  NOT NULL
);

CREATE TABLE portal_sessions (
    id_hash     TEXT    PRIMARY KEY,
    subject     TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    opd         TEXT,
    provider    TEXT,
    token_id    TEXT    NOT NULL,
    issued_at   BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    ended_at    BIGINT
);
CREATE INDEX portal_sessions_by_subject ON portal_sessions (subject);
