"""The evidence pack's yearly schedule: its date is a setting, so it is built when the definitions
load (a module with a `@dg.definitions` function contributes only what that function returns)."""

import dagster as dg

from assets.settings import Settings
from pipelines.defs.governance.assets import evidence_pack_job


@dg.definitions
def evidence_pack_schedule() -> dg.Definitions:
    """Yearly, at the review's date (CALLCANON_EVIDENCE_CRON, read when the definitions load)."""
    return dg.Definitions(schedules=[dg.ScheduleDefinition(
        name="evidence_pack_schedule",
        job=evidence_pack_job,
        cron_schedule=Settings.from_env().evidence_cron,
        execution_timezone="Europe/London",
        description="Yearly: the annual review pack (policy 5.2) for the year to the run date.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )])
