-- 0.14: themes.call_themes.score, the summed score of the call's statements for the theme (what
-- a call is most about when two themes have as many statements). Rows written before stay NULL
-- until their date is assigned again (a refit reassigns every call).
ALTER TABLE themes.call_themes ADD COLUMN IF NOT EXISTS score DOUBLE;
