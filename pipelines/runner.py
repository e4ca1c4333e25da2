"""Run the pipeline through Dagster from Python: what `callcanon run`/`demo` and the tests use.

Every stage runs as a real Dagster job against a Dagster instance (the one in DAGSTER_HOME
when set, so the UI shows these runs; otherwise a throwaway one).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from assets.ingest import pending_dates
from assets.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


class PipelineRunFailed(RuntimeError):
    pass


@dataclass
class RunSummary:
    partitions: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


def ensure_dbt_manifest(force: bool = False) -> Path:
    """dagster-dbt builds its assets from dbt's manifest; `dbt parse` writes it (seconds)."""
    from dagster_dbt import DbtProject

    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    if force or not project.manifest_path.exists():
        project.preparer.prepare(project)
    return project.manifest_path


@contextmanager
def dagster_instance():
    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        yield dg.DagsterInstance.get()
    else:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance


# Runs started here print INFO and above; the full DEBUG event log is in the Dagster UI.
_LOGGING = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _check(result, what: str) -> str:
    if not result.success:
        raise PipelineRunFailed(f"{what} failed (run {result.run_id}); see the Dagster logs")
    return result.run_id


def run_all(instance: dg.DagsterInstance, extra_dates: list[date] = (), retention_as_of: date | None = None,
            log=print) -> RunSummary:
    """Process every call date waiting in the landing zone (plus `extra_dates`), then refit
    themes, rebuild the marts and sweep retention."""
    from pipelines.definitions import defs

    settings = Settings.from_env()
    settings.make_dirs()
    ensure_dbt_manifest()
    definitions = defs()
    summary = RunSummary()
    dates = sorted(set(pending_dates(settings.landing_dir)) | set(extra_dates))
    process = definitions.resolve_job_def("process_calls")
    for n, day in enumerate(dates, 1):
        log(f"[{n}/{len(dates)}] call date {day}: ingest, transcribe, pseudonymise")
        result = process.execute_in_process(
            partition_key=day.isoformat(), instance=instance, run_config=_LOGGING)
        summary.run_ids.append(_check(result, f"processing {day}"))
        summary.partitions.append(day.isoformat())
    log("themes and marts: fitting BERTopic, running dbt build")
    result = definitions.resolve_job_def("refresh_themes_and_marts").execute_in_process(
        instance=instance, run_config=_LOGGING)
    summary.run_ids.append(_check(result, "themes and marts"))
    log("retention sweep")
    config = {**_LOGGING, "ops": {"governance__audio_retention": {"config": {
        "as_of": retention_as_of.isoformat() if retention_as_of else None}}}}
    result = definitions.resolve_job_def("retention").execute_in_process(instance=instance, run_config=config)
    summary.run_ids.append(_check(result, "retention"))
    return summary
