"""The dbt project as Dagster assets, with each table's row count on its materialisation.

dagster-dbt's own `include_metadata: [row_count]` counts through a second dbt connection while
dbt is still running; DuckDB lets one process hold the file, so those counts would fail (and be
dropped with a logged error) exactly when the build is writing. Here the build's events are held
until dbt has exited, then every table it built is counted over one read-only connection, and the
events go out with `dagster/row_count` attached. A build of the marts takes seconds, so holding
its events back costs nothing a user sees.

The intermediate models are incremental (`assets.warehouse.marts_queue`): the stale call dates
marked before dbt starts are cleared once both have been rebuilt. A lock on the warehouse (an
operator's command holding it) is retried like every other step's.
"""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProjectComponent

from assets import warehouse
from assets.settings import Settings
from assets.warehouse import marts_queue
from pipelines.retries import retry_or_raise

COUNTED = ("table", "incremental")  # views are re-run on every read: not counted
# The models that read the stale-day queue: its marks are cleared only when both were built.
QUEUE_READERS = ("model.callcanon_warehouse.int_theme_days", "model.callcanon_warehouse.int_theme_weeks")


class MartsDbtComponent(DbtProjectComponent):
    def execute(self, context: dg.AssetExecutionContext, dbt: DbtCliResource):
        database = str(Settings.from_env().warehouse_path)
        try:
            consumed = marts_queue.before_build(database)
            invocation = dbt.cli(self.get_cli_args(context), context=context)
            events = list(invocation.stream())
        except Exception as exc:
            retry_or_raise(context, exc)
        nodes = invocation.manifest["nodes"]
        # Schema and table only: the catalog is whatever the warehouse file is called today.
        counted = {uid: f'"{n["schema"]}"."{n.get("alias") or n["name"]}"' for uid, n in nodes.items()
                   if n.get("config", {}).get("materialized") in COUNTED}
        counts = _row_counts(database, counted, events)
        if set(QUEUE_READERS) <= {_unique_id(e) for e in events}:
            marts_queue.clear(database, consumed)
        for event in events:
            uid = _unique_id(event)
            if uid in counts:
                event = event.with_metadata({**event.metadata, "dagster/row_count": dg.MetadataValue.int(counts[uid])})
            yield event


def _unique_id(event) -> str | None:
    if not isinstance(event, (dg.Output, dg.AssetMaterialization)):
        return None
    value = event.metadata.get("unique_id")
    return getattr(value, "text", value)


def _row_counts(database: str, relations: dict[str, str], events: list) -> dict[str, int]:
    built = {uid for uid in map(_unique_id, events) if uid in relations}
    if not built:
        return {}
    return warehouse.row_counts(database, {uid: relations[uid] for uid in built})
