"""Retention as partitioned assets: one per data class, partitioned by call date, run by a daily
schedule for the call dates that have something due; then the marts are rebuilt and the
warehouse file rewritten so the deleted rows leave the disk."""

from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import retention
from pipelines.defs.resources import PolicyProfile, PseudonymKey
from pipelines.partitions import DUCKDB_WRITER_POOL, call_dates, partition_date

# The asset each class's data comes from, for lineage in the UI.
SOURCES = {
    "theme_assignments": ["themes", "call_themes"],
    "canon": ["canon", "transcripts"],
    "segments": ["casework", "transcripts"],
    "transcript": ["casework", "transcripts"],
    "redacted_audio": ["casework", "redacted_audio"],
    "audio": ["casework", "calls"],
}


class RetentionConfig(dg.Config):
    as_of: str | None = None  # ISO date the clock reads; default today (tests and catch-up set it)

    def today(self) -> date:
        return date.fromisoformat(self.as_of) if self.as_of else date.today()


def certificate_id(context: dg.AssetExecutionContext) -> str:
    """One certificate per run and partition, shared by the class assets of that run."""
    return f"retention-{context.run.run_id[:8]}-{context.partition_key}"


def _retention_asset(data_class: str, after: dg.AssetsDefinition | None) -> dg.AssetsDefinition:
    """`after`: the class deleted before this one. Derived data goes before its source, so a
    failed run never leaves a copy whose source has already gone."""
    @dg.asset(
        name=data_class,
        key_prefix=["retention"],
        deps=[dg.AssetKey(SOURCES[data_class]), *([after.key] if after else [])],
        partitions_def=call_dates,
        pool=DUCKDB_WRITER_POOL,
        group_name="retention",
        kinds={"duckdb"},
        description=f"Deletes the {data_class.replace('_', ' ')} of this call date's calls once the "
                    "policy's period has passed (legal holds excepted), and logs each deletion.",
    )
    def _asset(context: dg.AssetExecutionContext, config: RetentionConfig, warehouse: DuckDBResource,
               policy: PolicyProfile, pseudonym_key: PseudonymKey) -> dg.MaterializeResult:
        with warehouse.get_connection() as conn:
            deleted, suspended, freed = retention.delete_class(
                conn, policy.load(), pseudonym_key.pseudonymiser(), data_class, config.today(),
                certificate_id(context), partition_date(context))
        return dg.MaterializeResult(metadata={
            "as_of": config.today().isoformat(), "policy": policy.profile, "data_class": data_class,
            "calls_deleted": len(deleted), "suspended_by_legal_hold": len(suspended), "bytes_deleted": freed,
        })

    return _asset


class_assets: list[dg.AssetsDefinition] = []
for _class in retention.SWEPT_CLASSES:
    class_assets.append(_retention_asset(_class, class_assets[-1] if class_assets else None))


@dg.asset(
    key=["governance", "retention_certificate"],
    deps=[class_assets[-1].key],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    group_name="retention",
    kinds={"duckdb"},
    description="Closes the partition's sweep: removes call records with nothing left, and files an "
                "erasure certificate (what, why, when, counts, hashed call references).",
)
def retention_certificate(context: dg.AssetExecutionContext, config: RetentionConfig, warehouse: DuckDBResource,
                          policy: PolicyProfile, pseudonym_key: PseudonymKey) -> dg.MaterializeResult:
    cid, day, profile = certificate_id(context), partition_date(context), policy.load()
    with warehouse.get_connection() as conn:
        cert, records = retention.close_sweep(conn, profile, pseudonym_key.pseudonymiser(), config.today(), cid, day)
    return dg.MaterializeResult(metadata={
        "certificate_id": cert.certificate_id, "counts": cert.counts, "call_records_removed": records,
        "bytes_deleted": cert.bytes_deleted, "suspended_by_legal_hold": cert.suspended_by_hold, "digest": cert.digest,
    })


@dg.asset(
    key=["governance", "physical_erasure"],
    deps=[retention_certificate.key, dg.AssetKey(["marts", "theme_trends"])],
    pool=DUCKDB_WRITER_POOL,
    group_name="retention",
    kinds={"duckdb"},
    description="Rewrites the warehouse into a fresh file (COPY FROM DATABASE, atomic swap) when rows "
                "were deleted since the last rewrite: DuckDB keeps deleted bytes in its file otherwise.",
)
def physical_erasure(warehouse: DuckDBResource) -> dg.MaterializeResult:
    result = retention.rewrite_warehouse(warehouse.database)
    return dg.MaterializeResult(metadata={
        "rewritten": result.rewritten, "bytes_before": result.bytes_before, "bytes_after": result.bytes_after,
        "log_high_water": result.log_high_water,
    })


retention_job = dg.define_asset_job(
    "retention",
    selection=dg.AssetSelection.assets(*class_assets, retention_certificate),
    partitions_def=call_dates,
    description="Retention sweep of one call date: every data class, then the certificate.",
)

# After deletions the marts must stop counting the deleted calls before the file is rewritten.
erasure_finish_job = dg.define_asset_job(
    "finish_erasure",
    selection=(dg.AssetSelection.groups("marts") | dg.AssetSelection.assets(physical_erasure)
               | dg.AssetSelection.keys("warehouse/analytics_copy")),
    description="Rebuild the marts from what is left, rewrite the warehouse file, publish a fresh analytics "
                "copy (the old one, which still held the deleted calls, is removed by the swap).",
)


def due_partitions(as_of: date) -> tuple[list[date], list[date]]:
    """(call dates with data due that are partitions, those before the first call date): the
    latter cannot be swept by the job, and say so rather than failing every night."""
    from assets import warehouse
    from assets.policy import load_policy
    from assets.settings import Settings

    settings = Settings.from_env()
    with warehouse.connect(settings.warehouse_path, read_only=True) as conn:
        days = retention.due_dates(conn, load_policy(settings.policy), as_of)
    first = call_dates.start.date()
    return [d for d in days if d >= first], [d for d in days if d < first]


@dg.schedule(job=retention_job, cron_schedule="30 2 * * *", execution_timezone="Europe/London",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Daily retention sweep, before the working day: one run per call date with "
                         "anything due (missed days are caught up, since expiry is recomputed each time).")
def retention_schedule(context: dg.ScheduleEvaluationContext):
    as_of = context.scheduled_execution_time.date()
    try:
        days, too_early = due_partitions(as_of)
    except Exception as exc:  # the warehouse is busy or missing: tomorrow's tick catches up
        return dg.SkipReason(f"could not read the warehouse: {type(exc).__name__}")
    if too_early:
        context.log.error(f"{len(too_early)} call date(s) with data due are before the first call date "
                          f"(CALLCANON_FIRST_CALL_DATE): set it earlier so retention can delete them")
    if not days:
        return dg.SkipReason(f"nothing due on {as_of}")
    return [dg.RunRequest(run_key=f"{as_of}:{d}", partition_key=d.isoformat(),
                          run_config=run_config(as_of)) for d in days]


def run_config(as_of: date) -> dict:
    return {"ops": {**{f"retention__{c}": {"config": {"as_of": as_of.isoformat()}}
                       for c in retention.SWEPT_CLASSES},
                    "governance__retention_certificate": {"config": {"as_of": as_of.isoformat()}}}}


erasure_finish_schedule = dg.ScheduleDefinition(
    job=erasure_finish_job, cron_schedule="30 4 * * *", execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="After the night's sweeps: rebuild the marts and rewrite the warehouse if anything was deleted.",
)
