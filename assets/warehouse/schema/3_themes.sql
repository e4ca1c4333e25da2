-- The `themes` schema as it is now: all of it on a new warehouse, its new tables on an old one.
CREATE SCHEMA IF NOT EXISTS themes;

-- The theme registry: themes.topics keeps every theme ever found, so an id never changes
-- meaning. `centroid` is the theme's mean caller-text embedding, what refits align to and what
-- new calls are assigned by; a theme the latest refit did not find is kept, inactive.
CREATE TABLE IF NOT EXISTS themes.topics (
    theme_id INTEGER PRIMARY KEY,
    label VARCHAR NOT NULL,
    top_words VARCHAR[] NOT NULL,
    size INTEGER NOT NULL,
    fitted_at TIMESTAMPTZ NOT NULL,
    centroid FLOAT[],
    active BOOLEAN DEFAULT true,
    first_fitted_at TIMESTAMPTZ
);

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

CREATE TABLE IF NOT EXISTS themes.call_themes (
    call_id VARCHAR PRIMARY KEY,
    theme_id INTEGER NOT NULL,
    call_date DATE NOT NULL,
    service_area VARCHAR,
    team VARCHAR
);
