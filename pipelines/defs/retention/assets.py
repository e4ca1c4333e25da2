from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import retention
from assets.warehouse import ensure_schema
from pipelines.defs.resources import PolicyProfile
from pipelines.partitions import DUCKDB_WRITER_POOL


class RetentionConfig(dg.Config):
    as_of: str | None = None  # ISO date; defaults to today (tests and catch-up runs set it)


@dg.asset(
    key=["governance", "audio_retention"],
    deps=[dg.AssetKey(["casework", "calls"])],
    pool=DUCKDB_WRITER_POOL,
    group_name="retention",
    kinds={"duckdb"},
    description="Deletes audio of unlinked calls past the policy's audio retention; logs each deletion.",
)
def audio_retention(
    context: dg.AssetExecutionContext, config: RetentionConfig, warehouse: DuckDBResource,
    policy: PolicyProfile,
) -> dg.MaterializeResult:
    as_of = date.fromisoformat(config.as_of) if config.as_of else date.today()
    with warehouse.get_connection() as conn:
        ensure_schema(conn)
        deleted = retention.delete_expired_audio(conn, policy.load(), as_of)
    return dg.MaterializeResult(metadata={
        "as_of": as_of.isoformat(),
        "policy": policy.profile,
        "audio_files_deleted": len(deleted),
        "bytes_deleted": sum(d.bytes_deleted for d in deleted),
    })


retention_job = dg.define_asset_job("retention", selection=[audio_retention])

retention_schedule = dg.ScheduleDefinition(
    job=retention_job,
    cron_schedule="30 2 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily retention sweep, before the working day.",
)
