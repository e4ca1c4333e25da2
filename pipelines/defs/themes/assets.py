from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.themes import emerging, registry
from pipelines.defs.resources import ThemeTaxonomy
from pipelines.partitions import DUCKDB_WRITER_POOL, call_dates
from pipelines.retries import retry_transient

CANON = dg.AssetKey(["canon", "transcripts"])


@dg.asset(
    key=["themes", "topics"],
    deps=[CANON],
    pool=DUCKDB_WRITER_POOL,
    group_name="themes",
    kinds={"duckdb", "python"},
    description="The theme registry: BERTopic refitted over every caller statement in the canon, the "
                "taxonomy's named themes by zero-shot matching, the rest clustered; ids kept, provisional "
                "themes confirmed, merged or retired; every call reassigned. Weekly and on demand.",
)
@retry_transient
def theme_registry(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                   taxonomy: ThemeTaxonomy) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        refit = registry.refit(conn, taxonomy.load(), taxonomy.suppress_below())
    drift = refit.reassigned_share
    context.log.info(f"refit: {len(refit.themes)} themes ({refit.new_themes} new, {refit.kept_themes} kept, "
                     f"{refit.inactive_themes} not found again, {refit.confirmed} provisional confirmed, "
                     f"{refit.merged} merged)")
    return dg.MaterializeResult(metadata={
        "themes": len(refit.themes), "new_themes": refit.new_themes, "kept_themes": refit.kept_themes,
        "inactive_themes": refit.inactive_themes, "provisional_confirmed": refit.confirmed,
        "provisional_merged": refit.merged,
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
    description="Every theme each call mentions: a call date's caller statements assigned to the registered "
                "themes without refitting; statements that fit none, or fit one only weakly, kept as candidates; "
                "a burst of them that day whose calls mostly mention no one theme firmly, or a cluster of those "
                "that fit none big enough that day or growing over two weeks, registered as a provisional theme "
                "that run.",
)
@retry_transient
def call_themes(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                taxonomy: ThemeTaxonomy) -> dg.MaterializeResult:
    days = [date.fromisoformat(k) for k in context.partition_keys]
    with warehouse.get_connection() as conn:
        assigned = registry.assign_dates(conn, days, taxonomy.load())
        # Day by day, so a new issue is dated the day it happened, even in a backfill.
        new = [p for day in sorted(days) for p in emerging.detect(conn, day, taxonomy.suppress_below())]
        left = registry.candidates_on(conn, days)
    for p in new:  # aggregates only, and no count under the publishable size
        context.log.info(f"provisional theme {p.theme_id} '{p.label}' on {p.busiest_day}")
    return dg.MaterializeResult(metadata={
        "calls": assigned.calls, "statements": assigned.statements, "mentions": assigned.mentions,
        "candidates": left, "provisional_themes": {str(p.theme_id): p.label for p in new},
    })
