"""The analytics copy as an asset: published after every marts build and every erasure.

It depends on the marts and on the physical erasure, so a job that rebuilds the marts or
rewrites the warehouse (`build_marts`, `refresh_themes_and_marts`, `finish_erasure`) publishes
a fresh copy in the same run, after them.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.warehouse import analytics
from pipelines.defs.resources import AnalyticsCopy
from pipelines.partitions import DUCKDB_WRITER_POOL
from pipelines.retries import retry_transient

MARTS = [dg.AssetKey(["marts", "theme_trends"]), dg.AssetKey(["marts", "theme_weekly"])]
CANON, TOPICS = dg.AssetKey(["canon", "transcripts"]), dg.AssetKey(["themes", "topics"])


@dg.asset(
    key=["warehouse", "analytics_copy"],
    deps=[*MARTS, CANON, TOPICS, dg.AssetKey(["governance", "physical_erasure"])],
    pool=DUCKDB_WRITER_POOL,
    group_name="warehouse",
    kinds={"duckdb"},
    # Published when the marts or the physical erasure update; a day's canon alone is not
    # published (the daily marts build that follows it is).
    automation_condition=dg.AutomationCondition.eager().ignore(
        dg.AssetSelection.keys(CANON, TOPICS)),
    description="The pseudonymised layers (canon, themes, marts) as their own DuckDB file, swapped in "
                "atomically: the only file analysts and notebooks open, so they never lock the warehouse.",
)
@retry_transient
def analytics_copy(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                   analytics_copy_target: AnalyticsCopy) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        done = analytics.publish(conn, analytics_copy_target.path, analytics_copy_target.group)
    context.log.info(f"published the analytics copy: {done.bytes} bytes, {len(done.tables)} tables")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(done.path)), "bytes": done.bytes, "tables": len(done.tables),
        "canon_calls": done.tables.get("canon.transcripts", 0), "group": done.group or "(owner only)",
        "published_at": done.published_at.isoformat(),
    })
