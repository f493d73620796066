-- What a reader keeps of the log up to its checkpoint (the overdue
-- timer's open milestones), so that a start resumes from it instead of
-- reading the log from the beginning. A cache: without it, the reader
-- folds the log again.
ALTER TABLE checkpoints ADD COLUMN state TEXT;
