import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import transcribe
from assets.warehouse import ensure_schema
from pipelines.defs.resources import AudioKey, PseudonymKey, WhisperSettings
from pipelines.partitions import DUCKDB_WRITER_POOL, call_dates, partition_date
from pipelines.retries import retry_transient


@dg.asset(
    key=["casework", "transcripts"],
    deps=[dg.AssetKey(["casework", "calls"])],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    group_name="transcription",
    kinds={"duckdb", "python"},
    description="Personal transcripts and timed segments (faster-whisper, offline model).",
)
@retry_transient
def casework_transcripts(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, whisper: WhisperSettings, audio_key: AudioKey,
    pseudonym_key: PseudonymKey,
) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        ensure_schema(conn)
        result = transcribe.transcribe_date(
            conn, partition_date(context), audio_key.vault(), whisper.config(), log=context.log.info
        )
        pseudonym_key.record_processing(conn, context, result.transcribed + len(result.quarantined))
        quality = dict(conn.execute(
            "SELECT quality, count(*) FROM casework.transcripts WHERE call_date = ? GROUP BY 1",
            [partition_date(context)]).fetchall())
    for call_id, reason in result.quarantined:
        context.log.warning(f"quarantined {call_id}: {reason}")
    return dg.MaterializeResult(metadata={
        "calls_transcribed": result.transcribed,
        "calls_cached": result.cached,
        "quality": {str(k): v for k, v in quality.items()},
        "quarantined": len(result.quarantined),
        "audio_hours": round(result.audio_seconds / 3600, 4),
        "real_time_factor": round(result.real_time_factor, 4),
        "model": whisper.model,
    })
