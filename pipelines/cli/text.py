"""Text and audio contracts: `redact-text`, `transcribe`, and phrase `search` for analysts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipelines.cli.common import _analytics, _audit_ready, _key, _pseudonymiser, _warehouse
from pipelines.cli.group import main


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
            raise click.ClickException(f"line {n}: expected a JSON object with a string 'text'") from None
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
    from assets.transcription.whisper import WhisperConfig, transcribe_audio

    config = WhisperConfig(workers=1)  # one file at a time: the model on faster-whisper's own threads
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
    (small counts suppressed, at the policy's threshold; every search is audited)."""
    from assets.access import audit, governance_log
    from assets.themes.search import phrase_counts, suppress_below

    _audit_ready()
    pseudonymiser = _pseudonymiser()
    refused = None
    with _analytics() as copy:  # the counts come from the analytics copy, as the notebooks' do
        try:
            rows = phrase_counts(copy, phrase, by)
        except ValueError as exc:
            refused = exc
    # The audit record is the only write: a moment on the warehouse, through the pipeline's own code.
    with _warehouse() as conn:
        governance_log.record_search(conn, audit.chain_key(_key("pseudonym")), pseudonymiser, phrase=phrase, by=by,
                                     outcome="refused" if refused else "granted")
    if refused:
        raise click.ClickException(str(refused)) from refused
    click.echo(f"{by}\tcalls mentioning {phrase!r}")
    for r in rows:
        click.echo(f"{r.period}\t{f'<{suppress_below()}' if r.suppressed else r.calls}")
