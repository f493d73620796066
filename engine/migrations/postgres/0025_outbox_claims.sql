-- A message is claimed before it is sent (ADR 0032, addendum): on a log
-- shared by several servers, the deliverer holding the lease
-- `outbox-delivery` claims the messages of a round, in a transaction that
-- checks its lease (the fence), for a while (`claim_expires_at`, by the
-- engine's clock in microseconds since the epoch). Nobody else takes a
-- message while its claim runs; the settle clears it. A message whose
-- claim ran out (its server stopped mid-round) is due again.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claim_epoch BIGINT;
ALTER TABLE outbox ADD COLUMN claim_expires_at BIGINT;
