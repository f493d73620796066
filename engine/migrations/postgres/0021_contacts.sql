-- Each person's addresses and preferences for notifications (ADR 0032),
-- theirs to set. Outside the chain and erasable: a person's erasure
-- deletes their row. The addresses (email, WhatsApp number) are sealed
-- besides, with the data key of `person`: a participant's own key, a
-- staff member's key of their own (an opaque id derived from their
-- subject). Preferences are plain: daily digest or at once, and the
-- kinds of message they do not want.
CREATE TABLE contacts (
    subject     TEXT    PRIMARY KEY,
    person      TEXT    NOT NULL,
    sealed      TEXT    NOT NULL,
    digest      BOOLEAN NOT NULL,
    opt_out     TEXT    NOT NULL DEFAULT '',
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX contacts_by_person ON contacts (person);
