-- 0.11: governance.identities, governance.role_grants and governance.approval_requests are new
-- tables (4_governance.sql). Roles are now granted (`callcanon users grant`): until an
-- administrator grants them, nobody reaches personal data. An approval is now of one action,
-- lapses, and is used once; approvals recorded before (no action) match nothing.
ALTER TABLE governance.access_approvals ADD COLUMN IF NOT EXISTS action VARCHAR;
ALTER TABLE governance.access_approvals ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ;
ALTER TABLE governance.access_approvals ADD COLUMN IF NOT EXISTS used_at TIMESTAMPTZ;
ALTER TABLE governance.access_approvals ADD COLUMN IF NOT EXISTS used_by_seq BIGINT;
