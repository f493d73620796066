-- Leases with fencing (ADR 0029): which server applies a view or runs the
-- process managers. A lease is held until `expires_at` and renewed well
-- before; taking one over increments `token`, and every write made under a
-- lease checks its token in its own transaction, so a server whose lease
-- lapsed (hung, cut off) can never write again under it.
CREATE TABLE IF NOT EXISTS leases (
    name       TEXT PRIMARY KEY,
    holder     UUID NOT NULL,
    token      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    -- Another server asked the holder to rebuild the view (`admin rebuild`
    -- sent to a standby); the holder learns it when it next renews.
    rebuild_requested BOOLEAN NOT NULL DEFAULT false
);
