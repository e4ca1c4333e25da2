-- 0.12: governance.consent_cases, governance.audit_checkpoints and governance.key_rotations are
-- new tables (4_governance.sql); policy files need `consent:` and `audit:` blocks, and casework
-- text is sealed from now on (`callcanon seal-store` seals what is older; MIGRATIONS.md).
SELECT 1;
