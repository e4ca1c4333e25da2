-- Call dates whose marts are stale: every write to the canon or the theme assignments marks the
-- dates it touched, and the incremental dbt models rebuild exactly those dates (and the days whose
-- trailing windows read them); the pipeline clears the marks the build consumed. Dates, nothing
-- else: never published in the analytics copy.
CREATE SCHEMA IF NOT EXISTS marts_queue;

CREATE TABLE IF NOT EXISTS marts_queue.stale_days (
    call_date DATE PRIMARY KEY,
    marked_at TIMESTAMPTZ NOT NULL
);
