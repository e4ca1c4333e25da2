-- 0.12: governance.consent_cases and governance.audit_checkpoints are new tables
-- (4_governance.sql); policy files need `consent:` and `audit:` blocks (MIGRATIONS.md).
SELECT 1;
