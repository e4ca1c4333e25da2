-- The `canon` schema as it is now: all of it on a new warehouse, its new tables on an old one.
CREATE SCHEMA IF NOT EXISTS canon;

CREATE TABLE IF NOT EXISTS canon.transcripts (
    call_id VARCHAR PRIMARY KEY,
    call_date DATE NOT NULL,
    direction VARCHAR,
    team VARCHAR,
    service_area VARCHAR,
    text VARCHAR NOT NULL,
    entities_replaced INTEGER NOT NULL,
    pseudonymised_at TIMESTAMPTZ NOT NULL,
    -- The caller's turns alone (where speakers are known), pseudonymised with the same entities
    -- as `text`: what the theme model reads, since the call script would otherwise drown the
    -- reason for calling. NULL for calls whose speakers are unknown (mono, no diarization).
    caller_text VARCHAR,
    -- What the theme stage reads: each caller turn (each segment where speakers are unknown),
    -- pseudonymised like `text`, with words the recogniser was unsure of masked as "[?]".
    statements VARCHAR[]
);

-- Result of the independent residual-PII scan of each canon row: counts by kind, never text.
CREATE TABLE IF NOT EXISTS canon.leak_scan (
    call_id VARCHAR PRIMARY KEY,
    call_date DATE NOT NULL,
    findings INTEGER NOT NULL,
    kinds JSON,
    scanned_at TIMESTAMPTZ NOT NULL
);
