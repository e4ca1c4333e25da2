-- The `themes` schema as it is now: all of it on a new warehouse, its new tables on an old one.
CREATE SCHEMA IF NOT EXISTS themes;

-- The theme registry: themes.topics keeps every theme ever found, so an id never changes
-- meaning. `kind` says where a theme came from: `taxonomy` (named by analysts in the policy's
-- taxonomy file, `taxonomy_id` its id there), `discovered` (found by a refit) or `provisional`
-- (found by a daily run among statements that fit nothing or fit only weakly, `found_on` that day; the next refit
-- confirms it as discovered, or merges it into `merged_into`, or retires it). `centroid` is what
-- statements are assigned by; a theme no longer found is kept, inactive.
CREATE TABLE IF NOT EXISTS themes.topics (
    theme_id INTEGER PRIMARY KEY,
    label VARCHAR NOT NULL,
    top_words VARCHAR[] NOT NULL,
    size INTEGER NOT NULL,
    fitted_at TIMESTAMPTZ NOT NULL,
    centroid FLOAT[],
    active BOOLEAN DEFAULT true,
    first_fitted_at TIMESTAMPTZ,
    kind VARCHAR DEFAULT 'discovered',
    taxonomy_id VARCHAR,
    found_on DATE,
    merged_into INTEGER
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

-- One row per call and theme it mentions, with how many of its statements do and how closely
-- (the sum of those statements' scores: what the call is most about when two themes have as
-- many statements; NULL for rows written before 0.14).
CREATE TABLE IF NOT EXISTS themes.call_themes (
    call_id VARCHAR NOT NULL,
    theme_id INTEGER NOT NULL,
    statements INTEGER NOT NULL DEFAULT 1,
    call_date DATE NOT NULL,
    service_area VARCHAR,
    team VARCHAR,
    score DOUBLE,
    PRIMARY KEY (call_id, theme_id)
);

-- Statements that fitted no theme (theme_id NULL): the pool a daily run clusters for new
-- issues; and those a theme took only weakly (theme_id that theme, score their score), which a
-- burst on their own day can take from it as a new issue. The text is the canon's
-- (pseudonymised, department names and unsure words taken out); it goes with the call's theme
-- assignments under retention and requests.
CREATE TABLE IF NOT EXISTS themes.candidates (
    call_id VARCHAR NOT NULL,
    stmt_idx INTEGER NOT NULL,
    call_date DATE NOT NULL,
    text VARCHAR NOT NULL,
    words VARCHAR[] NOT NULL,
    embedding FLOAT[] NOT NULL,
    theme_id INTEGER,
    score DOUBLE,
    PRIMARY KEY (call_id, stmt_idx)
);
