-- The language a person reads their notifications in (ADR 0032,
-- addendum): 'id' (Indonesian, the default) or 'en' (English). A
-- preference, plain like the others; the addresses stay sealed.
ALTER TABLE contacts ADD COLUMN lang TEXT NOT NULL DEFAULT 'id';
