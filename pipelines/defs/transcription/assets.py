"""Transcription in three steps: two that need no warehouse (transcribe, redact), which run on
any worker and stage their results (`assets.staging`), and the loader, on the warehouse's
machine, which loads a date's staged results in one transaction."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import locations
from assets import transcription as transcribe
from assets.pii import Pseudonymiser
from assets.transcription import loader, staged
from pipelines.defs.resources import AudioKey, CallStore, PseudonymKey, WhisperSettings
from pipelines.partitions import DUCKDB_WRITER_POOL, TRANSCRIPTION_POOL, WORKER_QUEUE, call_dates, partition_date
from pipelines.retries import retry_transient


@dg.asset(
    key=["staged", "transcripts"],
    deps=[dg.AssetKey(["casework", "calls"])],
    partitions_def=call_dates,
    pool=TRANSCRIPTION_POOL,
    op_tags=WORKER_QUEUE,
    group_name="transcription",
    kinds={"python"},
    description="Transcripts, timed segments and words (faster-whisper, offline model) of the calls in the "
                "date's manifest, one sealed file per call under the staging prefix. Needs no warehouse: "
                "runs on any worker with the audio key and the stores.",
)
@retry_transient
def staged_transcripts(
    context: dg.AssetExecutionContext, whisper: WhisperSettings, audio_key: AudioKey, call_store: CallStore,
) -> dg.MaterializeResult:
    day = partition_date(context)
    run = staged.stage_transcripts(audio_key.staging(call_store), day, whisper.config(), log=context.log.info)
    if not run.manifest:
        context.log.warning(f"no manifest for {day}: ingest writes it (nothing to transcribe)")
    return dg.MaterializeResult(metadata={
        "calls_staged": run.staged, "calls_cached": run.cached, "already_staged": run.already_staged,
        "problems": run.problems, "audio_hours": round(run.audio_seconds / 3600, 4),
        "real_time_factor": round(run.elapsed_s / run.audio_seconds, 4) if run.audio_seconds else 0.0,
        "model": whisper.model, "worker": staged.worker_name(),
    })


@dg.asset(
    key=["staged", "redacted_audio"],
    deps=[staged_transcripts],
    partitions_def=call_dates,
    pool=TRANSCRIPTION_POOL,
    op_tags=WORKER_QUEUE,
    group_name="transcription",
    kinds={"python"},
    description="Copies of the staged calls' audio with every identifier toned out (word timings + the "
                "identifiers found in the transcript, by a detector that holds no pseudonym key), sealed "
                "into the redacted-audio store; their rows staged for the loader.",
)
@retry_transient
def staged_redacted_audio(
    context: dg.AssetExecutionContext, audio_key: AudioKey, call_store: CallStore,
) -> dg.MaterializeResult:
    run = staged.stage_redactions(audio_key.staging(call_store), partition_date(context), Pseudonymiser.detector(),
                                  locations.location(call_store.redacted_dir))
    return dg.MaterializeResult(metadata={
        "calls_staged": run.staged, "already_staged": run.already_staged, "problems": run.problems,
        "worker": staged.worker_name()})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["casework", "transcripts"], deps=[staged_transcripts], group_name="transcription",
                     kinds={"duckdb"}, description="Personal transcripts, timed segments and words, loaded "
                     "from the staging prefix; text sealed cell by cell."),
        dg.AssetSpec(["casework", "redacted_audio"], deps=[staged_redacted_audio], group_name="transcription",
                     kinds={"duckdb"}, description="Where each call's redacted copy is, and how much was toned out."),
    ],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    name="load_staged_transcripts",
)
@retry_transient
def load_staged_transcripts(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, audio_key: AudioKey, call_store: CallStore,
    pseudonym_key: PseudonymKey,
):
    """The loader: a date's staged results into `casework` in one transaction (the one writer
    of these tables), files that fail their seal quarantined."""
    day = partition_date(context)
    with warehouse.get_connection() as conn:
        out = loader.load_staged(conn, audio_key.staging(call_store), day, call_store.quarantine_dir,
                                 call_store.redacted_dir)
        transcribed = out.transcribed.result
        transcribe_problems = sum(p["stage"] == "transcribe" for p in out.problems)
        pseudonym_key.record_processing(conn, context, transcribed.transcribed + transcribe_problems,
                                        stage="casework/transcripts")
        pseudonym_key.record_processing(conn, context, len(out.redacted), stage="casework/redacted_audio")
        quality = transcribe.quality_counts(conn, day)
    for p in out.problems:
        context.log.warning(f"quarantined {p['call_id']}: {p['reason']} ({p['stage']})")
    for call_id, reason in out.broken:
        context.log.warning(f"quarantined staged result of {call_id}: {reason}")
    yield dg.MaterializeResult(asset_key=["casework", "transcripts"], metadata={
        "calls_transcribed": transcribed.transcribed,
        "quality": quality,
        "quarantined": transcribe_problems + len(out.broken),
        "audio_hours": round(transcribed.audio_seconds / 3600, 4),
        "real_time_factor": round(transcribed.real_time_factor, 4),
        "dropped_staged": out.dropped,
        "stale_staged": out.stale,
        "worker": staged.worker_name(),
    })
    yield dg.MaterializeResult(asset_key=["casework", "redacted_audio"], metadata={
        "calls": len(out.redacted), "seconds_redacted": round(sum(r["seconds_redacted"] for r in out.redacted), 1)})
