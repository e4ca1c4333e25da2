import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import transcription as transcribe
from pipelines.defs.resources import AudioKey, PseudonymKey, WhisperSettings
from pipelines.partitions import TRANSCRIPTION_POOL, call_dates, partition_date
from pipelines.retries import retry_transient


@dg.asset(
    key=["casework", "transcripts"],
    deps=[dg.AssetKey(["casework", "calls"])],
    partitions_def=call_dates,
    pool=TRANSCRIPTION_POOL,
    group_name="transcription",
    kinds={"duckdb", "python"},
    description="Personal transcripts and timed segments (faster-whisper, offline model). In the "
                "`transcription` pool, not the DuckDB writer's: its writes are one short transaction, "
                "so dates transcribe in parallel up to that pool's limit.",
)
@retry_transient
def casework_transcripts(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, whisper: WhisperSettings, audio_key: AudioKey,
    pseudonym_key: PseudonymKey,
) -> dg.MaterializeResult:
    day = partition_date(context)
    # Read, transcribe with no connection open, then write: the model's minutes do not hold the
    # warehouse file, so other dates' transcription runs in parallel in other processes.
    with warehouse.get_connection() as conn:
        calls = transcribe.pending_calls(conn, day)
    computed = transcribe.transcribe_calls(day, calls, audio_key.vault(), whisper.config(), log=context.log.info)
    with warehouse.get_connection() as conn:
        result = transcribe.write_transcribed(conn, computed)
        pseudonym_key.record_processing(conn, context, result.transcribed + len(result.quarantined))
        quality = transcribe.quality_counts(conn, day)
    for call_id, reason in result.quarantined:
        context.log.warning(f"quarantined {call_id}: {reason}")
    return dg.MaterializeResult(metadata={
        "calls_transcribed": result.transcribed,
        "calls_cached": result.cached,
        "quality": quality,
        "quarantined": len(result.quarantined),
        "audio_hours": round(result.audio_seconds / 3600, 4),
        "real_time_factor": round(result.real_time_factor, 4),
        "model": whisper.model,
    })
