-- The `casework` schema as it is now: all of it on a new warehouse, its new tables on an old one.
CREATE SCHEMA IF NOT EXISTS casework;

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
    transcribed_at TIMESTAMPTZ NOT NULL,
    cache_key VARCHAR,
    avg_logprob DOUBLE,
    quality VARCHAR,
    speakers INTEGER
);

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
    compression_ratio DOUBLE,
    PRIMARY KEY (call_id, seg_idx)
);

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
