"""Run the pipeline through Dagster from Python: what `callcanon run`/`demo` and the tests use.

Every stage runs as a real Dagster job against a Dagster instance (the one in DAGSTER_HOME
when set, so the UI shows these runs; otherwise a throwaway one).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from assets.canon.consent import released_dates_waiting
from assets.ingest import landing
from assets.ingest.register import pending_dates
from assets.settings import Settings
from assets.themes.registry import has_registered_themes
from assets.themes.taxonomy import load_taxonomy
from assets.warehouse import quarantined_since
from pipelines.partitions import call_dates

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


class PipelineRunFailed(RuntimeError):
    pass


@dataclass
class RunSummary:
    partitions: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str, str]] = field(default_factory=list)  # (item, stage, reason)


def ensure_dbt_manifest(force: bool = False) -> Path:
    """dagster-dbt builds its assets from dbt's manifest; `dbt parse` writes it (seconds). A
    manifest older than any model, test, macro or project file is parsed again: after an
    upgrade, a stale one names models that are gone and misses new ones."""
    from dagster_dbt import DbtProject

    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    sources = [f for d in ("models", "macros", "tests") for f in (Path(DBT_PROJECT_DIR) / d).rglob("*")]
    stale = project.manifest_path.exists() and any(
        f.stat().st_mtime > project.manifest_path.stat().st_mtime
        for f in [*sources, Path(DBT_PROJECT_DIR) / "dbt_project.yml"] if f.is_file())
    if force or stale or not project.manifest_path.exists():
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
            log=print, refit: bool | None = None) -> RunSummary:
    """Process every call date waiting in the landing zone (plus `extra_dates`, and the dates of
    calls a consent reviewer released that are not in the canon yet), assigning their
    calls to the registered themes; refit the themes (when asked, or when none are registered
    yet); rebuild the marts; sweep retention."""
    from pipelines.definitions import defs

    settings = Settings.from_env()
    # A typo in the taxonomy would leave a theme with nothing to match: stop before any work.
    load_taxonomy(settings.policy, settings.theme_taxonomy)
    settings.make_dirs()
    ensure_dbt_manifest()
    definitions = defs()
    summary = RunSummary()
    started = datetime.now(UTC)
    # The partition set the definitions were loaded with; anything waiting outside it is
    # quarantined by the latest date's run, so one bad file never stops the others.
    last = date.fromisoformat(call_dates.get_last_partition_key())
    limits = landing.Limits.today(settings.max_sidecar_bytes, settings.max_audio_bytes, call_dates.start.date(),
                                  settings.future_tolerance_days)
    # Released consent holds go through on their call date's next run (`callcanon consent release`).
    dates = sorted(set(pending_dates(settings.landing_dir, limits, last)) | set(extra_dates)
                   | set(released_dates_waiting(settings.warehouse_path)))
    process = definitions.resolve_job_def("process_calls")
    for n, day in enumerate(dates, 1):
        log(f"[{n}/{len(dates)}] call date {day}: ingest, transcribe, pseudonymise")
        result = process.execute_in_process(
            partition_key=day.isoformat(), instance=instance, run_config=_LOGGING)
        summary.run_ids.append(_check(result, f"processing {day}"))
        summary.partitions.append(day.isoformat())
    if refit is None:
        refit = not has_registered_themes(settings.warehouse_path)
    if refit:
        log("themes: refitting BERTopic over every caller statement (ids kept stable); marts: dbt build")
    else:
        log("marts: dbt build (themes assigned to the registry; `--refit` to refit)")
    job = "refresh_themes_and_marts" if refit else "build_marts"
    result = definitions.resolve_job_def(job).execute_in_process(instance=instance, run_config=_LOGGING)
    summary.run_ids.append(_check(result, "themes and marts"))
    summary.run_ids.extend(sweep_retention(instance, retention_as_of or date.today(), log=log))
    summary.quarantined = quarantined_since(settings.warehouse_path, started)
    return summary


def reprocess(instance: dg.DagsterInstance, dates: list[date], log=print) -> list[str]:
    """Process call dates again (ingest and transcription skip what they have done), then the
    marts and the analytics copy: what a released consent hold needs to reach the canon."""
    from pipelines.definitions import defs

    ensure_dbt_manifest()
    definitions = defs()
    run_ids = []
    for day in sorted(set(dates)):
        log(f"call date {day}: pseudonymise and assign themes again")
        result = definitions.resolve_job_def("process_calls").execute_in_process(
            partition_key=day.isoformat(), instance=instance, run_config=_LOGGING)
        run_ids.append(_check(result, f"processing {day}"))
    result = definitions.resolve_job_def("build_marts").execute_in_process(instance=instance, run_config=_LOGGING)
    run_ids.append(_check(result, "marts"))
    return run_ids


def repseudonymise(instance: dg.DagsterInstance, dates: list[date], log=print) -> list[str]:
    """Every call date pseudonymised again (under the key `keys.load_key` gives now: the new one
    during a rotation) and assigned to themes, then the themes refitted, the marts rebuilt and the
    analytics copy published."""
    from pipelines.definitions import defs

    ensure_dbt_manifest()
    definitions = defs()
    job = definitions.resolve_job_def("repseudonymise")
    run_ids = []
    for n, day in enumerate(sorted(set(dates)), 1):
        log(f"[{n}/{len(dates)}] call date {day}: pseudonymised again")
        result = job.execute_in_process(partition_key=day.isoformat(), instance=instance, run_config=_LOGGING)
        run_ids.append(_check(result, f"pseudonymising {day} again"))
    log("themes refitted, marts rebuilt, analytics copy published")
    result = definitions.resolve_job_def("refresh_themes_and_marts").execute_in_process(
        instance=instance, run_config=_LOGGING)
    run_ids.append(_check(result, "themes and marts"))
    return run_ids


def sweep_retention(instance: dg.DagsterInstance, as_of: date, log=print) -> list[str]:
    """One retention run per call date with anything due, then (if anything went) the marts
    rebuild and the warehouse rewrite, then the audit trail's own retention: what the nightly
    schedules do."""
    from pipelines.definitions import defs
    from pipelines.defs.retention.assets import due_partitions, run_config

    definitions = defs()
    days, too_early = due_partitions(as_of)
    log(f"retention sweep as of {as_of}: {len(days)} call date(s) with data due")
    run_ids = []
    job = definitions.resolve_job_def("retention")
    for day in days:
        result = job.execute_in_process(partition_key=day.isoformat(), instance=instance,
                                        run_config={**_LOGGING, **run_config(as_of)})
        run_ids.append(_check(result, f"retention of {day}"))
    if days:
        run_ids.append(finish_erasure(instance))
    audit_config = {"ops": {"governance__audit_retention": {"config": {"as_of": as_of.isoformat()}}}}
    result = definitions.resolve_job_def("audit_retention").execute_in_process(
        instance=instance, run_config={**_LOGGING, **audit_config})
    run_ids.append(_check(result, "audit trail retention"))
    if too_early:
        raise PipelineRunFailed(
            f"data is due on {len(too_early)} call date(s) before the first call date (CALLCANON_FIRST_CALL_DATE, "
            f"earliest {too_early[0]}): retention cannot delete it until the setting is moved back to that date")
    return run_ids


def finish_erasure(instance: dg.DagsterInstance) -> str:
    """Rebuild the marts without the deleted calls, then rewrite the warehouse file."""
    from pipelines.definitions import defs

    ensure_dbt_manifest()
    result = defs().resolve_job_def("finish_erasure").execute_in_process(instance=instance, run_config=_LOGGING)
    return _check(result, "marts rebuild and warehouse rewrite")


def write_evidence_pack(instance: dg.DagsterInstance, as_of: date | None = None) -> Path:
    """The annual review pack, through Dagster as its yearly schedule writes it."""
    from pipelines.definitions import defs

    config = {"ops": {"governance__evidence_pack": {"config": {"as_of": as_of.isoformat() if as_of else None}}}}
    result = defs().resolve_job_def("evidence_pack").execute_in_process(
        instance=instance, run_config={**_LOGGING, **config})
    _check(result, "evidence pack")
    event = result.asset_materializations_for_node("governance__evidence_pack")[0]
    return Path(event.metadata["path"].value)
