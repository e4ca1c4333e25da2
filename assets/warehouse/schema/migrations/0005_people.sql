-- 0.11: governance.identities, governance.role_grants and governance.approval_requests are new
-- tables (4_governance.sql): nothing to alter. Roles are now granted (`callcanon users grant`);
-- until an administrator grants them, nobody reaches personal data.
SELECT 1;
