-- 0.9: themes per mention. A call carries every theme it mentions (themes.call_themes keyed by
-- call and theme); the registry records where a theme came from; the canon keeps the caller's
-- statements for the theme stage; themes.candidates is a new table (3_themes.sql).
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'discovered';
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS taxonomy_id VARCHAR;
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS found_on DATE;
ALTER TABLE themes.topics ADD COLUMN IF NOT EXISTS merged_into INTEGER;
ALTER TABLE canon.transcripts ADD COLUMN IF NOT EXISTS statements VARCHAR[];
CREATE TABLE themes.call_themes_per_mention (
    call_id VARCHAR NOT NULL,
    theme_id INTEGER NOT NULL,
    statements INTEGER NOT NULL DEFAULT 1,
    call_date DATE NOT NULL,
    service_area VARCHAR,
    team VARCHAR,
    PRIMARY KEY (call_id, theme_id)
);
INSERT INTO themes.call_themes_per_mention
    SELECT call_id, theme_id, 1, call_date, service_area, team FROM themes.call_themes;
DROP TABLE themes.call_themes;
ALTER TABLE themes.call_themes_per_mention RENAME TO call_themes;
