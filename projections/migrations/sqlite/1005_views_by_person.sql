-- Project board documents name the participant by person id and carry the
-- project's short code; those written before do not: the board is dropped
-- and rebuilt from the log.
DELETE FROM view_docs WHERE view = 'project_board';
DELETE FROM view_checkpoints WHERE view = 'project_board';
DELETE FROM view_active WHERE view = 'project_board';
