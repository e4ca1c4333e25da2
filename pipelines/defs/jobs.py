"""Jobs the sensor, the schedules and `callcanon run` launch."""

import dagster as dg

from pipelines.partitions import call_dates

process_calls = dg.define_asset_job(
    "process_calls",
    selection=dg.AssetSelection.keys(
        "casework/calls", "casework/transcripts", "canon/transcripts", "casework/redacted_audio",
        "themes/call_themes"),
    partitions_def=call_dates,
    description="Ingest, transcribe and pseudonymise one call date, and assign its calls to themes.",
)

build_marts = dg.define_asset_job(
    "build_marts",
    selection=dg.AssetSelection.groups("marts"),
    description="Rebuild the dbt marts (theme trends, weekly breakdown) from the current assignments.",
)

refresh_themes_and_marts = dg.define_asset_job(
    "refresh_themes_and_marts",
    selection=dg.AssetSelection.keys("themes/topics") | dg.AssetSelection.groups("marts"),
    description="Refit themes on the whole canon (ids kept stable) and rebuild the dbt marts.",
)

marts_schedule = dg.ScheduleDefinition(
    job=build_marts,
    cron_schedule="0 6 * * *",
    execution_timezone="Europe/London",
    description="Daily marts after the night's calls are processed and assigned.",
)

theme_refit_schedule = dg.ScheduleDefinition(
    job=refresh_themes_and_marts,
    cron_schedule="0 5 * * 1",
    execution_timezone="Europe/London",
    description="Weekly full refit: new themes appear, drift is reported (themes/topics metadata).",
)
