"""The Dagster code location loads, validates, and shows lineage from landing to marts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent


def test_dagster_definitions_validate(data_env, dbt_manifest):
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=ROOT, capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


def test_lineage_runs_from_landing_to_marts(data_env, dbt_manifest):
    from pipelines.definitions import defs

    graph = defs().resolve_asset_graph()
    mart = dg.AssetKey(["marts", "theme_trends"])
    upstream = graph.get_ancestor_asset_keys(mart) if hasattr(graph, "get_ancestor_asset_keys") else None
    if upstream is None:  # walk parents by hand
        upstream, todo = set(), [mart]
        while todo:
            for parent in graph.get(todo.pop()).parent_keys:
                if parent not in upstream:
                    upstream.add(parent)
                    todo.append(parent)
    for key in (["landing", "calls"], ["casework", "calls"], ["casework", "transcripts"],
                ["canon", "transcripts"], ["themes", "call_themes"]):
        assert dg.AssetKey(key) in upstream, key


def test_duckdb_writers_share_one_pool(data_env, dbt_manifest):
    from pipelines.definitions import defs

    graph = defs().resolve_asset_graph()
    writers = [k for k in graph.get_all_asset_keys()
               if k.path[0] in ("casework", "canon", "themes", "governance", "retention", "marts", "staging",
                                   "intermediate", "warehouse")]
    pools = {k.to_user_string(): tuple(sorted(graph.get(k).pools or ())) for k in writers}
    # Transcription and redaction stage their results with no warehouse at all (issue 23); their own
    # pool lets dates transcribe in parallel. Every other step, the loader included, holds the file.
    for key in (["staged", "transcripts"], ["staged", "redacted_audio"]):
        assert tuple(graph.get(dg.AssetKey(key)).pools) == ("transcription",), key
    assert pools["casework/transcripts"] == ("duckdb_writer",)
    assert "warehouse/analytics_copy" in pools  # it attaches the copy to the writer's connection
    assert set(pools.values()) == {("duckdb_writer",)}


def test_transcription_steps_need_no_warehouse_and_go_to_the_worker_queue(data_env, dbt_manifest):
    """What lets a worker on another machine run them: no `warehouse` resource (so none is
    opened, or even configured), and the Celery queue the warehouse host does not serve."""
    from pipelines.definitions import defs

    job = defs().resolve_job_def("process_calls")
    for name in ("staged__transcripts", "staged__redacted_audio"):
        node = job.graph.node_named(name)
        assert "warehouse" not in node.definition.required_resource_keys, name
        assert node.definition.tags.get("dagster-celery/queue") == "transcription", name
    loader = job.graph.node_named("load_staged_transcripts").definition
    assert "warehouse" in loader.required_resource_keys and "dagster-celery/queue" not in loader.tags


def test_landing_sensor_requests_one_run_per_call_date_once(data_env, dbt_manifest, tmp_path):
    from pipelines.defs.ingest.sensors import landing_zone_sensor
    from pipelines.defs.resources import CallStore

    landing = tmp_path / "landing"
    landing.mkdir()
    # The last is before the first call date (2026-01-01 by default): the latest partition's run
    # quarantines it (issue 17: it used to wait, and every later run stopped on it).
    for n, day in enumerate(["2026-03-02", "2026-03-02", "2026-03-03", "2019-05-01"]):
        (landing / f"c{n}.json").write_text(f'{{"call_id": "c{n}", "started_at": "{day}T10:00:00Z"}}')
    store = CallStore(landing_dir=str(landing), store_dir=str(tmp_path / "s"), quarantine_dir=str(tmp_path / "q"),
                      redacted_dir=str(tmp_path / "r"), staging_dir=str(tmp_path / "st"))
    ctx = dg.build_sensor_context(resources={"call_store": store})
    requests = landing_zone_sensor(ctx)
    latest = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="Europe/London",
                                          end_offset=1).get_last_partition_key()
    assert sorted(r.partition_key for r in requests) == ["2026-03-02", "2026-03-03", latest]
    assert len({r.run_key for r in requests}) == 3
    again = landing_zone_sensor(dg.build_sensor_context(cursor=ctx.cursor, resources={"call_store": store}))
    assert isinstance(again, dg.SkipReason)
