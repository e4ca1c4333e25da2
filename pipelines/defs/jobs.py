"""Jobs the sensor, the schedules and `callcanon run` launch."""

import dagster as dg

from pipelines.partitions import call_dates

process_calls = dg.define_asset_job(
    "process_calls",
    selection=dg.AssetSelection.keys(
        "casework/calls", "casework/transcripts", "canon/transcripts", "casework/redacted_audio"),
    partitions_def=call_dates,
    description="Ingest, transcribe and pseudonymise one call date.",
)

refresh_themes_and_marts = dg.define_asset_job(
    "refresh_themes_and_marts",
    selection=dg.AssetSelection.groups("themes", "marts"),
    description="Refit themes on the whole canon and rebuild the dbt marts.",
)

themes_schedule = dg.ScheduleDefinition(
    job=refresh_themes_and_marts,
    cron_schedule="0 6 * * *",
    execution_timezone="Europe/London",
    description="Daily theme refresh after the night's calls are processed.",
)
