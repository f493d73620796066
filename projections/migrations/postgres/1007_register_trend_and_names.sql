-- The register keeps more beside its rows (ADR 0035): the year each
-- innovation was registered and first reached each stage, in the region's
-- zone, counted per region (the trend by year); the names of the dormant
-- and the replicated ones beside their counts; and the terms the
-- statistics' filters read (year, sector, digital, region). Its rows and
-- everything beside them are dropped and applied again from the log on
-- start.
DELETE FROM view_terms WHERE view = 'innovation_register';
DELETE FROM view_counts WHERE view = 'innovation_register';
DELETE FROM view_docs WHERE view = 'innovation_register';
DELETE FROM view_checkpoints WHERE view = 'innovation_register';
DELETE FROM view_active WHERE view = 'innovation_register';
