import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import themes
from pipelines.partitions import DUCKDB_WRITER_POOL, call_dates
from pipelines.retries import retry_transient

CANON = dg.AssetKey(["canon", "transcripts"])


@dg.asset(
    key=["themes", "topics"],
    deps=[CANON],
    pool=DUCKDB_WRITER_POOL,
    group_name="themes",
    kinds={"duckdb", "python"},
    description="The theme registry: BERTopic refitted on the whole canon, topics aligned to the "
                "registered themes so ids keep their meaning; every call reassigned. Weekly and on demand.",
)
@retry_transient
def theme_registry(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        refit = themes.refit(conn)
    drift = refit.reassigned_share
    context.log.info(f"refit: {len(refit.themes)} themes ({refit.new_themes} new, {refit.kept_themes} kept, "
                     f"{refit.inactive_themes} not found again)")
    return dg.MaterializeResult(metadata={
        "themes": len(refit.themes), "new_themes": refit.new_themes, "kept_themes": refit.kept_themes,
        "inactive_themes": refit.inactive_themes,
        "reassigned_share": dg.MetadataValue.float(drift) if drift is not None else None,
        "labels": {str(t.theme_id): t.label for t in refit.themes},
    })


@dg.asset(
    key=["themes", "call_themes"],
    deps=[CANON, theme_registry],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    group_name="themes",
    kinds={"duckdb", "python"},
    description="Each call's theme: a call date's calls assigned to the registered themes "
                "(nearest theme centroid), without refitting.",
)
@retry_transient
def call_themes(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    from datetime import date

    days = [date.fromisoformat(k) for k in context.partition_keys]
    with warehouse.get_connection() as conn:
        assigned = themes.assign_dates(conn, days)
    if assigned is None:
        context.log.info("no themes registered yet: the first refit (themes/topics) assigns these calls")
    return dg.MaterializeResult(metadata={"calls": assigned or 0, "registry_empty": assigned is None})
