-- 0.10: governance.publications and marts_queue.stale_days are new tables (4_governance.sql,
-- 5_marts_queue.sql). Every call date already in the canon is marked stale, so the first
-- incremental marts build after the upgrade recomputes them all.
INSERT INTO marts_queue.stale_days
SELECT DISTINCT call_date, now() FROM canon.transcripts
ON CONFLICT (call_date) DO NOTHING;
