-- The activity trail: what one person did, in log order, read straight
-- from the log by the actor its metadata names. The same expression must
-- appear in the queries for PostgreSQL to use this index.
CREATE INDEX events_by_actor ON events (((metadata::jsonb) ->> 'actor_id'), position);
