import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import themes
from assets.warehouse import ensure_schema
from pipelines.partitions import DUCKDB_WRITER_POOL


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["themes", "topics"], deps=[dg.AssetKey(["canon", "transcripts"])],
                     description="Themes found by BERTopic: id, label, top words, size.",
                     automation_condition=dg.AutomationCondition.eager(), kinds={"duckdb"}),
        dg.AssetSpec(["themes", "call_themes"], deps=[dg.AssetKey(["canon", "transcripts"])],
                     description="Which theme each call is about.",
                     automation_condition=dg.AutomationCondition.eager(), kinds={"duckdb"}),
    ],
    pool=DUCKDB_WRITER_POOL,
    group_name="themes",
)
def theme_model(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Refit on the whole canon: the skeleton's themes are recomputed, not yet kept stable."""
    with warehouse.get_connection() as conn:
        ensure_schema(conn)
        fit = themes.fit_canon(conn)
    labels = {str(t.theme_id): t.label for t in fit.themes}
    yield dg.MaterializeResult(asset_key=["themes", "topics"],
                               metadata={"themes": len(fit.themes), "labels": labels})
    yield dg.MaterializeResult(asset_key=["themes", "call_themes"],
                               metadata={"calls": len(fit.assignments)})
