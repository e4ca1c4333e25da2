-- 0.14: themes.candidates also keeps the statements a theme took only weakly, with that theme
-- (`theme_id`) and their score, so a day's burst of them far from every named theme can be told
-- as a new issue (`assets.themes.emerging`). Rows written before are statements that fitted
-- nothing (theme_id NULL), which is what they were.
ALTER TABLE themes.candidates ADD COLUMN IF NOT EXISTS theme_id INTEGER;
ALTER TABLE themes.candidates ADD COLUMN IF NOT EXISTS score DOUBLE;
