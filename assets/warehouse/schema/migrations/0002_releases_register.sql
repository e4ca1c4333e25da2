-- 0.7: governance.releases (where each download, export and subject access package was written)
-- is a new table, created by 4_governance.sql; nothing to alter.
SELECT 1;
