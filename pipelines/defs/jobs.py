"""Jobs the sensor, the schedules and `callcanon run` launch.

Every schedule here starts RUNNING: a deployment that forgets to switch one on would silently
stop transcribing, refreshing or deleting. Runs carry `callcanon/trigger`, so the Runs page can
be filtered to what a schedule, the sensor or a backfill started.
"""

from datetime import timedelta

import dagster as dg

from pipelines.partitions import call_dates

# The jobs that rebuild the marts end by publishing the analysts' copy; `finish_erasure` (after a
# retention sweep or an erasure) and `callcanon restrict` publish it too.
ANALYTICS_COPY = dg.AssetSelection.keys("warehouse/analytics_copy")

process_calls = dg.define_asset_job(
    "process_calls",
    selection=dg.AssetSelection.keys(
        "casework/calls", "staged/transcripts", "staged/redacted_audio", "casework/transcripts",
        "casework/redacted_audio", "canon/transcripts", "themes/call_themes"),
    partitions_def=call_dates,
    description="Ingest, transcribe and pseudonymise one call date, and assign its calls to themes.",
    tags={"callcanon/stage": "process_calls"},
)

repseudonymise = dg.define_asset_job(
    "repseudonymise",
    selection=dg.AssetSelection.keys("canon/transcripts", "themes/call_themes"),
    partitions_def=call_dates,
    description="Pseudonymise one call date again and assign its calls to themes: a pseudonym-key rotation "
                "(`callcanon keys rotate-pseudonym`) runs it for every date, then refits the themes.",
    tags={"callcanon/stage": "repseudonymise"},
)

build_marts = dg.define_asset_job(
    "build_marts",
    selection=dg.AssetSelection.groups("marts") | ANALYTICS_COPY,
    description="Build the dbt marts (theme trends, weekly breakdown) for the stale call dates, then publish "
                "the analytics copy.",
)

refresh_themes_and_marts = dg.define_asset_job(
    "refresh_themes_and_marts",
    selection=dg.AssetSelection.keys("themes/topics") | dg.AssetSelection.groups("marts") | ANALYTICS_COPY,
    description="Refit themes on the whole canon (ids kept stable), rebuild the dbt marts, publish the "
                "analytics copy.",
)

marts_schedule = dg.ScheduleDefinition(
    name="marts_schedule",
    job=build_marts,
    cron_schedule="0 6 * * *",
    execution_timezone="Europe/London",
    description="Daily marts after the night's calls are processed and assigned.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"callcanon/trigger": "marts_schedule"},
)

theme_refit_schedule = dg.ScheduleDefinition(
    name="theme_refit_schedule",
    job=refresh_themes_and_marts,
    cron_schedule="0 5 * * 1",
    execution_timezone="Europe/London",
    description="Weekly full refit: new themes appear, drift is reported (themes/topics metadata).",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"callcanon/trigger": "theme_refit_schedule"},
)


@dg.schedule(job=process_calls, cron_schedule="30 1 * * *", execution_timezone="Europe/London",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Nightly catch-up of yesterday's call date: calls whose sidecar arrived late, or "
                         "whose sensor run failed, are processed (finished calls are skipped, so it is cheap).")
def transcription_catch_up(context: dg.ScheduleEvaluationContext):
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"catch-up:{day}", partition_key=day,
                         tags={"callcanon/trigger": "transcription_catch_up"})
