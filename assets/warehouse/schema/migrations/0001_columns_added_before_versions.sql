-- Warehouses made before schema versions (0.1 to 0.5): the columns added in place since.
ALTER TABLE casework.transcripts ADD COLUMN IF NOT EXISTS cache_key VARCHAR;
ALTER TABLE casework.transcripts ADD COLUMN IF NOT EXISTS avg_logprob DOUBLE;
ALTER TABLE casework.transcripts ADD COLUMN IF NOT EXISTS quality VARCHAR;
ALTER TABLE casework.transcripts ADD COLUMN IF NOT EXISTS speakers INTEGER;
ALTER TABLE casework.segments ADD COLUMN IF NOT EXISTS compression_ratio DOUBLE;
ALTER TABLE canon.transcripts ADD COLUMN IF NOT EXISTS caller_text VARCHAR;
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS centroid FLOAT[];
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS active BOOLEAN DEFAULT true;
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS first_fitted_at TIMESTAMPTZ;
ALTER TABLE governance.retention_log ADD COLUMN IF NOT EXISTS certificate_id VARCHAR;
ALTER TABLE governance.retention_log ADD COLUMN IF NOT EXISTS reason VARCHAR;
