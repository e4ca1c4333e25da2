-- The `governance` schema as it is now: all of it on a new warehouse, its new tables on an old one.
CREATE SCHEMA IF NOT EXISTS governance;

-- The audit trail (append-only, hash-chained; `assets.access.audit`). No personal data: calls are named
-- by a hash of their id, subjects by pseudonym token, reasons are stored pseudonymised, so an
-- erasure never has to rewrite the chain. Its head (last seq and hash) is kept outside the
-- warehouse, so cutting records off the end shows.
CREATE TABLE IF NOT EXISTS governance.audit (
    seq BIGINT PRIMARY KEY,
    recorded_at VARCHAR NOT NULL,  -- ISO 8601 UTC, exactly as hashed
    actor VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    object VARCHAR,          -- call ref (hash of the call id)
    subject VARCHAR,         -- pseudonym token of the caller's number, when known
    purpose VARCHAR,
    reason VARCHAR,          -- pseudonymised
    outcome VARCHAR NOT NULL,  -- granted | refused:<why>
    request VARCHAR,         -- the policy's request fields (JSON; numbers as tokens, text pseudonymised)
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
);

-- Approvals an authorising role recorded before a disciplinary or police release.
CREATE TABLE IF NOT EXISTS governance.access_approvals (
    call_ref VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL,
    for_user VARCHAR NOT NULL,
    approved_by VARCHAR NOT NULL,
    approver_role VARCHAR NOT NULL,
    approved_at TIMESTAMPTZ NOT NULL,
    audit_seq BIGINT NOT NULL,
    action VARCHAR,                   -- the one action approved (listen, download_audio, ...)
    expires_at TIMESTAMPTZ,           -- unused approvals lapse
    used_at TIMESTAMPTZ,              -- one approval, one release
    used_by_seq BIGINT                -- the audit record of the release that used it
);

-- Restriction requests (UK GDPR art. 18): a restricted call never enters the canon. Numbers and
-- people are held as their pseudonym tokens, so this table is not itself personal data.
CREATE TABLE IF NOT EXISTS governance.restrictions (
    kind VARCHAR NOT NULL,   -- call | complaint | number | person
    ref VARCHAR NOT NULL,    -- call id, complaint id, or pseudonym token
    reason VARCHAR,
    requested_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, ref)
);

CREATE SEQUENCE IF NOT EXISTS governance.retention_log_seq;

CREATE TABLE IF NOT EXISTS governance.retention_log (
    id BIGINT DEFAULT nextval('governance.retention_log_seq') PRIMARY KEY,
    run_at TIMESTAMPTZ NOT NULL,
    policy VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    data_class VARCHAR NOT NULL,
    call_ref VARCHAR NOT NULL,
    call_date DATE NOT NULL,
    expired_on DATE NOT NULL,
    bytes_deleted BIGINT,
    certificate_id VARCHAR,
    reason VARCHAR
);

-- Legal holds suspend every deletion of what they cover until released. Numbers and people are
-- held as pseudonym tokens, as in restrictions.
CREATE SEQUENCE IF NOT EXISTS governance.legal_holds_seq;

CREATE TABLE IF NOT EXISTS governance.legal_holds (
    hold_id BIGINT DEFAULT nextval('governance.legal_holds_seq') PRIMARY KEY,
    kind VARCHAR NOT NULL,
    ref VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    placed_at TIMESTAMPTZ NOT NULL,
    released_at TIMESTAMPTZ
);

-- One certificate per retention run (per partition) or erasure request: what went, why, when,
-- counts, and the hashed call references; `digest` seals the rest.
CREATE TABLE IF NOT EXISTS governance.erasure_certificates (
    certificate_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- retention | erasure
    issued_at TIMESTAMPTZ NOT NULL,
    policy VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    scope VARCHAR,                    -- partition date, or the request's kind:ref (hashed)
    as_of DATE,
    counts JSON NOT NULL,             -- data class -> calls
    bytes_deleted BIGINT NOT NULL,
    call_refs VARCHAR[] NOT NULL,
    suspended_by_hold INTEGER NOT NULL,
    digest VARCHAR NOT NULL
);

-- Each rewrite of the warehouse file that physically removed deleted rows.
CREATE TABLE IF NOT EXISTS governance.warehouse_rewrites (
    rewritten_at TIMESTAMPTZ NOT NULL,
    log_high_water BIGINT NOT NULL,   -- retention_log ids up to this are physically gone
    bytes_before BIGINT NOT NULL,
    bytes_after BIGINT NOT NULL
);

-- Every release written to disk (an audio download, an export, a subject access package), with
-- where it went, so an erasure can list and remove it. Calls by hash, as everywhere in governance.
CREATE SEQUENCE IF NOT EXISTS governance.releases_seq;

CREATE TABLE IF NOT EXISTS governance.releases (
    release_id BIGINT DEFAULT nextval('governance.releases_seq') PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- download_audio | export | subject_access_package
    call_ref VARCHAR NOT NULL,
    path VARCHAR NOT NULL,            -- a file, or the package's folder
    released_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR NOT NULL,
    audit_seq BIGINT,
    removed_at TIMESTAMPTZ,
    removed_by VARCHAR                -- the erasure certificate that removed it
);

-- Every analytics copy published (assets/warehouse/analytics.py): when, where, how big and to
-- which group, so the evidence pack can say how fresh the copy analysts read is.
CREATE TABLE IF NOT EXISTS governance.publications (
    published_at TIMESTAMPTZ NOT NULL,
    path VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    tables INTEGER NOT NULL,
    canon_calls BIGINT NOT NULL,
    group_name VARCHAR,
    how VARCHAR                       -- patched, or why the copy was written afresh
);

-- People (issue 21): who may sign in, and the roles an administrator granted them. An identity is
-- `local:<name>` (a portal password), `oidc:<subject>` (the organisation's identity provider) or
-- `os:<account>` (the data host's CLI), its name normalised (NFKC, trimmed, case-folded) so that
-- "Mallory " and "mallory" are one person. Roles come only from `role_grants`, never from what a
-- person types; a grant may end (`expires_at`) or be revoked, and the row stays as the record.
CREATE TABLE IF NOT EXISTS governance.identities (
    identity VARCHAR PRIMARY KEY,
    display_name VARCHAR,
    staff_id VARCHAR,                 -- their id in the call records: a role scoped to own calls reaches these
    password_hash VARCHAR,            -- argon2id; local accounts only
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    password_changed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    disabled_at TIMESTAMPTZ
);

CREATE SEQUENCE IF NOT EXISTS governance.role_grant_ids;
CREATE TABLE IF NOT EXISTS governance.role_grants (
    grant_id BIGINT PRIMARY KEY DEFAULT nextval('governance.role_grant_ids'),
    identity VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    granted_by VARCHAR NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    revoked_by VARCHAR
);

-- Releases waiting for four-eyes approval (disciplinary, police): asked for in the portal, decided
-- by a different identity holding an authorising role. The call by its ref, the reason pseudonymised.
CREATE SEQUENCE IF NOT EXISTS governance.approval_request_ids;
CREATE TABLE IF NOT EXISTS governance.approval_requests (
    request_id BIGINT PRIMARY KEY DEFAULT nextval('governance.approval_request_ids'),
    call_ref VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL,
    requested_by VARCHAR NOT NULL,
    requester_role VARCHAR NOT NULL,
    reason VARCHAR,
    requested_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ,
    decided_by VARCHAR,
    decision VARCHAR                  -- approved | declined
);

-- Consent (issue 22): each call a consent case applies to (notice not played, notice unknown,
-- recording stopped on request), the policy's action for it, and a reviewer's decision where the
-- action holds the call for review. Calls by ref (hash of the id), the reason pseudonymised.
CREATE TABLE IF NOT EXISTS governance.consent_cases (
    call_ref VARCHAR NOT NULL,
    call_date DATE NOT NULL,
    "case" VARCHAR NOT NULL,          -- no_notice_inbound | no_notice_outbound | notice_unknown | stopped_on_request
    action VARCHAR NOT NULL,          -- the policy's: hold_for_review | keep_out_of_analytics | policy_exception | use
    found_at TIMESTAMPTZ NOT NULL,
    decision VARCHAR,                 -- released | erased (hold_for_review only)
    decided_at TIMESTAMPTZ,
    decided_by VARCHAR,
    decider_role VARCHAR,
    audit_seq BIGINT,
    PRIMARY KEY (call_ref, "case")
);

-- Audit retention (issue 22): each cut of the audit trail's oldest records, with the signed
-- checkpoint (the last removed record's seq and hash) that verification starts from after it.
CREATE TABLE IF NOT EXISTS governance.audit_checkpoints (
    seq BIGINT PRIMARY KEY,           -- the last record removed
    hash VARCHAR NOT NULL,            -- its hash: the first kept record's prev_hash
    cut_before DATE NOT NULL,         -- records before this day were removed
    signed_at VARCHAR NOT NULL,       -- when the checkpoint was signed (ISO 8601 UTC)
    sig VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    removed BIGINT NOT NULL
);

-- Key rotations (issue 22): which key, when, by whom, what was resealed, and the new key's id
-- (a hash that says nothing about the key). The evidence pack reports each key's age from here.
CREATE TABLE IF NOT EXISTS governance.key_rotations (
    key_name VARCHAR NOT NULL,        -- audio | pseudonym
    new_key_id VARCHAR NOT NULL,
    rotated_at TIMESTAMPTZ NOT NULL,
    rotated_by VARCHAR NOT NULL,
    files BIGINT,
    cells BIGINT,
    audit_seq BIGINT,
    PRIMARY KEY (key_name, new_key_id)
);
