"""The warehouse layout: schemas kept apart, as the ombudsman policy asks.

`casework` holds personal data (linked and unlinked calls apart, as views), `canon` only
pseudonymised text, `themes` the topic model's output, `governance` the retention log. dbt owns
`staging` and `marts`. Every stage writes with `replace_rows`, so re-running is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from typing import Any

import duckdb

DDL = """
CREATE SCHEMA IF NOT EXISTS casework;
CREATE SCHEMA IF NOT EXISTS canon;
CREATE SCHEMA IF NOT EXISTS themes;
CREATE SCHEMA IF NOT EXISTS governance;

CREATE TABLE IF NOT EXISTS casework.calls (
    call_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    call_date DATE NOT NULL,
    direction VARCHAR,
    staff_id VARCHAR,
    team VARCHAR,
    external_number VARCHAR,
    complaint_id VARCHAR,
    case_last_activity DATE,
    service_area VARCHAR,
    privacy_notice_played BOOLEAN,
    recording_stopped_on_request BOOLEAN,
    channels JSON,
    extra JSON,
    audio_path VARCHAR,
    audio_sha256 VARCHAR,
    audio_bytes BIGINT,
    audio_deleted_at TIMESTAMPTZ,
    ingested_at TIMESTAMPTZ NOT NULL
);
CREATE OR REPLACE VIEW casework.linked_calls AS
    SELECT * FROM casework.calls WHERE complaint_id IS NOT NULL;
CREATE OR REPLACE VIEW casework.unlinked_calls AS
    SELECT * FROM casework.calls WHERE complaint_id IS NULL;

CREATE TABLE IF NOT EXISTS casework.transcripts (
    call_id VARCHAR PRIMARY KEY,
    call_date DATE NOT NULL,
    text VARCHAR NOT NULL,
    language VARCHAR,
    duration_s DOUBLE,
    model VARCHAR NOT NULL,
    transcribed_at TIMESTAMPTZ NOT NULL
);
-- 0.2: cache key, confidence and quality flag (added in place to 0.1 warehouses).
ALTER TABLE casework.transcripts ADD COLUMN IF NOT EXISTS cache_key VARCHAR;
ALTER TABLE casework.transcripts ADD COLUMN IF NOT EXISTS avg_logprob DOUBLE;
ALTER TABLE casework.transcripts ADD COLUMN IF NOT EXISTS quality VARCHAR;
ALTER TABLE casework.transcripts ADD COLUMN IF NOT EXISTS speakers INTEGER;
CREATE TABLE IF NOT EXISTS casework.segments (
    call_id VARCHAR NOT NULL,
    seg_idx INTEGER NOT NULL,
    call_date DATE NOT NULL,
    speaker VARCHAR NOT NULL,
    start_s DOUBLE NOT NULL,
    end_s DOUBLE NOT NULL,
    text VARCHAR NOT NULL,
    avg_logprob DOUBLE,
    no_speech_prob DOUBLE,
    PRIMARY KEY (call_id, seg_idx)
);
ALTER TABLE casework.segments ADD COLUMN IF NOT EXISTS compression_ratio DOUBLE;
-- Word timings: what audio redaction needs to silence an identifier.
CREATE TABLE IF NOT EXISTS casework.words (
    call_id VARCHAR NOT NULL,
    seg_idx INTEGER NOT NULL,
    word_idx INTEGER NOT NULL,
    speaker VARCHAR NOT NULL,
    start_s DOUBLE NOT NULL,
    end_s DOUBLE NOT NULL,
    word VARCHAR NOT NULL,
    probability DOUBLE,
    PRIMARY KEY (call_id, seg_idx, word_idx)
);
-- Copies of call audio with identifiers toned out (for training and quality review).
CREATE TABLE IF NOT EXISTS casework.redacted_audio (
    call_id VARCHAR PRIMARY KEY,
    call_date DATE NOT NULL,
    path VARCHAR NOT NULL,
    spans INTEGER NOT NULL,
    seconds_redacted DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS casework.quarantine (
    item VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    detail VARCHAR,
    location VARCHAR,
    quarantined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (item, stage)
);

CREATE TABLE IF NOT EXISTS canon.transcripts (
    call_id VARCHAR PRIMARY KEY,
    call_date DATE NOT NULL,
    direction VARCHAR,
    team VARCHAR,
    service_area VARCHAR,
    text VARCHAR NOT NULL,
    entities_replaced INTEGER NOT NULL,
    pseudonymised_at TIMESTAMPTZ NOT NULL
);
-- The caller's turns alone (where speakers are known), pseudonymised with the same entities as
-- `text`: what the theme model reads, since the call script would otherwise drown the reason
-- for calling. NULL for calls whose speakers are unknown (mono, no diarization).
ALTER TABLE canon.transcripts ADD COLUMN IF NOT EXISTS caller_text VARCHAR;

-- Result of the independent residual-PII scan of each canon row: counts by kind, never text.
CREATE TABLE IF NOT EXISTS canon.leak_scan (
    call_id VARCHAR PRIMARY KEY,
    call_date DATE NOT NULL,
    findings INTEGER NOT NULL,
    kinds JSON,
    scanned_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS themes.topics (
    theme_id INTEGER PRIMARY KEY,
    label VARCHAR NOT NULL,
    top_words VARCHAR[] NOT NULL,
    size INTEGER NOT NULL,
    fitted_at TIMESTAMPTZ NOT NULL
);
-- The theme registry: themes.topics keeps every theme ever found, so an id never changes
-- meaning. `centroid` is the theme's mean caller-text embedding, what refits align to and what
-- new calls are assigned by; a theme the latest refit did not find is kept, inactive.
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS centroid FLOAT[];
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS active BOOLEAN DEFAULT true;
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS first_fitted_at TIMESTAMPTZ;
-- One row per refit: its drift against what was assigned before, and the call-script
-- sentences it learned to ignore (assignment between refits strips the same ones).
CREATE TABLE IF NOT EXISTS themes.fits (
    fitted_at TIMESTAMPTZ PRIMARY KEY,
    calls INTEGER NOT NULL,
    themes INTEGER NOT NULL,
    new_themes INTEGER NOT NULL,
    kept_themes INTEGER NOT NULL,
    inactive_themes INTEGER NOT NULL,
    reassigned_share DOUBLE,          -- share of previously assigned calls whose theme changed
    script_sentences VARCHAR[] NOT NULL
);
-- The audit trail (append-only, hash-chained; `assets.audit`). No personal data: calls are named
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
    audit_seq BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS themes.call_themes (
    call_id VARCHAR PRIMARY KEY,
    theme_id INTEGER NOT NULL,
    call_date DATE NOT NULL,
    service_area VARCHAR,
    team VARCHAR
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

-- Which pseudonym tokens each call's transcript produced (withheld calls too): how a request
-- about a person finds their calls without reading text.
CREATE TABLE IF NOT EXISTS casework.call_pseudonyms (
    call_id VARCHAR NOT NULL,
    token VARCHAR NOT NULL,
    PRIMARY KEY (call_id, token)
);
-- Data classes retention has removed from a call that still has others: no stage may re-derive
-- them (a re-run of the canon must not bring back a canon row whose period has ended). No key on
-- purpose: deleting from a keyed table this tall was the sweep's slowest step (a retried batch
-- may add a duplicate row, which changes no answer).
CREATE TABLE IF NOT EXISTS casework.retired (
    call_id VARCHAR NOT NULL,
    data_class VARCHAR NOT NULL,
    retired_at TIMESTAMPTZ NOT NULL
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
    bytes_deleted BIGINT
);
-- 0.3: which run or request deleted it, and why.
ALTER TABLE governance.retention_log ADD COLUMN IF NOT EXISTS certificate_id VARCHAR;
ALTER TABLE governance.retention_log ADD COLUMN IF NOT EXISTS reason VARCHAR;

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
"""


def utcnow() -> datetime:
    """Timestamps written to the warehouse are timezone-aware UTC."""
    return datetime.now(timezone.utc)


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection):
    """All of the block's writes, or none of them."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def one_checkpoint(conn: duckdb.DuckDBPyConnection):
    """Checkpoint once at the end instead of whenever the WAL passes 16 MB.

    A checkpoint writes the changed tables back into the file, so a long deletion run that
    commits in batches otherwise checkpoints again and again, each time over the whole table:
    measured, that made commits 40 % of a 100 000-call sweep and its cost grow faster than the
    data. Each batch is still durable in the WAL when it commits."""
    conn.execute("SET checkpoint_threshold = '16GB'")
    try:
        yield conn
    finally:
        conn.execute("RESET checkpoint_threshold")
    conn.execute("CHECKPOINT")


def retired_sql(data_class: str) -> str:
    """A subquery of the calls whose `data_class` retention has removed (class names are the
    policy's fixed vocabulary, never user input)."""
    return f"SELECT call_id FROM casework.retired WHERE data_class = '{data_class}'"


def connect(path: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=read_only)


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)


def replace_rows(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    key: str,
    keys: Iterable[Any],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    atomic: bool = True,
) -> None:
    """Delete the rows for `keys`, then insert `rows`, in one transaction (or the caller's, with
    `atomic=False`): a re-run replaces, a crash leaves the previous state."""
    keys = list(keys)
    with (transaction(conn) if atomic else nullcontext()):
        if keys:
            conn.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT unnest(?))", [keys])
        insert_rows(conn, table, columns, rows)


def insert_rows(conn: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Bulk insert through Arrow: DuckDB's executemany goes row by row, which is slow for the
    thousands of word rows one day of calls produces."""
    if not rows:
        return
    import pyarrow as pa

    batch = pa.Table.from_pylist([dict(zip(columns, row)) for row in rows])
    conn.register("_insert_batch", batch)
    try:
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _insert_batch")
    finally:
        try:
            conn.unregister("_insert_batch")
        except duckdb.Error:
            pass  # an aborted transaction refuses even this; let the insert's own error surface


def record_quarantine(
    conn: duckdb.DuckDBPyConnection, item: str, stage: str, reason: str, detail: str, location: str
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO casework.quarantine VALUES (?, ?, ?, ?, ?, now())",
        [item, stage, reason, detail, location],
    )


def clear_quarantine(conn: duckdb.DuckDBPyConnection, item: str, stage: str) -> None:
    """A fixed and re-submitted call leaves quarantine."""
    conn.execute("DELETE FROM casework.quarantine WHERE item = ? AND stage = ?", [item, stage])
