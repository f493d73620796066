-- Signing in to the web portal through the region's identity provider
-- (ADR 0036), beside the log and outside the hash chain.
--
-- `portal_grants`: an account at an identity provider (its issuer and the
-- opaque subject id the provider gives it) becomes a jejak session only by
-- a grant an administrator made (`jejak admin portal grant`), naming the
-- jejak subject, role and scope the session acts as. No name, no email:
-- the provider's subject is an opaque id. Revoking deletes the row; a
-- grant made again replaces it with a new `grant_id`.
--
-- `portal_sessions.grant_id`: the grant that opened a session (none for a
-- one-time link's). A session opens only while its grant is there, so
-- revoking or changing a grant ends its sessions at their next request.
CREATE TABLE portal_grants (
    issuer          TEXT    NOT NULL,
    issuer_subject  TEXT    NOT NULL,
    grant_id        TEXT    NOT NULL UNIQUE,
    subject         TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    opd             TEXT,
    provider        TEXT,
    granted_at      BIGINT  NOT NULL,
    PRIMARY KEY (issuer, issuer_subject)
);

ALTER TABLE portal_sessions ADD COLUMN grant_id TEXT;
